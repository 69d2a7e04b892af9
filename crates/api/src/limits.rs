//! The request body deadline: a body is read whole, within the deadline, before anything else
//! sees it, so a client trickling its body is answered 408 instead of holding a handler (and,
//! with an `Idempotency-Key`, its key) open.

use std::time::Duration;

use axum::body::{Body, HttpBody, to_bytes};
use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::extract::{BODY_LIMIT_BYTES, body_too_large};

pub async fn read_body_within(State(deadline): State<Duration>, request: Request, next: Next) -> Response {
    if request.body().is_end_stream() {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    match tokio::time::timeout(deadline, to_bytes(body, BODY_LIMIT_BYTES)).await {
        Ok(Ok(bytes)) => next.run(Request::from_parts(parts, Body::from(bytes))).await,
        Ok(Err(_)) => body_too_large().into_response(),
        Err(_) => ApiError::new(StatusCode::REQUEST_TIMEOUT, format!("The request body did not arrive within {} s", deadline.as_secs())).into_response(),
    }
}
