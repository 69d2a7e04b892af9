//! BootNotification: the charging station says it is up, and what it is.

use serde::{Deserialize, Serialize};

use super::{StatusInfo, Timestamp, action};

action! {
    /// Charging station → CSMS.
    BootNotification: BootNotificationRequest => BootNotificationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationRequest {
    pub charging_station: ChargingStation,
    pub reason: BootReason,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChargingStation {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub serial_number: Option<String>,
    pub model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modem: Option<Modem>,
    pub vendor_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Modem {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum BootReason {
    ApplicationReset,
    FirmwareUpdate,
    LocalReset,
    PowerUp,
    RemoteReset,
    ScheduledReset,
    Triggered,
    Unknown,
    Watchdog,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BootNotificationResponse {
    pub current_time: Timestamp,
    /// Seconds: the heartbeat interval when Accepted, when to boot again otherwise.
    pub interval: i64,
    pub status: RegistrationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RegistrationStatus {
    Accepted,
    Pending,
    Rejected,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::{round_trip, ts};
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request: BootNotificationRequest = round_trip(
            "BootNotification",
            Request,
            json!({"chargingStation": {"serialNumber": "S-1", "model": "J2", "modem": {"iccid": "8931", "imsi": "2040"}, "vendorName": "Joule", "firmwareVersion": "2.0"}, "reason": "PowerUp"}),
        );
        assert_eq!((request.reason, request.charging_station.model.as_str()), (BootReason::PowerUp, "J2"));
        let response: BootNotificationResponse = round_trip(
            "BootNotification",
            Response,
            json!({"currentTime": "2026-12-07T10:00:00+01:00", "interval": 10, "status": "Pending", "statusInfo": {"reasonCode": "NotYet"}}),
        );
        assert_eq!((response.status, response.current_time), (RegistrationStatus::Pending, ts("2026-12-07T09:00:00Z")));
    }
}
