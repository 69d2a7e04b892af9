//! The outbox: events written in the transaction of the change they describe.

use domain::event::{Event, NewEvent};
use domain::page::Page;
use domain::{Id, Timestamp};
use sqlx::Row;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::documents::{self, Filter};
use crate::{Store, StoreError};

impl Store {
    /// Writes events inside the caller's transaction.
    pub(crate) async fn record(&self, conn: &mut AnyConnection, org: Id, events: Vec<NewEvent>) -> Result<(), StoreError> {
        self.record_for(conn, events.into_iter().map(|e| (org, e)).collect()).await
    }

    /// Writes events of any organizations inside the caller's transaction: one statement for
    /// all of them, so a use case's events cost one round trip.
    pub(crate) async fn record_for(&self, conn: &mut AnyConnection, events: Vec<(Id, NewEvent)>) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let rows: Vec<_> = events.iter().map(|(org, e)| (self.new_id(), org.to_string(), e.object, &e.kind, e.data.to_string(), e.chargestation)).collect();
        let sql = format!(
            "INSERT INTO events (id, organization_id, object, kind, data, chargestation_id, created_at) \
             SELECT e.value ->> 0, e.value ->> 1, e.value ->> 2, e.value ->> 3, e.value ->> 4, e.value ->> 5, $1 FROM {}",
            self.backend.json_rows(2, "e")
        );
        sqlx::query(AssertSqlSafe(sql)).bind(self.now().millis()).bind(serde_json::to_string(&rows).map_err(StoreError::corrupt)?).execute(&mut *conn).await?;
        Ok(())
    }

    pub async fn events(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = documents::list_rows(&mut conn, "events", "id, object, kind, data, created_at", org, page, filters).await?;
        rows.iter().map(event_from_row).collect()
    }

    pub async fn event(&self, org: Id, id: Id) -> Result<Event, StoreError> {
        let row = sqlx::query("SELECT id, object, kind, data, created_at FROM events WHERE id = $1 AND organization_id = $2")
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()?.ok_or(StoreError::NotFound("event"))
    }
}

pub(crate) fn event_from_row(row: &AnyRow) -> Result<Event, StoreError> {
    let id: String = row.try_get("id")?;
    let data: String = row.try_get("data")?;
    Ok(Event {
        id: id.parse().map_err(StoreError::corrupt)?,
        object: row.try_get("object")?,
        kind: row.try_get("kind")?,
        data: serde_json::from_str(&data).map_err(StoreError::corrupt)?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}
