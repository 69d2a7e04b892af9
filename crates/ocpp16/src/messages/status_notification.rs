//! StatusNotification: the charger reports a connector's status (connector 0: the charger
//! itself) or an error.

use serde::{Deserialize, Serialize};

use super::{ChargePointErrorCode, ChargePointStatus, Timestamp, action};

action! {
    /// Charger → CSMS.
    StatusNotification: StatusNotificationRequest => StatusNotificationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StatusNotificationRequest {
    pub connector_id: i64,
    pub error_code: ChargePointErrorCode,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub info: Option<String>,
    pub status: ChargePointStatus,
    /// When the status was reached; absent means when the message arrived.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub vendor_error_code: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusNotificationResponse {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{round_trip, ts};

    #[test]
    fn typical_messages_match_the_schemas() {
        let fault = StatusNotificationRequest {
            connector_id: 2,
            error_code: ChargePointErrorCode::GroundFailure,
            info: Some("RCD tripped".into()),
            status: ChargePointStatus::Faulted,
            timestamp: Some(ts("2024-05-01T10:00:00Z")),
            vendor_id: Some("com.example".into()),
            vendor_error_code: Some("E-217".into()),
        };
        round_trip::<StatusNotification>(&fault, &StatusNotificationResponse {});
        let charging = StatusNotificationRequest {
            connector_id: 1,
            error_code: ChargePointErrorCode::NoError,
            info: None,
            status: ChargePointStatus::SuspendedEVSE,
            timestamp: None,
            vendor_id: None,
            vendor_error_code: None,
        };
        round_trip::<StatusNotification>(&charging, &StatusNotificationResponse {});
    }
}
