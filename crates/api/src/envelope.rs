//! The `{ok, message, result}` envelope every `/v1.1` answer is wrapped in.

use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::json;

use crate::error::ApiResult;

pub fn envelope(status: StatusCode, ok: bool, message: &str, result: serde_json::Value) -> Response {
    let body = json!({ "ok": ok, "message": message, "result": result });
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// A 200 answer holding `result`.
pub fn ok<T: Serialize>(result: T) -> ApiResult {
    let value = serde_json::to_value(result).map_err(|e| {
        tracing::error!(error = %e, "response did not serialize");
        crate::error::ApiError::unavailable()
    })?;
    Ok(envelope(StatusCode::OK, true, "OK", value))
}
