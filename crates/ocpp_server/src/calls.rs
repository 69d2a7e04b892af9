//! What Joule asks of a charger for a session, in the words of the charger's OCPP version:
//! start (RemoteStartTransaction / RequestStartTransaction), stop (RemoteStopTransaction /
//! RequestStopTransaction), and the pause profile (SetChargingProfile, a TxProfile of 0 W bound
//! to the transaction, and ClearChargingProfile of it). A 2.0.1 transaction is named by the
//! charger's id; 1.6's by Joule's number.

use domain::Id;
use domain::chargestation::PROTOCOL_OCPP201;
use domain::session::{PAUSE_STACK_LEVEL, Session, pause_profile_id};
use serde_json::{Value, json};

use crate::{CallFailure, OcppServer};

/// What went wrong before the charger could be asked.
fn unreadable(e: store::StoreError, what: &str) -> CallFailure {
    tracing::error!(error = %e, what, "could not read what a call to a charger needs");
    CallFailure::Offline
}

/// Asks the charger to start the session Joule created (its idTag, on its connector).
pub async fn start(server: &OcppServer, session: &Session) -> Result<Value, CallFailure> {
    let protocol = server.store.protocol_of(session.chargestation).await.map_err(|e| unreadable(e, "the chargestation's protocol"))?;
    let (action, payload) = if protocol == PROTOCOL_OCPP201 {
        // The TransactionEvent that follows carries this id and the idToken: Joule knows the
        // session by the idToken, as it knows a 1.6 one by its idTag.
        let id = session.id.to_string();
        let remote_start_id = i64::from_str_radix(&id[id.len() - 7..], 16).unwrap_or_default();
        let request = json!({ "evseId": session.connector_id, "remoteStartId": remote_start_id, "idToken": { "idToken": session.id_tag, "type": "Central" } });
        ("RequestStartTransaction", request)
    } else {
        ("RemoteStartTransaction", json!({ "connectorId": session.connector_id, "idTag": session.id_tag }))
    };
    server.call(session.chargestation, action, payload).await
}

/// Asks the charger to stop the transaction Joule numbers `transaction_id`.
pub async fn stop(server: &OcppServer, cs: Id, transaction_id: i64) -> Result<Value, CallFailure> {
    match server.store.ocpp_transaction_id(cs, transaction_id).await.map_err(|e| unreadable(e, "the transaction to stop"))? {
        Some(ocpp_id) => server.call(cs, "RequestStopTransaction", json!({ "transactionId": ocpp_id })).await,
        None => server.call(cs, "RemoteStopTransaction", json!({ "transactionId": transaction_id })).await,
    }
}

/// Sets (`pause`) or clears the session's pause profile on its transaction, which a 2.0.1
/// charger calls `ocpp_id`; answers the action sent and the charger's answer.
pub async fn pause_or_resume(
    server: &OcppServer,
    session: &Session,
    transaction_id: i64,
    ocpp_id: Option<String>,
    pause: bool,
) -> Result<(&'static str, Value), CallFailure> {
    let cs = session.chargestation;
    let profile = pause_profile_id(transaction_id);
    let (action, payload) = match (pause, ocpp_id) {
        (true, Some(ocpp_id)) => {
            let limit_zero = json!({
                "id": profile,
                "transactionId": ocpp_id,
                "stackLevel": PAUSE_STACK_LEVEL,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": [{ "id": profile, "chargingRateUnit": "W", "chargingSchedulePeriod": [{ "startPeriod": 0, "limit": 0 }] }]
            });
            ("SetChargingProfile", json!({ "evseId": session.connector_id, "chargingProfile": limit_zero }))
        }
        (true, None) => {
            let limit_zero = json!({
                "chargingProfileId": profile,
                "transactionId": transaction_id,
                "stackLevel": PAUSE_STACK_LEVEL,
                "chargingProfilePurpose": "TxProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": { "chargingRateUnit": "W", "chargingSchedulePeriod": [{ "startPeriod": 0, "limit": 0 }] }
            });
            ("SetChargingProfile", json!({ "connectorId": session.connector_id, "csChargingProfiles": limit_zero }))
        }
        (false, Some(_)) => ("ClearChargingProfile", json!({ "chargingProfileId": profile })),
        (false, None) => ("ClearChargingProfile", json!({ "id": profile })),
    };
    Ok((action, server.call(cs, action, payload).await?))
}
