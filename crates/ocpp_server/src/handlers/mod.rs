//! Charger-initiated actions: one file each, behind `dispatch`. A handler gets the typed
//! request (already valid against the official schema) and answers the typed response, or a
//! `Failure` that becomes a CALLERROR.

mod authorize;
mod boot;
mod data_transfer;
mod heartbeat;
pub(crate) mod meter_values;
mod notifications;
mod start;
mod status;
mod stop;

pub(crate) use authorize::id_tag_info;

use std::collections::HashMap;

use tokio::time::Instant;

use domain::Timestamp;
use domain::chargestation::Registration;
use domain::connector::ConnectorStatus;
use ocpp16::{Direction, ErrorCode};
use ocppj::Codes;
use rust_decimal::Decimal;
use serde_json::Value;
use session::live::Live;
use store::{Applied, ChargerLogin, Presence, StoreError};

use crate::connection::Dialect;
use crate::{OcppServer, session_watch};

/// A connection's view: who the charger is, whether it may speak yet, and its running
/// sessions kept live.
pub struct Link {
    pub server: OcppServer,
    pub login: ChargerLogin,
    /// The registration the charger was last told (or has, if it did not boot yet).
    pub(crate) registration: Registration,
    /// The running sessions of this charger's transactions, by transactionId, as of the last
    /// reading: read from the database when the charger connects, and again after a status or
    /// a change made elsewhere, kept up to date by each reading in between.
    pub(crate) live: HashMap<i64, Kept>,
    /// The connector status each running 2.0.1 transaction's `chargingState` last set: written
    /// when it changes, not with every event that repeats it.
    pub(crate) charging_states: HashMap<i64, ConnectorStatus>,
}

/// A live session and when it is next looked at if no reading comes first.
pub(crate) struct Kept {
    pub(crate) live: Live,
    look_at: Instant,
}

impl Link {
    pub fn new(server: OcppServer, login: ChargerLogin) -> Link {
        let registration = login.registration;
        Link { server, login, registration, live: HashMap::new(), charging_states: HashMap::new() }
    }

    pub(crate) fn now(&self) -> Timestamp {
        self.server.store.now()
    }

    /// Reads the charger's running sessions, to keep them live while it is connected here.
    pub async fn load_live(&mut self) {
        let (org, cs) = (self.login.organization, self.login.chargestation);
        match self.server.store.running_facts_on(org, cs).await {
            Ok(running) => {
                let look_at = Instant::now() + self.server.config.watch_interval;
                for facts in running {
                    if let Some(transaction) = facts.session.transaction_id {
                        self.live.insert(transaction, Kept { live: Live::new(facts), look_at });
                    }
                }
            }
            Err(e) => tracing::error!(error = %e, "could not read the charger's running sessions; they are read at their next reading"),
        }
    }

    /// Keeps the running session of a transaction live, read afresh from the database; answers
    /// whether the transaction has one.
    pub async fn keep_live(&mut self, transaction: i64) -> Result<bool, StoreError> {
        let now = self.server.store.now();
        self.keep_live_with(transaction, &[], now).await
    }

    /// [`Link::keep_live`] with register readings the charger sent that are not stored yet
    /// (earlier ones of the message being handled, received at `received`).
    pub async fn keep_live_with(&mut self, transaction: i64, unstored: &[(Timestamp, Decimal)], received: Timestamp) -> Result<bool, StoreError> {
        let (org, cs) = (self.login.organization, self.login.chargestation);
        match self.server.store.running_session_facts(org, cs, transaction).await? {
            Some(mut facts) => {
                for &(at, wh) in unstored {
                    facts.add_reading(at, wh, received);
                }
                let look_at = Instant::now() + self.server.config.watch_interval;
                self.live.insert(transaction, Kept { live: Live::new(facts), look_at });
                Ok(true)
            }
            None => {
                self.live.remove(&transaction);
                Ok(false)
            }
        }
    }

    /// When a live session is next due to be looked at.
    pub fn next_look(&self) -> Option<Instant> {
        self.live.values().map(|k| k.look_at).min()
    }

    /// Looks after the live sessions that are due (see `session_watch::look_after_live`).
    pub async fn look_after_live(&mut self) {
        let server = self.server.clone();
        let now = Instant::now();
        let mut gone = Vec::new();
        for (transaction, kept) in self.live.iter_mut().filter(|(_, k)| k.look_at <= now) {
            match session_watch::look_after_live(&server, &mut kept.live).await {
                Ok(Some(again)) => kept.look_at = Instant::now() + again,
                Ok(None) => gone.push(*transaction),
                Err(e) => {
                    tracing::error!(error = %e, session = %kept.live.facts().session.id, "could not look after a session; trying again");
                    kept.look_at = Instant::now() + server.config.watch_interval;
                }
            }
        }
        for transaction in gone {
            self.live.remove(&transaction);
        }
    }

    /// Records a connector's status (in either version). A status labels the time of the
    /// sessions on the connector: their live state is read again.
    pub(crate) async fn record_status(&mut self, connector_id: u32, status: ConnectorStatus, at: Timestamp) -> Result<(), StoreError> {
        let (org, cs) = (self.login.organization, self.login.chargestation);
        self.server.presence.record(org, cs, Presence::Status { connector_id, status, at }).await?;
        let on_connector: Vec<i64> = self.live.iter().filter(|(_, k)| k.live.facts().session.connector_id == connector_id).map(|(t, _)| *t).collect();
        for transaction in on_connector {
            self.keep_live(transaction).await?;
        }
        Ok(())
    }

    /// Notes when the charger last sent a message.
    pub(crate) fn seen(&self) {
        self.server.writer.heard(self.login.chargestation);
    }
}

/// The description of an InternalError: nothing about why.
pub const RETRY_LATER: &str = "the central system could not process the message; retry later";

/// Why a CALL gets a CALLERROR, with the code of the charger's version (1.6's by default).
#[derive(Debug)]
pub struct Failure<C = ErrorCode> {
    pub code: C,
    pub description: String,
}

impl<C: Codes> Failure<C> {
    pub(crate) fn new(code: C, description: impl Into<String>) -> Failure<C> {
        Failure { code, description: description.into() }
    }
}

impl<C: Codes> From<StoreError> for Failure<C> {
    fn from(e: StoreError) -> Failure<C> {
        tracing::error!(error = %e, "storage failed while handling a charger's message");
        Failure::new(C::INTERNAL_ERROR, RETRY_LATER)
    }
}

/// OCPP 1.6J, as chargers connecting with subprotocol `ocpp1.6` speak it.
pub struct Ocpp16;

impl Dialect for Ocpp16 {
    type Code = ErrorCode;

    fn dispatch(link: &mut Link, action: &str, payload: Value) -> impl Future<Output = Result<Value, Failure>> + Send {
        dispatch(link, action, payload)
    }

    fn check_answer(action: &str, payload: &Value) -> Result<(), ocpp16::Violation> {
        ocpp16::validate(action, Direction::Response, payload)
    }
}

pub(crate) fn timestamp(at: &ocpp16::messages::Timestamp) -> Timestamp {
    Timestamp::from_millis(at.timestamp_millis())
}

pub(crate) fn now_for_charger(link: &Link) -> ocpp16::messages::Timestamp {
    chrono::DateTime::from_timestamp_millis(link.now().millis()).unwrap_or_default().fixed_offset()
}

/// The wire name of an OCPP enum value (`SuspendedEV`, `Energy.Active.Import.Register`).
pub(crate) fn wire_name<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_value(value).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

pub(crate) fn request<T: serde::de::DeserializeOwned, C: Codes>(payload: Value) -> Result<T, Failure<C>> {
    serde_json::from_value(payload).map_err(|e| Failure::new(C::FORMAT, e.to_string()))
}

pub(crate) fn answer<T: serde::Serialize, C: Codes>(response: Result<T, Failure<C>>) -> Result<Value, Failure<C>> {
    serde_json::to_value(response?).map_err(|e| Failure::new(C::INTERNAL_ERROR, e.to_string()))
}

/// What every CALL goes through before its handler, in either version: its action is one
/// of the version's (`schemas`), its payload valid, and, until a BootNotification is accepted,
/// it is a BootNotification.
pub(crate) fn admit<C: Codes>(link: &Link, schemas: &ocppj::SchemaSet, version: &str, action: &str, payload: &Value) -> Result<(), Failure<C>> {
    if !schemas.is_known(action) {
        return Err(Failure::new(C::NOT_IMPLEMENTED, format!("`{action}` is not an OCPP {version} action")));
    }
    schemas.validate(action, Direction::Request, payload).map_err(|v: ocppj::Violation<C>| Failure::new(v.code, v.description))?;
    // The readings of a live session note it in their own batched write.
    if action != "MeterValues" && action != "TransactionEvent" {
        link.seen();
    }
    if link.registration != Registration::Accepted && action != "BootNotification" {
        return Err(Failure::new(
            C::SECURITY_ERROR,
            format!("the chargestation's registration is {}: send BootNotification first", link.registration.as_str()),
        ));
    }
    Ok(())
}

/// Records a BootNotification's payload and answers the chargestation's registration, now
/// what the connection was told.
pub(crate) async fn boot<C: Codes>(link: &mut Link, boot_info: Value) -> Result<Registration, Failure<C>> {
    let registration = match link.server.presence.record(link.login.organization, link.login.chargestation, Presence::Booted(boot_info)).await? {
        Applied::Booted(registration) => registration,
        other => return Err(Failure::new(C::INTERNAL_ERROR, format!("a boot was recorded as {other:?}"))),
    };
    link.registration = registration;
    Ok(registration)
}

/// Answers a CALL from a 1.6 charger.
async fn dispatch(link: &mut Link, action: &str, payload: Value) -> Result<Value, Failure> {
    admit(link, ocpp16::schema_set(), "1.6", action, &payload)?;
    match action {
        "BootNotification" => answer(boot::handle(link, request(payload)?).await),
        "Heartbeat" => answer(heartbeat::handle(link, request(payload)?).await),
        "StatusNotification" => answer(status::handle(link, request(payload)?).await),
        "Authorize" => answer(authorize::handle(link, request(payload)?).await),
        "StartTransaction" => answer(start::handle(link, request(payload)?).await),
        "StopTransaction" => answer(stop::handle(link, request(payload)?).await),
        "MeterValues" => answer(meter_values::handle(link, request(payload)?).await),
        "DataTransfer" => answer(data_transfer::handle(request(payload)?)),
        "FirmwareStatusNotification" => answer(notifications::firmware(request(payload)?)),
        "DiagnosticsStatusNotification" => answer(notifications::diagnostics(request(payload)?)),
        other => Err(Failure::new(ErrorCode::NotSupported, format!("`{other}` is sent by a central system, not to one"))),
    }
}
