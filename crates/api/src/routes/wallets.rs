//! Wallets: created per user (US organizations only), adjusted by hand, read with their ledger.

use axum::extract::State;
use domain::ledger::LedgerEntry;
use domain::wallet::{AdjustmentInput, Wallet, WalletInput};
use domain::{Currency, Id};
use serde::Serialize;
use store::StoreError;
use utoipa::ToSchema;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, Conflict, NotFound, Refused, TooLarge, Unauthorized, Unavailable};

/// A wallet after an adjustment, with the ledger entry the adjustment wrote.
#[derive(Serialize, ToSchema)]
pub struct Adjusted {
    wallet: Wallet,
    transaction: LedgerEntry,
}

async fn check_wallets_allowed(s: &AppState, org: Id) -> Result<(), ApiError> {
    if s.store.organization(org).await?.allows_wallets() { Ok(()) } else { Err(ApiError::refused("Wallets are only available in the US")) }
}

async fn new_wallet(s: &AppState, org: Id, user: Id, currency: Currency) -> Result<Wallet, StoreError> {
    let wallet = Wallet::new(s.store.new_id(), user, currency, s.store.now());
    s.store.create_wallet(org, &wallet).await?;
    Ok(wallet)
}

/// Creates the user's wallet.
#[utoipa::path(post, path = "/v1.1/users/{id}/wallet", operation_id = "create_wallet", tag = "wallets",
    params(IdPath), request_body = WalletInput,
    responses((status = 200, description = "OK", body = Envelope<Wallet>), BadRequest, Unauthorized, NotFound, Refused, Conflict, TooLarge, Unavailable))]
pub async fn create(State(s): State<AppState>, Org(org): Org, IdPath(user): IdPath, JsonBody(input): JsonBody<WalletInput>) -> ApiResult {
    let currency = input.currency()?;
    check_wallets_allowed(&s, org).await?;
    ok(new_wallet(&s, org, user, currency).await?)
}

/// The user's wallet, created in USD if the user has none yet (as eDRV does).
#[utoipa::path(get, path = "/v1.1/users/{id}/wallet", tag = "wallets",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Wallet>), BadRequest, Unauthorized, NotFound, Refused, Unavailable))]
pub async fn of_user(State(s): State<AppState>, Org(org): Org, IdPath(user): IdPath) -> ApiResult {
    if let Some(wallet) = s.store.wallet_of_user(org, user).await? {
        return ok(wallet);
    }
    check_wallets_allowed(&s, org).await?;
    match new_wallet(&s, org, user, Currency::USD).await {
        Ok(wallet) => ok(wallet),
        // Another request created it first: answer that one.
        Err(StoreError::Conflict(_)) => ok(s.store.wallet_of_user(org, user).await?),
        Err(e) => Err(e.into()),
    }
}

/// Reads a wallet.
#[utoipa::path(get, path = "/v1.1/wallets/{id}", operation_id = "get_wallet", tag = "wallets",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Wallet>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    ok(s.store.wallet(org, id).await?)
}

/// A manual credit or debit; answers the wallet after it and the ledger entry it wrote.
#[utoipa::path(post, path = "/v1.1/wallets/{id}/adjustments", tag = "wallets",
    params(IdPath), request_body = AdjustmentInput,
    responses((status = 200, description = "OK", body = Envelope<Adjusted>), BadRequest, Unauthorized, NotFound, Refused, Conflict, TooLarge, Unavailable))]
pub async fn adjust(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, JsonBody(input): JsonBody<AdjustmentInput>) -> ApiResult {
    let adjustment = input.parse()?;
    let (wallet, entry) = s.store.adjust_wallet(org, id, &adjustment).await?;
    ok(Adjusted { wallet, transaction: entry })
}

/// Lists a wallet's ledger entries, newest first.
#[utoipa::path(get, path = "/v1.1/wallets/{id}/transactions", tag = "wallets",
    params(IdPath, ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<LedgerEntry>>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn transactions(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, q: ListQuery) -> ApiResult {
    ok(s.store.wallet_transactions(org, id, q.page).await?)
}
