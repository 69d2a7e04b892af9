//! Top-ups: a driver funds a wallet with a card through the organization's Stripe account
//! (US organizations), and Stripe's webhook tells Joule when the payment succeeded.

use axum::extract::State;
use axum::http::HeaderMap;
use domain::top_up::{CreateTopUp, TopUpInput, TopUpView};
use stripe::Receipt;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::ApiResult;
use crate::extract::{IdPath, JsonBody, ListQuery, RawBody};
use crate::idempotency::AnsweredByResource;
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};

/// Creates a top-up of a wallet: a Stripe PaymentIntent of `amount` cents that credits
/// `wallet_amount` cents (default `amount`) once paid.
///
/// `type: "manual"`: the answer's `client_secret` is what the driver's app confirms the
/// PaymentIntent with, through Stripe's client SDKs. `type: "manual_with_payment_method"`:
/// Joule confirms it off-session at once with the saved `payment_method` (and `customer`, if
/// the method is saved on one), and the answer is the completed top-up. The wallet is credited
/// when Stripe reports the payment (or, off-session, at once); at the end of its lifetime (24
/// hours by default, `expiredAt`) Joule asks Stripe about the PaymentIntent: paid, the top-up
/// completes; otherwise the PaymentIntent is cancelled and the top-up expires.
///
/// With an `Idempotency-Key`, a retry answers the top-up as it is now (with its
/// `client_secret`), and a retry after Stripe could not be reached asks Stripe again under the
/// same Stripe idempotency key: one PaymentIntent, never a second charge.
#[utoipa::path(post, path = "/v1.1/top_up", operation_id = "create_top_up", tag = "top-ups",
    request_body = CreateTopUp,
    responses((status = 200, description = "OK", body = Envelope<TopUpView>), BadRequest, Unauthorized,
        (status = 402, description = "Stripe declined the card; the message carries Stripe's message and codes"), NotFound,
        (status = 405, description = "`Top-ups are only available in the US`, `Stripe is not configured for this organization`, `Stripe does not accept payments in <currency>`, or Stripe refused the organization's key"),
        Conflict, TooLarge, (status = 502, description = "Stripe could not be reached; the top-up stays `created` and a retry with the same `Idempotency-Key` continues it"), Unavailable))]
pub async fn create(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<TopUpInput>) -> ApiResult {
    let mut answer = ok(s.top_ups.create(org, input.parse()?).await?)?;
    // A retry with the same Idempotency-Key reads the top-up again, with its client secret,
    // which no stored answer keeps.
    answer.extensions_mut().insert(AnsweredByResource);
    Ok(answer)
}

/// Lists top-ups, newest first; filter by `wallet`, `user`, `status`.
#[utoipa::path(get, path = "/v1.1/top_up", operation_id = "list_top_ups", tag = "top-ups",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<TopUpView>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.id_filter("wallet", "wallet_id")?.id_filter("user", "user_id")?.text_filter("status", "status");
    ok(s.store.top_ups(org, q.page, &q.filters).await?)
}

/// Reads a top-up.
#[utoipa::path(get, path = "/v1.1/top_up/{id}", operation_id = "get_top_up", tag = "top-ups",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<TopUpView>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.top_up(org, id).await?)
}

/// Stripe's webhook for the organization `{id}`: register this URL in the organization's
/// Stripe account, and its signing secret as `stripe.webhook_secret`.
///
/// No API key: the exact body must carry a valid `Stripe-Signature` (HMAC-SHA256 with the
/// webhook secret, any of several `v1` entries, a timestamp within 5 minutes), or the answer
/// is a 400 and nothing changes. `payment_intent.succeeded` completes the top-up it pays and
/// credits its wallet once; `payment_intent.payment_failed` marks it failed; every other
/// event, and events for PaymentIntents that are not this organization's top-ups, are
/// acknowledged with `applied: false`.
#[utoipa::path(post, path = "/v1.1/integrations/stripe/{id}/webhook", operation_id = "stripe_webhook", tag = "top-ups", security(()),
    params(IdPath), request_body(content = String, description = "A Stripe event, exactly as Stripe sent it", content_type = "application/json"),
    responses((status = 200, description = "OK", body = Envelope<Receipt>), (status = 400, description = "A missing, malformed, forged or stale `Stripe-Signature`, or a body that is not a Stripe event"),
        NotFound, (status = 405, description = "`Stripe is not configured for this organization`"), TooLarge, Unavailable))]
pub async fn stripe_webhook(State(s): State<AppState>, IdPath(org): IdPath, headers: HeaderMap, RawBody(body): RawBody) -> ApiResult {
    let signature = headers.get("stripe-signature").and_then(|v| v.to_str().ok());
    ok(s.top_ups.receive(org, signature, &body).await?)
}
