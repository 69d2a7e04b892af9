//! Charger-initiated actions: one file each, behind `dispatch`. A handler gets the typed
//! request (already valid against the official schema) and answers the typed response, or a
//! `Failure` that becomes a CALLERROR.

mod authorize;
mod boot;
mod data_transfer;
mod heartbeat;
mod meter_values;
mod notifications;
mod start;
mod status;
mod stop;

use std::collections::HashMap;

use domain::Timestamp;
use domain::chargestation::Registration;
use ocpp16::{Direction, ErrorCode};
use serde_json::Value;
use session::live::Live;
use store::{ChargerLogin, StoreError};

use crate::OcppServer;

/// A connection's view: who the charger is, whether it may speak yet, and its running
/// sessions kept live.
pub struct Link {
    pub server: OcppServer,
    pub login: ChargerLogin,
    /// The registration the charger was last told (or has, if it did not boot yet).
    registration: Registration,
    /// The running sessions of this charger's transactions, by transactionId, as of the last
    /// reading: read from the database at the first reading after a connection, a status
    /// change or a change made elsewhere, then kept up to date by each reading.
    live: HashMap<i64, Live>,
}

impl Link {
    pub fn new(server: OcppServer, login: ChargerLogin) -> Link {
        let registration = login.registration;
        Link { server, login, registration, live: HashMap::new() }
    }

    fn now(&self) -> Timestamp {
        self.server.store.now()
    }

    /// Notes when the charger last sent a message.
    async fn seen(&self) {
        if let Err(e) = self.server.store.charger_seen(self.login.chargestation, self.now()).await {
            tracing::warn!(error = %e, "could not note the message time");
        }
    }
}

/// The description of an InternalError: nothing about why.
pub const RETRY_LATER: &str = "the central system could not process the message; retry later";

/// Why a CALL gets a CALLERROR.
#[derive(Debug)]
pub struct Failure {
    pub code: ErrorCode,
    pub description: String,
}

impl Failure {
    fn new(code: ErrorCode, description: impl Into<String>) -> Failure {
        Failure { code, description: description.into() }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Failure {
        tracing::error!(error = %e, "storage failed while handling a charger's message");
        Failure::new(ErrorCode::InternalError, RETRY_LATER)
    }
}

fn timestamp(at: &ocpp16::messages::Timestamp) -> Timestamp {
    Timestamp::from_millis(at.timestamp_millis())
}

fn now_for_charger(link: &Link) -> ocpp16::messages::Timestamp {
    chrono::DateTime::from_timestamp_millis(link.now().millis()).unwrap_or_default().fixed_offset()
}

/// The wire name of an OCPP enum value (`SuspendedEV`, `Energy.Active.Import.Register`).
fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

fn request<T: serde::de::DeserializeOwned>(payload: Value) -> Result<T, Failure> {
    serde_json::from_value(payload).map_err(|e| Failure::new(ErrorCode::FormationViolation, e.to_string()))
}

fn answer<T: serde::Serialize>(response: Result<T, Failure>) -> Result<Value, Failure> {
    serde_json::to_value(response?).map_err(|e| Failure::new(ErrorCode::InternalError, e.to_string()))
}

/// Answers a CALL from the charger.
pub async fn dispatch(link: &mut Link, action: &str, payload: Value) -> Result<Value, Failure> {
    if !ocpp16::is_known(action) {
        return Err(Failure::new(ErrorCode::NotImplemented, format!("`{action}` is not an OCPP 1.6 action Joule knows")));
    }
    ocpp16::validate(action, Direction::Request, &payload).map_err(|v| Failure::new(v.code, v.description))?;
    // The readings of a live session note it in their own batched write.
    if action != "MeterValues" {
        link.seen().await;
    }
    // Until a BootNotification is accepted, OCPP 1.6 lets a charger send nothing else.
    if link.registration != Registration::Accepted && action != "BootNotification" {
        return Err(Failure::new(
            ErrorCode::SecurityError,
            format!("the chargestation's registration is {}: send BootNotification first", link.registration.as_str()),
        ));
    }
    match action {
        "BootNotification" => answer(boot::handle(link, request(payload)?).await),
        "Heartbeat" => answer(heartbeat::handle(link, request(payload)?).await),
        "StatusNotification" => answer(status::handle(link, request(payload)?).await),
        "Authorize" => answer(authorize::handle(link, request(payload)?).await),
        "StartTransaction" => answer(start::handle(link, request(payload)?).await),
        "StopTransaction" => answer(stop::handle(link, request(payload)?).await),
        "MeterValues" => answer(meter_values::handle(link, request(payload)?).await),
        "DataTransfer" => answer(data_transfer::handle(link, request(payload)?).await),
        "FirmwareStatusNotification" => answer(notifications::firmware(link, request(payload)?).await),
        "DiagnosticsStatusNotification" => answer(notifications::diagnostics(link, request(payload)?).await),
        other => Err(Failure::new(ErrorCode::NotSupported, format!("`{other}` is sent by a central system, not to one"))),
    }
}
