//! ReserveNow: the CSMS reserves a connector (0: any connector) for an id tag until
//! `expiry_date`.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// CSMS → charger.
    ReserveNow: ReserveNowRequest => ReserveNowResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReserveNowRequest {
    pub connector_id: i64,
    pub expiry_date: Timestamp,
    pub id_tag: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id_tag: Option<String>,
    pub reservation_id: i64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ReserveNowResponse {
    pub status: ReservationStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ReservationStatus {
    Accepted,
    Faulted,
    Occupied,
    Rejected,
    Unavailable,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = ReserveNowRequest {
            connector_id: 2,
            expiry_date: ts("2024-05-01T10:30:00Z"),
            id_tag: "04E91C5A123456".into(),
            parent_id_tag: Some("FLEET-7".into()),
            reservation_id: 42,
        };
        round_trip::<ReserveNow>(&request, &ReserveNowResponse { status: ReservationStatus::Occupied });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use ReservationStatus as S;
        let statuses = [S::Accepted, S::Faulted, S::Occupied, S::Rejected, S::Unavailable];
        enum_matches_schema(&statuses, "ReserveNow", Direction::Response, "/properties/status");
    }
}
