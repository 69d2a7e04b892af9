//! Syncs a charger's local authorization list with the organization's tokens (SendLocalList),
//! as `domain::local_list::plan` says: the whole list the first time or after a refusal, only
//! the changes once the charger holds a list; a differential update the charger refuses is
//! followed by the whole list. Once a charger was sent a list, it is kept up to date: after
//! every change of the tokens, and when it connects.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, FixedOffset};
use domain::Id;
use domain::local_list::{self, Change, Update, UpdateType};
use domain::token::Authorization;
use ocpp16::messages::{AuthorizationData, AuthorizationStatus, IdTagInfo, SendLocalListRequest, SendLocalListResponse, UpdateStatus};
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
    let (tokens, last) = server.store.local_list_basis(org, cs).await?;
    let entries = local_list::entries(&tokens, server.store.now());
    send_list(server, org, cs, last.as_ref(), entries).await
}

/// Brings the charger's list up to date if it may not be: when the tokens changed since the
/// list it accepted, or it did not accept the last one. `None` when it was up to date.
pub async fn catch_up(server: &OcppServer, org: Id, cs: Id) -> Result<Option<Synced>, SyncFailure> {
    let _turn = server.local_lists.take(cs).await;
    let (tokens, last) = server.store.local_list_basis(org, cs).await?;
    let entries = local_list::entries(&tokens, server.store.now());
    if last.as_ref().is_none_or(|last| last.accepted && last.entries == entries) {
        return Ok(None);
    }
    send_list(server, org, cs, last.as_ref(), entries).await.map(Some)
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

async fn send_list(server: &OcppServer, org: Id, cs: Id, last: Option<&local_list::Sent>, entries: Vec<local_list::Entry>) -> Result<Synced, SyncFailure> {
    let update = local_list::plan(last, &entries);
    let mut status = send(server, cs, &update).await?;
    if update.update_type == UpdateType::Differential && status != UpdateStatus::Accepted {
        status = send(server, cs, &local_list::full(update.version, &entries)).await?;
    }
    let status = match status {
        UpdateStatus::Accepted => "Accepted",
        UpdateStatus::Failed => "Failed",
        UpdateStatus::NotSupported => "NotSupported",
        UpdateStatus::VersionMismatch => "VersionMismatch",
    };
    server.store.record_local_list(org, cs, update.version, &entries, status).await?;
    Ok(Synced { status, version: update.version })
}

async fn send(server: &OcppServer, cs: Id, update: &Update) -> Result<UpdateStatus, SyncFailure> {
    let request = SendLocalListRequest {
        list_version: update.version,
        local_authorization_list: Some(update.changes.iter().map(data).collect()),
        update_type: match update.update_type {
            UpdateType::Full => ocpp16::messages::UpdateType::Full,
            UpdateType::Differential => ocpp16::messages::UpdateType::Differential,
        },
    };
    let payload = serde_json::to_value(&request).map_err(|e| SyncFailure::Answer(e.to_string()))?;
    let answer = server.call(cs, "SendLocalList", payload).await.map_err(SyncFailure::Call)?;
    let answer: SendLocalListResponse = serde_json::from_value(answer.clone()).map_err(|_| SyncFailure::Answer(answer.to_string()))?;
    Ok(answer.status)
}

fn data(change: &Change) -> AuthorizationData {
    let info = change.info.map(|(status, expiry)| IdTagInfo {
        expiry_date: expiry.and_then(|t| DateTime::from_timestamp_millis(t.millis())).map(|t| t.with_timezone(&FixedOffset::east_opt(0).expect("UTC"))),
        parent_id_tag: None,
        status: match status {
            Authorization::Accepted => AuthorizationStatus::Accepted,
            Authorization::Blocked => AuthorizationStatus::Blocked,
            Authorization::Expired => AuthorizationStatus::Expired,
            Authorization::Invalid => AuthorizationStatus::Invalid,
        },
    });
    AuthorizationData { id_tag: change.id_tag.clone(), id_tag_info: info }
}
