//! Events: everything the outbox holds, also events no webhook wanted.

use axum::extract::State;
use domain::Id;
use domain::event::Event;
use domain::webhook_delivery::Delivery;
use serde::Deserialize;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::ApiResult;
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, NotFound, TooLarge, Unauthorized, Unavailable};

/// Lists events, newest first.
#[utoipa::path(get, path = "/v1.1/events", operation_id = "list_events", tag = "events",
    params(ListQuery,
        ("type" = Option<String>, Query, description = "Only events of this type, such as `wallet.updated`."),
        ("object" = Option<String>, Query, description = "Only events about this kind of object, such as `wallet`."),
        ("chargestation" = Option<Id>, Query, description = "Only events about this chargestation.")),
    responses((status = 200, description = "OK", body = Envelope<Vec<Event>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.text_filter("type", "kind").text_filter("object", "object").id_filter("chargestation", "chargestation_id")?;
    ok(s.store.events(org, q.page, &q.filters).await?)
}

/// Reads an event.
#[utoipa::path(get, path = "/v1.1/events/{id}", operation_id = "get_event", tag = "events",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Event>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.event(org, id).await?)
}

/// `POST /v1.1/events/{id}/redeliver`: to one endpoint, or (`{}`) to every enabled endpoint
/// whose patterns match the event.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RedeliverInput {
    /// The webhook endpoint to deliver to, whatever its patterns.
    pub webhook: Option<Id>,
}

/// Delivers an event again, with the same `webhook-id` as before; answers the new deliveries.
#[utoipa::path(post, path = "/v1.1/events/{id}/redeliver", operation_id = "redeliver_event", tag = "events",
    params(IdPath), request_body = RedeliverInput,
    responses((status = 200, description = "OK", body = Envelope<Vec<Delivery>>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn redeliver(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(input): JsonBody<RedeliverInput>) -> ApiResult {
    ok(s.store.redeliver_event(org, id, input.webhook).await?)
}
