//! Stored first responses for `Idempotency-Key` replays.

use sqlx::Row;

use crate::{Store, StoreError};

/// Keys older than this are forgotten: a later request with the same key is new.
pub const IDEMPOTENCY_TTL_MS: i64 = 24 * 60 * 60 * 1000;

#[derive(Debug, PartialEq, Eq)]
pub enum IdempotencyStart {
    /// First use of the key: handle the request, then `idempotency_finish` or `_abandon`.
    New,
    /// The key was used with the same request: answer this again.
    Replay { status: u16, body: String },
    /// The key was used with another request.
    Mismatch,
    /// The first request with this key is still being handled.
    InProgress,
}

impl Store {
    /// Claims `key` within `scope` (an organization, or the platform admin) for a request
    /// whose method, path and body hash to `request_sha256`.
    pub async fn idempotency_start(&self, scope: &str, key: &str, request_sha256: &str) -> Result<IdempotencyStart, StoreError> {
        let now = self.now().millis();
        let mut tx = self.write().await?;
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND created_at < $3")
            .bind(scope.to_string())
            .bind(key.to_string())
            .bind(now - IDEMPOTENCY_TTL_MS)
            .execute(&mut *tx)
            .await?;
        let row = sqlx::query("SELECT request_sha256, status_code, response FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2")
            .bind(scope.to_string())
            .bind(key.to_string())
            .fetch_optional(&mut *tx)
            .await?;
        let outcome = match row {
            Some(row) => {
                let stored_hash: String = row.try_get("request_sha256")?;
                let status: Option<i64> = row.try_get("status_code")?;
                let body: Option<String> = row.try_get("response")?;
                match (stored_hash == request_sha256, status, body) {
                    (false, _, _) => IdempotencyStart::Mismatch,
                    (true, Some(status), Some(body)) => IdempotencyStart::Replay { status: status as u16, body },
                    (true, _, _) => IdempotencyStart::InProgress,
                }
            }
            None => {
                sqlx::query("INSERT INTO idempotency_keys (scope, idempotency_key, request_sha256, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(scope.to_string())
                    .bind(key.to_string())
                    .bind(request_sha256.to_string())
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                IdempotencyStart::New
            }
        };
        tx.commit().await?;
        Ok(outcome)
    }

    pub async fn idempotency_finish(&self, scope: &str, key: &str, status: u16, body: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE idempotency_keys SET status_code = $3, response = $4 WHERE scope = $1 AND idempotency_key = $2")
            .bind(scope.to_string())
            .bind(key.to_string())
            .bind(i64::from(status))
            .bind(body.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets a claimed key whose request failed for a reason a retry may not meet again.
    pub async fn idempotency_abandon(&self, scope: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE scope = $1 AND idempotency_key = $2 AND status_code IS NULL")
            .bind(scope.to_string())
            .bind(key.to_string())
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
