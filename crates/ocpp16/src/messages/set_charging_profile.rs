//! SetChargingProfile: the CSMS installs a charging profile on a connector (0: the whole
//! charger, for `ChargePointMaxProfile` and default profiles).

use serde::{Deserialize, Serialize};

use super::{ChargingProfile, action};

action! {
    /// CSMS → charger.
    SetChargingProfile: SetChargingProfileRequest => SetChargingProfileResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetChargingProfileRequest {
    pub connector_id: i64,
    pub cs_charging_profiles: ChargingProfile,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SetChargingProfileResponse {
    pub status: ChargingProfileStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargingProfileStatus {
    Accepted,
    Rejected,
    NotSupported,
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::messages::{ChargingProfileKind, ChargingProfilePurpose, ChargingRateUnit, ChargingSchedule, ChargingSchedulePeriod, RecurrencyKind};
    use crate::validate::Direction;

    fn period(start_period: i64, limit: Decimal) -> ChargingSchedulePeriod {
        ChargingSchedulePeriod { start_period, limit, number_phases: None }
    }

    #[test]
    fn typical_messages_match_the_schemas() {
        let transaction = ChargingProfile {
            charging_profile_id: 100,
            transaction_id: Some(170_123),
            stack_level: 1,
            charging_profile_purpose: ChargingProfilePurpose::TxProfile,
            charging_profile_kind: ChargingProfileKind::Absolute,
            recurrency_kind: None,
            valid_from: None,
            valid_to: None,
            charging_schedule: ChargingSchedule {
                duration: Some(3600),
                start_schedule: Some(ts("2024-05-01T10:00:00Z")),
                charging_rate_unit: ChargingRateUnit::Watts,
                charging_schedule_period: vec![
                    ChargingSchedulePeriod { start_period: 0, limit: Decimal::new(110_000, 1), number_phases: Some(3) },
                    period(1800, Decimal::new(36_805, 1)),
                ],
                min_charging_rate: Some(Decimal::new(1_380, 0)),
            },
        };
        let request = SetChargingProfileRequest { connector_id: 1, cs_charging_profiles: transaction };
        round_trip::<SetChargingProfile>(&request, &SetChargingProfileResponse { status: ChargingProfileStatus::Accepted });

        // Off-peak every night: 6 A from 07:00, 32 A from 22:00 local.
        let nightly = ChargingProfile {
            charging_profile_id: 1,
            transaction_id: None,
            stack_level: 0,
            charging_profile_purpose: ChargingProfilePurpose::TxDefaultProfile,
            charging_profile_kind: ChargingProfileKind::Recurring,
            recurrency_kind: Some(RecurrencyKind::Daily),
            valid_from: Some(ts("2024-01-01T00:00:00+01:00")),
            valid_to: Some(ts("2025-01-01T00:00:00+01:00")),
            charging_schedule: ChargingSchedule {
                duration: Some(86_400),
                start_schedule: Some(ts("2024-01-01T07:00:00+01:00")),
                charging_rate_unit: ChargingRateUnit::Amperes,
                charging_schedule_period: vec![period(0, Decimal::new(6, 0)), period(54_000, Decimal::new(32, 0))],
                min_charging_rate: None,
            },
        };
        let request = SetChargingProfileRequest { connector_id: 0, cs_charging_profiles: nightly };
        round_trip::<SetChargingProfile>(&request, &SetChargingProfileResponse { status: ChargingProfileStatus::NotSupported });

        let site_limit = ChargingProfile {
            charging_profile_id: 2,
            transaction_id: None,
            stack_level: 0,
            charging_profile_purpose: ChargingProfilePurpose::ChargePointMaxProfile,
            charging_profile_kind: ChargingProfileKind::Relative,
            recurrency_kind: None,
            valid_from: None,
            valid_to: None,
            charging_schedule: ChargingSchedule {
                duration: None,
                start_schedule: None,
                charging_rate_unit: ChargingRateUnit::Amperes,
                charging_schedule_period: vec![period(0, Decimal::new(630, 1))],
                min_charging_rate: None,
            },
        };
        let request = SetChargingProfileRequest { connector_id: 0, cs_charging_profiles: site_limit };
        round_trip::<SetChargingProfile>(&request, &SetChargingProfileResponse { status: ChargingProfileStatus::Rejected });
    }

    #[test]
    fn limits_are_sent_exactly() {
        let request = SetChargingProfileRequest {
            connector_id: 1,
            cs_charging_profiles: ChargingProfile {
                charging_profile_id: 3,
                transaction_id: None,
                stack_level: 0,
                charging_profile_purpose: ChargingProfilePurpose::TxDefaultProfile,
                charging_profile_kind: ChargingProfileKind::Relative,
                recurrency_kind: None,
                valid_from: None,
                valid_to: None,
                charging_schedule: ChargingSchedule {
                    duration: None,
                    start_schedule: None,
                    charging_rate_unit: ChargingRateUnit::Amperes,
                    charging_schedule_period: vec![period(0, Decimal::new(163, 1))],
                    min_charging_rate: None,
                },
            },
        };
        let text = serde_json::to_string(&request).unwrap();
        assert!(text.contains(r#""limit":16.3"#), "{text}");
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use ChargingProfileStatus as S;
        let statuses = [S::Accepted, S::Rejected, S::NotSupported];
        enum_matches_schema(&statuses, "SetChargingProfile", Direction::Response, "/properties/status");
    }
}
