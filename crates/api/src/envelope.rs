//! The `{ok, message, result}` envelope every `/v1.1` answer is wrapped in.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ApiResult;

/// Every `/v1.1` answer: `result` is what was asked for, or null when `ok` is false.
#[derive(Serialize, ToSchema)]
pub struct Envelope<T> {
    ok: bool,
    message: String,
    result: T,
}

/// The `result` of a failed answer.
#[derive(Serialize)]
pub struct Null;

impl PartialSchema for Null {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Null).into()
    }
}

impl ToSchema for Null {}

pub fn envelope<T: Serialize>(status: StatusCode, ok: bool, message: &str, result: T) -> Response {
    (status, Json(Envelope { ok, message: message.to_owned(), result })).into_response()
}

/// A 200 answer holding `result`.
pub fn ok<T: Serialize>(result: T) -> ApiResult {
    let value = serde_json::to_value(result).map_err(|e| {
        tracing::error!(error = %e, "response did not serialize");
        crate::error::ApiError::unavailable()
    })?;
    Ok(envelope(StatusCode::OK, true, "OK", value))
}
