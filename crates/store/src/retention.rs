//! Retention: old meter values, events (with their finished deliveries) and delivery attempts
//! are deleted in bounded batches, so that storage does not grow without end. Rows still needed
//! are kept whatever their age: the readings of a transaction still running, an event not yet
//! fanned out or with a delivery still pending.

use domain::Timestamp;
use sqlx::{AssertSqlSafe, Row};

use crate::webhooks::execute_for_each;
use crate::{Store, StoreError};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// How long rows are kept, in days; 0 keeps them for ever.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retention {
    pub meter_values_days: u32,
    pub events_days: u32,
    pub delivery_attempts_days: u32,
}

impl Default for Retention {
    fn default() -> Self {
        Retention { meter_values_days: 400, events_days: 30, delivery_attempts_days: 30 }
    }
}

/// How many rows one round deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Purged {
    pub meter_values: usize,
    pub events: usize,
    pub delivery_attempts: usize,
}

impl Purged {
    /// Whether a table had a whole batch to delete, so more may be waiting.
    pub fn full(&self, batch: u32) -> bool {
        [self.meter_values, self.events, self.delivery_attempts].iter().any(|n| *n >= batch as usize)
    }
}

impl Store {
    /// Deletes at most `batch` expired rows of each kind, each kind in its own transaction.
    pub async fn purge_expired(&self, retention: &Retention, batch: u32) -> Result<Purged, StoreError> {
        let now = self.now();
        let before = |days: u32| (days > 0).then(|| Timestamp::from_millis(now.millis().saturating_sub(i64::from(days) * DAY_MS)));
        let mut purged = Purged::default();
        if let Some(before) = before(retention.meter_values_days) {
            purged.meter_values = self.purge_meter_values(before, batch).await?;
        }
        if let Some(before) = before(retention.events_days) {
            purged.events = self.purge_events(before, batch).await?;
        }
        if let Some(before) = before(retention.delivery_attempts_days) {
            let sql = "DELETE FROM webhook_attempts WHERE id IN (SELECT id FROM webhook_attempts WHERE created_at < $1 ORDER BY created_at LIMIT $2)";
            purged.delivery_attempts = self.delete_batch(sql, before, batch).await?;
        }
        Ok(purged)
    }

    /// Readings stored before `before`, except those of a transaction that has not stopped.
    async fn purge_meter_values(&self, before: Timestamp, batch: u32) -> Result<usize, StoreError> {
        let sql = "DELETE FROM readings WHERE id IN (SELECT m.id FROM readings m WHERE m.created_at < $1 AND (m.transaction_id IS NULL OR NOT EXISTS \
                   (SELECT 1 FROM transactions t WHERE t.chargestation_id = m.chargestation_id AND t.transaction_id = m.transaction_id AND t.stopped_at IS NULL)) \
                   ORDER BY m.created_at LIMIT $2)";
        self.delete_batch(sql, before, batch).await
    }

    async fn delete_batch(&self, sql: &'static str, before: Timestamp, batch: u32) -> Result<usize, StoreError> {
        let mut tx = self.write().await?;
        let deleted = sqlx::query(sql).bind(before.millis()).bind(i64::from(batch)).execute(&mut *tx).await?.rows_affected();
        tx.commit().await?;
        Ok(usize::try_from(deleted).unwrap_or(usize::MAX))
    }

    /// Events written before `before` that every endpoint is done with, and their deliveries.
    async fn purge_events(&self, before: Timestamp, batch: u32) -> Result<usize, StoreError> {
        let mut tx = self.write().await?;
        let sql = format!(
            "SELECT e.id FROM events e WHERE e.created_at < $1 AND e.fanned_out = 1 \
             AND NOT EXISTS (SELECT 1 FROM webhook_deliveries d WHERE d.event_id = e.id AND d.status = 'pending') ORDER BY e.created_at LIMIT $2{}",
            self.backend.skip_locked()
        );
        let rows = sqlx::query(AssertSqlSafe(sql)).bind(before.millis()).bind(i64::from(batch)).fetch_all(&mut *tx).await?;
        if rows.is_empty() {
            return Ok(0);
        }
        let ids = rows.iter().map(|r| r.try_get::<String, _>("id")).collect::<Result<Vec<_>, _>>()?;
        execute_for_each(&mut tx, "DELETE FROM webhook_deliveries WHERE event_id", &ids).await?;
        execute_for_each(&mut tx, "DELETE FROM events WHERE id", &ids).await?;
        tx.commit().await?;
        Ok(ids.len())
    }
}
