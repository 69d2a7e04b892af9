//! `Idempotency-Key` on POST: the same key and request within 24 hours answers the stored
//! first response and does nothing again; the same key with another request is a 409.
//!
//! The layer runs such a request in a task of its own, from the claim of its key (for a lease)
//! to its stored answer, the handler inside `store::with_claim`: a client that hangs up drops
//! only the wait for the answer, never the request, so a retry finds the first answer rather
//! than a claim nobody holds. The use case that
//! makes the request's change stores the answer in the change's own transaction; for a request
//! no use case answered (a refusal, a quote, a charger command, a session stop), the layer
//! stores it afterwards. Those change nothing in the database a second run would change again
//! (a stop is recorded once), so if the node dies before it stored their answer, a retry sends
//! the command to the charger again, which takes it as a repeat.

use axum::body::{Body, to_bytes};
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use store::{IdempotencyClaim, IdempotencyStart, Store};

use crate::AppState;
use crate::auth::{Caller, authenticate};
use crate::error::ApiError;
use crate::extract::{BODY_LIMIT_BYTES, body_too_large};
use crate::secrets::sha256_hex;

const HEADER: &str = "idempotency-key";
const MAX_KEY_LEN: usize = 255;

/// How long a request holds its key: longer than any request runs (a charger command waits
/// 30 s, a Stripe call at most three tries of 30 s), so only a request whose node died loses
/// its claim, and its retries wait this long at most.
pub const CLAIM_LEASE_MS: i64 = 5 * 60 * 1000;

/// Set on a response whose retry its handler answers afresh from the resource it made (a
/// top-up, re-read with its client secret): the claim is released instead of answered.
#[derive(Clone, Copy, Debug)]
pub struct AnsweredByResource;

pub async fn layer(State(state): State<AppState>, request: Request, next: Next) -> Response {
    if request.method() != Method::POST || !request.headers().contains_key(HEADER) {
        return next.run(request).await;
    }
    let work = tokio::spawn(async move {
        match replay_or_run(&state, request, next).await {
            Ok(response) | Err(response) => response,
        }
    });
    work.await.unwrap_or_else(|e| {
        tracing::error!(error = %e, "a request with an Idempotency-Key failed");
        ApiError::unavailable().into_response()
    })
}

/// The SHA-256 of what makes two requests the same: method, path with query, and body.
pub fn fingerprint(method: &Method, target: &str, body: &[u8]) -> String {
    sha256_hex(&[method.as_str().as_bytes(), b" ", target.as_bytes(), b"\n", body].concat())
}

async fn replay_or_run(state: &AppState, request: Request, next: Next) -> Result<Response, Response> {
    let key = request.headers().get(HEADER).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    if key.is_empty() || key.len() > MAX_KEY_LEN || !key.bytes().all(|b| b.is_ascii_graphic()) {
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
    let fingerprint = fingerprint(&parts.method, target, &bytes);

    let start = state.store.idempotency_start(&scope, &key, &fingerprint, CLAIM_LEASE_MS).await.map_err(|e| ApiError::from(e).into_response())?;
    match start {
        IdempotencyStart::Replay { status, body } => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            let mut response = (status, [(axum::http::header::CONTENT_TYPE, "application/json")], body).into_response();
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyStart::Mismatch => Err(ApiError::conflict("This Idempotency-Key was already used with a different request").into_response()),
        IdempotencyStart::InProgress => Err(ApiError::conflict("A request with this Idempotency-Key is still being processed").into_response()),
        IdempotencyStart::New(claim) => {
            let request = Request::from_parts(parts, Body::from(bytes));
            Ok(store::with_claim(claim.clone(), run_claimed(&state.store, claim, request, next)).await)
        }
    }
}

/// Runs the request to its end and settles its claim, whether or not anyone still waits.
async fn run_claimed(store: &Store, claim: IdempotencyClaim, request: Request, next: Next) -> Response {
    let response = next.run(request).await;
    let (parts, body) = response.into_parts();
    let bytes = to_bytes(body, usize::MAX).await.unwrap_or_default();
    // A server failure may not happen again: let a retry run the request afresh.
    let settled = if parts.status.is_server_error() || parts.extensions.get::<AnsweredByResource>().is_some() {
        store.idempotency_release(&claim).await
    } else {
        store.idempotency_finish(&claim, parts.status.as_u16(), &String::from_utf8_lossy(&bytes)).await.map(|_| ())
    };
    if let Err(e) = settled {
        tracing::error!(error = %e, "could not store the idempotent response");
    }
    Response::from_parts(parts, Body::from(bytes))
}
