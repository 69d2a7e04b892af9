//! RemoteStartTransaction: the CSMS asks the charger to start charging for an id tag,
//! optionally under a `TxProfile` charging profile.

use serde::{Deserialize, Serialize};

use super::{ChargingProfile, action};

action! {
    /// CSMS → charger.
    RemoteStartTransaction: RemoteStartTransactionRequest => RemoteStartTransactionResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteStartTransactionRequest {
    /// Absent lets the charger choose; never 0.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i64>,
    pub id_tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_profile: Option<ChargingProfile>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteStartTransactionResponse {
    pub status: RemoteStartStopStatus,
}

/// The answer to RemoteStartTransaction and RemoteStopTransaction.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RemoteStartStopStatus {
    Accepted,
    Rejected,
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::messages::{ChargingProfileKind, ChargingProfilePurpose, ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let profile = ChargingProfile {
            charging_profile_id: 1,
            transaction_id: None,
            stack_level: 0,
            charging_profile_purpose: ChargingProfilePurpose::TxProfile,
            charging_profile_kind: ChargingProfileKind::Relative,
            recurrency_kind: None,
            valid_from: Some(ts("2024-05-01T00:00:00Z")),
            valid_to: Some(ts("2024-05-02T00:00:00Z")),
            charging_schedule: ChargingSchedule {
                duration: Some(7200),
                start_schedule: None,
                charging_rate_unit: ChargingRateUnit::Amperes,
                charging_schedule_period: vec![ChargingSchedulePeriod { start_period: 0, limit: Decimal::new(160, 1), number_phases: Some(3) }],
                min_charging_rate: Some(Decimal::new(6, 0)),
            },
        };
        let request = RemoteStartTransactionRequest { connector_id: Some(1), id_tag: "JOULE-WALLET-1".into(), charging_profile: Some(profile) };
        let response = RemoteStartTransactionResponse { status: RemoteStartStopStatus::Accepted };
        round_trip::<RemoteStartTransaction>(&request, &response);
        let plain = RemoteStartTransactionRequest { connector_id: None, id_tag: "JOULE-WALLET-1".into(), charging_profile: None };
        round_trip::<RemoteStartTransaction>(&plain, &RemoteStartTransactionResponse { status: RemoteStartStopStatus::Rejected });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use RemoteStartStopStatus as S;
        enum_matches_schema(&[S::Accepted, S::Rejected], "RemoteStartTransaction", Direction::Response, "/properties/status");
        enum_matches_schema(&[S::Accepted, S::Rejected], "RemoteStopTransaction", Direction::Response, "/properties/status");
    }
}
