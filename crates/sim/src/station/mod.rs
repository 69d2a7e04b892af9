//! One charger as a pure state machine: what it answers to the central system's commands, what
//! it sends and when, and how its connectors, transactions and meters evolve. No sockets and no
//! clock: every input carries `now` (Unix milliseconds), and what to send waits in an outbox
//! that the connection driver empties one CALL at a time, as OCPP-J requires.
//!
//! A connector's status is derived from its state (cable, authorization, transaction, power
//! offered, availability) after every input, and a StatusNotification goes out whenever it
//! changes, so the reported status never disagrees with what the connector does.
//!
//! Offline, the outbox keeps what a real charger stores for later (StatusNotification,
//! StartTransaction, StopTransaction and MeterValues, each stamped when it happened) and drops
//! the rest. A transaction started offline has no transactionId yet, so its messages refer to it
//! by a local number, resolved when the answer to its StartTransaction arrives.
//!
//! The core speaks OCPP 1.6's vocabulary (statuses, profiles, reasons); a 2.0.1 charger is the
//! same core with its messages translated at the edge, in [`v201`]: its transactions are
//! numbered by the charger itself, readings and charging states go as TransactionEvents.

use std::collections::{HashMap, VecDeque};

use ocpp16::messages::*;
use ocpp16::{ErrorCode, Violation};
use serde_json::Value;

use crate::ChargerConfig;
use crate::profiles::{self, Installed};

mod v201;

/// Unix time in milliseconds: the only clock the core knows.
pub type Millis = i64;

/// The OCPP version a station speaks, from the subprotocol it offers.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Protocol {
    Ocpp16,
    Ocpp201,
}

impl Protocol {
    pub fn of(subprotocol: &str) -> Protocol {
        if subprotocol == "ocpp2.0.1" { Protocol::Ocpp201 } else { Protocol::Ocpp16 }
    }
}

const VENDOR: &str = "Joule";
const MODEL: &str = "Simulator";
/// How long to wait before booting again when the central system did not say.
const BOOT_RETRY_S: i64 = 30;
const MEASURED: &str = "Energy.Active.Import.Register,Power.Active.Import";
/// Joules in a watt-hour, times 1000: the register counts millijoules (W × ms).
const MJ_PER_WH: u64 = 3_600_000;

#[derive(Clone, Debug)]
pub struct Transaction {
    /// The charger's own number for it, used until the central system's id is known.
    pub local: u32,
    /// The central system's transactionId, once it answered the StartTransaction (2.0.1: the
    /// local number, the charger's own id being [`Station::transaction_id`]).
    pub id: Option<i64>,
    pub id_tag: String,
    pub meter_start_wh: i64,
    pub started_at: Millis,
    pub reservation_id: Option<i64>,
}

#[derive(Clone, Debug)]
pub struct Reservation {
    pub id: i64,
    pub id_tag: String,
    pub expires_at: Millis,
}

/// One connector: the car's cable, the transaction and the meter.
#[derive(Clone, Debug)]
pub struct Connector {
    pub id: u32,
    /// The status last put in the outbox.
    pub status: ChargePointStatus,
    pub plugged: bool,
    /// An idTag allowed to charge here, waiting for the car to be plugged in.
    pub authorized: Option<String>,
    /// The 2.0.1 `remoteStartId` that authorized it, carried by the transaction's start.
    remote_start_id: Option<i64>,
    pub transaction: Option<Transaction>,
    /// The transaction ended and the car is still plugged in.
    pub finishing: bool,
    pub operative: bool,
    /// The car draws no power although it may (full, or its own timer).
    pub ev_suspended: bool,
    pub reservation: Option<Reservation>,
    /// The power drawn now, W.
    pub power_w: u32,
    /// Millijoules, so that any power over any interval adds up exactly.
    register_mj: u64,
}

impl Connector {
    fn new(id: u32) -> Connector {
        Connector {
            id,
            status: ChargePointStatus::Available,
            plugged: false,
            authorized: None,
            remote_start_id: None,
            transaction: None,
            finishing: false,
            operative: true,
            ev_suspended: false,
            reservation: None,
            power_w: 0,
            register_mj: 0,
        }
    }

    /// The energy register, whole Wh (what StartTransaction and StopTransaction carry).
    pub fn meter_wh(&self) -> i64 {
        (self.register_mj / MJ_PER_WH) as i64
    }

    fn derived_status(&self, offered_w: u32) -> ChargePointStatus {
        use ChargePointStatus::*;
        match &self.transaction {
            Some(_) if offered_w == 0 => SuspendedEVSE,
            Some(_) if self.ev_suspended => SuspendedEV,
            Some(_) => Charging,
            None if self.finishing => Finishing,
            None if !self.operative => Unavailable,
            None if self.plugged || self.authorized.is_some() => Preparing,
            None if self.reservation.is_some() => Reserved,
            None => Available,
        }
    }

    fn status_message(&self, at: Millis) -> Outgoing {
        Outgoing::Status { connector: self.id, status: self.status, local: self.transaction.as_ref().map(|tx| tx.local), at }
    }

    fn can_start_for(&self, id_tag: &str) -> bool {
        self.transaction.is_none() && self.operative && !self.finishing && self.reservation.as_ref().is_none_or(|r| r.id_tag == id_tag)
    }
}

/// A message waiting to be sent, stamped when it happened.
#[derive(Clone, Debug)]
enum Outgoing {
    Boot,
    Heartbeat,
    /// `local`: the transaction running on the connector then, if any.
    Status {
        connector: u32,
        status: ChargePointStatus,
        local: Option<u32>,
        at: Millis,
    },
    Start {
        connector: u32,
        local: u32,
        id_tag: String,
        meter_start: i64,
        reservation_id: Option<i64>,
        remote_start_id: Option<i64>,
        at: Millis,
    },
    Stop {
        local: u32,
        meter_stop: i64,
        reason: Reason,
        at: Millis,
    },
    Meter {
        connector: u32,
        local: Option<u32>,
        register_mj: u64,
        power_w: u32,
        context: ReadingContext,
        at: Millis,
    },
    Firmware(FirmwareStatus),
    Diagnostics,
    /// 2.0.1's answer to GetBaseReport.
    Report {
        request_id: i64,
        at: Millis,
    },
}

impl Outgoing {
    /// What a charger stores while offline and sends once connected again.
    fn kept_offline(&self) -> bool {
        matches!(self, Outgoing::Status { .. } | Outgoing::Start { .. } | Outgoing::Stop { .. } | Outgoing::Meter { .. })
    }
}

pub struct Station {
    identity: String,
    protocol: Protocol,
    /// 2.0.1: what makes this boot's transaction ids unique (the time it powered on).
    boot_id: String,
    /// 2.0.1: the `seqNo` of each transaction's next event, by local number.
    seq_nos: HashMap<u32, i64>,
    connectors: Vec<Connector>,
    /// Connector 0: the charger as a whole.
    status: ChargePointStatus,
    max_power_w: u32,
    auto_plug: bool,
    heartbeat_override_s: Option<u32>,
    heartbeat_s: u32,
    meter_interval_ms: i64,
    stop_on_invalid_id: bool,
    online: bool,
    registered: bool,
    boot_at: Option<Millis>,
    next_heartbeat: Millis,
    next_sample: Millis,
    outbox: VecDeque<Outgoing>,
    /// The central system's transactionIds by local number, until the StopTransaction is sent.
    transaction_ids: HashMap<u32, i64>,
    next_local: u32,
    profiles: Vec<Installed>,
    local_list_version: i64,
    firmware: FirmwareStatus,
    metered_until: Millis,
    reboot: bool,
}

impl Station {
    /// A charger just powered on: every connector Available, its statuses waiting for the boot.
    pub fn new(config: &ChargerConfig, now: Millis) -> Station {
        let mut station = Station {
            identity: config.identity.clone(),
            protocol: config.protocol(),
            boot_id: format!("{now:x}"),
            seq_nos: HashMap::new(),
            connectors: (1..=config.connectors).map(Connector::new).collect(),
            status: ChargePointStatus::Available,
            max_power_w: config.power_w,
            auto_plug: config.auto_plug,
            heartbeat_override_s: config.heartbeat_interval_s,
            heartbeat_s: config.heartbeat_interval_s.unwrap_or(0),
            meter_interval_ms: config.meter_interval.as_millis().try_into().unwrap_or(i64::MAX),
            stop_on_invalid_id: true,
            online: false,
            registered: false,
            boot_at: None,
            next_heartbeat: now,
            next_sample: now,
            outbox: VecDeque::new(),
            transaction_ids: HashMap::new(),
            next_local: 1,
            profiles: Vec::new(),
            local_list_version: 0,
            firmware: FirmwareStatus::Idle,
            metered_until: now,
            reboot: false,
        };
        station.announce(now);
        station
    }

    pub fn connectors(&self) -> &[Connector] {
        &self.connectors
    }

    pub fn connector(&self, id: u32) -> Option<&Connector> {
        self.connectors.get(usize::try_from(id).ok()?.checked_sub(1)?)
    }

    /// The status of connector 0, the charger itself.
    pub fn status(&self) -> ChargePointStatus {
        self.status
    }

    pub fn protocol(&self) -> Protocol {
        self.protocol
    }

    /// Whether the WebSocket is up (as the driver last said).
    pub fn is_online(&self) -> bool {
        self.online
    }

    /// Whether the central system accepted the last BootNotification.
    pub fn is_registered(&self) -> bool {
        self.registered
    }

    /// Messages waiting to be sent, the one in flight included.
    pub fn queued(&self) -> usize {
        self.outbox.len()
    }

    fn index(&self, connector: i64) -> Option<usize> {
        let i = usize::try_from(connector).ok()?.checked_sub(1)?;
        (i < self.connectors.len()).then_some(i)
    }

    // ---- Inputs from the driver -------------------------------------------------------------

    /// The WebSocket is up: boot first if the central system has not accepted this charger yet.
    pub fn connected(&mut self, now: Millis) {
        self.input(now, |s| {
            s.online = true;
            if !s.registered {
                s.boot_at = None;
                s.outbox.push_front(Outgoing::Boot);
            }
        })
    }

    /// The WebSocket is gone: keep what a charger stores for later, drop the rest.
    pub fn disconnected(&mut self, now: Millis) {
        self.input(now, |s| {
            s.online = false;
            s.outbox.retain(Outgoing::kept_offline);
        })
    }

    /// Does what is due by `now`: meters, heartbeats, meter values, boot retries, expiries.
    pub fn tick(&mut self, now: Millis) {
        self.input(now, |s| {
            for c in &mut s.connectors {
                if c.reservation.as_ref().is_some_and(|r| r.expires_at <= now) {
                    c.reservation = None;
                }
            }
            // A retry planned while a triggered BootNotification failed is moot once registered.
            if s.online && s.boot_at.is_some_and(|t| t <= now) {
                s.boot_at = None;
                if !s.registered {
                    s.outbox.push_front(Outgoing::Boot);
                }
            }
            if s.online && s.registered && s.heartbeat_s > 0 && s.next_heartbeat <= now {
                s.enqueue(Outgoing::Heartbeat);
                s.next_heartbeat = now + i64::from(s.heartbeat_s) * 1000;
            }
            if s.meter_interval_ms > 0 && s.next_sample <= now {
                s.next_sample = now + s.meter_interval_ms;
                for i in 0..s.connectors.len() {
                    if s.connectors[i].transaction.is_some() {
                        s.sample(i, ReadingContext::SamplePeriodic, now);
                    }
                }
            }
        })
    }

    /// When `tick` has something to do next, if ever.
    pub fn next_wakeup(&self) -> Option<Millis> {
        let charging = self.connectors.iter().any(|c| c.transaction.is_some());
        let expiries = self.connectors.iter().filter_map(|c| c.reservation.as_ref().map(|r| r.expires_at));
        [
            self.boot_at.filter(|_| self.online),
            Some(self.next_heartbeat).filter(|_| self.online && self.registered && self.heartbeat_s > 0),
            Some(self.next_sample).filter(|_| charging && self.meter_interval_ms > 0),
        ]
        .into_iter()
        .flatten()
        .chain(expiries)
        .min()
    }

    /// The next CALL to send, if one may go now. It stays first in the outbox until
    /// [`on_result`](Self::on_result) or [`on_error`](Self::on_error), so a call cut off by a
    /// lost connection is sent again.
    pub fn next_call(&mut self) -> Option<(&'static str, Value)> {
        loop {
            let front = self.outbox.front().filter(|_| self.online)?;
            if !self.registered && !matches!(front, Outgoing::Boot) {
                return None;
            }
            let call = match self.protocol {
                Protocol::Ocpp16 => self.request(front),
                Protocol::Ocpp201 => self.request201(front),
            };
            match call {
                Some(call) => return Some(call),
                // A StopTransaction whose StartTransaction was refused: nothing to stop.
                None => {
                    self.outbox.pop_front();
                }
            }
        }
    }

    /// The CALLRESULT for the call from [`next_call`](Self::next_call); an answer that is not
    /// valid is described.
    pub fn on_result(&mut self, payload: &Value, now: Millis) -> Result<(), String> {
        self.input(now, |s| {
            let Some(sent) = s.outbox.pop_front() else { return Ok(()) };
            if s.protocol == Protocol::Ocpp201 {
                return s.on_result201(sent, payload, now).map_err(|v| v.to_string());
            }
            match sent {
                Outgoing::Boot => match decode_response::<BootNotification>(payload) {
                    Ok(answer) => s.boot_answered(answer.status == RegistrationStatus::Accepted, answer.interval, now),
                    Err(violation) => {
                        s.boot_answered(false, 0, now);
                        return Err(violation.to_string());
                    }
                },
                Outgoing::Start { connector, local, .. } => {
                    let answer = decode_response::<StartTransaction>(payload).map_err(|v| v.to_string())?;
                    s.transaction_ids.insert(local, answer.transaction_id);
                    let i = (connector - 1) as usize;
                    let current = s.connectors[i].transaction.as_mut().filter(|tx| tx.local == local);
                    if let Some(tx) = current {
                        tx.id = Some(answer.transaction_id);
                        if answer.id_tag_info.status != AuthorizationStatus::Accepted && s.stop_on_invalid_id {
                            s.end_transaction(i, Reason::DeAuthorized, now);
                        }
                    }
                }
                Outgoing::Stop { local, .. } => {
                    s.transaction_ids.remove(&local);
                }
                _ => {}
            }
            Ok(())
        })
    }

    /// The BootNotification was answered: registered, with the heartbeat interval it gives
    /// (`interval`, s), or to boot again after it.
    fn boot_answered(&mut self, accepted: bool, interval: i64, now: Millis) {
        self.registered = accepted;
        if accepted {
            self.heartbeat_s = self.heartbeat_override_s.unwrap_or(u32::try_from(interval).unwrap_or(0));
            self.next_heartbeat = now + i64::from(self.heartbeat_s) * 1000;
        } else {
            let retry_s = if interval > 0 { interval } else { BOOT_RETRY_S };
            self.boot_at = Some(now + retry_s * 1000);
        }
    }

    /// A CALLERROR for the call from [`next_call`](Self::next_call): the message is dropped.
    pub fn on_error(&mut self, now: Millis) {
        self.input(now, |s| match s.outbox.pop_front() {
            Some(Outgoing::Boot) => s.boot_at = Some(now + BOOT_RETRY_S * 1000),
            Some(Outgoing::Stop { local, .. }) => {
                s.transaction_ids.remove(&local);
                s.seq_nos.remove(&local);
            }
            Some(sent) => s.sent_event(&sent),
            None => {}
        })
    }

    /// Whether a Reset asked for a reboot since the last call; the driver then reconnects.
    pub fn take_reboot(&mut self) -> bool {
        std::mem::take(&mut self.reboot)
    }

    // ---- What happens at the charger --------------------------------------------------------

    /// A car is plugged in; it charges at once if an idTag was authorized here.
    pub fn plug_in(&mut self, connector: u32, now: Millis) {
        let Some(i) = self.index(connector.into()) else { return };
        self.input(now, |s| {
            s.connectors[i].plugged = true;
            s.try_start(i, now);
        })
    }

    /// The car leaves, ending its transaction (EVDisconnected).
    pub fn unplug(&mut self, connector: u32, now: Millis) {
        let Some(i) = self.index(connector.into()) else { return };
        self.input(now, |s| s.leave(i, now))
    }

    /// An RFID card is presented: it starts charging (plugging the car in when the station
    /// plugs cars in by itself), or ends the transaction it started.
    pub fn present_card(&mut self, connector: u32, id_tag: &str, now: Millis) {
        let Some(i) = self.index(connector.into()) else { return };
        self.input(now, |s| {
            let c = &mut s.connectors[i];
            if c.transaction.as_ref().is_some_and(|tx| tx.id_tag == id_tag) {
                s.end_transaction(i, Reason::Local, now);
            } else if c.can_start_for(id_tag) {
                c.authorized = Some(id_tag.to_string());
                c.remote_start_id = None;
                c.plugged |= s.auto_plug;
                s.try_start(i, now);
            }
        })
    }

    /// The car stops (or resumes) drawing power by itself: SuspendedEV.
    pub fn set_ev_suspended(&mut self, connector: u32, suspended: bool, now: Millis) {
        let Some(i) = self.index(connector.into()) else { return };
        self.input(now, |s| s.connectors[i].ev_suspended = suspended)
    }

    // ---- Commands from the central system ---------------------------------------------------

    /// Answers a CALL from the central system; what it causes waits in the outbox.
    pub fn on_call(&mut self, action: &str, payload: &Value, now: Millis) -> Result<Value, Violation> {
        self.input(now, |s| match action {
            Reset::NAME => answer::<Reset>(payload, |r| s.reset(r, now)),
            UnlockConnector::NAME => answer::<UnlockConnector>(payload, |r| s.unlock(r, now)),
            ChangeAvailability::NAME => answer::<ChangeAvailability>(payload, |r| s.change_availability(r)),
            GetConfiguration::NAME => answer::<GetConfiguration>(payload, |r| s.get_configuration(r)),
            ChangeConfiguration::NAME => answer::<ChangeConfiguration>(payload, |r| s.change_configuration(r, now)),
            ClearCache::NAME => answer::<ClearCache>(payload, |_| ClearCacheResponse { status: ClearCacheStatus::Accepted }),
            TriggerMessage::NAME => answer::<TriggerMessage>(payload, |r| s.trigger(r, now)),
            RemoteStartTransaction::NAME => answer::<RemoteStartTransaction>(payload, |r| s.remote_start(r, now)),
            RemoteStopTransaction::NAME => answer::<RemoteStopTransaction>(payload, |r| s.remote_stop(r, now)),
            SetChargingProfile::NAME => answer::<SetChargingProfile>(payload, |r| s.set_charging_profile(r)),
            ClearChargingProfile::NAME => answer::<ClearChargingProfile>(payload, |r| s.clear_charging_profile(r)),
            GetCompositeSchedule::NAME => answer::<GetCompositeSchedule>(payload, |r| s.composite_schedule(r, now)),
            GetLocalListVersion::NAME => answer::<GetLocalListVersion>(payload, |_| GetLocalListVersionResponse { list_version: s.local_list_version }),
            SendLocalList::NAME => answer::<SendLocalList>(payload, |r| s.send_local_list(r)),
            ReserveNow::NAME => answer::<ReserveNow>(payload, |r| s.reserve(r)),
            CancelReservation::NAME => answer::<CancelReservation>(payload, |r| s.cancel_reservation(r)),
            UpdateFirmware::NAME => answer::<UpdateFirmware>(payload, |_| s.update_firmware()),
            // Nothing to upload: a simulator keeps no logs worth sending.
            GetDiagnostics::NAME => answer::<GetDiagnostics>(payload, |_| GetDiagnosticsResponse { file_name: None }),
            DataTransfer::NAME => answer::<DataTransfer>(payload, |_| DataTransferResponse { status: DataTransferStatus::UnknownVendorId, data: None }),
            known if ocpp16::is_known(known) => Err(Violation { code: ErrorCode::NotSupported, description: format!("a charger does not handle {known}") }),
            unknown => Err(Violation { code: ErrorCode::NotImplemented, description: format!("unknown action {unknown:?}") }),
        })
    }

    fn reset(&mut self, request: ResetRequest, now: Millis) -> ResetResponse {
        let reason = match request.kind {
            ResetType::Hard => Reason::HardReset,
            ResetType::Soft => Reason::SoftReset,
        };
        for i in 0..self.connectors.len() {
            self.end_transaction(i, reason, now);
            let c = &mut self.connectors[i];
            c.authorized = None;
            c.remote_start_id = None;
            c.reservation = None;
            c.ev_suspended = false;
        }
        // After the reboot: a new BootNotification, then every status again.
        self.registered = false;
        self.reboot = true;
        self.announce(now);
        ResetResponse { status: ResetStatus::Accepted }
    }

    fn unlock(&mut self, request: UnlockConnectorRequest, now: Millis) -> UnlockConnectorResponse {
        let Some(i) = self.index(request.connector_id) else {
            return UnlockConnectorResponse { status: UnlockStatus::UnlockFailed };
        };
        self.end_transaction(i, Reason::UnlockCommand, now);
        self.leave(i, now);
        UnlockConnectorResponse { status: UnlockStatus::Unlocked }
    }

    fn change_availability(&mut self, request: ChangeAvailabilityRequest) -> ChangeAvailabilityResponse {
        let targets: Vec<usize> = match request.connector_id {
            0 => (0..self.connectors.len()).collect(),
            id => match self.index(id) {
                Some(i) => vec![i],
                None => return ChangeAvailabilityResponse { status: AvailabilityStatus::Rejected },
            },
        };
        let operative = request.kind == AvailabilityType::Operative;
        let busy = targets.iter().any(|&i| self.connectors[i].transaction.is_some());
        for i in targets {
            self.connectors[i].operative = operative;
        }
        // A running transaction goes on; the connector becomes Unavailable when it ends.
        let status = if busy && !operative { AvailabilityStatus::Scheduled } else { AvailabilityStatus::Accepted };
        ChangeAvailabilityResponse { status }
    }

    fn configuration(&self) -> Vec<KeyValue> {
        let key = |key: &str, readonly: bool, value: String| KeyValue { key: key.into(), readonly, value: Some(value) };
        let meter_interval_s = (self.meter_interval_ms + 999) / 1000;
        vec![
            key("HeartbeatInterval", false, self.heartbeat_s.to_string()),
            key("MeterValueSampleInterval", false, meter_interval_s.to_string()),
            key("MeterValuesSampledData", true, MEASURED.into()),
            key("NumberOfConnectors", true, self.connectors.len().to_string()),
            key("StopTransactionOnInvalidId", false, self.stop_on_invalid_id.to_string()),
            key("AuthorizeRemoteTxRequests", true, "false".into()),
        ]
    }

    fn get_configuration(&self, request: GetConfigurationRequest) -> GetConfigurationResponse {
        let all = self.configuration();
        let Some(keys) = request.key else {
            return GetConfigurationResponse { configuration_key: Some(all), unknown_key: None };
        };
        let unknown: Vec<String> = keys.iter().filter(|k| !all.iter().any(|kv| &kv.key == *k)).cloned().collect();
        let known = all.into_iter().filter(|kv| keys.contains(&kv.key)).collect();
        GetConfigurationResponse { configuration_key: Some(known), unknown_key: (!unknown.is_empty()).then_some(unknown) }
    }

    fn change_configuration(&mut self, request: ChangeConfigurationRequest, now: Millis) -> ChangeConfigurationResponse {
        let seconds = request.value.trim().parse::<u32>();
        let status = match (request.key.as_str(), seconds) {
            ("HeartbeatInterval", Ok(s)) => {
                self.heartbeat_s = s;
                self.next_heartbeat = now + i64::from(s) * 1000;
                ConfigurationStatus::Accepted
            }
            ("MeterValueSampleInterval", Ok(s)) => {
                self.meter_interval_ms = i64::from(s) * 1000;
                self.next_sample = now + self.meter_interval_ms;
                ConfigurationStatus::Accepted
            }
            ("StopTransactionOnInvalidId", _) => match request.value.to_ascii_lowercase().as_str() {
                "true" | "false" => {
                    self.stop_on_invalid_id = request.value.eq_ignore_ascii_case("true");
                    ConfigurationStatus::Accepted
                }
                _ => ConfigurationStatus::Rejected,
            },
            (key, _) if self.configuration().iter().any(|kv| kv.key == key) => ConfigurationStatus::Rejected,
            _ => ConfigurationStatus::NotSupported,
        };
        ChangeConfigurationResponse { status }
    }

    fn trigger(&mut self, request: TriggerMessageRequest, now: Millis) -> TriggerMessageResponse {
        let connectors: Vec<usize> = match request.connector_id {
            None => (0..self.connectors.len()).collect(),
            Some(0) => Vec::new(),
            Some(id) => match self.index(id) {
                Some(i) => vec![i],
                None => return TriggerMessageResponse { status: TriggerMessageStatus::Rejected },
            },
        };
        match request.requested_message {
            MessageTrigger::BootNotification => self.enqueue(Outgoing::Boot),
            MessageTrigger::Heartbeat => self.enqueue(Outgoing::Heartbeat),
            MessageTrigger::FirmwareStatusNotification => self.enqueue(Outgoing::Firmware(self.firmware)),
            MessageTrigger::DiagnosticsStatusNotification => self.enqueue(Outgoing::Diagnostics),
            MessageTrigger::StatusNotification => {
                if request.connector_id.is_none_or(|id| id == 0) {
                    self.enqueue(Outgoing::Status { connector: 0, status: self.status, local: None, at: now });
                }
                for i in connectors {
                    self.enqueue(self.connectors[i].status_message(now));
                }
            }
            // The charger has no main meter of its own.
            MessageTrigger::MeterValues if request.connector_id == Some(0) => {
                return TriggerMessageResponse { status: TriggerMessageStatus::NotImplemented };
            }
            MessageTrigger::MeterValues => {
                for i in connectors {
                    self.sample(i, ReadingContext::Trigger, now);
                }
            }
        }
        TriggerMessageResponse { status: TriggerMessageStatus::Accepted }
    }

    fn remote_start(&mut self, request: RemoteStartTransactionRequest, now: Millis) -> RemoteStartTransactionResponse {
        let profile = request.charging_profile.filter(|p| p.charging_profile_purpose == ChargingProfilePurpose::TxProfile);
        let status = if self.start_remotely(request.connector_id, request.id_tag, None, profile, now) {
            RemoteStartStopStatus::Accepted
        } else {
            RemoteStartStopStatus::Rejected
        };
        RemoteStartTransactionResponse { status }
    }

    /// Authorizes `id_tag` on the connector (or the best free one) and starts charging when
    /// the car is there; `false` when no connector can take it.
    fn start_remotely(
        &mut self,
        connector: Option<i64>,
        id_tag: String,
        remote_start_id: Option<i64>,
        tx_profile: Option<ChargingProfile>,
        now: Millis,
    ) -> bool {
        let tag = id_tag.as_str();
        let i = match connector {
            Some(id) => self.index(id).filter(|&i| self.connectors[i].can_start_for(tag)),
            // A connector with a car waiting, else any free one.
            None => (0..self.connectors.len())
                .filter(|&i| self.connectors[i].can_start_for(tag))
                .max_by_key(|&i| (self.connectors[i].plugged, std::cmp::Reverse(i))),
        };
        let Some(i) = i else { return false };
        if let Some(profile) = tx_profile {
            self.install(self.connectors[i].id, profile);
        }
        let c = &mut self.connectors[i];
        c.authorized = Some(id_tag);
        c.remote_start_id = remote_start_id;
        c.plugged |= self.auto_plug;
        self.try_start(i, now);
        true
    }

    fn remote_stop(&mut self, request: RemoteStopTransactionRequest, now: Millis) -> RemoteStopTransactionResponse {
        let status =
            if self.stop_remotely(|tx| tx.id == Some(request.transaction_id), now) { RemoteStartStopStatus::Accepted } else { RemoteStartStopStatus::Rejected };
        RemoteStopTransactionResponse { status }
    }

    /// Ends the transaction that `is_it` picks; `false` when none runs.
    fn stop_remotely(&mut self, is_it: impl Fn(&Transaction) -> bool, now: Millis) -> bool {
        let running = self.connectors.iter().position(|c| c.transaction.as_ref().is_some_and(&is_it));
        let Some(i) = running else { return false };
        self.end_transaction(i, Reason::Remote, now);
        true
    }

    fn set_charging_profile(&mut self, request: SetChargingProfileRequest) -> SetChargingProfileResponse {
        let profile = request.cs_charging_profiles;
        let connector = u32::try_from(request.connector_id).ok().filter(|&id| id as usize <= self.connectors.len());
        let accepted = match (connector, profile.charging_profile_purpose) {
            (Some(0), ChargingProfilePurpose::ChargePointMaxProfile) => true,
            (Some(_), ChargingProfilePurpose::TxDefaultProfile) => true,
            // A TxProfile limits a running transaction (the one it names, if it names one).
            (Some(id), ChargingProfilePurpose::TxProfile) => {
                self.connector(id).and_then(|c| c.transaction.as_ref()).is_some_and(|tx| profile.transaction_id.is_none_or(|named| tx.id == Some(named)))
            }
            _ => false,
        };
        let status = match connector.filter(|_| accepted) {
            Some(id) => {
                self.install(id, profile);
                ChargingProfileStatus::Accepted
            }
            None => ChargingProfileStatus::Rejected,
        };
        SetChargingProfileResponse { status }
    }

    /// Installs a profile, replacing one with its id or its connector, purpose and stack level.
    fn install(&mut self, connector: u32, profile: ChargingProfile) {
        self.profiles.retain(|i| {
            let p = &i.profile;
            p.charging_profile_id != profile.charging_profile_id
                && (i.connector, p.charging_profile_purpose, p.stack_level) != (connector, profile.charging_profile_purpose, profile.stack_level)
        });
        self.profiles.push(Installed { connector, profile });
    }

    fn clear_charging_profile(&mut self, request: ClearChargingProfileRequest) -> ClearChargingProfileResponse {
        let before = self.profiles.len();
        self.profiles.retain(|i| {
            let p = &i.profile;
            let matches = match request.id {
                Some(id) => p.charging_profile_id == id,
                None => {
                    request.connector_id.is_none_or(|c| i64::from(i.connector) == c)
                        && request.charging_profile_purpose.is_none_or(|purpose| p.charging_profile_purpose == purpose)
                        && request.stack_level.is_none_or(|level| p.stack_level == level)
                }
            };
            !matches
        });
        let status = if self.profiles.len() < before { ClearChargingProfileStatus::Accepted } else { ClearChargingProfileStatus::Unknown };
        ClearChargingProfileResponse { status }
    }

    /// The limit in force now, as a one-period schedule over the requested duration.
    fn composite_schedule(&self, request: GetCompositeScheduleRequest, now: Millis) -> GetCompositeScheduleResponse {
        let offered = profiles::offered_w(&self.profiles, &self.connectors, self.max_power_w, now);
        let watts = match request.connector_id {
            0 => Some(offered.iter().sum::<u32>()),
            id => self.index(id).map(|i| offered[i]),
        };
        let Some(watts) = watts else {
            return GetCompositeScheduleResponse {
                status: GetCompositeScheduleStatus::Rejected,
                connector_id: None,
                schedule_start: None,
                charging_schedule: None,
            };
        };
        let unit = request.charging_rate_unit.unwrap_or(ChargingRateUnit::Watts);
        let limit = match unit {
            ChargingRateUnit::Watts => watts.into(),
            ChargingRateUnit::Amperes => profiles::amperes(watts),
        };
        GetCompositeScheduleResponse {
            status: GetCompositeScheduleStatus::Accepted,
            connector_id: Some(request.connector_id),
            schedule_start: Some(timestamp(now)),
            charging_schedule: Some(ChargingSchedule {
                duration: Some(request.duration),
                start_schedule: Some(timestamp(now)),
                charging_rate_unit: unit,
                charging_schedule_period: vec![ChargingSchedulePeriod { start_period: 0, limit, number_phases: None }],
                min_charging_rate: None,
            }),
        }
    }

    fn send_local_list(&mut self, request: SendLocalListRequest) -> SendLocalListResponse {
        let accepted = self.update_local_list(request.update_type == UpdateType::Differential, request.list_version);
        SendLocalListResponse { status: if accepted { UpdateStatus::Accepted } else { UpdateStatus::VersionMismatch } }
    }

    /// Takes a local list of `version`; a differential update must bring a newer version.
    fn update_local_list(&mut self, differential: bool, version: i64) -> bool {
        let accepted = !differential || version > self.local_list_version;
        if accepted {
            self.local_list_version = version;
        }
        accepted
    }

    fn reserve(&mut self, request: ReserveNowRequest) -> ReserveNowResponse {
        // Connector 0 (any connector) is not offered: ReserveConnectorZeroSupported is false.
        let Some(i) = self.index(request.connector_id) else {
            return ReserveNowResponse { status: ReservationStatus::Rejected };
        };
        let c = &mut self.connectors[i];
        let status = if !c.operative {
            ReservationStatus::Unavailable
        } else if c.transaction.is_some() || c.plugged || c.reservation.as_ref().is_some_and(|r| r.id != request.reservation_id) {
            ReservationStatus::Occupied
        } else {
            let expires_at = request.expiry_date.timestamp_millis();
            c.reservation = Some(Reservation { id: request.reservation_id, id_tag: request.id_tag, expires_at });
            ReservationStatus::Accepted
        };
        ReserveNowResponse { status }
    }

    fn cancel_reservation(&mut self, request: CancelReservationRequest) -> CancelReservationResponse {
        let reserved = self.connectors.iter_mut().find(|c| c.reservation.as_ref().is_some_and(|r| r.id == request.reservation_id));
        let status = match reserved {
            Some(c) => {
                c.reservation = None;
                CancelReservationStatus::Accepted
            }
            None => CancelReservationStatus::Rejected,
        };
        CancelReservationResponse { status }
    }

    /// A simulated firmware downloads and installs at once; the steps are reported in order.
    fn update_firmware(&mut self) -> UpdateFirmwareResponse {
        use FirmwareStatus::{Downloaded, Downloading, Installed, Installing};
        for step in [Downloading, Downloaded, Installing, Installed] {
            self.enqueue(Outgoing::Firmware(step));
        }
        self.firmware = FirmwareStatus::Installed;
        UpdateFirmwareResponse {}
    }

    // ---- The rules shared by the inputs -----------------------------------------------------

    /// Every input: meters run up to `now` at the power drawn until then, the input applies,
    /// then power and statuses follow the new state.
    fn input<R>(&mut self, now: Millis, apply: impl FnOnce(&mut Self) -> R) -> R {
        let elapsed = u64::try_from(now - self.metered_until).unwrap_or(0);
        for c in &mut self.connectors {
            c.register_mj += u64::from(c.power_w) * elapsed;
        }
        self.metered_until = self.metered_until.max(now);
        let result = apply(self);
        self.refresh(now);
        result
    }

    /// Sets each connector's power from the limits in force and reports changed statuses.
    fn refresh(&mut self, now: Millis) {
        let offered = profiles::offered_w(&self.profiles, &self.connectors, self.max_power_w, now);
        let mut changed = Vec::new();
        for (c, offered) in self.connectors.iter_mut().zip(offered) {
            c.power_w = if c.transaction.is_some() && !c.ev_suspended { offered } else { 0 };
            let status = c.derived_status(offered);
            if status != c.status {
                c.status = status;
                changed.push(c.status_message(now));
            }
        }
        let station = if self.connectors.iter().any(|c| c.operative) { ChargePointStatus::Available } else { ChargePointStatus::Unavailable };
        if station != self.status {
            self.status = station;
            changed.insert(0, Outgoing::Status { connector: 0, status: station, local: None, at: now });
        }
        for message in changed {
            self.enqueue(message);
        }
    }

    /// Queues every status, the charger's own (connector 0) first.
    fn announce(&mut self, now: Millis) {
        self.refresh(now);
        self.enqueue(Outgoing::Status { connector: 0, status: self.status, local: None, at: now });
        for i in 0..self.connectors.len() {
            self.enqueue(self.connectors[i].status_message(now));
        }
    }

    fn enqueue(&mut self, message: Outgoing) {
        if self.online || message.kept_offline() {
            self.outbox.push_back(message);
        }
    }

    /// Starts charging once a car is plugged in and an idTag is authorized; Preparing is
    /// reported first.
    fn try_start(&mut self, i: usize, now: Millis) {
        self.refresh(now);
        let c = &mut self.connectors[i];
        if c.transaction.is_some() || !c.plugged {
            return;
        }
        let Some(id_tag) = c.authorized.take() else { return };
        let remote_start_id = c.remote_start_id.take();
        let reservation_id = c.reservation.take().map(|r| r.id);
        let local = self.next_local;
        self.next_local += 1;
        let meter_start = c.meter_wh();
        c.finishing = false;
        // A 2.0.1 charger names its transactions itself.
        let id = (self.protocol == Protocol::Ocpp201).then_some(i64::from(local));
        c.transaction = Some(Transaction { local, id, id_tag: id_tag.clone(), meter_start_wh: meter_start, started_at: now, reservation_id });
        let connector = c.id;
        self.enqueue(Outgoing::Start { connector, local, id_tag, meter_start, reservation_id, remote_start_id, at: now });
        if self.next_sample <= now {
            self.next_sample = now + self.meter_interval_ms;
        }
        self.refresh(now);
    }

    /// Ends the connector's transaction, if any: StopTransaction, Finishing while the car is
    /// still plugged in, and Available once the car leaves (at once when cars plug themselves).
    fn end_transaction(&mut self, i: usize, reason: Reason, now: Millis) {
        let c = &mut self.connectors[i];
        let Some(tx) = c.transaction.take() else { return };
        c.finishing = c.plugged;
        c.ev_suspended = false;
        let (connector, meter_stop) = (c.id, c.meter_wh());
        // A TxProfile lives as long as its transaction.
        self.profiles.retain(|p| !(p.connector == connector && p.profile.charging_profile_purpose == ChargingProfilePurpose::TxProfile));
        self.enqueue(Outgoing::Stop { local: tx.local, meter_stop, reason, at: now });
        self.refresh(now);
        if self.auto_plug {
            self.leave(i, now);
        }
    }

    /// The car is unplugged and drives off.
    fn leave(&mut self, i: usize, now: Millis) {
        let c = &mut self.connectors[i];
        c.plugged = false;
        c.finishing = false;
        self.end_transaction(i, Reason::EVDisconnected, now);
        self.refresh(now);
    }

    fn sample(&mut self, i: usize, context: ReadingContext, now: Millis) {
        let c = &self.connectors[i];
        let local = c.transaction.as_ref().map(|tx| tx.local);
        self.enqueue(Outgoing::Meter { connector: c.id, local, register_mj: c.register_mj, power_w: c.power_w, context, at: now });
    }

    /// The CALL for a queued message; `None` for a StopTransaction of a transaction the central
    /// system never numbered.
    fn request(&self, message: &Outgoing) -> Option<(&'static str, Value)> {
        Some(match message {
            Outgoing::Boot => call::<BootNotification>(BootNotificationRequest {
                charge_point_vendor: VENDOR.into(),
                charge_point_model: MODEL.into(),
                charge_point_serial_number: Some(self.identity.chars().take(25).collect()),
                charge_box_serial_number: None,
                firmware_version: Some(env!("CARGO_PKG_VERSION").into()),
                iccid: None,
                imsi: None,
                meter_type: None,
                meter_serial_number: None,
            }),
            Outgoing::Heartbeat => call::<Heartbeat>(HeartbeatRequest {}),
            Outgoing::Status { connector, status, at, .. } => call::<StatusNotification>(StatusNotificationRequest {
                connector_id: (*connector).into(),
                error_code: ChargePointErrorCode::NoError,
                info: None,
                status: *status,
                timestamp: Some(timestamp(*at)),
                vendor_id: None,
                vendor_error_code: None,
            }),
            Outgoing::Start { connector, id_tag, meter_start, reservation_id, at, .. } => call::<StartTransaction>(StartTransactionRequest {
                connector_id: (*connector).into(),
                id_tag: id_tag.clone(),
                meter_start: *meter_start,
                reservation_id: *reservation_id,
                timestamp: timestamp(*at),
            }),
            Outgoing::Stop { local, meter_stop, reason, at } => call::<StopTransaction>(StopTransactionRequest {
                id_tag: None,
                meter_stop: *meter_stop,
                timestamp: timestamp(*at),
                transaction_id: *self.transaction_ids.get(local)?,
                reason: Some(*reason),
                transaction_data: None,
            }),
            Outgoing::Meter { connector, local, register_mj, power_w, context, at } => call::<MeterValues>(MeterValuesRequest {
                connector_id: (*connector).into(),
                transaction_id: local.and_then(|l| self.transaction_ids.get(&l).copied()),
                meter_value: vec![MeterValue { timestamp: timestamp(*at), sampled_value: readings(*register_mj, *power_w, *context) }],
            }),
            Outgoing::Firmware(status) => call::<FirmwareStatusNotification>(FirmwareStatusNotificationRequest { status: *status }),
            Outgoing::Diagnostics => call::<DiagnosticsStatusNotification>(DiagnosticsStatusNotificationRequest { status: DiagnosticsStatus::Idle }),
            Outgoing::Report { .. } => return None,
        })
    }
}

/// The energy register (Wh, to the mWh) and the power drawn (W).
fn readings(register_mj: u64, power_w: u32, context: ReadingContext) -> Vec<SampledValue> {
    let reading = |value: String, measurand, unit| SampledValue {
        value,
        context: Some(context),
        format: None,
        measurand: Some(measurand),
        phase: None,
        location: Some(Location::Outlet),
        unit: Some(unit),
    };
    let (wh, mwh) = (register_mj / MJ_PER_WH, register_mj % MJ_PER_WH / 3600);
    vec![
        reading(format!("{wh}.{mwh:03}"), Measurand::EnergyActiveImportRegister, UnitOfMeasure::Wh),
        reading(power_w.to_string(), Measurand::PowerActiveImport, UnitOfMeasure::W),
    ]
}

fn timestamp(at: Millis) -> Timestamp {
    chrono::DateTime::from_timestamp_millis(at).unwrap_or_default().fixed_offset()
}

fn call<A: Action>(request: A::Request) -> (&'static str, Value) {
    (A::NAME, serde_json::to_value(request).expect("OCPP messages serialize to JSON"))
}

/// Decodes a CALL of `A` (validated against its schema) and encodes the answer.
fn answer<A: Action>(payload: &Value, handle: impl FnOnce(A::Request) -> A::Response) -> Result<Value, Violation> {
    let request = decode_request::<A>(payload)?;
    Ok(serde_json::to_value(handle(request)).expect("OCPP messages serialize to JSON"))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ocpp16::{Direction, validate};
    use serde_json::json;

    use super::*;

    const T0: Millis = 1_700_000_000_000;

    fn station(connectors: u32) -> Station {
        let config = ChargerConfig { connectors, meter_interval: Duration::from_secs(10), ..ChargerConfig::new("ws://csms", "CP-1") };
        Station::new(&config, T0)
    }

    /// A central system that accepts everything: sends what the station has to send, checks each
    /// request and answer against the official schemas, and returns the requests.
    fn exchange(station: &mut Station, now: Millis) -> Vec<(&'static str, Value)> {
        exchange_with(station, now, "Accepted")
    }

    fn exchange_with(station: &mut Station, now: Millis, id_tag_status: &str) -> Vec<(&'static str, Value)> {
        exchange_checked(
            station,
            now,
            |action, direction, payload| validate(action, direction, payload).map_err(|v| v.to_string()),
            |action, _, station| match action {
                "StartTransaction" => json!({"idTagInfo": {"status": id_tag_status}, "transactionId": 40 + station.next_local}),
                _ => json!({}),
            },
        )
    }

    /// Sends what the station has to send to a central system that accepts the boot, answers
    /// heartbeats and else answers `answer`; checks each request and answer with `check` (the
    /// official schemas of the station's version) and returns the requests.
    pub(super) fn exchange_checked(
        station: &mut Station,
        now: Millis,
        check: impl Fn(&str, Direction, &Value) -> Result<(), String>,
        answer: impl Fn(&str, &Value, &Station) -> Value,
    ) -> Vec<(&'static str, Value)> {
        let mut sent = Vec::new();
        while let Some((action, payload)) = station.next_call() {
            assert_eq!(check(action, Direction::Request, &payload), Ok(()), "{action} {payload}");
            let answer = match action {
                "BootNotification" => json!({"status": "Accepted", "currentTime": "2024-05-01T10:00:00Z", "interval": 300}),
                "Heartbeat" => json!({"currentTime": "2024-05-01T10:00:00Z"}),
                _ => answer(action, &payload, station),
            };
            assert_eq!(check(action, Direction::Response, &answer), Ok(()), "{action} answer {answer}");
            station.on_result(&answer, now).unwrap();
            sent.push((action, payload));
        }
        sent
    }

    fn booted(connectors: u32) -> Station {
        let mut s = station(connectors);
        s.connected(T0);
        exchange(&mut s, T0);
        s
    }

    fn command(s: &mut Station, action: &str, payload: Value, now: Millis) -> Value {
        let answer = s.on_call(action, &payload, now).unwrap_or_else(|v| panic!("{action}: {v}"));
        assert_eq!(validate(action, Direction::Response, &answer), Ok(()), "{action} answer {answer}");
        answer
    }

    fn statuses(sent: &[(&str, Value)]) -> Vec<(i64, String)> {
        sent.iter()
            .filter(|(action, _)| *action == "StatusNotification")
            .map(|(_, p)| (p["connectorId"].as_i64().unwrap(), p["status"].as_str().unwrap().to_string()))
            .collect()
    }

    fn actions(sent: &[(&'static str, Value)]) -> Vec<&'static str> {
        sent.iter().map(|(action, _)| *action).collect()
    }

    fn energy_wh(meter_values: &Value) -> &str {
        meter_values["meterValue"][0]["sampledValue"][0]["value"].as_str().unwrap()
    }

    fn started(connector: i64) -> (Station, i64) {
        let mut s = booted(2);
        command(&mut s, "RemoteStartTransaction", json!({"connectorId": connector, "idTag": "TAG"}), T0);
        exchange(&mut s, T0);
        let id = s.connector(connector as u32).unwrap().transaction.as_ref().unwrap().id.unwrap();
        (s, id)
    }

    #[test]
    fn boots_then_reports_every_connector_and_beats() {
        let mut s = station(2);
        assert_eq!(s.next_call(), None, "nothing goes out before the connection");
        s.connected(T0);
        let sent = exchange(&mut s, T0);
        assert_eq!(actions(&sent)[0], "BootNotification");
        assert_eq!(statuses(&sent), [(0, "Available".into()), (1, "Available".into()), (2, "Available".into())]);
        assert!(s.is_registered());
        assert_eq!(s.status(), ChargePointStatus::Available);
        assert_eq!(s.next_wakeup(), Some(T0 + 300_000), "the heartbeat interval BootNotification gave");
        s.tick(T0 + 300_000);
        assert_eq!(actions(&exchange(&mut s, T0 + 300_000)), ["Heartbeat"]);
    }

    #[test]
    fn a_boot_not_accepted_is_retried_after_the_interval_and_nothing_else_goes() {
        let mut s = station(1);
        s.connected(T0);
        assert_eq!(s.next_call().unwrap().0, "BootNotification");
        s.on_result(&json!({"status": "Pending", "currentTime": "2024-05-01T10:00:00Z", "interval": 5}), T0).unwrap();
        assert_eq!(s.next_call(), None, "statuses wait for the acceptance");
        assert_eq!(s.next_wakeup(), Some(T0 + 5_000));
        s.tick(T0 + 5_000);
        assert_eq!(s.next_call().unwrap().0, "BootNotification");
    }

    #[test]
    fn a_triggered_boot_that_fails_changes_nothing() {
        let mut s = booted(1);
        command(&mut s, "TriggerMessage", json!({"requestedMessage": "BootNotification"}), T0);
        assert_eq!(s.next_call().unwrap().0, "BootNotification");
        s.on_error(T0);
        s.tick(T0 + 30_000);
        assert!(s.is_registered());
        assert_eq!(s.next_wakeup(), Some(T0 + 300_000), "only the heartbeat is due");
    }

    #[test]
    fn remote_start_prepares_starts_charges_and_meters() {
        let mut s = booted(2);
        let answer = command(&mut s, "RemoteStartTransaction", json!({"idTag": "TAG"}), T0);
        assert_eq!(answer, json!({"status": "Accepted"}));
        let sent = exchange(&mut s, T0);
        assert_eq!(actions(&sent), ["StatusNotification", "StartTransaction", "StatusNotification"]);
        assert_eq!(statuses(&sent), [(1, "Preparing".into()), (1, "Charging".into())]);
        assert_eq!(sent[1].1["idTag"], "TAG");
        assert_eq!(sent[1].1["meterStart"], 0);
        let tx = s.connector(1).unwrap().transaction.clone().unwrap();
        assert_eq!(tx.id, Some(42));

        s.tick(T0 + 10_000);
        let sent = exchange(&mut s, T0 + 10_000);
        assert_eq!(actions(&sent), ["MeterValues"]);
        let meter_values = &sent[0].1;
        assert_eq!(meter_values["transactionId"], 42);
        assert_eq!(energy_wh(meter_values), "20.000", "7200 W for 10 s");
        assert_eq!(meter_values["meterValue"][0]["sampledValue"][1]["value"], "7200");
        assert_eq!(s.connector(1).unwrap().meter_wh(), 20);
    }

    #[test]
    fn a_limit_of_zero_suspends_the_energy_and_clearing_it_resumes() {
        let (mut s, tx) = started(1);
        let profile = json!({"connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 9, "transactionId": tx, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}]}}});
        assert_eq!(command(&mut s, "SetChargingProfile", profile, T0 + 1_000), json!({"status": "Accepted"}));
        assert_eq!(statuses(&exchange(&mut s, T0 + 1_000)), [(1, "SuspendedEVSE".into())]);

        s.tick(T0 + 10_000);
        let sent = exchange(&mut s, T0 + 10_000);
        assert_eq!(energy_wh(&sent[0].1), "2.000", "only the second before the limit");
        assert_eq!(sent[0].1["meterValue"][0]["sampledValue"][1]["value"], "0");

        assert_eq!(command(&mut s, "ClearChargingProfile", json!({"id": 9}), T0 + 10_000), json!({"status": "Accepted"}));
        assert_eq!(statuses(&exchange(&mut s, T0 + 10_000)), [(1, "Charging".into())]);
        assert_eq!(command(&mut s, "ClearChargingProfile", json!({"id": 9}), T0 + 10_000), json!({"status": "Unknown"}));
        s.tick(T0 + 20_000);
        assert_eq!(energy_wh(&exchange(&mut s, T0 + 20_000)[0].1), "22.000");
    }

    #[test]
    fn a_tx_profile_needs_its_transaction() {
        let mut s = booted(1);
        let profile = |purpose: &str, connector: i64| {
            json!({"connectorId": connector, "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": purpose, "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 6}]}}})
        };
        assert_eq!(command(&mut s, "SetChargingProfile", profile("TxProfile", 1), T0)["status"], "Rejected");
        assert_eq!(command(&mut s, "SetChargingProfile", profile("ChargePointMaxProfile", 1), T0)["status"], "Rejected");
        assert_eq!(command(&mut s, "SetChargingProfile", profile("TxDefaultProfile", 0), T0)["status"], "Accepted");
        command(&mut s, "RemoteStartTransaction", json!({"idTag": "TAG"}), T0);
        exchange(&mut s, T0);
        assert_eq!(s.connector(1).unwrap().power_w, 6 * 230 * 3, "the default profile limits the new transaction");
    }

    #[test]
    fn remote_stop_stops_then_finishing_then_available() {
        let (mut s, tx) = started(2);
        s.tick(T0 + 5_000);
        exchange(&mut s, T0 + 5_000);
        assert_eq!(command(&mut s, "RemoteStopTransaction", json!({"transactionId": tx + 1}), T0 + 5_000)["status"], "Rejected");
        assert_eq!(command(&mut s, "RemoteStopTransaction", json!({"transactionId": tx}), T0 + 5_000)["status"], "Accepted");
        let sent = exchange(&mut s, T0 + 5_000);
        assert_eq!(actions(&sent), ["StopTransaction", "StatusNotification", "StatusNotification"]);
        assert_eq!((sent[0].1["transactionId"].as_i64(), sent[0].1["meterStop"].as_i64()), (Some(tx), Some(10)));
        assert_eq!(sent[0].1["reason"], "Remote");
        assert_eq!(statuses(&sent), [(2, "Finishing".into()), (2, "Available".into())]);
        assert!(s.connector(2).unwrap().transaction.is_none());
    }

    #[test]
    fn offline_the_transaction_messages_wait_with_their_times_and_get_their_transaction_id() {
        let mut s = booted(1);
        s.disconnected(T0);
        s.present_card(1, "TAG", T0 + 1_000);
        s.tick(T0 + 11_000);
        s.tick(T0 + 400_000);
        s.unplug(1, T0 + 400_500);
        assert_eq!(s.next_call(), None, "offline");

        s.connected(T0 + 500_000);
        let sent = exchange(&mut s, T0 + 500_000);
        let order: Vec<&str> = actions(&sent).into_iter().filter(|a| *a != "MeterValues").collect();
        assert_eq!(order, ["StatusNotification", "StartTransaction", "StatusNotification", "StopTransaction", "StatusNotification"], "no heartbeats kept");
        let time = |p: &Value, field: &str| chrono::DateTime::parse_from_rfc3339(p[field].as_str().unwrap()).unwrap().timestamp_millis();
        assert_eq!(time(&sent[1].1, "timestamp"), T0 + 1_000);
        let tx = sent[1].1.clone();
        let meter_values: Vec<&Value> = sent.iter().filter(|(a, _)| *a == "MeterValues").map(|(_, p)| p).collect();
        assert_eq!(meter_values.len(), 2);
        assert!(meter_values.iter().all(|p| p["transactionId"] == 42), "{tx}");
        assert_eq!(time(&meter_values[0]["meterValue"][0], "timestamp"), T0 + 11_000);
        let stop = &sent.iter().find(|(a, _)| *a == "StopTransaction").unwrap().1;
        assert_eq!((stop["transactionId"].as_i64(), stop["reason"].as_str()), (Some(42), Some("EVDisconnected")));
        assert_eq!(time(stop, "timestamp"), T0 + 400_500);
    }

    #[test]
    fn a_call_cut_off_by_the_connection_goes_again() {
        let (mut s, _) = started(1);
        s.tick(T0 + 10_000);
        let (action, first) = s.next_call().unwrap();
        assert_eq!(action, "MeterValues");
        s.disconnected(T0 + 10_500);
        s.connected(T0 + 20_000);
        assert_eq!(s.next_call(), Some((action, first)));
    }

    #[test]
    fn an_id_tag_refused_at_start_ends_the_transaction() {
        let mut s = booted(1);
        command(&mut s, "RemoteStartTransaction", json!({"idTag": "STOLEN"}), T0);
        let sent = exchange_with(&mut s, T0, "Invalid");
        let stop = &sent.iter().find(|(a, _)| *a == "StopTransaction").expect("stopped").1;
        assert_eq!(stop["reason"], "DeAuthorized");
        assert_eq!(s.connector(1).unwrap().status, ChargePointStatus::Available);

        command(&mut s, "ChangeConfiguration", json!({"key": "StopTransactionOnInvalidId", "value": "false"}), T0);
        command(&mut s, "RemoteStartTransaction", json!({"idTag": "STOLEN"}), T0);
        exchange_with(&mut s, T0, "Invalid");
        assert_eq!(s.connector(1).unwrap().status, ChargePointStatus::Charging);
    }

    #[test]
    fn without_auto_plug_the_car_is_awaited() {
        let config = ChargerConfig { auto_plug: false, ..ChargerConfig::new("ws://csms", "CP-1") };
        let mut s = Station::new(&config, T0);
        s.connected(T0);
        exchange(&mut s, T0);
        command(&mut s, "RemoteStartTransaction", json!({"connectorId": 1, "idTag": "TAG"}), T0);
        assert_eq!(statuses(&exchange(&mut s, T0)), [(1, "Preparing".into())]);
        s.plug_in(1, T0 + 1_000);
        assert_eq!(actions(&exchange(&mut s, T0 + 1_000)), ["StartTransaction", "StatusNotification"]);
        let tx = s.connector(1).unwrap().transaction.as_ref().unwrap().id.unwrap();
        command(&mut s, "RemoteStopTransaction", json!({"transactionId": tx}), T0 + 2_000);
        assert_eq!(statuses(&exchange(&mut s, T0 + 2_000)), [(1, "Finishing".into())], "the car stays until unplugged");
        s.unplug(1, T0 + 3_000);
        assert_eq!(statuses(&exchange(&mut s, T0 + 3_000)), [(1, "Available".into())]);
    }

    #[test]
    fn the_car_can_suspend_itself() {
        let (mut s, _) = started(1);
        s.set_ev_suspended(1, true, T0 + 1_000);
        assert_eq!(statuses(&exchange(&mut s, T0 + 1_000)), [(1, "SuspendedEV".into())]);
        assert_eq!(s.connector(1).unwrap().power_w, 0);
        s.set_ev_suspended(1, false, T0 + 2_000);
        assert_eq!(statuses(&exchange(&mut s, T0 + 2_000)), [(1, "Charging".into())]);
    }

    #[test]
    fn every_command_gets_an_answer_valid_against_its_schema() {
        let (mut s, tx) = started(1);
        let commands = [
            ("GetConfiguration", json!({})),
            ("ChangeConfiguration", json!({"key": "HeartbeatInterval", "value": "60"})),
            ("ClearCache", json!({})),
            ("TriggerMessage", json!({"requestedMessage": "StatusNotification"})),
            ("TriggerMessage", json!({"requestedMessage": "MeterValues", "connectorId": 1})),
            ("TriggerMessage", json!({"requestedMessage": "FirmwareStatusNotification"})),
            ("TriggerMessage", json!({"requestedMessage": "DiagnosticsStatusNotification"})),
            ("TriggerMessage", json!({"requestedMessage": "BootNotification"})),
            (
                "SetChargingProfile",
                json!({"connectorId": 0, "csChargingProfiles": {
                "chargingProfileId": 3, "stackLevel": 1, "chargingProfilePurpose": "ChargePointMaxProfile", "chargingProfileKind": "Absolute",
                "chargingSchedule": {"startSchedule": "2020-01-01T00:00:00Z", "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 3000}]}}}),
            ),
            ("GetCompositeSchedule", json!({"connectorId": 1, "duration": 3600, "chargingRateUnit": "A"})),
            ("GetCompositeSchedule", json!({"connectorId": 0, "duration": 60})),
            ("ClearChargingProfile", json!({})),
            ("GetLocalListVersion", json!({})),
            (
                "SendLocalList",
                json!({"listVersion": 2, "updateType": "Full", "localAuthorizationList": [{"idTag": "TAG", "idTagInfo": {"status": "Accepted"}}]}),
            ),
            ("ReserveNow", json!({"connectorId": 2, "expiryDate": "2030-01-01T00:00:00Z", "idTag": "TAG", "reservationId": 7})),
            ("CancelReservation", json!({"reservationId": 7})),
            ("UpdateFirmware", json!({"location": "https://example.com/fw.bin", "retrieveDate": "2030-01-01T00:00:00Z"})),
            ("GetDiagnostics", json!({"location": "ftp://example.com/logs"})),
            ("DataTransfer", json!({"vendorId": "com.example"})),
            ("ChangeAvailability", json!({"connectorId": 2, "type": "Inoperative"})),
            ("UnlockConnector", json!({"connectorId": 2})),
            ("RemoteStopTransaction", json!({"transactionId": tx})),
            ("RemoteStartTransaction", json!({"connectorId": 1, "idTag": "TAG"})),
            ("Reset", json!({"type": "Hard"})),
        ];
        let mut answers = Vec::new();
        for (action, payload) in commands {
            answers.push(command(&mut s, action, payload, T0 + 1_000));
            exchange(&mut s, T0 + 1_000);
        }
        let expected = [
            (5, json!({"status": "Accepted"})),
            (9, json!({"status": "Accepted"})),
            (12, json!({"status": "Accepted"})),
            (13, json!({"listVersion": 0})),
            (14, json!({"status": "Accepted"})),
            (15, json!({"status": "Accepted"})),
            (16, json!({"status": "Accepted"})),
            (17, json!({})),
            (18, json!({})),
            (19, json!({"status": "UnknownVendorId"})),
            (20, json!({"status": "Accepted"})),
            (21, json!({"status": "Unlocked"})),
            (22, json!({"status": "Accepted"})),
        ];
        for (index, answer) in expected {
            assert_eq!(answers[index - 1], answer, "answer {index}");
        }
        assert_eq!(answers[9]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"], json!(4.3), "the charger's cap, 3000 W over 3 × 230 V");

        let unknown = s.on_call("Dance", &json!({}), T0).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::NotImplemented);
        assert_eq!(s.on_call("Heartbeat", &json!({}), T0).unwrap_err().code, ErrorCode::NotSupported);
        let invalid = s.on_call("Reset", &json!({"type": "Gentle"}), T0).unwrap_err();
        assert_eq!(invalid.code, ErrorCode::PropertyConstraintViolation);
    }

    #[test]
    fn configuration_is_read_and_changed() {
        let mut s = booted(2);
        let answer = command(&mut s, "GetConfiguration", json!({"key": ["MeterValueSampleInterval", "Nope"]}), T0);
        assert_eq!(answer, json!({"configurationKey": [{"key": "MeterValueSampleInterval", "readonly": false, "value": "10"}], "unknownKey": ["Nope"]}));
        let change = |s: &mut Station, key: &str, value: &str| command(s, "ChangeConfiguration", json!({"key": key, "value": value}), T0)["status"].clone();
        assert_eq!(change(&mut s, "MeterValueSampleInterval", "5"), "Accepted");
        assert_eq!(change(&mut s, "MeterValueSampleInterval", "often"), "Rejected");
        assert_eq!(change(&mut s, "NumberOfConnectors", "3"), "Rejected");
        assert_eq!(change(&mut s, "Colour", "blue"), "NotSupported");
        command(&mut s, "RemoteStartTransaction", json!({"idTag": "TAG"}), T0);
        exchange(&mut s, T0);
        assert_eq!(s.next_wakeup(), Some(T0 + 5_000));
    }

    #[test]
    fn reset_stops_transactions_and_boots_again() {
        let (mut s, _) = started(1);
        assert_eq!(command(&mut s, "Reset", json!({"type": "Soft"}), T0 + 3_600_000)["status"], "Accepted");
        assert!(s.take_reboot());
        assert!(!s.take_reboot());
        s.disconnected(T0 + 3_600_000);
        s.connected(T0 + 3_601_000);
        let sent = exchange(&mut s, T0 + 3_601_000);
        assert_eq!(actions(&sent)[..2], ["BootNotification", "StopTransaction"]);
        assert_eq!(sent[1].1["reason"], "SoftReset");
        assert_eq!(sent[1].1["meterStop"], 7200);
        let last: Vec<(i64, String)> = statuses(&sent).into_iter().rev().take(3).collect();
        assert_eq!(last, [(2, "Available".into()), (1, "Available".into()), (0, "Available".into())]);
    }

    #[test]
    fn availability_waits_for_the_transaction_to_end() {
        let (mut s, tx) = started(1);
        assert_eq!(command(&mut s, "ChangeAvailability", json!({"connectorId": 0, "type": "Inoperative"}), T0)["status"], "Scheduled");
        assert_eq!(statuses(&exchange(&mut s, T0)), [(0, "Unavailable".into()), (2, "Unavailable".into())]);
        command(&mut s, "RemoteStopTransaction", json!({"transactionId": tx}), T0);
        assert_eq!(statuses(&exchange(&mut s, T0)), [(1, "Finishing".into()), (1, "Unavailable".into())]);
        assert_eq!(command(&mut s, "RemoteStartTransaction", json!({"idTag": "TAG"}), T0)["status"], "Rejected");
        assert_eq!(command(&mut s, "ChangeAvailability", json!({"connectorId": 1, "type": "Operative"}), T0)["status"], "Accepted");
        assert_eq!(statuses(&exchange(&mut s, T0)), [(0, "Available".into()), (1, "Available".into())]);
    }

    #[test]
    fn a_reservation_holds_the_connector_for_its_id_tag_until_it_expires() {
        let mut s = booted(1);
        let reserve = json!({"connectorId": 1, "expiryDate": "2023-11-14T22:14:20Z", "idTag": "MINE", "reservationId": 3});
        assert_eq!(command(&mut s, "ReserveNow", reserve, T0)["status"], "Accepted");
        assert_eq!(statuses(&exchange(&mut s, T0)), [(1, "Reserved".into())]);
        assert_eq!(command(&mut s, "RemoteStartTransaction", json!({"idTag": "OTHER"}), T0)["status"], "Rejected");
        assert_eq!(command(&mut s, "RemoteStartTransaction", json!({"idTag": "MINE"}), T0)["status"], "Accepted");
        let sent = exchange(&mut s, T0);
        assert_eq!(sent.iter().find(|(a, _)| *a == "StartTransaction").unwrap().1["reservationId"], 3);

        let mut s = booted(1);
        let reserve = json!({"connectorId": 1, "expiryDate": "2023-11-14T22:14:20Z", "idTag": "MINE", "reservationId": 4});
        command(&mut s, "ReserveNow", reserve, T0);
        assert_eq!(s.next_wakeup(), Some(1_700_000_060_000));
        s.tick(1_700_000_060_000);
        assert_eq!(statuses(&exchange(&mut s, T0)), [(1, "Reserved".into()), (1, "Available".into())]);
    }
}
