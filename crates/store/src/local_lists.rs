//! Local authorization lists: the organization's tokens, and what was last sent to a charger
//! (`domain::local_list`), kept on its chargestation's row.

use domain::Id;
use domain::local_list::{Entry, Sent};
use domain::token::Token;
use sqlx::Row;

use crate::{Store, StoreError, documents};

impl Store {
    /// Every token of the organization, what was last sent to the chargestation's list, and
    /// the OCPP version the chargestation speaks.
    pub async fn local_list_basis(&self, org: Id, cs: Id) -> Result<(Vec<Token>, Option<Sent>, String), StoreError> {
        let mut conn = self.pool.acquire().await?;
        let row = sqlx::query(
            "SELECT protocol, local_list_version, local_list_status, local_list_entries FROM chargestations WHERE id = $1 AND organization_id = $2",
        )
        .bind(cs.to_string())
        .bind(org.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound("chargestation"))?;
        let protocol: String = row.try_get("protocol")?;
        let version: Option<i64> = row.try_get("local_list_version")?;
        let status: Option<String> = row.try_get("local_list_status")?;
        let entries: Option<String> = row.try_get("local_list_entries")?;
        let sent = match (version, entries) {
            (Some(version), Some(entries)) => {
                let entries: Vec<Entry> = serde_json::from_str(&entries).map_err(StoreError::corrupt)?;
                Some(Sent { version, entries, accepted: status.as_deref() == Some("Accepted") })
            }
            _ => None,
        };
        let rows = sqlx::query("SELECT data FROM tokens WHERE organization_id = $1 ORDER BY physical_id").bind(org.to_string()).fetch_all(&mut *conn).await?;
        let tokens = rows.iter().map(documents::from_row).collect::<Result<_, _>>()?;
        Ok((tokens, sent, protocol))
    }

    /// The organization's online chargestations that were sent a local list.
    pub async fn chargestations_with_local_lists(&self, org: Id) -> Result<Vec<Id>, StoreError> {
        let rows = sqlx::query("SELECT id FROM chargestations WHERE organization_id = $1 AND local_list_version IS NOT NULL AND online = 1")
            .bind(org.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| r.try_get::<String, _>("id")?.parse().map_err(StoreError::corrupt)).collect()
    }

    /// Records a list sent to the chargestation and the charger's answer to it.
    pub async fn record_local_list(&self, org: Id, cs: Id, version: i64, entries: &[Entry], status: &str) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let entries = serde_json::to_string(entries).map_err(StoreError::corrupt)?;
        sqlx::query(
            "UPDATE chargestations SET local_list_version = $3, local_list_status = $4, local_list_synced_at = $5, local_list_entries = $6 \
             WHERE id = $1 AND organization_id = $2",
        )
        .bind(cs.to_string())
        .bind(org.to_string())
        .bind(version)
        .bind(status.to_string())
        .bind(self.now().millis())
        .bind(entries)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }
}
