//! ChangeAvailability: the CSMS takes a connector (or the whole charger, connector 0) out of
//! service or puts it back.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    ChangeAvailability: ChangeAvailabilityRequest => ChangeAvailabilityResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeAvailabilityRequest {
    /// 0 means the whole charger.
    pub connector_id: i64,
    #[serde(rename = "type")]
    pub kind: AvailabilityType,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeAvailabilityResponse {
    pub status: AvailabilityStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum AvailabilityType {
    Inoperative,
    Operative,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum AvailabilityStatus {
    Accepted,
    Rejected,
    /// Applied once the running transaction ends.
    Scheduled,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = ChangeAvailabilityRequest { connector_id: 1, kind: AvailabilityType::Inoperative };
        round_trip::<ChangeAvailability>(&request, &ChangeAvailabilityResponse { status: AvailabilityStatus::Scheduled });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use AvailabilityStatus as S;
        use AvailabilityType as T;
        enum_matches_schema(&[T::Inoperative, T::Operative], "ChangeAvailability", Direction::Request, "/properties/type");
        enum_matches_schema(&[S::Accepted, S::Rejected, S::Scheduled], "ChangeAvailability", Direction::Response, "/properties/status");
    }
}
