//! TransactionEvent: a transaction started, changed (readings, charging state) or ended.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::{IdToken, IdTokenInfo, Timestamp, action};

action! {
    /// Charging station → CSMS.
    TransactionEvent: TransactionEventRequest => TransactionEventResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionEventRequest {
    pub event_type: TransactionEventType,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meter_value: Option<Vec<MeterValue>>,
    pub timestamp: Timestamp,
    pub trigger_reason: TriggerReason,
    pub seq_no: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offline: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_of_phases_used: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cable_max_current: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<i64>,
    pub transaction_info: TransactionInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse: Option<Evse>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token: Option<IdToken>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum TransactionEventType {
    Ended,
    Started,
    Updated,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum TriggerReason {
    Authorized,
    CablePluggedIn,
    ChargingRateChanged,
    ChargingStateChanged,
    Deauthorized,
    EnergyLimitReached,
    EVCommunicationLost,
    EVConnectTimeout,
    MeterValueClock,
    MeterValuePeriodic,
    TimeLimitReached,
    Trigger,
    UnlockCommand,
    StopAuthorized,
    EVDeparted,
    EVDetected,
    RemoteStop,
    RemoteStart,
    AbnormalCondition,
    SignedDataReceived,
    ResetCommand,
}

/// The transaction as the charging station knows it (`TransactionType`): its id is the
/// charging station's, a string.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionInfo {
    pub transaction_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_state: Option<ChargingState>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time_spent_charging: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_reason: Option<StoppedReason>,
    /// The `remoteStartId` of the RequestStartTransaction that started it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_start_id: Option<i64>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargingState {
    Charging,
    EVConnected,
    SuspendedEV,
    SuspendedEVSE,
    Idle,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum StoppedReason {
    DeAuthorized,
    EmergencyStop,
    EnergyLimitReached,
    EVDisconnected,
    GroundFault,
    ImmediateReset,
    Local,
    LocalOutOfCredit,
    MasterPass,
    Other,
    OvercurrentFault,
    PowerLoss,
    PowerQuality,
    Reboot,
    Remote,
    SOCLimitReached,
    StoppedByEV,
    TimeLimitReached,
    Timeout,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Evse {
    pub id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MeterValue {
    pub sampled_value: Vec<SampledValue>,
    pub timestamp: Timestamp,
}

/// One reading. Its measurand, context, phase and location stay their wire names (the schema
/// checked them): Joule reads the energy register and keeps the rest as sent.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SampledValue {
    /// A number in 2.0.1 (a string in 1.6), in `unitOfMeasure` scaled by its multiplier.
    pub value: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurand: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit_of_measure: Option<UnitOfMeasure>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct UnitOfMeasure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// A power of ten the value is scaled by.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiplier: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TransactionEventResponse {
    /// The transaction's cost so far (Ended: its final cost), in the rate's currency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total_cost: Option<Decimal>,
    /// Answered whenever the event carries an idToken.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_info: Option<IdTokenInfo>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::round_trip;
    use crate::messages::{AuthorizationStatus, IdTokenKind};
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let started: TransactionEventRequest = round_trip(
            "TransactionEvent",
            Request,
            json!({
                "eventType": "Started", "timestamp": "2026-12-07T10:00:00Z", "triggerReason": "RemoteStart", "seqNo": 0,
                "transactionInfo": {"transactionId": "f3a2-0001", "chargingState": "EVConnected", "remoteStartId": 17},
                "evse": {"id": 1, "connectorId": 1}, "idToken": {"idToken": "JOULE-1", "type": "Central"},
                "meterValue": [{"timestamp": "2026-12-07T10:00:00Z", "sampledValue": [
                    {"value": 1234.5, "measurand": "Energy.Active.Import.Register", "context": "Transaction.Begin", "unitOfMeasure": {"unit": "Wh"}}]}]
            }),
        );
        assert_eq!((started.event_type, started.transaction_info.remote_start_id), (TransactionEventType::Started, Some(17)));
        assert_eq!(started.id_token.map(|t| t.kind), Some(IdTokenKind::Central));
        let reading = &started.meter_value.unwrap()[0].sampled_value[0];
        assert_eq!(reading.value, Decimal::new(12345, 1));
        let ended: TransactionEventRequest = round_trip(
            "TransactionEvent",
            Request,
            json!({"eventType": "Ended", "timestamp": "2026-12-07T11:00:00+01:00", "triggerReason": "EVDeparted", "seqNo": 7, "offline": true,
                   "transactionInfo": {"transactionId": "f3a2-0001", "stoppedReason": "EVDisconnected"}}),
        );
        assert_eq!(ended.transaction_info.stopped_reason, Some(StoppedReason::EVDisconnected));
        let answer: TransactionEventResponse = round_trip("TransactionEvent", Response, json!({"totalCost": 4.35, "idTokenInfo": {"status": "Accepted"}}));
        assert_eq!(answer.id_token_info.map(|i| i.status), Some(AuthorizationStatus::Accepted));
    }
}
