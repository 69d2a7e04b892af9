//! What a charger's connection says about the chargestation itself: that it connected or
//! disconnected, its BootNotification, its StatusNotifications. A fleet that comes back after
//! an outage says all of it at once; written one transaction each (three a charger, each of
//! several statements) 19,000 chargers kept the database busy for a minute while the API
//! waited behind them. They are written many at a time instead and set-wise: a batch reads its
//! chargestations once, applies its changes to them in order by the rules of
//! `domain::presence`, and writes back what changed with the same half-dozen statements
//! whether it holds one change or five hundred, their rows bound as one JSON array
//! (`Backend::json_rows`).

use std::collections::{BTreeSet, HashMap};

use domain::presence::Standing;
pub use domain::presence::{Applied, Presence};
use domain::{Id, Timestamp};
use serde_json::{Value, json};
use sqlx::{AnyConnection, AssertSqlSafe, Row};

use crate::chargestations::chargestation_from_row;
use crate::{Store, StoreError, documents};

/// A change to one chargestation of an organization.
#[derive(Clone, Debug)]
pub struct PresenceChange {
    pub organization: Id,
    pub chargestation: Id,
    pub change: Presence,
}

/// A chargestation as read for a batch, and whose it is.
struct Station {
    organization: Id,
    standing: Standing,
    changed: bool,
}

impl Store {
    /// Writes the changes in one transaction; answers each one's outcome, in order. A change
    /// to a chargestation that does not exist (or not in that organization) is answered
    /// `NotFound` and the others still apply; a database error fails them all.
    pub async fn record_presence(&self, changes: &[PresenceChange]) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
        let mut tx = self.write().await?;
        let answers = self.apply_presence(&mut tx, changes).await?;
        tx.commit().await?;
        Ok(answers)
    }

    /// Reads the chargestations (locked on PostgreSQL until the batch commits), applies each
    /// change to them in order, and writes back what changed, set-wise. Deciding on what was
    /// read, rather than in each statement's `WHERE`, keeps every statement a lookup by key:
    /// PostgreSQL's planner, told by its statistics that no chargestation is online, compared
    /// each of 500 ends with every chargestation (0.4 s a batch).
    pub(crate) async fn apply_presence(&self, conn: &mut AnyConnection, changes: &[PresenceChange]) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
        let now = self.now();
        let keys: BTreeSet<Id> = changes.iter().map(|c| c.chargestation).collect();
        let mut stations = self.stations_for_presence(conn, &keys).await?;

        let (mut events, mut reported, mut connectors, mut created, mut taken) = (Vec::new(), Vec::new(), BTreeSet::new(), Vec::new(), Vec::new());
        let answers = changes
            .iter()
            .map(|PresenceChange { organization: org, chargestation: cs, change }| {
                let station = stations.get_mut(cs).filter(|s| s.organization == *org).ok_or(StoreError::NotFound("chargestation"))?;
                let outcome = station.standing.apply(change, now, || self.new_id());
                station.changed |= outcome.chargestation_changed;
                if let (Some(node), Presence::Connected { at, .. }) = (outcome.taken_from, change) {
                    taken.push((node, *cs, *at));
                }
                if let Some((connector, new)) = outcome.connector {
                    connectors.insert((*cs, connector));
                    if new {
                        created.push((*cs, connector));
                    }
                }
                if let Some((connector_id, status, at)) = outcome.reported {
                    reported.push(json!([cs.to_string(), connector_id, status.as_str(), at.millis()]));
                }
                events.extend(outcome.events.into_iter().map(|e| (*org, e)));
                Ok(outcome.applied)
            })
            .collect();

        let b = self.backend;
        let text = |rows: &[Value]| serde_json::to_string(rows).map_err(StoreError::corrupt);
        let stations_changed: Vec<Value> = stations.values().filter(|s| s.changed).map(Station::row).collect();
        if !stations_changed.is_empty() {
            let sql = format!(
                "UPDATE chargestations SET online = CAST(r.value ->> 1 AS BIGINT), last_connect_at = CAST(r.value ->> 2 AS BIGINT), \
                 last_disconnect_at = CAST(r.value ->> 3 AS BIGINT), updated_at = CAST(r.value ->> 4 AS BIGINT), boot_info = r.value ->> 5, \
                 last_message_at = CAST(r.value ->> 6 AS BIGINT), status = r.value ->> 7, status_at = CAST(r.value ->> 8 AS BIGINT), \
                 node_id = r.value ->> 9 FROM {} WHERE chargestations.id = r.value ->> 0",
                b.json_rows(1, "r")
            );
            sqlx::query(AssertSqlSafe(sql)).bind(text(&stations_changed)?).execute(&mut *conn).await?;
        }
        if !reported.is_empty() {
            let sql = format!(
                "INSERT INTO connector_statuses (chargestation_id, connector_id, status, reported_at) \
                 SELECT r.value ->> 0, CAST(r.value ->> 1 AS BIGINT), r.value ->> 2, CAST(r.value ->> 3 AS BIGINT) FROM {}",
                b.json_rows(1, "r")
            );
            sqlx::query(AssertSqlSafe(sql)).bind(text(&reported)?).execute(&mut *conn).await?;
        }
        // A connector the charger reports and nobody registered is rare: inserted alone, then
        // written with the others.
        for (cs, connector) in created {
            let station = &stations[&cs];
            if let Some(c) = station.standing.shown.connectors.iter().find(|c| c.id == connector) {
                documents::insert(&mut *conn, station.organization, c).await?;
            }
        }
        if !connectors.is_empty() {
            let mut rows = Vec::with_capacity(connectors.len());
            for (cs, connector) in connectors {
                let standing = &stations[&cs].standing;
                if let Some(c) = standing.shown.connectors.iter().find(|c| c.id == connector) {
                    let status_at = standing.connector_status_at(connector).map(Timestamp::millis);
                    rows.push(json!([c.id.to_string(), serde_json::to_string(c).map_err(StoreError::corrupt)?, c.updated_at.millis(), status_at]));
                }
            }
            let sql = format!(
                "UPDATE connectors SET data = r.value ->> 1, updated_at = CAST(r.value ->> 2 AS BIGINT), status_at = CAST(r.value ->> 3 AS BIGINT) \
                 FROM {} WHERE connectors.id = r.value ->> 0",
                b.json_rows(1, "r")
            );
            sqlx::query(AssertSqlSafe(sql)).bind(text(&rows)?).execute(&mut *conn).await?;
        }
        self.record_for(conn, events).await?;
        // Told when the batch commits: the other node closes its stale connection.
        for (node, cs, at) in taken {
            crate::nodes::tell(conn, self.backend, node, &crate::nodes::Message::Close(cs, at)).await?;
        }
        Ok(answers)
    }

    /// The chargestations as they are, with their connectors; on PostgreSQL locked until the
    /// batch commits, connectors first, as a session start locks them, each in key order.
    async fn stations_for_presence(&self, conn: &mut AnyConnection, keys: &BTreeSet<Id>) -> Result<HashMap<Id, Station>, StoreError> {
        let b = self.backend;
        let keys = serde_json::to_string(&keys.iter().map(|k| [k.to_string()]).collect::<Vec<_>>()).map_err(StoreError::corrupt)?;
        let sql = format!(
            "SELECT organization_id, chargestation_id, data, status_at FROM connectors WHERE chargestation_id {} ORDER BY chargestation_id, connector_id{}",
            b.in_json_keys(1),
            b.lock_columns()
        );
        let mut connectors: HashMap<Id, Vec<(Id, _, Option<i64>)>> = HashMap::new();
        for row in sqlx::query(AssertSqlSafe(sql)).bind(keys.clone()).fetch_all(&mut *conn).await? {
            let cs: Id = row.try_get::<String, _>("chargestation_id")?.parse().map_err(StoreError::corrupt)?;
            let organization: Id = row.try_get::<String, _>("organization_id")?.parse().map_err(StoreError::corrupt)?;
            connectors.entry(cs).or_default().push((organization, documents::from_row(&row)?, row.try_get("status_at")?));
        }
        let sql = format!(
            "SELECT organization_id, status_at, node_id, {} FROM chargestations WHERE id {} ORDER BY id{}",
            crate::chargestations::COLUMNS,
            b.in_json_keys(1),
            b.lock_columns()
        );
        let mut stations = HashMap::new();
        for row in sqlx::query(AssertSqlSafe(sql)).bind(keys).fetch_all(&mut *conn).await? {
            let organization: Id = row.try_get::<String, _>("organization_id")?.parse().map_err(StoreError::corrupt)?;
            let mut shown = chargestation_from_row(&row, Vec::new())?;
            let mut connector_status_at = Vec::new();
            for (owner, connector, status_at) in connectors.remove(&shown.id).unwrap_or_default() {
                if owner == organization {
                    shown.connectors.push(connector);
                    connector_status_at.push(status_at.map(Timestamp::from_millis));
                }
            }
            let status_at = row.try_get::<Option<i64>, _>("status_at")?.map(Timestamp::from_millis);
            let holder = row.try_get::<Option<String>, _>("node_id")?.map(|n| n.parse()).transpose().map_err(StoreError::corrupt)?;
            let standing = Standing { shown, status_at, connector_status_at, holder };
            let station = Station { organization, standing, changed: false };
            stations.insert(station.standing.shown.id, station);
        }
        Ok(stations)
    }
}

impl Station {
    /// Its columns that changes change, as `apply_presence` writes them back.
    fn row(&self) -> Value {
        let s = &self.standing.shown;
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        json!([
            s.id.to_string(),
            i64::from(s.online),
            millis(s.last_connect_at),
            millis(s.last_disconnect_at),
            s.updated_at.millis(),
            s.boot_info.as_ref().map(Value::to_string),
            millis(s.last_message_at),
            s.status.map(|status| status.as_str()),
            millis(self.standing.status_at),
            self.standing.holder.map(|n| n.to_string()),
        ])
    }
}
