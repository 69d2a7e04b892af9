//! Extractors that turn raw requests into typed values, answering in the envelope when they
//! cannot: JSON bodies (naming the offending field), path ids, list queries.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use domain::page::Page;
use domain::{Id, Timestamp};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use serde::de::DeserializeOwned;
use serde_json::Value;
use store::Filter;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{IntoParams, PartialSchema};

use crate::error::ApiError;
use crate::strict_json::Strict;

pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// A JSON object body of type `T`. A request without one is refused: the document marks
/// every request body required.
pub struct JsonBody<T>(pub T);

pub fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is larger than 1 MiB")
}

/// Parses JSON, naming the field that is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request("Missing request body: a JSON object is required"));
    }
    let mut value: Value = serde_json::from_slice(bytes).map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
    if !value.is_object() {
        return Err(ApiError::bad_request("Invalid request body: must be a JSON object"));
    }
    whole_numbers_as_integers(&mut value);
    serde_path_to_error::deserialize(Strict(value)).map_err(|e| {
        // Exact numbers travel through a private one-entry map, which is no field of the request.
        let path = e.path().to_string().replace(".$serde_json::private::Number", "");
        if path == "." {
            ApiError::bad_request(format!("Invalid request body: {}", e.inner()))
        } else {
            ApiError::bad_request(format!("Invalid `{path}`: {}", e.inner()))
        }
    })
}

/// `2.0` is the integer 2 in JSON (and in JSON Schema, which the document is written in), so
/// integer fields take it: every number with no fraction is read as an integer.
fn whole_numbers_as_integers(value: &mut Value) {
    match value {
        Value::Number(n) if !(n.is_i64() || n.is_u64()) => {
            let whole = Decimal::from_str_exact(&n.to_string()).or_else(|_| Decimal::from_scientific(&n.to_string())).ok().filter(|d| d.fract().is_zero());
            if let Some(integer) = whole.and_then(|d| d.to_i64()) {
                *n = integer.into();
            }
        }
        Value::Array(items) => items.iter_mut().for_each(whole_numbers_as_integers),
        Value::Object(fields) => fields.values_mut().for_each(whole_numbers_as_integers),
        _ => {}
    }
}

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let RawBody(bytes) = RawBody::from_request(req, state).await?;
        parse_json(&bytes).map(JsonBody)
    }
}

/// The body exactly as it came, for what must check its bytes (a signed webhook).
pub struct RawBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for RawBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        Bytes::from_request(req, state).await.map(RawBody).map_err(|e| match e {
            BytesRejection::FailedToBufferBody(_) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => body_too_large(),
            other => ApiError::bad_request(format!("Unreadable request body: {other}")),
        })
    }
}

/// The `{id}` of a path, which must be a well-formed id.
#[derive(IntoParams)]
#[into_params(names("id"), parameter_in = Path)]
pub struct IdPath(pub Id);

impl<S: Send + Sync> FromRequestParts<S> for IdPath {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        parse_id("id", &raw).map(IdPath)
    }
}

pub fn parse_id(field: &str, raw: &str) -> Result<Id, ApiError> {
    raw.parse().map_err(|_| ApiError::bad_request(format!("Invalid `{field}`: `{raw}` is not an id (24 lowercase hexadecimal characters)")))
}

/// `?limit=&page=&createdAt[gte]=&createdAt[lte]=` plus the resource's own filters.
pub struct ListQuery {
    pub page: Page,
    params: HashMap<String, String>,
    pub filters: Vec<Filter>,
}

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<HashMap<String, String>>::from_request_parts(parts, state).await.map_err(|e| ApiError::bad_request(e.body_text()))?;
        let page = Page::parse(params.get("limit").map(String::as_str), params.get("page").map(String::as_str))?;
        let mut filters = Vec::new();
        for (name, make) in [("createdAt[gte]", Filter::CreatedFrom as fn(Timestamp) -> Filter), ("createdAt[lte]", Filter::CreatedUntil)] {
            if let Some(raw) = params.get(name) {
                let t = Timestamp::parse(raw)
                    .ok_or_else(|| ApiError::bad_request(format!("Invalid `{name}`: must be an ISO-8601 timestamp such as 2026-01-31T12:00:00.000Z")))?;
                filters.push(make(t));
            }
        }
        Ok(ListQuery { page, params, filters })
    }
}

impl IntoParams for ListQuery {
    fn into_params(_: impl Fn() -> Option<ParameterIn>) -> Vec<Parameter> {
        let query = |name: &str, description: &str, schema: RefOr<Schema>| {
            ParameterBuilder::new().name(name).parameter_in(ParameterIn::Query).description(Some(description)).schema(Some(schema)).build()
        };
        let integer = |minimum: u32, maximum: u32| ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(minimum)).maximum(Some(maximum)).into();
        vec![
            query("limit", "Results per page; 20 when absent.", integer(1, Page::MAX_LIMIT)),
            query("page", "Which page, from 1.", integer(1, Page::MAX_PAGE)),
            query("createdAt[gte]", "Only those created at or after this time.", Timestamp::schema()),
            query("createdAt[lte]", "Only those created at or before this time.", Timestamp::schema()),
        ]
    }
}

impl ListQuery {
    /// Adds `?{param}=<id>` as an equality filter on `column`.
    pub fn id_filter(mut self, param: &str, column: &'static str) -> Result<ListQuery, ApiError> {
        if let Some(raw) = self.params.get(param) {
            let id = parse_id(param, raw)?;
            self.filters.push(Filter::Eq(column, id.to_string()));
        }
        Ok(self)
    }

    /// Adds `?{param}=<text>` as an equality filter on `column`.
    pub fn text_filter(mut self, param: &str, column: &'static str) -> ListQuery {
        if let Some(raw) = self.params.get(param) {
            self.filters.push(Filter::Eq(column, raw.clone()));
        }
        self
    }
}
