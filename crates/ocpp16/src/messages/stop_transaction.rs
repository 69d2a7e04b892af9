//! StopTransaction: the charger reports that a transaction ended, with its final meter reading
//! and optionally the meter values gathered during it.

use serde::{Deserialize, Serialize};

use super::{IdTagInfo, MeterValue, Timestamp, action};

action! {
    /// Charger → CSMS.
    StopTransaction: StopTransactionRequest => StopTransactionResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopTransactionRequest {
    /// The tag that stopped the transaction, when one did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_tag: Option<String>,
    /// The energy register at the end, in Wh.
    pub meter_stop: i64,
    pub timestamp: Timestamp,
    pub transaction_id: i64,
    /// Absent means `Local`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<Reason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_data: Option<Vec<MeterValue>>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StopTransactionResponse {
    /// Present when the request carried an `id_tag`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_tag_info: Option<IdTagInfo>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Reason {
    EmergencyStop,
    EVDisconnected,
    HardReset,
    Local,
    Other,
    PowerLoss,
    Reboot,
    Remote,
    SoftReset,
    UnlockCommand,
    DeAuthorized,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::messages::{AuthorizationStatus, Measurand, ReadingContext, SampledValue, UnitOfMeasure};
    use crate::validate::Direction;

    fn energy(value: &str, context: ReadingContext) -> SampledValue {
        SampledValue {
            value: value.into(),
            context: Some(context),
            format: None,
            measurand: Some(Measurand::EnergyActiveImportRegister),
            phase: None,
            location: None,
            unit: Some(UnitOfMeasure::Wh),
        }
    }

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = StopTransactionRequest {
            id_tag: Some("04E91C5A123456".into()),
            meter_stop: 1_254_567,
            timestamp: ts("2024-05-01T11:00:00+02:00"),
            transaction_id: 170_123,
            reason: Some(Reason::EVDisconnected),
            transaction_data: Some(vec![
                MeterValue { timestamp: ts("2024-05-01T10:00:03+02:00"), sampled_value: vec![energy("1234567", ReadingContext::TransactionBegin)] },
                MeterValue { timestamp: ts("2024-05-01T11:00:00+02:00"), sampled_value: vec![energy("1254567", ReadingContext::TransactionEnd)] },
            ]),
        };
        let response =
            StopTransactionResponse { id_tag_info: Some(IdTagInfo { expiry_date: None, parent_id_tag: None, status: AuthorizationStatus::Accepted }) };
        round_trip::<StopTransaction>(&request, &response);
        let remote = StopTransactionRequest { id_tag: None, reason: Some(Reason::Remote), transaction_data: None, ..request };
        round_trip::<StopTransaction>(&remote, &StopTransactionResponse::default());
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use Reason as R;
        let reasons = [
            R::EmergencyStop,
            R::EVDisconnected,
            R::HardReset,
            R::Local,
            R::Other,
            R::PowerLoss,
            R::Reboot,
            R::Remote,
            R::SoftReset,
            R::UnlockCommand,
            R::DeAuthorized,
        ];
        enum_matches_schema(&reasons, "StopTransaction", Direction::Request, "/properties/reason");
    }
}
