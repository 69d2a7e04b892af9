//! `Idempotency-Key` on POST: the same key and request within 24 hours answers the stored
//! first response and does nothing again; the same key with another request is a 409.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use store::IdempotencyStart;

use crate::AppState;
use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::extract::{BODY_LIMIT_BYTES, body_too_large};
use crate::secrets::sha256_hex;

const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(HEADER) {
        return next.run(request).await;
    }
    match replay_or_run(&state, request, next).await {
        Ok(response) | Err(response) => response,
    }
}

async fn replay_or_run(state: &AppState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if key.is_empty() || key.len() > MAX_KEY_LEN {
        return Err(ApiError::bad_request(format!("Invalid `Idempotency-Key`: must be 1 to {MAX_KEY_LEN} visible ASCII characters")).into_response());
    }
    // Keys are per caller; a request that fails authentication is answered by its handler.
    let scope = match authenticate(state, request.headers()).await {
        Ok(Caller::Admin) => "admin".to_string(),
        Ok(Caller::Organization(id)) => id.to_string(),
        Err(_) => return Ok(next.run(request).await),
    };
    let (parts, body) = request.into_parts();
    let bytes = to_bytes(body, BODY_LIMIT_BYTES).await.map_err(|_| body_too_large().into_response())?;
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("");
    let fingerprint = sha256_hex(&[parts.method.as_str().as_bytes(), b" ", target.as_bytes(), b"\n", &bytes].concat());

    let start = state.store.idempotency_start(&scope, &key, &fingerprint).await.map_err(|e| ApiError::from(e).into_response())?;
    match start {
        IdempotencyStart::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyStart::Mismatch => Err(ApiError::conflict("This Idempotency-Key was already used with a different request").into_response()),
        IdempotencyStart::InProgress => Err(ApiError::conflict("A request with this Idempotency-Key is still being processed").into_response()),
        IdempotencyStart::New => {
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            let (parts, body) = response.into_parts();
            let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
            // A server failure may not happen again: let a retry run the request afresh.
            let stored = if parts.status.is_server_error() {
                state.store.idempotency_abandon(&scope, &key).await
            } else {
                state.store.idempotency_finish(&scope, &key, parts.status.as_u16(), &String::from_utf8_lossy(&bytes)).await
            };
            if let Err(e) = stored {
                tracing::error!(error = %e, "could not store the idempotent response");
            }
            Ok(Response::from_parts(parts, Body::from(bytes)))
        }
    }
}
