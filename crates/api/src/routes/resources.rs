//! Users, locations, rates and connectors: create, read, list and change.

use axum::extract::State;
use domain::connector::{ConnectorInput, ConnectorPatch};
use domain::location::LocationInput;
use domain::rate::RateInput;
use domain::user::UserInput;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::ok;
use crate::error::ApiResult;
use crate::extract::{IdPath, JsonBody, ListQuery};

pub async fn create_user(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<UserInput>) -> ApiResult {
    let user = input.create(s.store.new_id(), s.store.now())?;
    ok(s.store.create_user(org, &user).await?)
}

pub async fn list_users(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.users(org, q.page, &q.filters).await?)
}

pub async fn get_user(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.user(org, id).await?)
}

pub async fn update_user(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<UserInput>) -> ApiResult {
    let user = patch.apply(s.store.user_record(org, id).await?, s.store.now())?;
    ok(s.store.update_user(org, &user).await?)
}

pub async fn create_location(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<LocationInput>) -> ApiResult {
    let location = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_location(org, &location).await?;
    ok(location)
}

pub async fn list_locations(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.locations(org, q.page, &q.filters).await?)
}

pub async fn get_location(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.location(org, id).await?)
}

pub async fn update_location(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<LocationInput>) -> ApiResult {
    let location = patch.apply(s.store.location(org, id).await?, s.store.now())?;
    s.store.update_location(org, &location).await?;
    ok(location)
}

pub async fn create_rate(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<RateInput>) -> ApiResult {
    let rate = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_rate(org, &rate).await?;
    ok(rate)
}

pub async fn list_rates(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.rates(org, q.page, &q.filters).await?)
}

pub async fn get_rate(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.rate(org, id).await?)
}

pub async fn create_connector(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<ConnectorInput>) -> ApiResult {
    let connector = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_connector(org, &connector).await?;
    ok(connector)
}

pub async fn list_connectors(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.id_filter("chargestation", "chargestation_id")?.id_filter("rate", "rate_id")?;
    ok(s.store.connectors(org, q.page, &q.filters).await?)
}

pub async fn get_connector(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.connector(org, id).await?)
}

pub async fn update_connector(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<ConnectorPatch>) -> ApiResult {
    let connector = patch.apply(s.store.connector(org, id).await?, s.store.now())?;
    s.store.update_connector(org, &connector).await?;
    ok(connector)
}
