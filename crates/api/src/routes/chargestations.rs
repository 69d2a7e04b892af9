//! Chargestations: registered here, then known to the OCPP server by their endpoint.

use axum::extract::State;
use domain::Id;
use domain::chargestation::{Chargestation, ChargestationInput, ChargestationPatch, Credentials, SecurityType};
use store::{ChargestationRecord, ChargestationUpdate, StoredSecurity};

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::ApiResult;
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};
use ocpp_server::passwords::hash_password;

fn stored(credentials: Credentials) -> StoredSecurity {
    match credentials {
        Credentials::None => StoredSecurity { kind: SecurityType::None, password_hash: None },
        Credentials::Basic { password } => StoredSecurity { kind: SecurityType::Basic, password_hash: Some(hash_password(&password)) },
    }
}

/// Registers a chargestation and answers the URL it connects to.
#[utoipa::path(post, path = "/v1.1/chargestations", operation_id = "create_chargestation", tag = "chargestations",
    request_body = ChargestationInput,
    responses((status = 200, description = "OK", body = Envelope<Chargestation>), BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Unavailable))]
pub async fn create(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<ChargestationInput>) -> ApiResult {
    let cs = input.parse()?;
    let record = ChargestationRecord {
        id: s.store.new_id(),
        connection_url: format!("{}/ocpp/{}", s.config.public_ws_url.trim_end_matches('/'), cs.endpoint),
        endpoint: cs.endpoint,
        protocol: cs.protocol,
        location: cs.location,
        security: stored(cs.security),
        registration: cs.registration,
        created_at: s.store.now(),
    };
    ok(s.store.create_chargestation(org, &record).await?)
}

/// Lists chargestations, newest first, each with its connectors.
#[utoipa::path(get, path = "/v1.1/chargestations", operation_id = "list_chargestations", tag = "chargestations",
    params(ListQuery, ("location" = Option<Id>, Query, description = "Only the chargestations at this location.")),
    responses((status = 200, description = "OK", body = Envelope<Vec<Chargestation>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.id_filter("location", "location_id")?;
    ok(s.store.chargestations(org, q.page, &q.filters).await?)
}

/// Reads a chargestation with its connectors.
#[utoipa::path(get, path = "/v1.1/chargestations/{id}", operation_id = "get_chargestation", tag = "chargestations",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Chargestation>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.chargestation(org, id).await?)
}

/// Changes a chargestation's location, security or registration. A change of `security`
/// closes the charger's open connection, so it reconnects with the new credentials.
#[utoipa::path(patch, path = "/v1.1/chargestations/{id}", operation_id = "update_chargestation", tag = "chargestations",
    params(IdPath), request_body = ChargestationPatch,
    responses((status = 200, description = "OK", body = Envelope<Chargestation>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn update(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<ChargestationPatch>) -> ApiResult {
    let changes = patch.parse()?;
    let update = ChargestationUpdate { location: changes.location, security: changes.security.map(stored), registration: changes.registration };
    let security_changed = update.security.is_some();
    let chargestation = s.store.update_chargestation(org, id, &update).await?;
    if security_changed {
        // Its open connection logged in with the old credentials: it must log in again.
        s.ocpp.disconnect(id, ocpp_server::SECURITY_CHANGED).await;
    }
    ok(chargestation)
}
