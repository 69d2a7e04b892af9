//! Users, locations, rates and connectors: create, read, list and change.

use axum::extract::State;
use domain::Id;
use domain::connector::{Connector, ConnectorInput, ConnectorPatch};
use domain::location::{Location, LocationInput, NewLocation};
use domain::rate::{NewRate, Rate, RateInput};
use domain::user::{UserInput, UserView};

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};

/// Creates a user.
#[utoipa::path(post, path = "/v1.1/users", tag = "users",
    request_body = UserInput,
    responses((status = 200, description = "OK", body = Envelope<UserView>), BadRequest, Unauthorized, Conflict, TooLarge, Unavailable))]
pub async fn create_user(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<UserInput>) -> ApiResult {
    let user = input.create(s.store.new_id(), s.store.now())?;
    ok(s.store.create_user(org, &user).await?)
}

/// Lists users, newest first, each with its wallet.
#[utoipa::path(get, path = "/v1.1/users", tag = "users",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<UserView>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list_users(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.users(org, q.page, &q.filters).await?)
}

/// Reads a user with its wallet.
#[utoipa::path(get, path = "/v1.1/users/{id}", tag = "users",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<UserView>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_user(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.user(org, id).await?)
}

/// Changes a user: absent fields stay, `null` clears one.
#[utoipa::path(patch, path = "/v1.1/users/{id}", tag = "users",
    params(IdPath), request_body = UserInput,
    responses((status = 200, description = "OK", body = Envelope<UserView>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn update_user(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<UserInput>) -> ApiResult {
    let now = s.store.now();
    ok(s.store.update_user(org, id, |stored| patch.apply(stored, now).map_err(ApiError::from)).await?)
}

/// Creates a location.
#[utoipa::path(post, path = "/v1.1/locations", tag = "locations",
    request_body = NewLocation,
    responses((status = 200, description = "OK", body = Envelope<Location>), BadRequest, Unauthorized, Conflict, TooLarge, Unavailable))]
pub async fn create_location(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<LocationInput>) -> ApiResult {
    let location = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_location(org, &location).await?;
    ok(location)
}

/// Lists locations, newest first.
#[utoipa::path(get, path = "/v1.1/locations", tag = "locations",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Location>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list_locations(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.locations(org, q.page, &q.filters).await?)
}

/// Reads a location.
#[utoipa::path(get, path = "/v1.1/locations/{id}", tag = "locations",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Location>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_location(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.location(org, id).await?)
}

/// Changes a location: absent fields stay, `null` clears one.
#[utoipa::path(patch, path = "/v1.1/locations/{id}", tag = "locations",
    params(IdPath), request_body = LocationInput,
    responses((status = 200, description = "OK", body = Envelope<Location>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn update_location(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<LocationInput>) -> ApiResult {
    let now = s.store.now();
    ok(s.store.update_location(org, id, |stored| patch.apply(stored, now).map_err(ApiError::from)).await?)
}

/// Creates a rate.
#[utoipa::path(post, path = "/v1.1/rates", tag = "rates",
    request_body = NewRate,
    responses((status = 200, description = "OK", body = Envelope<Rate>), BadRequest, Unauthorized, Conflict, TooLarge, Unavailable))]
pub async fn create_rate(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<RateInput>) -> ApiResult {
    let rate = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_rate(org, &rate).await?;
    ok(rate)
}

/// Lists rates, newest first.
#[utoipa::path(get, path = "/v1.1/rates", tag = "rates",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Rate>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list_rates(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.rates(org, q.page, &q.filters).await?)
}

/// Reads a rate.
#[utoipa::path(get, path = "/v1.1/rates/{id}", tag = "rates",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Rate>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_rate(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.rate(org, id).await?)
}

/// Creates a connector on a chargestation.
#[utoipa::path(post, path = "/v1.1/connectors", tag = "connectors",
    request_body = ConnectorInput,
    responses((status = 200, description = "OK", body = Envelope<Connector>), BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Unavailable))]
pub async fn create_connector(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<ConnectorInput>) -> ApiResult {
    let connector = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_connector(org, &connector).await?;
    ok(connector)
}

/// Lists connectors, newest first.
#[utoipa::path(get, path = "/v1.1/connectors", tag = "connectors",
    params(ListQuery,
        ("chargestation" = Option<Id>, Query, description = "Only the connectors of this chargestation."),
        ("rate" = Option<Id>, Query, description = "Only the connectors with this rate.")),
    responses((status = 200, description = "OK", body = Envelope<Vec<Connector>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list_connectors(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.id_filter("chargestation", "chargestation_id")?.id_filter("rate", "rate_id")?;
    ok(s.store.connectors(org, q.page, &q.filters).await?)
}

/// Reads a connector.
#[utoipa::path(get, path = "/v1.1/connectors/{id}", tag = "connectors",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Connector>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_connector(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.connector(org, id).await?)
}

/// Changes a connector: absent fields stay, `null` clears one.
#[utoipa::path(patch, path = "/v1.1/connectors/{id}", tag = "connectors",
    params(IdPath), request_body = ConnectorPatch,
    responses((status = 200, description = "OK", body = Envelope<Connector>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn update_connector(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<ConnectorPatch>) -> ApiResult {
    let now = s.store.now();
    ok(s.store.update_connector(org, id, |stored| patch.apply(stored, now).map_err(ApiError::from)).await?)
}
