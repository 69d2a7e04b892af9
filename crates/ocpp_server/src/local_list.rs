//! Syncs a charger's local authorization list with the organization's tokens (SendLocalList),
//! as `domain::local_list::plan` says: the whole list the first time or after a refusal, only
//! the changes once the charger holds a list; a differential update the charger refuses is
//! followed by the whole list.

use chrono::{DateTime, FixedOffset};
use domain::Id;
use domain::local_list::{self, Change, Update, UpdateType};
use domain::token::Authorization;
use ocpp16::messages::{AuthorizationData, AuthorizationStatus, IdTagInfo, SendLocalListRequest, SendLocalListResponse, UpdateStatus};
use store::StoreError;

use crate::{CallFailure, OcppServer};

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
    let (tokens, last) = server.store.local_list_basis(org, cs).await?;
    let entries = local_list::entries(&tokens, server.store.now());
    let update = local_list::plan(last.as_ref(), &entries);
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
