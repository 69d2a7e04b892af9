//! Meter readings as stored: one row per reading, the sampled values a charger stamped with one
//! time, with its samples as JSON and its energy register in a column of its own, which is
//! all that pricing reads back. With a row per sample, the database's work per reading grew
//! with the number of measurands and phases a charger reports.

use domain::{Id, Timestamp};
use serde::Serialize;
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::charger::{ENERGY_REGISTER, Sample};
use crate::{Store, StoreError};

/// Where sampled values were measured.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Place {
    pub organization: Id,
    pub chargestation: Id,
    pub connector_id: u32,
    pub transaction_id: Option<i64>,
}

/// A sampled value as a reading's `samples` keeps it (its time is the reading's).
#[derive(Serialize)]
struct Kept<'a> {
    measurand: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    phase: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    context: Option<&'a str>,
    unit: &'a str,
    value: &'a str,
}

/// The energy register's value of a sample (Wh), if it is one.
pub fn register(sample: &Sample) -> Option<&str> {
    (sample.measurand == ENERGY_REGISTER && sample.phase.is_none()).then_some(sample.value.as_str())
}

impl Store {
    /// The readings of `samples` received at `received` (consecutive samples of one time are
    /// one reading), each with a new id.
    pub(crate) fn reading_rows(&self, samples: &[Sample], received: Timestamp) -> Result<Vec<ReadingRow>, StoreError> {
        samples
            .chunk_by(|a, b| a.sampled_at == b.sampled_at)
            .map(|reading| {
                let kept: Vec<Kept> = reading
                    .iter()
                    .map(|s| Kept { measurand: &s.measurand, phase: s.phase.as_deref(), context: s.context.as_deref(), unit: &s.unit, value: &s.value })
                    .collect();
                Ok(ReadingRow {
                    id: self.new_id(),
                    sampled_at: reading[0].sampled_at.millis(),
                    register_wh: reading.iter().find_map(register).map(str::to_string),
                    samples: serde_json::to_string(&kept).map_err(StoreError::corrupt)?,
                    received_at: received.millis(),
                })
            })
            .collect()
    }

    /// The statement that inserts readings into `table` (`readings`, or `recent_readings` for
    /// the readings' writer on SQLite), the rows (a JSON array of `elements`) parameter `rows`.
    pub(crate) fn insert_readings_sql(&self, table: &str, rows: usize) -> String {
        format!(
            "INSERT INTO {table} (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at) \
             SELECT r.value ->> 0, r.value ->> 1, r.value ->> 2, CAST(r.value ->> 3 AS BIGINT), CAST(r.value ->> 4 AS BIGINT), \
             CAST(r.value ->> 5 AS BIGINT), r.value ->> 6, r.value ->> 7, CAST(r.value ->> 8 AS BIGINT) FROM {}",
            self.backend.json_rows(rows, "r")
        )
    }

    /// Inserts the readings of `samples` into `readings`, in one statement; answers how many.
    pub(crate) async fn insert_readings(&self, conn: &mut AnyConnection, place: &Place, samples: &[Sample]) -> Result<usize, StoreError> {
        let rows = self.reading_rows(samples, self.now())?;
        if !rows.is_empty() {
            let sql = self.insert_readings_sql("readings", 1);
            sqlx::query(AssertSqlSafe(sql)).bind(format!("[{}]", elements(place, &rows)?)).execute(conn).await?;
        }
        Ok(rows.len())
    }
}

/// A reading as stored, but for where it was measured.
#[derive(Debug)]
pub(crate) struct ReadingRow {
    pub id: Id,
    pub sampled_at: i64,
    /// The energy register's value (Wh), if the reading has one.
    pub register_wh: Option<String>,
    /// Its sampled values, as `readings.samples` keeps them.
    pub samples: String,
    /// When Joule received it (`created_at`): a reading stamped later counts then.
    pub received_at: i64,
}

/// The statement that inserts one reading into `table` with SQLite's numbered parameters: its
/// columns in order.
pub(crate) fn insert_one_sql(table: &str) -> String {
    format!(
        "INSERT INTO {table} (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
    )
}

/// The readings measured at `place`, as elements of the array `Store::insert_readings_sql`
/// takes, separated by commas (empty without readings).
pub(crate) fn elements(place: &Place, rows: &[ReadingRow]) -> Result<String, StoreError> {
    let mut elements = String::new();
    for r in rows {
        if !elements.is_empty() {
            elements.push(',');
        }
        let row =
            (r.id, place.organization, place.chargestation, place.connector_id, place.transaction_id, r.sampled_at, &r.register_wh, &r.samples, r.received_at);
        elements.push_str(&serde_json::to_string(&row).map_err(StoreError::corrupt)?);
    }
    Ok(elements)
}

/// A stored reading: when the charger stamped it, when Joule received it, its energy register
/// (Wh) if it has one.
pub(crate) type Stored = (Timestamp, Timestamp, Option<String>);

/// The readings of a chargestation's transaction (both tables).
pub(crate) async fn of_transaction(conn: &mut AnyConnection, cs: Id, transaction_id: i64) -> Result<Vec<Stored>, StoreError> {
    let rows = sqlx::query(
        "SELECT sampled_at, created_at, register_wh FROM readings WHERE chargestation_id = $1 AND transaction_id = $2 \
         UNION ALL SELECT sampled_at, created_at, register_wh FROM recent_readings WHERE chargestation_id = $1 AND transaction_id = $2",
    )
    .bind(cs.to_string())
    .bind(transaction_id)
    .fetch_all(conn)
    .await?;
    let at = |row: &sqlx::any::AnyRow, column| Ok::<_, StoreError>(Timestamp::from_millis(row.try_get(column)?));
    rows.iter().map(|row| Ok((at(row, "sampled_at")?, at(row, "created_at")?, row.try_get("register_wh")?))).collect()
}

/// The last energy register reading stored for a connector's transaction (or for none).
pub(crate) async fn last_register(conn: &mut AnyConnection, cs: Id, connector_id: u32, transaction_id: Option<i64>) -> Result<Option<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT register_wh, sampled_at FROM readings WHERE chargestation_id = $1 AND connector_id = $2 AND transaction_id IS NOT DISTINCT FROM $3 AND register_wh IS NOT NULL \
         UNION ALL SELECT register_wh, sampled_at FROM recent_readings WHERE chargestation_id = $1 AND connector_id = $2 AND transaction_id IS NOT DISTINCT FROM $3 AND register_wh IS NOT NULL \
         ORDER BY sampled_at DESC LIMIT 1",
    )
    .bind(cs.to_string())
    .bind(i64::from(connector_id))
    .bind(transaction_id)
    .fetch_optional(conn)
    .await?)
}
