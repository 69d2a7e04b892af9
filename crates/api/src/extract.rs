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
use serde::de::DeserializeOwned;
use store::Filter;
use utoipa::openapi::path::{Parameter, ParameterBuilder, ParameterIn};
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};
use utoipa::{IntoParams, PartialSchema};

use crate::error::ApiError;

pub const BODY_LIMIT_BYTES: usize = 1024 * 1024;

/// A JSON body of type `T`. An empty body reads as `{}`.
pub struct JsonBody<T>(pub T);

pub fn body_too_large() -> ApiError {
    ApiError::new(StatusCode::PAYLOAD_TOO_LARGE, "Request body is larger than 1 MiB")
}

/// Parses JSON, naming the field that is wrong.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let bytes: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) { b"{}" } else { bytes };
    serde_json::from_slice::<serde::de::IgnoredAny>(bytes).map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(ApiError::bad_request("Invalid request body: must be a JSON object"));
    }
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value: T = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            ApiError::bad_request(format!("Malformed JSON: {inner}"))
        } else if path == "." {
            ApiError::bad_request(format!("Invalid request body: {inner}"))
        } else {
            ApiError::bad_request(format!("Invalid `{path}`: {inner}"))
        }
    })?;
    de.end().map_err(|e| ApiError::bad_request(format!("Malformed JSON: {e}")))?;
    Ok(value)
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
