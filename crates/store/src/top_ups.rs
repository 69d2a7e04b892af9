//! Top-ups: a Stripe PaymentIntent and the credit it earns a wallet.
//!
//! A top-up's status changes only through [`Store::settle_top_up`], a guarded
//! `UPDATE ... WHERE status IN (...)` whose statuses are the pure state machine's
//! ([`Transition::from`]). Completing one credits the wallet, writes its `top_up` ledger entry
//! and records `top_up.completed` and `wallet.updated` in the same transaction, so a duplicated
//! or concurrent Stripe event finds the top-up completed already and credits nothing.

use domain::event::NewEvent;
use domain::ledger::{LedgerEntry, Movement};
use domain::page::Page;
use domain::stripe::SecretKey;
use domain::top_up::{TopUp, TopUpKind, TopUpStatus, TopUpView, Transition};
use domain::wallet::Wallet;
use domain::{Cents, Id, Timestamp};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::documents::{self, Filter};
use crate::idempotency::{IDEMPOTENCY_TTL_MS, current_claim};
use crate::{Store, StoreError};

const COLUMNS: &str = "id, user_id, wallet_id, kind, amount, wallet_amount, currency, status, payment_intent, client_secret, payment_method, failure_code, failure_message, expires_at, created_at, updated_at";

fn id_in(row: &AnyRow, column: &str) -> Result<Id, StoreError> {
    row.try_get::<String, _>(column)?.parse().map_err(StoreError::corrupt)
}

fn top_up_from_row(row: &AnyRow) -> Result<(TopUp, Option<String>), StoreError> {
    let kind: String = row.try_get("kind")?;
    let status: String = row.try_get("status")?;
    let top_up = TopUp {
        id: id_in(row, "id")?,
        user: id_in(row, "user_id")?,
        wallet: id_in(row, "wallet_id")?,
        kind: serde_json::from_value::<TopUpKind>(serde_json::Value::String(kind.clone())).map_err(|_| StoreError::corrupt(format!("top-up kind {kind}")))?,
        amount: Cents(row.try_get("amount")?),
        wallet_amount: Cents(row.try_get("wallet_amount")?),
        currency: row.try_get("currency")?,
        status: TopUpStatus::parse(&status).ok_or_else(|| StoreError::corrupt(format!("top-up status {status}")))?,
        payment_intent: row.try_get("payment_intent")?,
        payment_method: row.try_get("payment_method")?,
        failure_code: row.try_get("failure_code")?,
        failure_message: row.try_get("failure_message")?,
        expired_at: Timestamp::from_millis(row.try_get("expires_at")?),
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    };
    Ok((top_up, row.try_get("client_secret")?))
}

fn view_from_row(row: &AnyRow) -> Result<TopUpView, StoreError> {
    let (top_up, client_secret) = top_up_from_row(row)?;
    Ok(TopUpView::new(top_up, client_secret))
}

/// `'created', 'failed'`: the statuses a transition leaves, for `status IN (...)`. Only the
/// state machine's own names reach the SQL.
fn status_list(statuses: &[TopUpStatus]) -> String {
    statuses.iter().map(|s| format!("'{}'", s.as_str())).collect::<Vec<_>>().join(", ")
}

/// What [`Store::settle_top_up`] is told about the payment.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentFacts {
    /// The PaymentIntent, when Joule did not know it yet.
    pub payment_intent: Option<String>,
    /// Stripe's code and message for a refused payment.
    pub failure_code: Option<String>,
    pub failure_message: Option<String>,
}

/// The top-up after [`Store::settle_top_up`], and what changed.
#[derive(Clone, Debug, PartialEq)]
pub struct Settled {
    pub top_up: TopUpView,
    /// False when the transition did not apply (a duplicate or out-of-order event).
    pub changed: bool,
    /// The credited wallet and its ledger entry, when the top-up completed.
    pub credit: Option<(Wallet, LedgerEntry)>,
}

/// A top-up past its time, held by this node until its lease ends.
#[derive(Clone, Debug)]
pub struct ExpiringTopUp {
    pub organization: Id,
    pub top_up: TopUp,
    /// The organization's key, to cancel the PaymentIntent; `None` if it was removed.
    pub secret_key: Option<SecretKey>,
}

impl Store {
    /// Records a new top-up before Stripe is asked for its PaymentIntent, so that whatever
    /// Stripe does with the request, an event about it finds the top-up. It is announced
    /// (`top_up.created`) once its PaymentIntent is attached. Made by a request with an
    /// `Idempotency-Key`, it keeps that key, so a retry continues it ([`Store::top_up_of_request`]).
    pub async fn create_top_up(&self, org: Id, top_up: &TopUp) -> Result<(), StoreError> {
        let claim = current_claim();
        let mut tx = self.write().await?;
        if !documents::exists(&mut tx, "wallets", org, top_up.wallet).await? {
            return Err(StoreError::NotFound("wallet"));
        }
        sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO top_ups (organization_id, {COLUMNS}, idempotency_key, request_sha256) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
        )))
        .bind(org.to_string())
        .bind(top_up.id.to_string())
        .bind(top_up.user.to_string())
        .bind(top_up.wallet.to_string())
        .bind(serde_json::to_value(top_up.kind).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default())
        .bind(top_up.amount.0)
        .bind(top_up.wallet_amount.0)
        .bind(top_up.currency.clone())
        .bind(top_up.status.as_str())
        .bind(top_up.payment_intent.clone())
        .bind(None::<String>)
        .bind(top_up.payment_method.clone())
        .bind(top_up.failure_code.clone())
        .bind(top_up.failure_message.clone())
        .bind(top_up.expired_at.millis())
        .bind(top_up.created_at.millis())
        .bind(top_up.updated_at.millis())
        .bind(claim.as_ref().map(|c| c.key.clone()))
        .bind(claim.map(|c| c.request_sha256))
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The top-up made within the last 24 hours by a request with this `Idempotency-Key`, and
    /// that request's fingerprint.
    pub async fn top_up_of_request(&self, org: Id, idempotency_key: &str) -> Result<Option<(TopUpView, Option<String>)>, StoreError> {
        let since = self.now().millis() - IDEMPOTENCY_TTL_MS;
        let row = sqlx::query(AssertSqlSafe(format!(
            "SELECT request_sha256, {COLUMNS} FROM top_ups WHERE organization_id = $1 AND idempotency_key = $2 AND created_at >= $3 ORDER BY created_at DESC LIMIT 1"
        )))
        .bind(org.to_string())
        .bind(idempotency_key)
        .bind(since)
        .fetch_optional(&mut *self.pool.acquire().await?)
        .await?;
        row.map(|row| Ok((view_from_row(&row)?, row.try_get("request_sha256")?))).transpose()
    }

    /// Stores the PaymentIntent Stripe made for a top-up, with its client secret, and records
    /// `top_up.created` the first time while the top-up waits for its payment.
    pub async fn attach_payment_intent(&self, org: Id, id: Id, payment_intent: &str, client_secret: Option<&str>) -> Result<TopUpView, StoreError> {
        let now = self.now();
        let mut tx = self.write().await?;
        let attached = sqlx::query(AssertSqlSafe(format!(
            "UPDATE top_ups SET payment_intent = $1, client_secret = $2, updated_at = $3 \
             WHERE id = $4 AND organization_id = $5 AND payment_intent IS NULL RETURNING {COLUMNS}"
        )))
        .bind(payment_intent)
        .bind(client_secret)
        .bind(now.millis())
        .bind(id.to_string())
        .bind(org.to_string())
        .fetch_optional(&mut *tx)
        .await?;
        let view = match attached {
            Some(row) => {
                let view = view_from_row(&row)?;
                if view.top_up.status == TopUpStatus::Created {
                    self.record(&mut tx, org, vec![NewEvent::of("top_up", "created", &view.top_up)]).await?;
                }
                view
            }
            // A Stripe event told of the PaymentIntent first: keep the secret for the driver.
            None => {
                sqlx::query("UPDATE top_ups SET client_secret = COALESCE(client_secret, $1) WHERE id = $2 AND organization_id = $3 AND payment_intent = $4")
                    .bind(client_secret)
                    .bind(id.to_string())
                    .bind(org.to_string())
                    .bind(payment_intent)
                    .execute(&mut *tx)
                    .await?;
                self.top_up_in(&mut tx, org, id).await?
            }
        };
        tx.commit().await?;
        Ok(view)
    }

    pub async fn top_up(&self, org: Id, id: Id) -> Result<TopUpView, StoreError> {
        self.top_up_in(&mut *self.pool.acquire().await?, org, id).await
    }

    async fn top_up_in(&self, conn: &mut AnyConnection, org: Id, id: Id) -> Result<TopUpView, StoreError> {
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM top_ups WHERE id = $1 AND organization_id = $2")))
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(view_from_row).transpose()?.ok_or(StoreError::NotFound("top-up"))
    }

    /// The organization's top-ups, newest first; filters on `wallet_id`, `user_id`, `status`.
    pub async fn top_ups(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<TopUpView>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = documents::list_rows(&mut conn, "top_ups", COLUMNS, org, page, filters).await?;
        rows.iter().map(view_from_row).collect()
    }

    /// The organization's top-up a Stripe PaymentIntent pays: the one its metadata names, or
    /// else the one holding that PaymentIntent. `None` when there is none in this organization.
    pub async fn top_up_paid_by(&self, org: Id, named: Option<Id>, payment_intent: &str) -> Result<Option<TopUp>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if let Some(id) = named {
            match self.top_up_in(&mut conn, org, id).await {
                Ok(view) => return Ok(Some(view.top_up)),
                Err(StoreError::NotFound(_)) => {}
                Err(e) => return Err(e),
            }
        }
        let row = sqlx::query(AssertSqlSafe(format!("SELECT {COLUMNS} FROM top_ups WHERE payment_intent = $1 AND organization_id = $2")))
            .bind(payment_intent)
            .bind(org.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        Ok(row.as_ref().map(top_up_from_row).transpose()?.map(|(t, _)| t))
    }

    /// Applies `transition` to a top-up if its state machine allows it, in one transaction:
    /// the guarded status change, then for `Complete` the wallet's credit of `wallet_amount`
    /// and its `top_up` ledger entry, and the events (`top_up.completed`, `top_up.failed` or
    /// `top_up.expired`; `wallet.updated` with a credit). When the transition does not apply
    /// (a duplicate or late event) nothing changes and `changed` is false.
    pub async fn settle_top_up(&self, org: Id, id: Id, transition: Transition, facts: &PaymentFacts) -> Result<Settled, StoreError> {
        let now = self.now();
        // A completed top-up keeps no failure; an expired one keeps the last.
        let (failure, code, message) = match transition {
            Transition::Complete => ("failure_code = $5, failure_message = $6", None, None),
            Transition::Fail => ("failure_code = $5, failure_message = $6", facts.failure_code.clone(), facts.failure_message.clone()),
            Transition::Expire => (
                "failure_code = COALESCE($5, failure_code), failure_message = COALESCE($6, failure_message)",
                facts.failure_code.clone(),
                facts.failure_message.clone(),
            ),
        };
        let sql = format!(
            "UPDATE top_ups SET status = $1, updated_at = $2, payment_intent = COALESCE(payment_intent, $3), expiry_lease_until = NULL, {failure} \
             WHERE id = $4 AND organization_id = $7 AND status IN ({}) RETURNING {COLUMNS}",
            status_list(transition.from())
        );
        let mut tx = self.write().await?;
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(transition.to().as_str())
            .bind(now.millis())
            .bind(facts.payment_intent.clone())
            .bind(id.to_string())
            .bind(code)
            .bind(message)
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let Some(row) = row else {
            let top_up = self.top_up_in(&mut tx, org, id).await?;
            return Ok(Settled { top_up, changed: false, credit: None });
        };
        let top_up = view_from_row(&row)?;
        self.record(&mut tx, org, vec![NewEvent::of("top_up", transition.event(), &top_up.top_up)]).await?;
        let credit = match transition {
            Transition::Complete => {
                let t = &top_up.top_up;
                Some(self.move_money(&mut tx, org, t.wallet, Movement::TopUp(t.wallet_amount), Some(t.id.to_string())).await?)
            }
            Transition::Fail | Transition::Expire => None,
        };
        tx.commit().await?;
        Ok(Settled { top_up, changed: true, credit })
    }

    /// Takes up to `limit` top-ups that are past their time and not paid, for `lease_ms`: a
    /// node expiring them (which asks Stripe first) is the only one to until the lease ends.
    pub async fn claim_expired_top_ups(&self, lease_ms: i64, limit: i64) -> Result<Vec<ExpiringTopUp>, StoreError> {
        let now = self.now();
        let open = status_list(Transition::Expire.from());
        let mut tx = self.write().await?;
        let due = sqlx::query(AssertSqlSafe(format!(
            "SELECT id FROM top_ups WHERE status IN ({open}) AND expires_at <= $1 AND (expiry_lease_until IS NULL OR expiry_lease_until <= $1) \
             ORDER BY expires_at LIMIT $2{}",
            self.backend.skip_locked()
        )))
        .bind(now.millis())
        .bind(limit)
        .fetch_all(&mut *tx)
        .await?;
        let mut claimed = Vec::with_capacity(due.len());
        for row in &due {
            let id = id_in(row, "id")?;
            let row = sqlx::query(AssertSqlSafe(format!(
                "UPDATE top_ups SET expiry_lease_until = $1 WHERE id = $2 AND status IN ({open}) AND (expiry_lease_until IS NULL OR expiry_lease_until <= $3) \
                 RETURNING organization_id, {COLUMNS}"
            )))
            .bind(now.millis().saturating_add(lease_ms))
            .bind(id.to_string())
            .bind(now.millis())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(row) = row else { continue };
            let organization = id_in(&row, "organization_id")?;
            let secret_key = self.stripe_keys_in(&mut tx, organization).await?.secret_key;
            claimed.push(ExpiringTopUp { organization, top_up: top_up_from_row(&row)?.0, secret_key });
        }
        tx.commit().await?;
        Ok(claimed)
    }
}
