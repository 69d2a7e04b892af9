//! Syncs a charger's local authorization list with the organization's tokens (SendLocalList),
//! as `domain::local_list::plan` says: the whole list the first time or after a refusal, only
//! the changes once the charger holds a list; a differential update the charger refuses is
//! followed by the whole list. Once a charger was sent a list, it is kept up to date: after
//! every change of the tokens, and when it connects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset};
use domain::chargestation::PROTOCOL_OCPP201;
use domain::local_list::{self, Update, UpdateType};
use domain::{Id, Timestamp};
use store::StoreError;

use crate::{CallFailure, OcppServer};

/// A turn per charger: a sync reads what was last sent and records what it sends, so two at
/// once would send the same version. (Syncs started on two nodes at once may still cross; the
/// charger then refuses the second differential update, and gets the whole list.)
#[derive(Default)]
pub struct Turns(Mutex<HashMap<Id, Arc<tokio::sync::Mutex<()>>>>);

impl Turns {
    async fn take(&self, cs: Id) -> tokio::sync::OwnedMutexGuard<()> {
        let turn = self.0.lock().unwrap_or_else(|e| e.into_inner()).entry(cs).or_default().clone();
        turn.lock_owned().await
    }
}

/// The charger's answer to the list it was last sent, and that list's version.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Synced {
    pub status: &'static str,
    pub version: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncFailure {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Call(CallFailure),
    #[error("the chargestation answered SendLocalList with something else: {0}")]
    Answer(String),
}

/// Sends the organization's tokens to the charger `cs` and records what it answered.
pub async fn sync(server: &OcppServer, org: Id, cs: Id) -> Result<Synced, SyncFailure> {
    let _turn = server.local_lists.take(cs).await;
    let (tokens, last, protocol) = server.store.local_list_basis(org, cs).await?;
    let entries = local_list::entries(&tokens, server.store.now());
    send_list(server, org, (cs, &protocol), last.as_ref(), entries).await
}

/// Brings the charger's list up to date if it may not be: when the tokens changed since the
/// list it accepted, or it did not accept the last one. `None` when it was up to date.
pub async fn catch_up(server: &OcppServer, org: Id, cs: Id) -> Result<Option<Synced>, SyncFailure> {
    let _turn = server.local_lists.take(cs).await;
    let (tokens, last, protocol) = server.store.local_list_basis(org, cs).await?;
    let entries = local_list::entries(&tokens, server.store.now());
    if last.as_ref().is_none_or(|last| last.accepted && last.entries == entries) {
        return Ok(None);
    }
    send_list(server, org, (cs, &protocol), last.as_ref(), entries).await.map(Some)
}

/// After a change of the organization's tokens: each online charger that keeps a list Joule
/// sent catches up, in the background (one that is offline catches up when it connects).
pub fn tokens_changed(server: &OcppServer, org: Id) {
    let server = server.clone();
    tokio::spawn(async move {
        let chargestations = match server.store.chargestations_with_local_lists(org).await {
            Ok(all) => all,
            Err(e) => return tracing::error!(error = %e, %org, "could not read which chargers keep a local list; they catch up when they connect"),
        };
        for cs in chargestations {
            let server = server.clone();
            tokio::spawn(async move { log(catch_up(&server, org, cs).await, cs) });
        }
    });
}

/// On a charger's connection: its list catches up with what changed while it was away.
pub async fn on_connect(server: OcppServer, org: Id, cs: Id) {
    log(catch_up(&server, org, cs).await, cs);
}

fn log(caught_up: Result<Option<Synced>, SyncFailure>, cs: Id) {
    match caught_up {
        Ok(Some(synced)) => tracing::info!(%cs, version = synced.version, status = synced.status, "sent the local authorization list's changes"),
        Ok(None) => {}
        Err(e) => tracing::info!(error = %e, %cs, "could not bring the local authorization list up to date; it is tried again when the charger connects"),
    }
}

/// Sends the planned update to the charger (its chargestation and OCPP version), the whole list
/// after a refused differential one, and records what it answered.
async fn send_list(
    server: &OcppServer,
    org: Id,
    (cs, protocol): (Id, &str),
    last: Option<&local_list::Sent>,
    entries: Vec<local_list::Entry>,
) -> Result<Synced, SyncFailure> {
    let update = local_list::plan(last, &entries);
    let send = |update: Update| async move {
        let payload =
            if protocol == PROTOCOL_OCPP201 { v201::request(&update) } else { v16::request(&update) }.map_err(|e| SyncFailure::Answer(e.to_string()))?;
        let answer = server.call(cs, "SendLocalList", payload).await.map_err(SyncFailure::Call)?;
        answer["status"].as_str().and_then(known_status).ok_or_else(|| SyncFailure::Answer(answer.to_string()))
    };
    let mut status = send(update.clone()).await?;
    if update.update_type == UpdateType::Differential && status != "Accepted" {
        status = send(local_list::full(update.version, &entries)).await?;
    }
    server.store.record_local_list(org, cs, update.version, &entries, status).await?;
    Ok(Synced { status, version: update.version })
}

/// The charger's answer (valid for its version: `connection` checked it against the schema).
fn known_status(status: &str) -> Option<&'static str> {
    ["Accepted", "Failed", "NotSupported", "VersionMismatch"].into_iter().find(|known| *known == status)
}

fn expiry(at: Option<Timestamp>) -> Option<DateTime<FixedOffset>> {
    at.and_then(|t| DateTime::from_timestamp_millis(t.millis())).map(|t| t.fixed_offset())
}

/// OCPP 1.6's SendLocalList: idTags with their idTagInfo.
mod v16 {
    use ocpp16::messages::{AuthorizationData, IdTagInfo, SendLocalListRequest, UpdateType};

    use super::{Update, expiry};
    use crate::handlers::id_tag_info;

    pub fn request(update: &Update) -> serde_json::Result<serde_json::Value> {
        let data = |change: &domain::local_list::Change| AuthorizationData {
            id_tag: change.id_tag.clone(),
            id_tag_info: change.info.map(|(status, at)| IdTagInfo { expiry_date: expiry(at), ..id_tag_info(status) }),
        };
        let update_type = match update.update_type {
            domain::local_list::UpdateType::Full => UpdateType::Full,
            domain::local_list::UpdateType::Differential => UpdateType::Differential,
        };
        serde_json::to_value(SendLocalListRequest {
            list_version: update.version,
            local_authorization_list: Some(update.changes.iter().map(data).collect()),
            update_type,
        })
    }
}

/// OCPP 2.0.1's SendLocalList: idTokens of their kind with their idTokenInfo.
mod v201 {
    use domain::token::TokenType;
    use ocpp201::messages::{AuthorizationData, IdToken, IdTokenInfo, IdTokenKind, SendLocalListRequest, UpdateType};

    use super::{Update, expiry};
    use crate::v201::id_token_info;

    pub fn request(update: &Update) -> serde_json::Result<serde_json::Value> {
        let data = |change: &domain::local_list::Change| AuthorizationData {
            id_token: IdToken {
                id_token: change.id_tag.clone(),
                kind: match change.kind {
                    TokenType::Iso14443 => IdTokenKind::Iso14443,
                    TokenType::Central => IdTokenKind::Central,
                },
                additional_info: None,
            },
            id_token_info: change.info.map(|(status, at)| IdTokenInfo { cache_expiry_date_time: expiry(at), ..id_token_info(status) }),
        };
        let update_type = match update.update_type {
            domain::local_list::UpdateType::Full => UpdateType::Full,
            domain::local_list::UpdateType::Differential => UpdateType::Differential,
        };
        serde_json::to_value(SendLocalListRequest {
            version_number: update.version,
            local_authorization_list: Some(update.changes.iter().map(data).collect()),
            update_type,
        })
    }
}
