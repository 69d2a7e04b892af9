//! Tokens: the idTags chargers ask Joule to authorize. A change reaches the local lists of
//! the chargers that keep one.

use axum::extract::State;
use domain::token::{NewToken, Token, TokenInput};
use ocpp_server::local_list;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};

/// Creates a token; its `physicalId` is unique in the organization.
#[utoipa::path(post, path = "/v1.1/tokens", operation_id = "create_token", tag = "tokens",
    request_body = NewToken,
    responses((status = 200, description = "OK", body = Envelope<Token>), BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Unavailable))]
pub async fn create(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<TokenInput>) -> ApiResult {
    let token = input.create(s.store.new_id(), s.store.now())?;
    s.store.create_token(org, &token).await?;
    local_list::tokens_changed(&s.ocpp, org);
    ok(token)
}

/// Lists tokens, newest first.
#[utoipa::path(get, path = "/v1.1/tokens", operation_id = "list_tokens", tag = "tokens",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Token>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.text_filter("physicalId", "physical_id");
    ok(s.store.tokens(org, q.page, &q.filters).await?)
}

/// Reads a token.
#[utoipa::path(get, path = "/v1.1/tokens/{id}", operation_id = "get_token", tag = "tokens",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Token>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.token(org, id).await?)
}

/// Changes a token: absent fields stay, `null` clears `user` or `expiresAt`.
#[utoipa::path(patch, path = "/v1.1/tokens/{id}", operation_id = "update_token", tag = "tokens",
    params(IdPath), request_body = TokenInput,
    responses((status = 200, description = "OK", body = Envelope<Token>), BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Unavailable))]
pub async fn update(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(patch): JsonBody<TokenInput>) -> ApiResult {
    let now = s.store.now();
    let token = s.store.update_token(org, id, |stored| patch.apply(stored, now).map_err(ApiError::from)).await?;
    local_list::tokens_changed(&s.ocpp, org);
    ok(token)
}

/// Deletes a token; chargers presenting its idTag are then told `Invalid`.
#[utoipa::path(delete, path = "/v1.1/tokens/{id}", operation_id = "delete_token", tag = "tokens",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Token>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn delete(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    let deleted = s.store.delete_token(org, id).await?;
    local_list::tokens_changed(&s.ocpp, org);
    ok(deleted)
}
