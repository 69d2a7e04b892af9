//! What a charger's connection says about its chargestation (that it connected or
//! disconnected, its BootNotification, its StatusNotifications) and the rules by which that
//! changes what the API shows. Connections of one chargestation overlap when it reconnects, and
//! messages wait in batches, so changes can arrive out of the order they happened in: an end
//! never takes a newer connection offline, and a status report older than the one shown changes
//! nothing. Connections are held by nodes (SPEC 11): the node of the newest connection holds the
//! charger, and a connection's end on another node changes nothing.

use serde_json::Value;

use crate::chargestation::{Chargestation, Registration};
use crate::connector::{Connector, ConnectorStatus};
use crate::event::NewEvent;
use crate::{Id, Timestamp};

#[derive(Clone, Debug, PartialEq)]
pub enum Presence {
    /// A connection to `node` opened at this time (`chargestation.online`): that node holds
    /// the charger from then on.
    Connected { at: Timestamp, node: Id },
    /// A connection to `node` ended at this time (`chargestation.offline`), or the node died.
    Disconnected { at: Timestamp, node: Id },
    /// What the charger said of itself in BootNotification (`chargestation.updated`).
    Booted(Value),
    /// A StatusNotification, at the charger's time. Connector 0 is the chargestation itself;
    /// another number updates that connector, created (without a rate) if the charger has more
    /// than were registered.
    Status { connector_id: u32, status: ConnectorStatus, at: Timestamp },
}

/// What a change did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Older than what is shown: nothing changed.
    Outdated,
    /// A boot, and the registration the charger is to be told.
    Booted(Registration),
}

/// A chargestation as presence changes it: what the API shows, and the charger's times of
/// the statuses it and its connectors show.
#[derive(Clone, Debug, PartialEq)]
pub struct Standing {
    pub shown: Chargestation,
    pub status_at: Option<Timestamp>,
    /// By connector, in the order of `shown.connectors`.
    pub connector_status_at: Vec<Option<Timestamp>>,
    /// The node whose connection the charger is online through.
    pub holder: Option<Id>,
}

/// What applying one change did, for the store to write.
#[derive(Debug, PartialEq)]
pub struct Outcome {
    pub applied: Applied,
    /// Whether the chargestation's own fields changed.
    pub chargestation_changed: bool,
    /// The connector whose fields changed, and whether it is new.
    pub connector: Option<(Id, bool)>,
    /// A connector's status report for its history, which pricing reads: every one is kept,
    /// also an outdated one.
    pub reported: Option<(u32, ConnectorStatus, Timestamp)>,
    pub events: Vec<NewEvent>,
    /// Another node that held the charger until this connection: its connection is stale.
    pub taken_from: Option<Id>,
}

impl Outcome {
    fn unchanged(applied: Applied) -> Outcome {
        Outcome { applied, chargestation_changed: false, connector: None, reported: None, events: Vec::new(), taken_from: None }
    }
}

impl Standing {
    /// Applies `change`, received at `now`; `new_id` names a connector the charger reports
    /// and nobody registered.
    pub fn apply(&mut self, change: &Presence, now: Timestamp, new_id: impl FnOnce() -> Id) -> Outcome {
        let cs = self.shown.id;
        let shown = &mut self.shown;
        let station_event = |action: &str, shown: &Chargestation| NewEvent::of("chargestation", action, shown).for_chargestation(cs);
        match change {
            Presence::Connected { at, node } => {
                (shown.online, shown.last_connect_at, shown.updated_at) = (true, Some(*at), *at);
                let taken_from = self.holder.replace(*node).filter(|held| held != node);
                let events = vec![station_event("online", shown)];
                Outcome { chargestation_changed: true, events, taken_from, ..Outcome::unchanged(Applied::Changed) }
            }
            // A newer connection's online mark (its connect time later, or on another node) is
            // left alone.
            Presence::Disconnected { at, node }
                if shown.online && self.holder.is_none_or(|held| held == *node) && shown.last_connect_at.is_none_or(|c| c <= *at) =>
            {
                (shown.online, shown.last_disconnect_at, shown.updated_at) = (false, Some(*at), *at);
                self.holder = None;
                Outcome { chargestation_changed: true, events: vec![station_event("offline", shown)], ..Outcome::unchanged(Applied::Changed) }
            }
            Presence::Disconnected { .. } => Outcome::unchanged(Applied::Outdated),
            // The boot is a message: its time is shown with what it reported.
            Presence::Booted(info) => {
                (shown.boot_info, shown.updated_at, shown.last_message_at) = (Some(info.clone()), now, Some(now));
                let events = vec![station_event("updated", shown)];
                Outcome { chargestation_changed: true, events, ..Outcome::unchanged(Applied::Booted(shown.registration)) }
            }
            Presence::Status { connector_id: 0, at, .. } if self.status_at.is_some_and(|shown_at| shown_at > *at) => Outcome::unchanged(Applied::Outdated),
            Presence::Status { connector_id: 0, status, at } => {
                (shown.status, self.status_at) = (Some(*status), Some(*at));
                Outcome { chargestation_changed: true, events: vec![station_event("updated", shown)], ..Outcome::unchanged(Applied::Changed) }
            }
            Presence::Status { connector_id, status, at } => {
                let reported = Some((*connector_id, *status, *at));
                let connector_event = |action: &str, c: &Connector| NewEvent::of("connector", action, c).for_chargestation(cs);
                match shown.connectors.iter().position(|c| c.connector_id == *connector_id) {
                    Some(p) if self.connector_status_at[p].is_some_and(|shown_at| shown_at > *at) => {
                        Outcome { reported, ..Outcome::unchanged(Applied::Outdated) }
                    }
                    Some(p) => {
                        let connector = &mut shown.connectors[p];
                        (connector.status, connector.updated_at) = (*status, now);
                        self.connector_status_at[p] = Some(*at);
                        let events = vec![connector_event("updated", connector)];
                        Outcome { connector: Some((connector.id, false)), reported, events, ..Outcome::unchanged(Applied::Changed) }
                    }
                    None => {
                        let connector = Connector::reported(new_id(), cs, *connector_id, *status, now);
                        let events = vec![connector_event("created", &connector), connector_event("updated", &connector)];
                        let id = connector.id;
                        let p = shown.connectors.partition_point(|c| c.connector_id < *connector_id);
                        shown.connectors.insert(p, connector);
                        self.connector_status_at.insert(p, Some(*at));
                        Outcome { connector: Some((id, true)), reported, events, ..Outcome::unchanged(Applied::Changed) }
                    }
                }
            }
        }
    }

    /// The charger's time of the status the connector shows.
    pub fn connector_status_at(&self, connector: Id) -> Option<Timestamp> {
        self.shown.connectors.iter().position(|c| c.id == connector).and_then(|p| self.connector_status_at[p])
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::chargestation::{Security, SecurityType};

    fn id(n: u32) -> Id {
        Id::from_parts(1_700_000_000, [7; 5], n)
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    /// A registered chargestation, offline, with connector 1.
    fn standing() -> Standing {
        let connector = Connector::reported(id(2), id(1), 1, ConnectorStatus::Unavailable, at(0));
        let shown = Chargestation {
            id: id(1),
            endpoint: "CP-1".into(),
            protocol: "ocpp1.6".into(),
            location: None,
            connection_url: "ws://localhost/ocpp/CP-1".into(),
            security: Security { kind: SecurityType::None },
            online: false,
            status: None,
            registration: Registration::Accepted,
            last_connect_at: None,
            last_disconnect_at: None,
            last_message_at: None,
            boot_info: None,
            local_list: None,
            connectors: vec![connector],
            created_at: at(0),
            updated_at: at(0),
        };
        Standing { shown, status_at: None, connector_status_at: vec![None], holder: None }
    }

    /// A connection's start or end on one of two nodes.
    fn connection() -> impl Strategy<Value = Presence> {
        let node = (0..2u32).prop_map(|n| id(50 + n));
        prop_oneof![
            (0..50i64, node.clone()).prop_map(|(t, node)| Presence::Connected { at: at(t), node }),
            (0..50i64, node).prop_map(|(t, node)| Presence::Disconnected { at: at(t), node }),
        ]
    }

    fn status() -> impl Strategy<Value = (u32, ConnectorStatus, Timestamp)> {
        (0..3u32, proptest::sample::select(ConnectorStatus::ALL.to_vec()), 0..20i64).prop_map(|(c, s, t)| (c, s, at(t)))
    }

    fn apply_all(standing: &mut Standing, changes: &[Presence]) -> Vec<Outcome> {
        let mut fresh = 100;
        changes
            .iter()
            .map(|change| {
                standing.apply(change, at(1_000), || {
                    fresh += 1;
                    id(fresh)
                })
            })
            .collect()
    }

    proptest! {
        /// After the last connection opened, it stays online, held by its node, unless an end
        /// on that node at or after its opening arrives: an older connection's end, or one on
        /// another node, never takes it offline. A connection on another node than the holder's
        /// takes the charger from it.
        #[test]
        fn an_end_never_takes_a_newer_connection_offline(changes in proptest::collection::vec(connection(), 1..20)) {
            let mut standing = standing();
            let outcomes = apply_all(&mut standing, &changes);
            if let Some(last) = changes.iter().rposition(|c| matches!(c, Presence::Connected { .. })) {
                let Presence::Connected { at: opened, node: holder } = changes[last] else { unreachable!() };
                let ended = changes[last + 1..].iter().any(|c| matches!(c, Presence::Disconnected { at, node } if *at >= opened && *node == holder));
                prop_assert_eq!(standing.shown.online, !ended);
                prop_assert_eq!(standing.holder, (!ended).then_some(holder));
                prop_assert_eq!(standing.shown.last_connect_at, Some(opened));
            } else {
                prop_assert!(!standing.shown.online);
                prop_assert_eq!(standing.holder, None);
            }
            let mut holder = None;
            for (change, outcome) in changes.iter().zip(&outcomes) {
                if let Presence::Connected { node, .. } = change {
                    prop_assert_eq!(outcome.taken_from, holder.filter(|h| h != node));
                }
                if outcome.applied == Applied::Changed {
                    holder = match change { Presence::Connected { node, .. } => Some(*node), _ => None };
                }
            }
            // Each change that did something says so in an event that shows what it left.
            for outcome in &outcomes {
                prop_assert_eq!(outcome.events.len(), usize::from(outcome.applied == Applied::Changed));
                prop_assert_eq!(outcome.chargestation_changed, outcome.applied == Applied::Changed);
            }
            let online = outcomes.iter().flat_map(|o| &o.events).filter(|e| e.kind == "chargestation.online").count();
            prop_assert_eq!(online, changes.iter().filter(|c| matches!(c, Presence::Connected { .. })).count());
        }

        /// Whatever order reports arrive in, the chargestation and each connector show the newest
        /// (the last to arrive of the newest, on a tie), every connector's report is kept for the
        /// history, and a connector the
        /// charger reports and nobody registered is created once.
        #[test]
        fn the_newest_status_is_shown_whatever_the_order(reports in proptest::collection::vec(status(), 1..30)) {
            let mut standing = standing();
            let changes: Vec<Presence> = reports.iter().map(|&(connector_id, status, at)| Presence::Status { connector_id, status, at }).collect();
            let outcomes = apply_all(&mut standing, &changes);
            let newest = |connector: u32| reports.iter().filter(|r| r.0 == connector).max_by_key(|r| r.2).map(|r| {
                let last = reports.iter().rev().find(|s| s.0 == connector && s.2 == r.2).unwrap();
                (last.1, last.2)
            });
            prop_assert_eq!(standing.shown.status.zip(standing.status_at), newest(0));
            for connector_id in [1, 2] {
                let place = standing.shown.connectors.iter().position(|c| c.connector_id == connector_id);
                match (place, newest(connector_id)) {
                    (Some(p), Some(newest)) => prop_assert_eq!((standing.shown.connectors[p].status, standing.connector_status_at[p].unwrap()), newest),
                    (Some(_), None) => prop_assert_eq!(connector_id, 1),
                    (None, newest) => prop_assert_eq!(newest, None),
                }
            }
            let kept: Vec<_> = outcomes.iter().filter_map(|o| o.reported).collect();
            prop_assert_eq!(kept, reports.iter().copied().filter(|r| r.0 > 0).collect::<Vec<_>>());
            let created = outcomes.iter().filter(|o| matches!(o.connector, Some((_, true)))).count();
            prop_assert_eq!(created, usize::from(reports.iter().any(|r| r.0 == 2)));
            prop_assert!(standing.shown.connectors.windows(2).all(|w| w[0].connector_id < w[1].connector_id));
        }
    }

    #[test]
    fn a_boot_answers_the_registration_and_shows_what_it_reported() {
        let mut standing = standing();
        standing.shown.registration = Registration::Pending;
        let info = serde_json::json!({"chargePointVendor": "Volta"});
        let outcome = standing.apply(&Presence::Booted(info.clone()), at(5_000), || unreachable!());
        assert_eq!(outcome.applied, Applied::Booted(Registration::Pending));
        assert_eq!(standing.shown.boot_info, Some(info));
        assert_eq!((standing.shown.last_message_at, standing.shown.updated_at), (Some(at(5_000)), at(5_000)));
        assert_eq!(outcome.events[0].kind, "chargestation.updated");
        assert_eq!(outcome.events[0].data["bootInfo"]["chargePointVendor"], "Volta");
    }
}
