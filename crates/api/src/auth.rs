//! Who is calling: the platform admin (`JOULE_ADMIN_TOKEN`) or an organization (its API key).

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use domain::Id;

use crate::AppState;
use crate::error::ApiError;
use crate::secrets::{secret_matches, split_api_key, token_matches};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Caller {
    Admin,
    Organization(Id),
}

fn bearer(headers: &HeaderMap) -> Result<&str, ApiError> {
    let value = headers.get(axum::http::header::AUTHORIZATION).ok_or_else(|| ApiError::unauthorized("Missing API key: send `Authorization: Bearer <key>`"))?;
    let value = value.to_str().map_err(|_| ApiError::unauthorized("Invalid API key"))?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => Ok(token.trim()),
        _ => Err(ApiError::unauthorized("Missing API key: send `Authorization: Bearer <key>`")),
    }
}

pub async fn authenticate(state: &AppState, headers: &HeaderMap) -> Result<Caller, ApiError> {
    let token = bearer(headers)?;
    if let Some(admin) = &state.config.admin_token
        && token_matches(token, admin)
    {
        return Ok(Caller::Admin);
    }
    let (id, secret) = split_api_key(token).ok_or_else(|| ApiError::unauthorized("Invalid API key"))?;
    match state.store.api_key(id).await? {
        Some(record) if secret_matches(secret, &record) => Ok(Caller::Organization(record.organization)),
        _ => Err(ApiError::unauthorized("Invalid API key")),
    }
}

/// The organization whose API key signed the request.
pub struct Org(pub Id);

/// A request made in this process for an organization (the dashboard's, for an operator it
/// signed in): an extension only code can set, never a header a client could send.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ActingFor(pub Id);

impl FromRequestParts<AppState> for Org {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if let Some(ActingFor(org)) = parts.extensions.get::<ActingFor>() {
            return Ok(Org(*org));
        }
        match authenticate(state, &parts.headers).await? {
            Caller::Organization(id) => Ok(Org(id)),
            Caller::Admin => Err(ApiError::unauthorized("This endpoint needs an organization's API key, not the admin token")),
        }
    }
}

/// The platform admin.
pub struct Admin;

impl FromRequestParts<AppState> for Admin {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        if state.config.admin_token.is_none() {
            return Err(ApiError::unauthorized("The platform admin API is disabled: set JOULE_ADMIN_TOKEN to enable it"));
        }
        match authenticate(state, &parts.headers).await {
            Ok(Caller::Admin) => Ok(Admin),
            _ => Err(ApiError::unauthorized("Invalid admin token")),
        }
    }
}
