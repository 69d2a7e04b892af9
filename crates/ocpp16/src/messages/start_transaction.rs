//! StartTransaction: the charger reports that charging started and receives the transaction
//! id.

use serde::{Deserialize, Serialize};

use super::{IdTagInfo, Timestamp, action};

action! {
    /// Charger → CSMS.
    StartTransaction: StartTransactionRequest => StartTransactionResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartTransactionRequest {
    pub connector_id: i64,
    pub id_tag: String,
    /// The energy register at the start, in Wh.
    pub meter_start: i64,
    /// When the transaction ends a reservation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reservation_id: Option<i64>,
    pub timestamp: Timestamp,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StartTransactionResponse {
    pub id_tag_info: IdTagInfo,
    pub transaction_id: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::AuthorizationStatus;
    use crate::messages::testing::{round_trip, ts};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = StartTransactionRequest {
            connector_id: 1,
            id_tag: "04E91C5A123456".into(),
            meter_start: 1_234_567,
            reservation_id: Some(42),
            timestamp: ts("2024-05-01T10:00:03.120+02:00"),
        };
        let response = StartTransactionResponse {
            id_tag_info: IdTagInfo { expiry_date: None, parent_id_tag: None, status: AuthorizationStatus::Accepted },
            transaction_id: 170_123,
        };
        round_trip::<StartTransaction>(&request, &response);
    }
}
