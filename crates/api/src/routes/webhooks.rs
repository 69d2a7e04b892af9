//! Webhook endpoints: where events are POSTed, their signing secrets (shown once), and the
//! record of every delivery attempt.

use axum::extract::State;
use domain::webhook::{NewWebhook, Secret, WebhookEndpoint, WebhookInput, WebhookWithSecret, webhook_url};
use domain::webhook_delivery::DeliveryAttempt;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, NotFound, TooLarge, Unauthorized, Unavailable};

/// A new secret: `whsec_` and the base64 of 32 random bytes.
fn new_secret() -> Secret {
    Secret::from_key(&rand::random::<[u8; 32]>())
}

/// Refuses a URL that is or resolves to a private address, unless the server allows those.
async fn check_destination(s: &AppState, url: &str) -> Result<(), ApiError> {
    if !s.config.webhook_allow_private {
        webhooks::check_url(url).await?;
    }
    Ok(())
}

/// Creates a webhook endpoint. The answer carries its signing secret, the only time it is
/// shown.
#[utoipa::path(post, path = "/v1.1/webhooks", operation_id = "create_webhook", tag = "webhooks",
    request_body = NewWebhook,
    responses((status = 200, description = "OK", body = Envelope<WebhookWithSecret>), BadRequest, Unauthorized, TooLarge, Unavailable))]
pub async fn create(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<WebhookInput>) -> ApiResult {
    let endpoint = input.create(s.store.new_id(), &s.config.own_addresses(), s.store.now())?;
    check_destination(&s, &endpoint.url).await?;
    let secret = new_secret();
    s.store.create_webhook(org, &endpoint, &secret).await?;
    ok(WebhookWithSecret { endpoint, secret: secret.expose().to_string() })
}

/// Lists webhook endpoints, newest first.
#[utoipa::path(get, path = "/v1.1/webhooks", operation_id = "list_webhooks", tag = "webhooks",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<WebhookEndpoint>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    ok(s.store.webhooks(org, q.page, &q.filters).await?)
}

/// Reads a webhook endpoint (without its secret).
#[utoipa::path(get, path = "/v1.1/webhooks/{id}", operation_id = "get_webhook", tag = "webhooks",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<WebhookEndpoint>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.webhook(org, id).await?)
}

/// Changes an endpoint's `url`, `events`, `description` or `enabled`. Enabling it again
/// resumes its pending deliveries.
#[utoipa::path(patch, path = "/v1.1/webhooks/{id}", operation_id = "update_webhook", tag = "webhooks",
    params(IdPath), request_body = WebhookInput,
    responses((status = 200, description = "OK", body = Envelope<WebhookEndpoint>), BadRequest, Unauthorized, NotFound, TooLarge, Unavailable))]
pub async fn update(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<WebhookInput>) -> ApiResult {
    let (own, now) = (s.config.own_addresses(), s.store.now());
    if let Some(url) = &patch.url {
        check_destination(&s, &webhook_url(url, &own)?).await?;
    }
    ok(s.store.update_webhook(org, id, |stored| patch.apply(stored, &own, now).map_err(ApiError::from)).await?)
}

/// Deletes an endpoint, its pending deliveries and its attempt records.
#[utoipa::path(delete, path = "/v1.1/webhooks/{id}", operation_id = "delete_webhook", tag = "webhooks",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<WebhookEndpoint>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn delete(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.delete_webhook(org, id).await?)
}

/// Gives the endpoint a new signing secret, shown in this answer only. For 24 hours
/// deliveries carry signatures made with both the new and the old secret.
#[utoipa::path(post, path = "/v1.1/webhooks/{id}/rotate_secret", operation_id = "rotate_webhook_secret", tag = "webhooks",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<WebhookWithSecret>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn rotate_secret(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    let secret = new_secret();
    let endpoint = s.store.rotate_webhook_secret(org, id, &secret).await?;
    ok(WebhookWithSecret { endpoint, secret: secret.expose().to_string() })
}

/// Lists the attempts to deliver events to this endpoint, newest first: when, the HTTP status
/// or the error, how long it took, and when the next retry is due.
#[utoipa::path(get, path = "/v1.1/webhooks/{id}/deliveries", operation_id = "list_webhook_deliveries", tag = "webhooks",
    params(IdPath, ListQuery, ("event" = Option<domain::Id>, Query, description = "Only attempts to deliver this event.")),
    responses((status = 200, description = "OK", body = Envelope<Vec<DeliveryAttempt>>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn deliveries(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, q: ListQuery) -> ApiResult {
    let q = q.id_filter("event", "event_id")?;
    ok(s.store.webhook_attempts(org, id, q.page, &q.filters).await?)
}
