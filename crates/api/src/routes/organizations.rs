//! Organizations: the platform admin's API, and each organization's view of itself.

use axum::extract::State;
use domain::organization::{OrganizationInput, OrganizationPatch};
use serde_json::json;

use crate::AppState;
use crate::auth::{Admin, Org};
use crate::envelope::ok;
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::secrets::new_api_key;

/// Creates an organization and answers its first API key, shown this once.
pub async fn create(State(s): State<AppState>, _: Admin, JsonBody(input): JsonBody<OrganizationInput>) -> ApiResult {
    let org = input.parse(s.store.new_id(), s.store.now())?;
    let key = new_api_key(org.id);
    s.store.create_organization(&org, &key.record).await?;
    let mut result = serde_json::to_value(&org).map_err(|_| ApiError::unavailable())?;
    result["api_key"] = json!(key.key);
    ok(result)
}

pub async fn list(State(s): State<AppState>, _: Admin, q: ListQuery) -> ApiResult {
    ok(s.store.organizations(q.page).await?)
}

pub async fn get_one(State(s): State<AppState>, _: Admin, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.organization(id).await?)
}

/// Adds an API key to an organization (to rotate keys without downtime).
pub async fn add_key(State(s): State<AppState>, _: Admin, IdPath(id): IdPath) -> ApiResult {
    let key = new_api_key(id);
    s.store.add_api_key(&key.record).await?;
    ok(json!({ "organization": id, "api_key": key.key }))
}

pub async fn mine(State(s): State<AppState>, Org(org): Org) -> ApiResult {
    ok(s.store.organization(org).await?)
}

pub async fn update_mine(State(s): State<AppState>, Org(org): Org, JsonBody(patch): JsonBody<OrganizationPatch>) -> ApiResult {
    let current = s.store.organization(org).await?;
    let next = patch.apply(&current, s.store.now())?;
    s.store.update_organization(&next).await?;
    ok(next)
}
