//! Organizations: the platform admin's API, and each organization's view of itself.

use axum::extract::State;
use domain::Id;
use domain::organization::{Organization, OrganizationInput, OrganizationPatch};
use serde::Serialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::{Admin, Org};
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};
use crate::secrets::new_api_key;

/// A new organization with its first API key.
#[derive(Serialize, ToSchema)]
pub struct CreatedOrganization {
    #[serde(flatten)]
    organization: Organization,
    /// Shown this once: only its hash is kept (a replay of the request with its
    /// `Idempotency-Key` shows null).
    #[schema(nullable)]
    api_key: String,
}

/// A new API key of an organization.
#[derive(Serialize, ToSchema)]
pub struct NewApiKey {
    organization: Id,
    /// Shown this once: only its hash is kept (a replay of the request with its
    /// `Idempotency-Key` shows null).
    #[schema(nullable)]
    api_key: String,
}

/// Creates an organization and answers its first API key, shown this once.
///
/// Needs the platform admin token.
#[utoipa::path(post, path = "/v1.1/organizations", operation_id = "create_organization", tag = "organizations", security(("admin_token" = [])),
    request_body = OrganizationInput,
    responses((status = 200, description = "OK", body = Envelope<CreatedOrganization>), BadRequest, Unauthorized, Conflict, TooLarge, Unavailable))]
pub async fn create(State(s): State<AppState>, _: Admin, JsonBody(input): JsonBody<OrganizationInput>) -> ApiResult {
    let org = input.parse(s.store.new_id(), s.store.now())?;
    let key = new_api_key(org.id);
    s.store.create_organization(&org, &key.record).await?;
    ok(CreatedOrganization { organization: org, api_key: key.key })
}

/// Lists organizations, newest first.
///
/// Needs the platform admin token.
#[utoipa::path(get, path = "/v1.1/organizations", operation_id = "list_organizations", tag = "organizations", security(("admin_token" = [])),
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Organization>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, _: Admin, q: ListQuery) -> ApiResult {
    ok(s.store.organizations(q.page).await?)
}

/// Reads an organization.
///
/// Needs the platform admin token.
#[utoipa::path(get, path = "/v1.1/organizations/{id}", operation_id = "get_organization", tag = "organizations", security(("admin_token" = [])),
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Organization>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, _: Admin, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.organization(id).await?)
}

/// Adds an API key to an organization (to rotate keys without downtime).
///
/// Needs the platform admin token.
#[utoipa::path(post, path = "/v1.1/organizations/{id}/api_keys", tag = "organizations", security(("admin_token" = [])),
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<NewApiKey>), BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Unavailable))]
pub async fn add_key(State(s): State<AppState>, _: Admin, IdPath(id): IdPath) -> ApiResult {
    let key = new_api_key(id);
    s.store.add_api_key(&key.record).await?;
    ok(NewApiKey { organization: id, api_key: key.key })
}

/// Reads the caller's organization.
#[utoipa::path(get, path = "/v1.1/organization", tag = "organization",
    responses((status = 200, description = "OK", body = Envelope<Organization>), Unauthorized, Unavailable))]
pub async fn mine(State(s): State<AppState>, Org(org): Org) -> ApiResult {
    ok(s.store.organization(org).await?)
}

/// Changes the caller's organization: its name, country, configurations and Stripe keys.
///
/// The Stripe keys are write-only: answers show only `stripe.configured`, true once both the
/// secret key and the webhook signing secret are set.
#[utoipa::path(patch, path = "/v1.1/organization", tag = "organization",
    request_body = OrganizationPatch,
    responses((status = 200, description = "OK", body = Envelope<Organization>), BadRequest, Unauthorized, TooLarge, Unavailable))]
pub async fn update_mine(State(s): State<AppState>, Org(org): Org, JsonBody(patch): JsonBody<OrganizationPatch>) -> ApiResult {
    let now = s.store.now();
    ok(s.store.change_organization(org, |current| patch.apply(current, now).map_err(ApiError::from)).await?)
}
