//! Where a running session's cost lives. The readings' writer sets it at every reading in
//! `session_progress`, one small row per session, instead of rewriting the session's whole
//! JSON document: on SQLite that rewrite cost about a third of a reading's time (the JSON
//! functions, and the document's pages in every commit). Every read of a session selects
//! `SHOWN` and `read` lays the progress over the document while the session runs and the
//! progress is no older than the document's last change (a reading in the millisecond of the
//! session's start is shown); a later change of the document was made from such a read, so it
//! already holds the progress, and the end writes the final cost into the document.
//!
//! The session row's `updated_at` is then the time of the document's last change only: a
//! writer that knows a time at or after it knows the session as it is.

use domain::session::{Metrics, Session};
use domain::{Id, Timestamp};
use serde::Deserialize;
use serde_json::Value;
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};
use tariff::Cost;

use crate::{Backend, StoreError, documents};

/// What a read of sessions selects: the document, and the progress to lay over it (as one
/// JSON text, put together in SQL both backends share).
pub(crate) const SHOWN: &str = "data, (SELECT '{\"cost\":' || p.cost || ',\"metrics\":' || p.metrics || ',\"at\":' || CAST(p.updated_at AS TEXT) || '}' \
     FROM session_progress p WHERE p.session_id = sessions.id AND p.updated_at >= sessions.updated_at AND sessions.status IN ('started', 'paused')) AS progress";

#[derive(Deserialize)]
struct Progress {
    cost: Option<Value>,
    metrics: Metrics,
    at: i64,
}

/// A session selected with `SHOWN`.
pub(crate) fn read(row: &AnyRow) -> Result<Session, StoreError> {
    let mut session: Session = documents::from_row(row)?;
    if let Some(progress) = row.try_get::<Option<String>, _>("progress")? {
        let progress: Progress = serde_json::from_str(&progress).map_err(StoreError::corrupt)?;
        session.cost = progress.cost;
        session.metrics = Some(progress.metrics);
        session.updated_at = Timestamp::from_millis(progress.at);
    }
    Ok(session)
}

/// The statement that sets the progress of those of the sessions of parameter `sets` (an
/// array of `element`s) that still run (`guarded`: and that nothing else changed since their
/// writer knew them), at parameter `now`; its rows are the sessions set.
pub(crate) fn set_sql(backend: Backend, now: usize, sets: usize, guarded: bool) -> String {
    let guard = if guarded { " AND s.updated_at <= CAST(p.value ->> 4 AS BIGINT)" } else { "" };
    format!(
        "INSERT INTO session_progress (session_id, cost, metrics, updated_at) \
         SELECT p.value ->> 0, p.value ->> 2, p.value ->> 3, ${now} FROM {} \
         JOIN sessions s ON s.id = p.value ->> 0 AND s.organization_id = p.value ->> 1 AND s.status IN ('started', 'paused'){guard} WHERE true \
         ON CONFLICT (session_id) DO UPDATE SET cost = excluded.cost, metrics = excluded.metrics, updated_at = excluded.updated_at \
         RETURNING session_id",
        backend.json_rows(sets, "p")
    )
}

/// A session's cost and metrics as `session_progress` keeps them: JSON texts, stored as they are.
pub(crate) fn texts(cost: &Option<Cost>, metrics: &Metrics) -> Result<(String, String), StoreError> {
    let cost = match cost {
        Some(cost) => cost_json(cost)?,
        None => "null".to_string(),
    };
    Ok((cost, serde_json::to_string(metrics).map_err(StoreError::corrupt)?))
}

/// `cost` as `serde_json::to_string` writes it. Serde writes each decimal (an
/// arbitrary-precision number) by formatting it, parsing that text into a number and
/// writing the number, through a map with a private key: a running session's cost, written
/// with every reading, was the most costly part of a reading in the connection's task
/// (BENCHMARKS.md, "A writer without round trips"). Here a decimal is written as its text.
fn cost_json(cost: &Cost) -> Result<String, StoreError> {
    use std::fmt::Write;
    let text = |value: &str| serde_json::to_string(value).map_err(StoreError::corrupt);
    let mut out = String::with_capacity(160 + 320 * cost.breakdown.len());
    let mut write = || -> Result<(), StoreError> {
        write!(out, "{{\"amount\":{},\"currency\":{},\"breakdown\":[", cost.amount, text(cost.currency.code())?).map_err(StoreError::corrupt)?;
        for (i, row) in cost.breakdown.iter().enumerate() {
            let kind = serde_json::to_string(&row.kind).map_err(StoreError::corrupt)?;
            write!(
                out,
                "{}{{\"type\":{kind},\"period\":{{\"startTime\":\"{}\",\"endTime\":\"{}\"}},\"rateName\":{},\"quantity\":{},\"unit\":{},\
                 \"unitPrice\":{},\"beforeTax\":{},\"tax\":{},\"totalTax\":{},\"totalCost\":{}}}",
                if i > 0 { "," } else { "" },
                row.period.start,
                row.period.end,
                text(&row.rate_name)?,
                row.quantity,
                text(row.unit)?,
                row.unit_price,
                row.before_tax,
                row.tax,
                row.total_tax,
                row.total_cost,
            )
            .map_err(StoreError::corrupt)?;
        }
        out.push_str("]}");
        Ok(())
    };
    write()?;
    Ok(out)
}

/// One session's progress as `set_sql` takes it, its writer knowing the session as of
/// `known`, its cost and metrics as `texts`.
pub(crate) fn element(session: Id, organization: Id, cost: &str, metrics: &str, known: Timestamp) -> Result<String, StoreError> {
    serde_json::to_string(&(session, organization, cost, metrics, known.millis())).map_err(StoreError::corrupt)
}

/// `set_sql` for one session with SQLite's numbered parameters, guarded: the session, its
/// organization, the cost, the metrics, the time its writer knew it as, then `now`. It
/// changes one row if the session still runs and nothing else changed it since, none if not.
pub(crate) const SET_ONE_SQL: &str = "INSERT INTO session_progress (session_id, cost, metrics, updated_at) \
     SELECT s.id, ?3, ?4, ?6 FROM sessions s \
     WHERE s.id = ?1 AND s.organization_id = ?2 AND s.status IN ('started', 'paused') AND s.updated_at <= ?5 \
     ON CONFLICT (session_id) DO UPDATE SET cost = excluded.cost, metrics = excluded.metrics, updated_at = excluded.updated_at";

/// The sessions `set_sql` answered it set.
pub(crate) fn sessions_set(rows: &[AnyRow]) -> Result<Vec<Id>, StoreError> {
    rows.iter().map(|row| row.try_get::<String, _>("session_id")?.parse().map_err(StoreError::corrupt)).collect()
}

/// Sets the progress of one session (an `element`) if it still runs, at `now`; answers
/// whether it did.
pub(crate) async fn set_one(conn: &mut AnyConnection, backend: Backend, element: &str, now: Timestamp) -> Result<bool, StoreError> {
    let rows = sqlx::query(AssertSqlSafe(set_sql(backend, 1, 2, false))).bind(now.millis()).bind(format!("[{element}]")).fetch_all(conn).await?;
    Ok(!sessions_set(&rows)?.is_empty())
}

/// The time of the session's document's last change, if it exists.
pub(crate) async fn changed_at(conn: &mut AnyConnection, id: Id) -> Result<Option<Timestamp>, StoreError> {
    let at: Option<i64> = sqlx::query_scalar("SELECT updated_at FROM sessions WHERE id = $1").bind(id.to_string()).fetch_optional(conn).await?;
    Ok(at.map(Timestamp::from_millis))
}

/// Whether something changed the session since `known` (or it is gone).
pub(crate) fn changed_since(changed_at: Option<Timestamp>, known: Timestamp) -> bool {
    changed_at.is_none_or(|at| at > known)
}

/// Forgets an ended session's progress: its document holds the final cost.
pub(crate) async fn forget(conn: &mut AnyConnection, id: Id) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM session_progress WHERE session_id = $1").bind(id.to_string()).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use domain::rate::ComponentType;
    use domain::{Currency, Timestamp};
    use proptest::prelude::*;
    use rust_decimal::Decimal;
    use tariff::{Cost, CostRow, Span};

    use super::cost_json;

    fn decimal() -> impl Strategy<Value = Decimal> {
        (any::<i64>(), 0u32..=28).prop_map(|(mantissa, scale)| Decimal::new(mantissa, scale))
    }

    fn row() -> impl Strategy<Value = CostRow> {
        let kind = prop_oneof![Just(ComponentType::Flat), Just(ComponentType::Energy), Just(ComponentType::Time), Just(ComponentType::ParkingTime)];
        let unit = prop_oneof![Just("kWh"), Just("hours"), Just("")];
        (kind, any::<i64>(), any::<i64>(), any::<String>(), unit, [decimal(), decimal(), decimal(), decimal(), decimal(), decimal()]).prop_map(
            |(kind, start, end, rate_name, unit, [quantity, unit_price, before_tax, tax, total_tax, total_cost])| CostRow {
                kind,
                period: Span { start: Timestamp::from_millis(start), end: Timestamp::from_millis(end) },
                rate_name,
                quantity,
                unit,
                unit_price,
                before_tax,
                tax,
                total_tax,
                total_cost,
            },
        )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn a_cost_is_written_as_serde_writes_it(
            amount in decimal(),
            currency in prop_oneof![Just("USD"), Just("EUR"), Just("JPY"), Just("BHD")],
            breakdown in proptest::collection::vec(row(), 0..4),
        ) {
            let cost = Cost { amount, currency: Currency::parse(currency).unwrap(), breakdown };
            prop_assert_eq!(cost_json(&cost).unwrap(), serde_json::to_string(&cost).unwrap());
        }
    }
}
