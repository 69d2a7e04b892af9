//! The station speaking OCPP 2.0.1: its queued messages as 2.0.1 requests, the central
//! system's 2.0.1 commands as the core's operations, and the answers to its requests.
//!
//! What differs from 1.6, and how the core's vocabulary maps onto it:
//! - the charger names its transactions (`{boot}-{local}`), so nothing waits for an id, and
//!   each transaction's events are numbered (`seqNo`) from 0 as they are answered;
//! - a start, a reading and a stop are TransactionEvents Started, Updated and Ended; a reading
//!   outside a transaction is a MeterValues;
//! - a connector's status is whether a car is there (Occupied) and what the car does is the
//!   transaction's `chargingState`: a status of a connector with a transaction that says what
//!   the car does (Charging, SuspendedEV, SuspendedEVSE) becomes an Updated event;
//! - EVSE N is connector N, with one connector (1); the charger as a whole sends no status;
//! - profiles, resets, availability and triggers are 1.6's with 2.0.1's names.

use ocpp16::messages as v16;
use ocpp16::messages::{ChargePointStatus, ReadingContext, Reason};
use ocpp201::messages::{
    BootNotification, BootNotificationRequest, BootNotificationResponse, BootReason, ChargingState, ChargingStation, ConnectorStatus, Evse, Heartbeat,
    HeartbeatRequest, IdToken, IdTokenKind, MeterValue, RegistrationStatus, RequestStartStopStatus, RequestStartTransaction, RequestStartTransactionRequest,
    RequestStartTransactionResponse, RequestStopTransaction, RequestStopTransactionRequest, RequestStopTransactionResponse, SampledValue, SendLocalList,
    SendLocalListRequest, SendLocalListResponse, SendLocalListStatus, StatusNotification, StatusNotificationRequest, StoppedReason, TransactionEvent,
    TransactionEventRequest, TransactionEventResponse, TransactionEventType, TransactionInfo, TriggerReason, UnitOfMeasure, UpdateType,
};
use ocpp201::{Action, Direction, ErrorCode, Violation};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::{MJ_PER_WH, MODEL, Millis, Outgoing, Protocol, Station, VENDOR, timestamp};

/// The variables a 2.0.1 station reports and takes: (component, variable, 1.6's key).
const VARIABLES: [(&str, &str, &str); 2] =
    [("OCPPCommCtrlr", "HeartbeatInterval", "HeartbeatInterval"), ("SampledDataCtrlr", "TxUpdatedInterval", "MeterValueSampleInterval")];

impl Station {
    /// The 2.0.1 transactionId of the transaction the station numbers `local`.
    pub fn transaction_id(&self, local: u32) -> String {
        format!("{}-{local}", self.boot_id)
    }

    /// The transaction a queued message is an event of, in 2.0.1.
    fn event_of(message: &Outgoing) -> Option<u32> {
        use ChargePointStatus::{Charging, SuspendedEV, SuspendedEVSE};
        match message {
            Outgoing::Start { local, .. } | Outgoing::Stop { local, .. } => Some(*local),
            Outgoing::Meter { local, .. } => *local,
            Outgoing::Status { local, status: Charging | SuspendedEV | SuspendedEVSE, .. } => *local,
            _ => None,
        }
    }

    /// An event of a transaction was answered: the next one takes the next `seqNo`.
    pub(super) fn sent_event(&mut self, sent: &Outgoing) {
        if self.protocol != Protocol::Ocpp201 {
            return;
        }
        match (sent, Station::event_of(sent)) {
            (Outgoing::Stop { local, .. }, _) => {
                self.seq_nos.remove(local);
            }
            (_, Some(local)) => *self.seq_nos.entry(local).or_default() += 1,
            _ => {}
        }
    }

    /// The 2.0.1 CALL for a queued message; `None` for what 2.0.1 has no message for.
    pub(super) fn request201(&self, message: &Outgoing) -> Option<(&'static str, Value)> {
        Some(match message {
            Outgoing::Boot => call::<BootNotification>(BootNotificationRequest {
                charging_station: ChargingStation {
                    serial_number: Some(self.identity.chars().take(25).collect()),
                    model: MODEL.into(),
                    modem: None,
                    vendor_name: VENDOR.into(),
                    firmware_version: Some(env!("CARGO_PKG_VERSION").into()),
                },
                reason: BootReason::PowerUp,
            }),
            Outgoing::Heartbeat => call::<Heartbeat>(HeartbeatRequest {}),
            Outgoing::Status { connector: 0, .. } => return None,
            Outgoing::Status { connector, status, local: Some(local), at } if Station::event_of(message).is_some() => {
                let state = match status {
                    ChargePointStatus::SuspendedEV => ChargingState::SuspendedEV,
                    ChargePointStatus::SuspendedEVSE => ChargingState::SuspendedEVSE,
                    _ => ChargingState::Charging,
                };
                let mut event = self.event(*local, TransactionEventType::Updated, TriggerReason::ChargingStateChanged, *at);
                event.transaction_info.charging_state = Some(state);
                event.evse = Some(evse(*connector));
                call::<TransactionEvent>(event)
            }
            Outgoing::Status { connector, status, at, .. } => call::<StatusNotification>(StatusNotificationRequest {
                timestamp: timestamp(*at),
                connector_status: connector_status(*status),
                evse_id: (*connector).into(),
                connector_id: 1,
            }),
            Outgoing::Start { connector, local, id_tag, meter_start, reservation_id, remote_start_id, at } => {
                let trigger = if remote_start_id.is_some() { TriggerReason::RemoteStart } else { TriggerReason::Authorized };
                let mut event = self.event(*local, TransactionEventType::Started, trigger, *at);
                event.transaction_info.remote_start_id = *remote_start_id;
                event.reservation_id = *reservation_id;
                event.evse = Some(evse(*connector));
                let kind = if remote_start_id.is_some() { IdTokenKind::Central } else { IdTokenKind::Iso14443 };
                event.id_token = Some(IdToken { id_token: id_tag.clone(), kind, additional_info: None });
                let register_mj = u64::try_from(*meter_start).unwrap_or_default() * MJ_PER_WH;
                event.meter_value = Some(vec![meter_value(register_mj, None, ReadingContext::TransactionBegin, *at)]);
                call::<TransactionEvent>(event)
            }
            Outgoing::Stop { local, meter_stop, reason, at } => {
                let (trigger, stopped) = stop_reason(*reason);
                let mut event = self.event(*local, TransactionEventType::Ended, trigger, *at);
                event.transaction_info.stopped_reason = Some(stopped);
                let register_mj = u64::try_from(*meter_stop).unwrap_or_default() * MJ_PER_WH;
                event.meter_value = Some(vec![meter_value(register_mj, None, ReadingContext::TransactionEnd, *at)]);
                call::<TransactionEvent>(event)
            }
            Outgoing::Meter { connector, local: Some(local), register_mj, power_w, context, at } => {
                let trigger = if *context == ReadingContext::Trigger { TriggerReason::Trigger } else { TriggerReason::MeterValuePeriodic };
                let mut event = self.event(*local, TransactionEventType::Updated, trigger, *at);
                event.evse = Some(evse(*connector));
                event.meter_value = Some(vec![meter_value(*register_mj, Some(*power_w), *context, *at)]);
                call::<TransactionEvent>(event)
            }
            Outgoing::Meter { connector, local: None, register_mj, power_w, context, at } => {
                ("MeterValues", json!({ "evseId": connector, "meterValue": [meter_value(*register_mj, Some(*power_w), *context, *at)] }))
            }
            // 1.6 and 2.0.1 name the firmware's steps alike.
            Outgoing::Firmware(status) => ("FirmwareStatusNotification", json!({ "status": status })),
            Outgoing::Diagnostics => return None,
            Outgoing::Report { request_id, at } => {
                let report: Vec<Value> = VARIABLES
                    .iter()
                    .map(|(component, variable, key)| {
                        json!({
                            "component": { "name": component },
                            "variable": { "name": variable },
                            "variableAttribute": [{ "value": self.setting(key), "mutability": "ReadWrite" }],
                        })
                    })
                    .collect();
                ("NotifyReport", json!({ "requestId": request_id, "generatedAt": timestamp(*at), "seqNo": 0, "tbc": false, "reportData": report }))
            }
        })
    }

    /// A TransactionEvent of the transaction numbered `local`, with its id and next `seqNo`.
    fn event(&self, local: u32, event_type: TransactionEventType, trigger_reason: TriggerReason, at: Millis) -> TransactionEventRequest {
        TransactionEventRequest {
            event_type,
            meter_value: None,
            timestamp: timestamp(at),
            trigger_reason,
            seq_no: self.seq_nos.get(&local).copied().unwrap_or(0),
            offline: None,
            number_of_phases_used: None,
            cable_max_current: None,
            reservation_id: None,
            transaction_info: TransactionInfo {
                transaction_id: self.transaction_id(local),
                charging_state: None,
                time_spent_charging: None,
                stopped_reason: None,
                remote_start_id: None,
            },
            evse: None,
            id_token: None,
        }
    }

    /// The answer to a 2.0.1 request the station sent (`sent`, already out of the outbox).
    pub(super) fn on_result201(&mut self, sent: Outgoing, payload: &Value, now: Millis) -> Result<(), Violation> {
        match &sent {
            Outgoing::Boot => match decode::<BootNotificationResponse>(BootNotification::NAME, Direction::Response, payload) {
                Ok(answer) => self.boot_answered(answer.status == RegistrationStatus::Accepted, answer.interval, now),
                Err(violation) => {
                    self.boot_answered(false, 0, now);
                    return Err(violation);
                }
            },
            Outgoing::Start { connector, local, .. } => {
                let answer = decode::<TransactionEventResponse>(TransactionEvent::NAME, Direction::Response, payload)?;
                let accepted = answer.id_token_info.is_none_or(|info| info.status == ocpp201::messages::AuthorizationStatus::Accepted);
                let i = (connector - 1) as usize;
                let current = self.connectors[i].transaction.as_ref().is_some_and(|tx| tx.local == *local);
                if current && !accepted && self.stop_on_invalid_id {
                    self.end_transaction(i, Reason::DeAuthorized, now);
                }
            }
            other if Station::event_of(other).is_some() => {
                decode::<TransactionEventResponse>(TransactionEvent::NAME, Direction::Response, payload)?;
            }
            _ => {}
        }
        self.sent_event(&sent);
        Ok(())
    }

    /// Answers a 2.0.1 CALL from the central system, checked against its schema first; what it
    /// causes waits in the outbox.
    pub fn on_call201(&mut self, action: &str, payload: &Value, now: Millis) -> Result<Value, Violation> {
        ocpp201::validate(action, Direction::Request, payload)?;
        self.input(now, |s| {
            Ok(match action {
                RequestStartTransaction::NAME => {
                    let r: RequestStartTransactionRequest = decode(action, Direction::Request, payload)?;
                    let accepted = s.start_remotely(r.evse_id, r.id_token.id_token, Some(r.remote_start_id), None, now);
                    encode(RequestStartTransactionResponse { status: start_stop(accepted), status_info: None, transaction_id: None })
                }
                RequestStopTransaction::NAME => {
                    let r: RequestStopTransactionRequest = decode(action, Direction::Request, payload)?;
                    let boot = s.boot_id.clone();
                    let accepted = s.stop_remotely(|tx| r.transaction_id == format!("{boot}-{}", tx.local), now);
                    encode(RequestStopTransactionResponse { status: start_stop(accepted), status_info: None })
                }
                "SetChargingProfile" => {
                    let r: SetChargingProfileRequest = decode(action, Direction::Request, payload)?;
                    let status = match r.charging_profile.into_v16(&s.boot_id) {
                        Some(profile) => {
                            s.set_charging_profile(v16::SetChargingProfileRequest { connector_id: r.evse_id, cs_charging_profiles: profile }).status
                        }
                        None => v16::ChargingProfileStatus::Rejected,
                    };
                    json!({ "status": status })
                }
                "ClearChargingProfile" => {
                    let r: ClearChargingProfileRequest = decode(action, Direction::Request, payload)?;
                    let criteria = r.charging_profile_criteria.unwrap_or_default();
                    let purpose = match criteria.charging_profile_purpose.as_deref() {
                        Some(name) => Some(purpose(name).ok_or_else(|| not_supported(name))?),
                        None => None,
                    };
                    let request = v16::ClearChargingProfileRequest {
                        id: r.charging_profile_id,
                        connector_id: criteria.evse_id,
                        charging_profile_purpose: purpose,
                        stack_level: criteria.stack_level,
                    };
                    json!({ "status": s.clear_charging_profile(request).status })
                }
                "Reset" => {
                    let r: ResetRequest = decode(action, Direction::Request, payload)?;
                    let kind = if r.kind == "Immediate" { v16::ResetType::Hard } else { v16::ResetType::Soft };
                    json!({ "status": s.reset(v16::ResetRequest { kind }, now).status })
                }
                "ChangeAvailability" => {
                    let r: ChangeAvailabilityRequest = decode(action, Direction::Request, payload)?;
                    let kind = if r.operational_status == "Operative" { v16::AvailabilityType::Operative } else { v16::AvailabilityType::Inoperative };
                    let connector_id = r.evse.map_or(0, |e| e.id);
                    json!({ "status": s.change_availability(v16::ChangeAvailabilityRequest { connector_id, kind }).status })
                }
                "UnlockConnector" => {
                    let r: UnlockConnectorRequest = decode(action, Direction::Request, payload)?;
                    let status = match s.unlock(v16::UnlockConnectorRequest { connector_id: r.evse_id }, now).status {
                        v16::UnlockStatus::Unlocked if r.connector_id == 1 => "Unlocked",
                        _ => "UnknownConnector",
                    };
                    json!({ "status": status })
                }
                "TriggerMessage" => {
                    let r: TriggerMessageRequest = decode(action, Direction::Request, payload)?;
                    let requested = match r.requested_message.as_str() {
                        "BootNotification" => Some(v16::MessageTrigger::BootNotification),
                        "Heartbeat" => Some(v16::MessageTrigger::Heartbeat),
                        "StatusNotification" => Some(v16::MessageTrigger::StatusNotification),
                        "FirmwareStatusNotification" => Some(v16::MessageTrigger::FirmwareStatusNotification),
                        "MeterValues" | "TransactionEvent" => Some(v16::MessageTrigger::MeterValues),
                        _ => None,
                    };
                    let status = match requested {
                        Some(requested_message) => {
                            let connector_id = r.evse.map(|e| e.id);
                            json!(s.trigger(v16::TriggerMessageRequest { requested_message, connector_id }, now).status)
                        }
                        None => json!("NotImplemented"),
                    };
                    json!({ "status": status })
                }
                "GetVariables" => {
                    let r: GetVariablesRequest = decode(action, Direction::Request, payload)?;
                    let results: Vec<Value> = r
                        .get_variable_data
                        .into_iter()
                        .map(|v| {
                            let (status, value) = match s.variable(&v.component, &v.variable) {
                                Ok(key) => ("Accepted", Some(s.setting(key))),
                                Err(unknown) => (unknown, None),
                            };
                            let mut result = json!({ "attributeStatus": status, "component": v.component, "variable": v.variable });
                            if let Some(value) = value {
                                result["attributeValue"] = json!(value);
                            }
                            result
                        })
                        .collect();
                    json!({ "getVariableResult": results })
                }
                "SetVariables" => {
                    let r: SetVariablesRequest = decode(action, Direction::Request, payload)?;
                    let results: Vec<Value> = r
                        .set_variable_data
                        .into_iter()
                        .map(|v| {
                            let status = match s.variable(&v.component, &v.variable) {
                                Ok(key) => {
                                    let change = v16::ChangeConfigurationRequest { key: key.into(), value: v.attribute_value };
                                    if s.change_configuration(change, now).status == v16::ConfigurationStatus::Accepted { "Accepted" } else { "Rejected" }
                                }
                                Err(unknown) => unknown,
                            };
                            json!({ "attributeStatus": status, "component": v.component, "variable": v.variable })
                        })
                        .collect();
                    json!({ "setVariableResult": results })
                }
                "GetBaseReport" => {
                    let r: GetBaseReportRequest = decode(action, Direction::Request, payload)?;
                    s.enqueue(Outgoing::Report { request_id: r.request_id, at: now });
                    json!({ "status": "Accepted" })
                }
                "GetCompositeSchedule" => {
                    let r: GetCompositeScheduleRequest = decode(action, Direction::Request, payload)?;
                    let request = v16::GetCompositeScheduleRequest { connector_id: r.evse_id, duration: r.duration, charging_rate_unit: r.charging_rate_unit };
                    let answer = s.composite_schedule(request, now);
                    match (answer.status, answer.charging_schedule) {
                        (v16::GetCompositeScheduleStatus::Accepted, Some(schedule)) => json!({
                            "status": "Accepted",
                            "schedule": {
                                "evseId": r.evse_id,
                                "duration": r.duration,
                                "scheduleStart": timestamp(now),
                                "chargingRateUnit": schedule.charging_rate_unit,
                                "chargingSchedulePeriod": schedule.charging_schedule_period,
                            }
                        }),
                        _ => json!({ "status": "Rejected" }),
                    }
                }
                "GetLocalListVersion" => json!({ "versionNumber": s.local_list_version }),
                SendLocalList::NAME => {
                    let r: SendLocalListRequest = decode(action, Direction::Request, payload)?;
                    let accepted = s.update_local_list(r.update_type == UpdateType::Differential, r.version_number);
                    let status = if accepted { SendLocalListStatus::Accepted } else { SendLocalListStatus::VersionMismatch };
                    encode(SendLocalListResponse { status, status_info: None })
                }
                "ClearCache" => json!({ "status": "Accepted" }),
                "GetTransactionStatus" => {
                    let r: GetTransactionStatusRequest = decode(action, Direction::Request, payload)?;
                    let named = |local: u32| r.transaction_id.as_ref().is_none_or(|id| *id == s.transaction_id(local));
                    let queued = s.outbox.iter().filter_map(Station::event_of).any(named);
                    let mut answer = json!({ "messagesInQueue": queued });
                    if let Some(id) = &r.transaction_id {
                        let ongoing = s.connectors.iter().filter_map(|c| c.transaction.as_ref()).any(|tx| *id == s.transaction_id(tx.local));
                        answer["ongoingIndicator"] = json!(ongoing);
                    }
                    answer
                }
                "DataTransfer" => json!({ "status": "UnknownVendorId" }),
                known => return Err(not_supported(known)),
            })
        })
    }

    /// 1.6's key for a 2.0.1 component and variable, or the attribute status saying which is
    /// unknown.
    fn variable(&self, component: &Named, variable: &Named) -> Result<&'static str, &'static str> {
        if !VARIABLES.iter().any(|(c, ..)| *c == component.name) {
            return Err("UnknownComponent");
        }
        VARIABLES.iter().find(|(c, v, _)| *c == component.name && *v == variable.name).map(|(.., key)| *key).ok_or("UnknownVariable")
    }

    /// The value of one of 1.6's configuration keys.
    fn setting(&self, key: &str) -> String {
        self.configuration().into_iter().find(|kv| kv.key == key).and_then(|kv| kv.value).unwrap_or_default()
    }
}

fn call<A: Action>(request: A::Request) -> (&'static str, Value) {
    (A::NAME, encode(request))
}

fn encode(message: impl serde::Serialize) -> Value {
    serde_json::to_value(message).expect("OCPP messages serialize to JSON")
}

fn decode<T: DeserializeOwned>(action: &str, direction: Direction, payload: &Value) -> Result<T, Violation> {
    ocppj::decode(ocpp201::schema_set(), action, direction, payload)
}

fn not_supported(what: &str) -> Violation {
    Violation { code: ErrorCode::NotSupported, description: format!("a charger does not handle {what}") }
}

fn start_stop(accepted: bool) -> RequestStartStopStatus {
    if accepted { RequestStartStopStatus::Accepted } else { RequestStartStopStatus::Rejected }
}

fn evse(connector: u32) -> Evse {
    Evse { id: connector.into(), connector_id: Some(1) }
}

fn connector_status(status: ChargePointStatus) -> ConnectorStatus {
    use ChargePointStatus::*;
    match status {
        Available => ConnectorStatus::Available,
        Preparing | Charging | SuspendedEV | SuspendedEVSE | Finishing => ConnectorStatus::Occupied,
        Reserved => ConnectorStatus::Reserved,
        Unavailable => ConnectorStatus::Unavailable,
        Faulted => ConnectorStatus::Faulted,
    }
}

/// What ended a transaction, as 2.0.1's trigger and stopped reason.
fn stop_reason(reason: Reason) -> (TriggerReason, StoppedReason) {
    match reason {
        Reason::Remote => (TriggerReason::RemoteStop, StoppedReason::Remote),
        Reason::Local => (TriggerReason::StopAuthorized, StoppedReason::Local),
        Reason::EVDisconnected => (TriggerReason::EVCommunicationLost, StoppedReason::EVDisconnected),
        Reason::DeAuthorized => (TriggerReason::Deauthorized, StoppedReason::DeAuthorized),
        Reason::HardReset => (TriggerReason::ResetCommand, StoppedReason::ImmediateReset),
        Reason::SoftReset | Reason::Reboot => (TriggerReason::ResetCommand, StoppedReason::Reboot),
        Reason::UnlockCommand => (TriggerReason::UnlockCommand, StoppedReason::Other),
        Reason::EmergencyStop => (TriggerReason::AbnormalCondition, StoppedReason::EmergencyStop),
        Reason::PowerLoss => (TriggerReason::AbnormalCondition, StoppedReason::PowerLoss),
        Reason::Other => (TriggerReason::AbnormalCondition, StoppedReason::Other),
    }
}

/// The energy register (Wh, to the mWh) and, when given, the power drawn (W).
fn meter_value(register_mj: u64, power_w: Option<u32>, context: ReadingContext, at: Millis) -> MeterValue {
    let context = serde_json::to_value(context).ok().and_then(|c| c.as_str().map(String::from));
    let reading = |value: Decimal, measurand: &str, unit: &str| SampledValue {
        value,
        context: context.clone(),
        measurand: Some(measurand.into()),
        phase: None,
        location: Some("Outlet".into()),
        unit_of_measure: Some(UnitOfMeasure { unit: Some(unit.into()), multiplier: None }),
    };
    let mwh = i64::try_from(register_mj / 3600).unwrap_or(i64::MAX);
    let mut sampled_value = vec![reading(Decimal::new(mwh, 3).normalize(), "Energy.Active.Import.Register", "Wh")];
    if let Some(w) = power_w {
        sampled_value.push(reading(w.into(), "Power.Active.Import", "W"));
    }
    MeterValue { sampled_value, timestamp: timestamp(at) }
}

fn purpose(name: &str) -> Option<v16::ChargingProfilePurpose> {
    match name {
        "ChargingStationMaxProfile" => Some(v16::ChargingProfilePurpose::ChargePointMaxProfile),
        "TxDefaultProfile" => Some(v16::ChargingProfilePurpose::TxDefaultProfile),
        "TxProfile" => Some(v16::ChargingProfilePurpose::TxProfile),
        _ => None,
    }
}

// The requests the station reads, typed as far as it reads them (the schema checked the rest).

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetChargingProfileRequest {
    evse_id: i64,
    charging_profile: ChargingProfile,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargingProfile {
    id: i64,
    stack_level: i64,
    charging_profile_purpose: String,
    charging_profile_kind: v16::ChargingProfileKind,
    recurrency_kind: Option<v16::RecurrencyKind>,
    valid_from: Option<v16::Timestamp>,
    valid_to: Option<v16::Timestamp>,
    transaction_id: Option<String>,
    charging_schedule: Vec<ChargingSchedule>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargingSchedule {
    start_schedule: Option<v16::Timestamp>,
    duration: Option<i64>,
    charging_rate_unit: v16::ChargingRateUnit,
    charging_schedule_period: Vec<ChargingSchedulePeriod>,
    min_charging_rate: Option<Decimal>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChargingSchedulePeriod {
    start_period: i64,
    limit: Decimal,
    number_phases: Option<i64>,
}

impl ChargingProfile {
    /// As 1.6 says it: its first schedule, its transaction by local number (a transaction of
    /// another boot matches none); `None` for a purpose 1.6 has no word for.
    fn into_v16(self, boot_id: &str) -> Option<v16::ChargingProfile> {
        let schedule = self.charging_schedule.into_iter().next()?;
        let local = |id: String| id.strip_prefix(boot_id).and_then(|rest| rest.strip_prefix('-')).and_then(|local| local.parse().ok()).unwrap_or(-1);
        let transaction_id = self.transaction_id.map(local);
        Some(v16::ChargingProfile {
            charging_profile_id: self.id,
            transaction_id,
            stack_level: self.stack_level,
            charging_profile_purpose: purpose(&self.charging_profile_purpose)?,
            charging_profile_kind: self.charging_profile_kind,
            recurrency_kind: self.recurrency_kind,
            valid_from: self.valid_from,
            valid_to: self.valid_to,
            charging_schedule: v16::ChargingSchedule {
                duration: schedule.duration,
                start_schedule: schedule.start_schedule,
                charging_rate_unit: schedule.charging_rate_unit,
                charging_schedule_period: schedule
                    .charging_schedule_period
                    .into_iter()
                    .map(|p| v16::ChargingSchedulePeriod { start_period: p.start_period, limit: p.limit, number_phases: p.number_phases })
                    .collect(),
                min_charging_rate: schedule.min_charging_rate,
            },
        })
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ClearChargingProfileRequest {
    charging_profile_id: Option<i64>,
    charging_profile_criteria: Option<ClearCriteria>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct ClearCriteria {
    evse_id: Option<i64>,
    charging_profile_purpose: Option<String>,
    stack_level: Option<i64>,
}

#[derive(Deserialize)]
struct ResetRequest {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeAvailabilityRequest {
    operational_status: String,
    evse: Option<Evse>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct UnlockConnectorRequest {
    evse_id: i64,
    connector_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TriggerMessageRequest {
    requested_message: String,
    evse: Option<Evse>,
}

/// A component or a variable, named and possibly more (echoed back as it came).
#[derive(Deserialize, serde::Serialize)]
struct Named {
    name: String,
    #[serde(flatten)]
    rest: serde_json::Map<String, Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetVariablesRequest {
    get_variable_data: Vec<VariableRef>,
}

#[derive(Deserialize)]
struct VariableRef {
    component: Named,
    variable: Named,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SetVariablesRequest {
    set_variable_data: Vec<VariableValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct VariableValue {
    attribute_value: String,
    component: Named,
    variable: Named,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetBaseReportRequest {
    request_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetCompositeScheduleRequest {
    duration: i64,
    charging_rate_unit: Option<v16::ChargingRateUnit>,
    evse_id: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetTransactionStatusRequest {
    transaction_id: Option<String>,
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use ocpp201::validate;
    use serde_json::json;

    use super::*;
    use crate::ChargerConfig;

    const T0: Millis = 1_700_000_000_000;

    fn booted() -> Station {
        let config =
            ChargerConfig { connectors: 2, meter_interval: Duration::from_secs(10), subprotocol: "ocpp2.0.1", ..ChargerConfig::new("ws://csms", "CP-2") };
        let mut s = Station::new(&config, T0);
        s.connected(T0);
        exchange(&mut s, T0, "Accepted");
        s
    }

    /// A central system that accepts everything (idTokens as `id_token_status`): sends what the
    /// station has to send, checks each request and answer against the official 2.0.1 schemas,
    /// and returns the requests.
    fn exchange(station: &mut Station, now: Millis, id_token_status: &str) -> Vec<(&'static str, Value)> {
        crate::station::tests::exchange_checked(
            station,
            now,
            |action, direction, payload| validate(action, direction, payload).map_err(|v| v.to_string()),
            |action, payload, _| match action {
                "TransactionEvent" if payload.get("idToken").is_some() => json!({"idTokenInfo": {"status": id_token_status}}),
                _ => json!({}),
            },
        )
    }

    fn command(s: &mut Station, action: &str, payload: Value, now: Millis) -> Value {
        let answer = s.on_call201(action, &payload, now).unwrap_or_else(|v| panic!("{action}: {v}"));
        assert_eq!(validate(action, Direction::Response, &answer), Ok(()), "{action} answer {answer}");
        answer
    }

    /// (eventType, triggerReason, seqNo, chargingState) of each TransactionEvent sent.
    fn events(sent: &[(&str, Value)]) -> Vec<(String, String, i64, Option<String>)> {
        sent.iter()
            .filter(|(action, _)| *action == "TransactionEvent")
            .map(|(_, p)| {
                let text = |v: &Value| v.as_str().unwrap().to_string();
                (
                    text(&p["eventType"]),
                    text(&p["triggerReason"]),
                    p["seqNo"].as_i64().unwrap(),
                    p["transactionInfo"]["chargingState"].as_str().map(String::from),
                )
            })
            .collect()
    }

    fn event(kind: &str, trigger: &str, seq_no: i64, state: Option<&str>) -> (String, String, i64, Option<String>) {
        (kind.into(), trigger.into(), seq_no, state.map(String::from))
    }

    #[test]
    fn boots_and_reports_each_evse_not_the_station() {
        let config = ChargerConfig { connectors: 2, subprotocol: "ocpp2.0.1", ..ChargerConfig::new("ws://csms", "CP-2") };
        let mut s = Station::new(&config, T0);
        s.connected(T0);
        let sent = exchange(&mut s, T0, "Accepted");
        assert_eq!(sent[0].0, "BootNotification");
        assert_eq!(sent[0].1["chargingStation"]["vendorName"], "Joule");
        let statuses: Vec<(i64, &str)> = sent[1..]
            .iter()
            .map(|(action, p)| (action, p))
            .filter(|(a, _)| **a == "StatusNotification")
            .map(|(_, p)| (p["evseId"].as_i64().unwrap(), p["connectorStatus"].as_str().unwrap()))
            .collect();
        assert_eq!(statuses, [(1, "Available"), (2, "Available")]);
        assert!(s.is_registered());
    }

    #[test]
    fn a_remote_start_pause_resume_and_stop_are_transaction_events_in_order() {
        let mut s = booted();
        let start = json!({"evseId": 2, "idToken": {"idToken": "JOULE-1", "type": "Central"}, "remoteStartId": 7});
        assert_eq!(command(&mut s, "RequestStartTransaction", start, T0), json!({"status": "Accepted"}));
        let sent = exchange(&mut s, T0, "Accepted");
        let started = &sent.iter().find(|(a, p)| *a == "TransactionEvent" && p["eventType"] == "Started").unwrap().1;
        let id = s.transaction_id(1);
        assert_eq!(started["transactionInfo"], json!({"transactionId": id, "remoteStartId": 7}));
        assert_eq!(started["idToken"], json!({"idToken": "JOULE-1", "type": "Central"}));
        assert_eq!((started["evse"]["id"].as_i64(), started["meterValue"][0]["sampledValue"][0]["context"].as_str()), (Some(2), Some("Transaction.Begin")));
        assert_eq!(sent[0], ("StatusNotification", sent[0].1.clone()));
        assert_eq!(sent[0].1["connectorStatus"], "Occupied");

        s.tick(T0 + 10_000);
        let limit_zero = json!({"evseId": 2, "chargingProfile": {"id": 9, "transactionId": id, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative", "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}]}]}});
        assert_eq!(command(&mut s, "SetChargingProfile", limit_zero, T0 + 10_000), json!({"status": "Accepted"}));
        assert_eq!(s.connector(2).unwrap().power_w, 0);
        assert_eq!(command(&mut s, "ClearChargingProfile", json!({"chargingProfileId": 9}), T0 + 11_000), json!({"status": "Accepted"}));
        assert_eq!(command(&mut s, "RequestStopTransaction", json!({"transactionId": "another"}), T0 + 12_000), json!({"status": "Rejected"}));
        assert_eq!(command(&mut s, "RequestStopTransaction", json!({"transactionId": id}), T0 + 12_000), json!({"status": "Accepted"}));
        let rest = exchange(&mut s, T0 + 12_000, "Accepted");
        let all: Vec<_> = sent.into_iter().chain(rest).collect();
        assert_eq!(
            events(&all),
            [
                event("Started", "RemoteStart", 0, None),
                event("Updated", "ChargingStateChanged", 1, Some("Charging")),
                event("Updated", "MeterValuePeriodic", 2, None),
                event("Updated", "ChargingStateChanged", 3, Some("SuspendedEVSE")),
                event("Updated", "ChargingStateChanged", 4, Some("Charging")),
                event("Ended", "RemoteStop", 5, None),
            ]
        );
        let ended = &all.iter().rev().find(|(a, _)| *a == "TransactionEvent").unwrap().1;
        assert_eq!(ended["transactionInfo"]["stoppedReason"], "Remote");
        // 10 s at 7.2 kW, 1 s paused, 1 s more: 22 Wh.
        assert_eq!(ended["meterValue"][0]["sampledValue"][0]["value"], json!(22));
        assert_eq!(all.last().unwrap().1["connectorStatus"], "Available");
    }

    #[test]
    fn an_id_token_refused_at_start_ends_the_transaction() {
        let mut s = booted();
        s.present_card(1, "CARD", T0);
        let sent = exchange(&mut s, T0, "Blocked");
        assert_eq!(events(&sent)[0], event("Started", "Authorized", 0, None));
        let started = &sent.iter().find(|(a, _)| *a == "TransactionEvent").unwrap().1;
        assert_eq!(started["idToken"]["type"], "ISO14443");
        let ended = &sent.iter().rev().find(|(a, _)| *a == "TransactionEvent").unwrap().1;
        assert_eq!((ended["eventType"].as_str(), ended["transactionInfo"]["stoppedReason"].as_str()), (Some("Ended"), Some("DeAuthorized")));
        assert!(s.connector(1).unwrap().transaction.is_none());
    }

    #[test]
    fn events_wait_offline_and_a_new_transaction_counts_from_zero() {
        let mut s = booted();
        s.present_card(1, "CARD", T0);
        exchange(&mut s, T0, "Accepted");
        s.disconnected(T0 + 1_000);
        s.tick(T0 + 10_000);
        // The card ends its transaction, then starts another.
        s.present_card(1, "CARD", T0 + 12_000);
        s.present_card(1, "CARD", T0 + 13_000);
        s.connected(T0 + 20_000);
        let sent = exchange(&mut s, T0 + 20_000, "Accepted");
        let times: Vec<&str> = sent.iter().filter(|(a, _)| *a == "TransactionEvent").map(|(_, p)| p["timestamp"].as_str().unwrap()).collect();
        assert!(times.windows(2).all(|w| w[0] <= w[1]), "{times:?}");
        assert_eq!(
            events(&sent),
            [
                event("Updated", "MeterValuePeriodic", 2, None),
                event("Ended", "StopAuthorized", 3, None),
                event("Started", "Authorized", 0, None),
                event("Updated", "ChargingStateChanged", 1, Some("Charging")),
            ]
        );
        let ids: Vec<&str> =
            sent.iter().filter(|(a, _)| *a == "TransactionEvent").map(|(_, p)| p["transactionInfo"]["transactionId"].as_str().unwrap()).collect();
        assert_eq!(ids, [s.transaction_id(1), s.transaction_id(1), s.transaction_id(2), s.transaction_id(2)]);
    }

    #[test]
    fn every_command_gets_an_answer_valid_against_its_schema() {
        let mut s = booted();
        let heartbeat = || json!({"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}});
        let answers = [
            ("GetVariables", json!({"getVariableData": [heartbeat(), {"component": {"name": "Nowhere"}, "variable": {"name": "X"}}]})),
            (
                "SetVariables",
                json!({"setVariableData": [{"attributeValue": "60", "component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}}]}),
            ),
            ("GetBaseReport", json!({"requestId": 3, "reportBase": "FullInventory"})),
            ("TriggerMessage", json!({"requestedMessage": "StatusNotification", "evse": {"id": 1, "connectorId": 1}})),
            ("TriggerMessage", json!({"requestedMessage": "LogStatusNotification"})),
            ("ChangeAvailability", json!({"operationalStatus": "Inoperative", "evse": {"id": 2}})),
            ("UnlockConnector", json!({"evseId": 1, "connectorId": 1})),
            ("UnlockConnector", json!({"evseId": 5, "connectorId": 1})),
            ("GetCompositeSchedule", json!({"duration": 600, "evseId": 1})),
            ("GetLocalListVersion", json!({})),
            ("SendLocalList", json!({"versionNumber": 4, "updateType": "Full"})),
            ("SendLocalList", json!({"versionNumber": 4, "updateType": "Differential"})),
            ("ClearCache", json!({})),
            ("GetTransactionStatus", json!({"transactionId": "none"})),
            ("DataTransfer", json!({"vendorId": "x"})),
            ("Reset", json!({"type": "Immediate"})),
        ]
        .map(|(action, payload)| command(&mut s, action, payload, T0)["status"].clone());
        assert_eq!(
            answers,
            [
                Value::Null,
                Value::Null,
                json!("Accepted"),
                json!("Accepted"),
                json!("NotImplemented"),
                json!("Accepted"),
                json!("Unlocked"),
                json!("UnknownConnector"),
                json!("Accepted"),
                Value::Null,
                json!("Accepted"),
                json!("VersionMismatch"),
                json!("Accepted"),
                Value::Null,
                json!("UnknownVendorId"),
                json!("Accepted"),
            ]
        );
        assert_eq!(s.heartbeat_s, 60);
        let got = command(&mut s, "GetVariables", json!({"getVariableData": [heartbeat()]}), T0);
        assert_eq!(got["getVariableResult"][0]["attributeValue"], "60");
        assert_eq!(command(&mut s, "GetLocalListVersion", json!({}), T0), json!({"versionNumber": 4}));
        assert!(s.take_reboot());
        s.connected(T0);
        let sent = exchange(&mut s, T0, "Accepted");
        assert_eq!(sent[0].0, "BootNotification");

        let refused = |s: &mut Station, action: &str, payload: Value| s.on_call201(action, &payload, T0).unwrap_err().code;
        assert_eq!(refused(&mut s, "RemoteStartTransaction", json!({"idTag": "A"})), ErrorCode::NotImplemented);
        assert_eq!(refused(&mut s, "InstallCertificate", json!({"certificateType": "V2GRootCertificate", "certificate": "x"})), ErrorCode::NotSupported);
        assert_eq!(refused(&mut s, "Reset", json!({"type": "Gentle"})), ErrorCode::PropertyConstraintViolation);
    }

    #[test]
    fn a_base_report_follows_with_the_variables() {
        let mut s = booted();
        command(&mut s, "GetBaseReport", json!({"requestId": 3, "reportBase": "ConfigurationInventory"}), T0);
        let sent = exchange(&mut s, T0, "Accepted");
        let report = &sent.iter().find(|(a, _)| *a == "NotifyReport").unwrap().1;
        assert_eq!(report["requestId"], 3);
        assert_eq!(report["reportData"][0]["variableAttribute"][0]["value"], "300");
    }
}
