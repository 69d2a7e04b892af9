//! GetCompositeSchedule: the CSMS asks which limits a connector will apply over the next
//! `duration` seconds, all charging profiles combined.

use serde::{Deserialize, Serialize};

use super::{ChargingRateUnit, ChargingSchedule, Timestamp, action};

action! {
    /// CSMS → charger.
    GetCompositeSchedule: GetCompositeScheduleRequest => GetCompositeScheduleResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetCompositeScheduleRequest {
    /// 0 means the grid connection of the whole charger.
    pub connector_id: i64,
    /// Seconds.
    pub duration: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_rate_unit: Option<ChargingRateUnit>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetCompositeScheduleResponse {
    pub status: GetCompositeScheduleStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule_start: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_schedule: Option<ChargingSchedule>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum GetCompositeScheduleStatus {
    Accepted,
    Rejected,
}

#[cfg(test)]
mod tests {
    use rust_decimal::Decimal;

    use super::*;
    use crate::messages::ChargingSchedulePeriod;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = GetCompositeScheduleRequest { connector_id: 1, duration: 3600, charging_rate_unit: Some(ChargingRateUnit::Watts) };
        let schedule = ChargingSchedule {
            duration: Some(3600),
            start_schedule: Some(ts("2024-05-01T10:00:00Z")),
            charging_rate_unit: ChargingRateUnit::Watts,
            charging_schedule_period: vec![
                ChargingSchedulePeriod { start_period: 0, limit: Decimal::new(11_000, 0), number_phases: Some(3) },
                ChargingSchedulePeriod { start_period: 1800, limit: Decimal::new(73_605, 1), number_phases: None },
            ],
            min_charging_rate: Some(Decimal::new(14_000, 1)),
        };
        let response = GetCompositeScheduleResponse {
            status: GetCompositeScheduleStatus::Accepted,
            connector_id: Some(1),
            schedule_start: Some(ts("2024-05-01T10:00:00Z")),
            charging_schedule: Some(schedule),
        };
        round_trip::<GetCompositeSchedule>(&request, &response);
        let rejected =
            GetCompositeScheduleResponse { status: GetCompositeScheduleStatus::Rejected, connector_id: None, schedule_start: None, charging_schedule: None };
        round_trip::<GetCompositeSchedule>(&GetCompositeScheduleRequest { charging_rate_unit: None, ..request }, &rejected);
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use GetCompositeScheduleStatus as S;
        enum_matches_schema(&[S::Accepted, S::Rejected], "GetCompositeSchedule", Direction::Response, "/properties/status");
    }
}
