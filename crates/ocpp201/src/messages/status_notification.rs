//! StatusNotification: a connector of an EVSE changed status.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// Charging station → CSMS.
    StatusNotification: StatusNotificationRequest => StatusNotificationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusNotificationRequest {
    pub timestamp: Timestamp,
    pub connector_status: ConnectorStatus,
    pub evse_id: i64,
    pub connector_id: i64,
}

/// A connector's status in 2.0.1: whether a car is there (`Occupied`), not what it does; what
/// the car does is a transaction's `chargingState`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ConnectorStatus {
    Available,
    Occupied,
    Reserved,
    Unavailable,
    Faulted,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct StatusNotificationResponse {}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::round_trip;
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request: StatusNotificationRequest = round_trip(
            "StatusNotification",
            Request,
            json!({"timestamp": "2026-12-07T10:00:00Z", "connectorStatus": "Occupied", "evseId": 2, "connectorId": 1}),
        );
        assert_eq!((request.evse_id, request.connector_status), (2, ConnectorStatus::Occupied));
        let _: StatusNotificationResponse = round_trip("StatusNotification", Response, json!({}));
    }
}
