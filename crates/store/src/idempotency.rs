//! Stored first responses for `Idempotency-Key` replays, and the claim a request holds on its
//! key while it runs.
//!
//! A request claims its key ([`Store::idempotency_start`]) for a lease and runs inside
//! [`with_claim`]. A use case that answers a POST writes that answer into the claimed row in
//! its own transaction ([`Store::answer`]), so after a crash either the change and its stored
//! answer both exist or neither does, and a retry then runs the request afresh. The row is
//! fenced by the claim's token: a request that lost its claim (it outlived its lease and a
//! retry took over) cannot answer, and its change rolls back. Stored answers keep no secret:
//! the fields in [`SECRET_FIELDS`] are stored as null.

use std::future::Future;

use serde::Serialize;
use serde_json::{Value, json};
use sqlx::{AnyConnection, Row};

use crate::{Store, StoreError};

/// Keys older than this are forgotten: a later request with the same key is new.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

/// Answer fields that are never stored: a replay answers them as null.
pub const SECRET_FIELDS: [&str; 4] = ["api_key", "secret", "client_secret", "password"];

/// What a retry racing the first request, or a request that lost its claim, is told.
const IN_PROGRESS: &str = "A request with this Idempotency-Key is still being processed";

tokio::task_local! {
    /// The claim of the request the current task runs, if it carried an `Idempotency-Key`.
    static CLAIM: IdempotencyClaim;
}

/// A request's hold on its `Idempotency-Key`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdempotencyClaim {
    /// The caller the key belongs to: an organization's id, or `admin`.
    pub scope: String,
    pub key: String,
    /// The SHA-256 of the request's method, path and body.
    pub request_sha256: String,
    /// Which request holds the claim; a retry that takes over a stale claim gets a new one.
    token: String,
}

#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use of the key, or a takeover of a claim whose lease ended: handle the request
    /// inside [`with_claim`], then `idempotency_finish` or `_release` unless a use case answered.
    New(IdempotencyClaim),
    /// The key was used with the same request: answer this again.
    Replay { status: u16, body: String },
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key is still being handled.
    InProgress,
}

/// Runs `work` as the request holding `claim`: the use case that answers it stores its answer.
pub async fn with_claim<F: Future>(claim: IdempotencyClaim, work: F) -> F::Output {
    CLAIM.scope(claim, work).await
}

/// The claim of the request this task runs, if any.
pub fn current_claim() -> Option<IdempotencyClaim> {
    CLAIM.try_with(IdempotencyClaim::clone).ok()
}

/// The answer as stored: secrets removed, at any depth.
fn redact(value: &mut Value) {
    match value {
        Value::Object(fields) => {
            for (name, field) in fields.iter_mut() {
                if SECRET_FIELDS.contains(&name.as_str()) {
                    *field = Value::Null;
                } else {
                    redact(field);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(redact),
        _ => {}
    }
}

fn redacted_body(body: &str) -> String {
    match serde_json::from_str::<Value>(body) {
        Ok(mut value) => {
            redact(&mut value);
            value.to_string()
        }
        Err(_) => body.to_string(),
    }
}

fn new_token() -> String {
    format!("{:032x}", rand::random::<u128>())
}

impl Store {
    /// Claims `key` within `scope` (an organization, or the platform admin) for a request
    /// whose method, path and body hash to `request_sha256`, for `lease_ms`. A claim whose
    /// lease ended without an answer (its node died) is taken over.
    pub async fn idempotency_start(&self, scope: &str, key: &str, request_sha256: &str, lease_ms: i64) -> Result<IdempotencyStart, StoreError> {
        let now = self.now().millis();
        let claim = IdempotencyClaim { scope: scope.to_string(), key: key.to_string(), request_sha256: request_sha256.to_string(), token: new_token() };
        let lease_until = now.saturating_add(lease_ms);
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND created_at < $3")
            .bind(scope.to_string())
            .bind(key.to_string())
            .bind(now - IDEMPOTENCY_TTL_MS)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT request_sha256, status_code, response, lease_until FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2")
            .bind(scope.to_string())
            .bind(key.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let outcome = match row {
            Some(row) => {
                let stored_hash: String = row.try_get("request_sha256")?;
                let status: Option<i64> = row.try_get("status_code")?;
                let body: Option<String> = row.try_get("response")?;
                let leased: Option<i64> = row.try_get("lease_until")?;
                match (stored_hash == request_sha256, status, body) {
                    (false, _, _) => IdempotencyStart::Mismatch,
                    (true, Some(status), Some(body)) => IdempotencyStart::Replay { status: u16::try_from(status).unwrap_or(200), body },
                    (true, _, _) if leased.is_some_and(|until| until > now) => IdempotencyStart::InProgress,
                    (true, _, _) => {
                        let taken = sqlx::query(
                            "UPDATE idempotency_keys SET claim_token = $3, lease_until = $4 \
                             WHERE scope = $1 AND idempotency_key = $2 AND status_code IS NULL AND (lease_until IS NULL OR lease_until <= $5)",
                        )
                        .bind(scope.to_string())
                        .bind(key.to_string())
                        .bind(claim.token.clone())
                        .bind(lease_until)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                        if taken.rows_affected() == 1 { IdempotencyStart::New(claim) } else { IdempotencyStart::InProgress }
                    }
                }
            }
            None => {
                let inserted = sqlx::query(
                    "INSERT INTO idempotency_keys (scope, idempotency_key, request_sha256, created_at, claim_token, lease_until) \
                     VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(scope.to_string())
                .bind(key.to_string())
                .bind(request_sha256.to_string())
                .bind(now)
                .bind(claim.token.clone())
                .bind(lease_until)
                .execute(&mut *tx)
                .await?;
                // Another request with this key claimed it since the read above.
                if inserted.rows_affected() == 1 { IdempotencyStart::New(claim) } else { IdempotencyStart::InProgress }
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    /// Inside a use case's transaction: stores `result` as the 200 answer of the request this
    /// task runs, if it claimed an `Idempotency-Key`. A request that lost its claim gets a
    /// `Conflict`, so its change rolls back.
    pub(crate) async fn answer(&self, tx: &mut AnyConnection, result: &impl Serialize) -> Result<(), StoreError> {
        self.answer_with_secret(tx, result, None).await
    }

    /// [`Store::answer`] for an answer that also shows a secret made for it, under `field`
    /// beside the fields of `result`: a replay shows that field as null.
    pub(crate) async fn answer_with_secret(&self, tx: &mut AnyConnection, result: &impl Serialize, field: Option<&str>) -> Result<(), StoreError> {
        let Some(claim) = current_claim() else { return Ok(()) };
        let mut result = serde_json::to_value(result).map_err(StoreError::corrupt)?;
        if let (Some(field), Value::Object(fields)) = (field, &mut result) {
            fields.insert(field.to_string(), Value::Null);
        }
        let body = json!({ "ok": true, "message": "OK", "result": result }).to_string();
        if store_answer(tx, &claim, 200, &body).await? { Ok(()) } else { Err(StoreError::Conflict(IN_PROGRESS.into())) }
    }

    /// Stores the answer of a request no use case answered (a refusal, or a request that
    /// changed nothing here). Answers whether the claim was still this request's.
    pub async fn idempotency_finish(&self, claim: &IdempotencyClaim, status: u16, body: &str) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        let stored = store_answer(&mut tx, claim, status, body).await?;
        tx.commit().await?;
        Ok(stored)
    }

    /// Forgets a claimed key whose request failed for a reason a retry may not meet again,
    /// or whose retry is answered by its handler; an answer already stored stays.
    pub async fn idempotency_release(&self, claim: &IdempotencyClaim) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND claim_token = $3 AND status_code IS NULL")
            .bind(claim.scope.clone())
            .bind(claim.key.clone())
            .bind(claim.token.clone())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// Stores the answer on the claimed row if `claim` still holds it and nothing answered yet.
async fn store_answer(conn: &mut AnyConnection, claim: &IdempotencyClaim, status: u16, body: &str) -> Result<bool, StoreError> {
    let stored = sqlx::query(
        "UPDATE idempotency_keys SET status_code = $4, response = $5, lease_until = NULL \
         WHERE scope = $1 AND idempotency_key = $2 AND claim_token = $3 AND status_code IS NULL",
    )
    .bind(claim.scope.clone())
    .bind(claim.key.clone())
    .bind(claim.token.clone())
    .bind(i64::from(status))
    .bind(redacted_body(body))
    .execute(conn)
    .await?;
    Ok(stored.rows_affected() == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_answers_keep_no_secret_at_any_depth() {
        let mut answer =
            json!({ "ok": true, "result": { "_id": "a", "api_key": "jk_1", "nested": [{ "secret": "whsec_x", "name": "n" }], "client_secret": "pi_s" } });
        redact(&mut answer);
        assert_eq!(
            answer,
            json!({ "ok": true, "result": { "_id": "a", "api_key": null, "nested": [{ "secret": null, "name": "n" }], "client_secret": null } })
        );
    }
}
