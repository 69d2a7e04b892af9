//! What a charger's connection says about the chargestation itself: that it connected or
//! disconnected, its BootNotification, its StatusNotifications. A fleet that comes back after
//! an outage says all of it at once; written one transaction each (three a charger, each of
//! several statements) 19,000 chargers kept the database busy for a minute while the API
//! waited behind them. They are written many at a time instead and set-wise: a batch takes the
//! same dozen statements whether it holds one change or five hundred, its rows bound as one
//! JSON array (`Backend::json_rows`), and its events go in with one statement.
//!
//! A batch is applied in rounds that hold each chargestation once, so that one chargestation's
//! changes apply in the order given and each event shows the chargestation as its change left
//! it.

use std::collections::HashMap;

use domain::chargestation::{Chargestation, Registration};
use domain::connector::{Connector, ConnectorStatus};
use domain::event::NewEvent;
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

#[derive(Clone, Debug)]
pub enum Presence {
    /// A connection opened at this time (`chargestation.online`).
    Connected(Timestamp),
    /// A connection ended at this time (`chargestation.offline`); the mark of a connection
    /// opened later stays.
    Disconnected(Timestamp),
    /// What the charger said of itself in BootNotification (`chargestation.updated`).
    Booted(Value),
    /// A StatusNotification. Connector 0 is the chargestation itself; another number updates
    /// that connector, creating it (without a rate) if the charger has more than were
    /// registered. A report older than the stored one changes nothing.
    Status { connector_id: u32, status: ConnectorStatus, at: Timestamp },
}

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Older than what is stored: nothing changed.
    Outdated,
    /// A boot, and the registration the charger is to be told.
    Booted(Registration),
}

/// A chargestation as read for a round: what the API shows, with its connectors, and the
/// times of the statuses it and they have.
struct Station {
    organization: Id,
    shown: Chargestation,
    status_at: Option<i64>,
    /// By connector, in the order of `shown.connectors`.
    connector_status_at: Vec<Option<i64>>,
    changed: bool,
}

impl Store {
    /// Writes the changes in one transaction; answers each one's outcome, in order. A change
    /// to a chargestation that does not exist (or not in that organization) is answered
    /// `NotFound` and the others still apply; a database error fails them all.
    pub async fn record_presence(&self, changes: &[PresenceChange]) -> Result<Vec<Result<Applied, StoreError>>, StoreError> {
        let mut answers = Vec::with_capacity(changes.len());
        answers.resize_with(changes.len(), || Err(StoreError::NotFound("chargestation")));
        let mut tx = self.write().await?;
        for round in rounds(changes) {
            self.apply_round(&mut tx, changes, &round, &mut answers).await?;
        }
        tx.commit().await?;
        Ok(answers)
    }

    /// Reads the round's chargestations (locked on PostgreSQL until the batch commits), applies
    /// each change to them in order, and writes back what changed, set-wise. Deciding on what
    /// was read, rather than in each statement's `WHERE`, keeps every statement a lookup by
    /// key: PostgreSQL's planner, told by its statistics that no chargestation is online,
    /// compared each of 500 ends with every chargestation (0.4 s a batch).
    async fn apply_round(
        &self,
        conn: &mut AnyConnection,
        changes: &[PresenceChange],
        round: &[usize],
        answers: &mut [Result<Applied, StoreError>],
    ) -> Result<(), StoreError> {
        let now = self.now();
        let text = |rows: &[Value]| serde_json::to_string(rows).map_err(StoreError::corrupt);
        let keys: Vec<Value> = round.iter().map(|&i| json!([changes[i].chargestation.to_string()])).collect();
        let mut stations = self.stations_for_presence(conn, &text(&keys)?).await?;

        let (mut events, mut reported, mut connectors_changed) = (Vec::new(), Vec::new(), Vec::new());
        for &i in round {
            let PresenceChange { organization: org, chargestation: cs, change } = &changes[i];
            let Some(station) = stations.get_mut(cs).filter(|s| s.organization == *org) else { continue };
            let event = |action: &str, station: &Station| (*org, NewEvent::of("chargestation", action, &station.shown).for_chargestation(*cs));
            answers[i] = Ok(match change {
                Presence::Connected(at) => {
                    let shown = &mut station.shown;
                    (shown.online, shown.last_connect_at, shown.updated_at) = (true, Some(*at), *at);
                    station.changed = true;
                    events.push(event("online", station));
                    Applied::Changed
                }
                // A newer connection's online mark (its connect time later) is left alone.
                Presence::Disconnected(at) if station.shown.online && station.shown.last_connect_at.is_none_or(|c| c <= *at) => {
                    let shown = &mut station.shown;
                    (shown.online, shown.last_disconnect_at, shown.updated_at) = (false, Some(*at), *at);
                    station.changed = true;
                    events.push(event("offline", station));
                    Applied::Changed
                }
                // The boot is a message: its time is shown with what it reported (the readings'
                // writer notes every message's later).
                Presence::Booted(info) => {
                    let shown = &mut station.shown;
                    (shown.boot_info, shown.updated_at, shown.last_message_at) = (Some(info.clone()), now, Some(now));
                    station.changed = true;
                    events.push(event("updated", station));
                    Applied::Booted(station.shown.registration)
                }
                Presence::Status { connector_id: 0, status, at } if station.status_at.is_none_or(|stored| stored <= at.millis()) => {
                    (station.shown.status, station.status_at) = (Some(*status), Some(at.millis()));
                    station.changed = true;
                    events.push(event("updated", station));
                    Applied::Changed
                }
                Presence::Status { connector_id, status, at } if *connector_id > 0 => {
                    reported.push(json!([cs.to_string(), connector_id, status.as_str(), at.millis()]));
                    let place = station.shown.connectors.iter().position(|c| c.connector_id == *connector_id);
                    match place {
                        Some(p) if station.connector_status_at[p].is_some_and(|stored| stored > at.millis()) => Applied::Outdated,
                        Some(p) => {
                            let connector = &mut station.shown.connectors[p];
                            (connector.status, connector.updated_at) = (*status, now);
                            station.connector_status_at[p] = Some(at.millis());
                            connectors_changed.push(connector.clone());
                            events.push((*org, NewEvent::of("connector", "updated", &*connector).for_chargestation(*cs)));
                            Applied::Changed
                        }
                        None => {
                            // A connector the charger has and nobody registered: created without a rate.
                            let connector = Connector {
                                id: self.new_id(),
                                chargestation: *cs,
                                connector_id: *connector_id,
                                rate: None,
                                status: *status,
                                kind: None,
                                format: None,
                                power_type: None,
                                power: None,
                                created_at: now,
                                updated_at: now,
                            };
                            documents::insert(&mut *conn, *org, &connector).await?;
                            events.push((*org, NewEvent::of("connector", "created", &connector).for_chargestation(*cs)));
                            events.push((*org, NewEvent::of("connector", "updated", &connector).for_chargestation(*cs)));
                            let p = station.shown.connectors.partition_point(|c| c.connector_id < *connector_id);
                            station.shown.connectors.insert(p, connector.clone());
                            station.connector_status_at.insert(p, Some(at.millis()));
                            connectors_changed.push(connector);
                            Applied::Changed
                        }
                    }
                }
                Presence::Disconnected(_) | Presence::Status { .. } => Applied::Outdated,
            });
        }

        let b = self.backend;
        let stations_changed: Vec<Value> = stations.values().filter(|s| s.changed).map(Station::row).collect();
        if !stations_changed.is_empty() {
            let sql = format!(
                "UPDATE chargestations SET online = CAST(r.value ->> 1 AS BIGINT), last_connect_at = CAST(r.value ->> 2 AS BIGINT), \
                 last_disconnect_at = CAST(r.value ->> 3 AS BIGINT), updated_at = CAST(r.value ->> 4 AS BIGINT), boot_info = r.value ->> 5, \
                 last_message_at = CAST(r.value ->> 6 AS BIGINT), status = r.value ->> 7, status_at = CAST(r.value ->> 8 AS BIGINT) \
                 FROM {} WHERE chargestations.id = r.value ->> 0",
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
        if !connectors_changed.is_empty() {
            let mut rows = Vec::with_capacity(connectors_changed.len());
            for c in &connectors_changed {
                let status_at =
                    stations.get(&c.chargestation).and_then(|s| s.shown.connectors.iter().position(|k| k.id == c.id).and_then(|p| s.connector_status_at[p]));
                rows.push(json!([c.id.to_string(), serde_json::to_string(c).map_err(StoreError::corrupt)?, c.updated_at.millis(), status_at]));
            }
            let sql = format!(
                "UPDATE connectors SET data = r.value ->> 1, updated_at = CAST(r.value ->> 2 AS BIGINT), status_at = CAST(r.value ->> 3 AS BIGINT) \
                 FROM {} WHERE connectors.id = r.value ->> 0",
                b.json_rows(1, "r")
            );
            sqlx::query(AssertSqlSafe(sql)).bind(text(&rows)?).execute(&mut *conn).await?;
        }
        self.record_for(conn, events).await
    }

    /// The round's chargestations as they are, with their connectors; on PostgreSQL locked
    /// until the batch commits, connectors first, as a session start locks them.
    async fn stations_for_presence(&self, conn: &mut AnyConnection, keys: &str) -> Result<HashMap<Id, Station>, StoreError> {
        let b = self.backend;
        let sql = format!(
            "SELECT organization_id, chargestation_id, data, status_at FROM connectors WHERE chargestation_id {} ORDER BY connector_id{}",
            b.in_json_keys(1),
            b.lock_columns()
        );
        let mut connectors: HashMap<Id, Vec<(Id, Connector, Option<i64>)>> = HashMap::new();
        for row in sqlx::query(AssertSqlSafe(sql)).bind(keys.to_string()).fetch_all(&mut *conn).await? {
            let cs: Id = row.try_get::<String, _>("chargestation_id")?.parse().map_err(StoreError::corrupt)?;
            let organization: Id = row.try_get::<String, _>("organization_id")?.parse().map_err(StoreError::corrupt)?;
            connectors.entry(cs).or_default().push((organization, documents::from_row(&row)?, row.try_get("status_at")?));
        }
        let sql = format!(
            "SELECT organization_id, status_at, {} FROM chargestations WHERE id {}{}",
            crate::chargestations::COLUMNS,
            b.in_json_keys(1),
            b.lock_columns()
        );
        let mut stations = HashMap::new();
        for row in sqlx::query(AssertSqlSafe(sql)).bind(keys.to_string()).fetch_all(&mut *conn).await? {
            let organization: Id = row.try_get::<String, _>("organization_id")?.parse().map_err(StoreError::corrupt)?;
            let mut shown = chargestation_from_row(&row, Vec::new())?;
            let mut connector_status_at = Vec::new();
            for (owner, connector, status_at) in connectors.remove(&shown.id).unwrap_or_default() {
                if owner == organization {
                    shown.connectors.push(connector);
                    connector_status_at.push(status_at);
                }
            }
            let station = Station { organization, shown, status_at: row.try_get("status_at")?, connector_status_at, changed: false };
            stations.insert(station.shown.id, station);
        }
        Ok(stations)
    }
}

impl Station {
    /// Its columns that changes change, as `apply_round` writes them back.
    fn row(&self) -> Value {
        let s = &self.shown;
        let millis = |t: Option<Timestamp>| t.map(Timestamp::millis);
        json!([
            s.id.to_string(),
            i64::from(s.online),
            millis(s.last_connect_at),
            millis(s.last_disconnect_at),
            s.updated_at.millis(),
            s.boot_info.as_ref().map(Value::to_string),
            millis(s.last_message_at),
            s.status.map(ConnectorStatus::as_str),
            self.status_at,
        ])
    }
}

/// The changes' positions, in rounds that hold each chargestation at most once: a
/// chargestation's first change is in the first round, its second in the second, and so on.
fn rounds(changes: &[PresenceChange]) -> Vec<Vec<usize>> {
    let mut seen: HashMap<Id, usize> = HashMap::new();
    let mut rounds: Vec<Vec<usize>> = Vec::new();
    for (i, change) in changes.iter().enumerate() {
        let n = seen.entry(change.chargestation).or_default();
        if rounds.len() == *n {
            rounds.push(Vec::new());
        }
        rounds[*n].push(i);
        *n += 1;
    }
    rounds
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rounds_hold_each_chargestation_once_and_keep_its_order() {
        let id = |n| Id::from_parts(1_700_000_000, [1; 5], n);
        let change = |cs| PresenceChange { organization: id(9), chargestation: id(cs), change: Presence::Connected(Timestamp::from_millis(1)) };
        let changes = [change(1), change(2), change(1), change(3), change(1), change(2)];
        assert_eq!(rounds(&changes), vec![vec![0, 1, 3], vec![2, 5], vec![4]]);
        assert!(rounds(&[]).is_empty());
    }
}
