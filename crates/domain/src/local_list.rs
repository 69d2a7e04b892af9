//! A charger's local authorization list (OCPP 1.6 SendLocalList): the organization's tokens as
//! the charger keeps them, so that cards work while it cannot reach Joule. What Joule last sent
//! a charger is kept, so that a sync knows its version and what changed.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::Timestamp;
use crate::token::{Authorization, Token, TokenType};

/// One idTag of the list, as the charger is told to answer it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Entry {
    pub id_tag: String,
    pub status: Authorization,
    pub expiry: Option<Timestamp>,
    /// What kind of idToken it is, for OCPP 2.0.1 (a list sent before kinds were kept reads as
    /// RFID cards).
    #[serde(default)]
    pub kind: TokenType,
}

/// The list for `tokens` at `now`, by idTag: each with the status Authorize would answer
/// by the token alone (an expired token `Expired`, an inactive one `Blocked`).
pub fn entries(tokens: &[Token], now: Timestamp) -> Vec<Entry> {
    let mut entries: Vec<Entry> =
        tokens.iter().map(|t| Entry { id_tag: t.physical_id.clone(), status: t.authorization(now), expiry: t.expires_at, kind: t.kind }).collect();
    entries.sort();
    entries
}

/// What a sync last sent a charger.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq)]
pub struct Sent {
    pub version: i64,
    pub entries: Vec<Entry>,
    /// The charger answered `Accepted`: it holds exactly `entries` as `version`.
    pub accepted: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UpdateType {
    Full,
    Differential,
}

/// A change of the list for the charger: an idTag with what to answer for it, or without
/// (`None`) for one a differential update removes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Change {
    pub id_tag: String,
    pub kind: TokenType,
    pub info: Option<(Authorization, Option<Timestamp>)>,
}

/// One SendLocalList to make.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Update {
    pub version: i64,
    pub update_type: UpdateType,
    pub changes: Vec<Change>,
}

/// The sync of `entries` after `last`: the version rises (from 1) whenever the list differs from
/// the one last sent. Differential (only what changed) when the charger accepted the last list
/// and it differs; Full otherwise, also to resend an unchanged list, since a differential
/// update must raise the version.
pub fn plan(last: Option<&Sent>, entries: &[Entry]) -> Update {
    let version = match last {
        Some(last) if last.entries == entries => last.version,
        Some(last) => last.version.saturating_add(1),
        None => 1,
    };
    match last {
        Some(last) if last.accepted && last.version < version => {
            Update { version, update_type: UpdateType::Differential, changes: differences(&last.entries, entries) }
        }
        _ => Update { version, update_type: UpdateType::Full, changes: entries.iter().map(change).collect() },
    }
}

/// The full list of `entries` at the version `plan` gave: what to send when a charger refuses
/// a differential update (it lost its list, or does not take differential ones).
pub fn full(version: i64, entries: &[Entry]) -> Update {
    Update { version, update_type: UpdateType::Full, changes: entries.iter().map(change).collect() }
}

fn change(e: &Entry) -> Change {
    Change { id_tag: e.id_tag.clone(), kind: e.kind, info: Some((e.status, e.expiry)) }
}

/// What turns `before` into `after` (both sorted by idTag): new and changed entries, and the
/// removed ones without information.
fn differences(before: &[Entry], after: &[Entry]) -> Vec<Change> {
    let mut changes: Vec<Change> = after.iter().filter(|e| !before.contains(e)).map(change).collect();
    let removed = before.iter().filter(|b| !after.iter().any(|a| a.id_tag == b.id_tag));
    changes.extend(removed.map(|b| Change { id_tag: b.id_tag.clone(), kind: b.kind, info: None }));
    changes.sort_by(|a, b| a.id_tag.cmp(&b.id_tag));
    changes
}

/// How a chargestation's list stands, as the API shows it.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct LocalListState {
    /// The version last sent.
    pub version: i64,
    /// The charger's answer to it: `Accepted`, `Failed`, `NotSupported` or `VersionMismatch`.
    pub status: String,
    #[serde(rename = "syncedAt")]
    pub synced_at: Timestamp,
}

/// What `POST /v1.1/chargestations/{id}/local_list/sync` answers.
#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct SyncAnswer {
    /// The charger's answer to SendLocalList: `Accepted`, `Failed`, `NotSupported` or
    /// `VersionMismatch` (to the whole list, when it refused the changes alone).
    pub status: String,
    /// The version sent; it rises with every sync whose list differs from the last one sent.
    #[serde(rename = "listVersion")]
    pub list_version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(tag: &str, status: Authorization) -> Entry {
        Entry { id_tag: tag.into(), status, expiry: None, kind: TokenType::Iso14443 }
    }

    /// Applies an update to the list a charger holds, as OCPP 1.6 says a charger does.
    fn apply(held: &[Entry], update: &Update) -> Vec<Entry> {
        let mut list: Vec<Entry> = if update.update_type == UpdateType::Full { Vec::new() } else { held.to_vec() };
        for c in &update.changes {
            list.retain(|e| e.id_tag != c.id_tag);
            if let Some((status, expiry)) = c.info {
                list.push(Entry { id_tag: c.id_tag.clone(), status, expiry, kind: c.kind });
            }
        }
        list.sort();
        list
    }

    #[test]
    fn versions_rise_only_when_the_list_changes() {
        let a = vec![entry("A", Authorization::Accepted)];
        let first = plan(None, &a);
        assert_eq!((first.version, first.update_type), (1, UpdateType::Full));
        let sent = Sent { version: 1, entries: a.clone(), accepted: true };
        assert_eq!(plan(Some(&sent), &a), full(1, &a), "an unchanged list is sent whole at the same version");
        let b = vec![entry("A", Authorization::Blocked), entry("B", Authorization::Accepted)];
        let next = plan(Some(&sent), &b);
        assert_eq!((next.version, next.update_type), (2, UpdateType::Differential));
        let refused = Sent { accepted: false, ..sent };
        assert_eq!(plan(Some(&refused), &b), full(2, &b), "after a refusal the charger gets the whole list");
    }

    fn list() -> impl Strategy<Value = Vec<Entry>> {
        let status = prop_oneof![Just(Authorization::Accepted), Just(Authorization::Blocked), Just(Authorization::Expired)];
        proptest::collection::btree_map("[A-F]", status, 0..6).prop_map(|m| m.into_iter().map(|(t, s)| entry(&t, s)).collect())
    }

    proptest! {
        /// Whatever the charger held and whatever the tokens now are, the planned update leaves
        /// it holding exactly the current list.
        #[test]
        fn an_update_brings_the_charger_to_the_list(before in list(), after in list(), accepted: bool) {
            let last = Sent { version: 7, entries: before.clone(), accepted };
            let update = plan(Some(&last), &after);
            let held = if accepted { before.clone() } else { Vec::new() };
            prop_assert_eq!(apply(&held, &update), after.clone());
            prop_assert_eq!(update.version, if before == after { 7 } else { 8 });
        }
    }
}
