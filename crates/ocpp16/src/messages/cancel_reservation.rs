//! CancelReservation: the CSMS cancels a reservation made with ReserveNow.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    CancelReservation: CancelReservationRequest => CancelReservationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelReservationRequest {
    pub reservation_id: i64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CancelReservationResponse {
    pub status: CancelReservationStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum CancelReservationStatus {
    Accepted,
    Rejected,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let response = CancelReservationResponse { status: CancelReservationStatus::Accepted };
        round_trip::<CancelReservation>(&CancelReservationRequest { reservation_id: 42 }, &response);
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use CancelReservationStatus as S;
        enum_matches_schema(&[S::Accepted, S::Rejected], "CancelReservation", Direction::Response, "/properties/status");
    }
}
