//! ClearChargingProfile: the CSMS removes charging profiles, by id or by what matches the given
//! connector, purpose and stack level (all absent: every profile).

use serde::{Deserialize, Serialize};

use super::{ChargingProfilePurpose, action};

action! {
    /// CSMS → charger.
    ClearChargingProfile: ClearChargingProfileRequest => ClearChargingProfileResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClearChargingProfileRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charging_profile_purpose: Option<ChargingProfilePurpose>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_level: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ClearChargingProfileResponse {
    pub status: ClearChargingProfileStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ClearChargingProfileStatus {
    Accepted,
    /// No profile matched.
    Unknown,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = ClearChargingProfileRequest {
            id: Some(7),
            connector_id: Some(1),
            charging_profile_purpose: Some(ChargingProfilePurpose::TxDefaultProfile),
            stack_level: Some(0),
        };
        let response = ClearChargingProfileResponse { status: ClearChargingProfileStatus::Accepted };
        round_trip::<ClearChargingProfile>(&request, &response);
        let everything = ClearChargingProfileRequest::default();
        round_trip::<ClearChargingProfile>(&everything, &ClearChargingProfileResponse { status: ClearChargingProfileStatus::Unknown });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use ClearChargingProfileStatus as S;
        enum_matches_schema(&[S::Accepted, S::Unknown], "ClearChargingProfile", Direction::Response, "/properties/status");
    }
}
