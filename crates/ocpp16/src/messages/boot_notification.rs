//! BootNotification: a charger announces itself after (re)booting and learns whether the CSMS
//! accepts it.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// Charger → CSMS.
    BootNotification: BootNotificationRequest => BootNotificationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootNotificationRequest {
    pub charge_point_vendor: String,
    pub charge_point_model: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_point_serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub charge_box_serial_number: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub firmware_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub iccid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub imsi: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meter_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub meter_serial_number: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BootNotificationResponse {
    pub status: RegistrationStatus,
    pub current_time: Timestamp,
    /// The heartbeat interval in seconds when accepted, otherwise how long to wait before
    /// the next BootNotification.
    pub interval: i64,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RegistrationStatus {
    Accepted,
    Pending,
    Rejected,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = BootNotificationRequest {
            charge_point_vendor: "Alfen BV".into(),
            charge_point_model: "NG920-61021".into(),
            charge_point_serial_number: Some("ace0812345".into()),
            charge_box_serial_number: Some("ace0812345".into()),
            firmware_version: Some("6.1.0-4121".into()),
            iccid: Some("8931440400000000000".into()),
            imsi: Some("204043000000000".into()),
            meter_type: Some("Eastron SDM630".into()),
            meter_serial_number: Some("20231234".into()),
        };
        let response = BootNotificationResponse { status: RegistrationStatus::Accepted, current_time: ts("2024-05-01T10:00:00.123Z"), interval: 300 };
        round_trip::<BootNotification>(&request, &response);

        let minimal = BootNotificationRequest {
            charge_point_vendor: "Joule".into(),
            charge_point_model: "J1".into(),
            charge_point_serial_number: None,
            charge_box_serial_number: None,
            firmware_version: None,
            iccid: None,
            imsi: None,
            meter_type: None,
            meter_serial_number: None,
        };
        let pending = BootNotificationResponse { status: RegistrationStatus::Pending, ..response };
        round_trip::<BootNotification>(&minimal, &pending);
        assert_eq!(serde_json::to_string(&minimal).unwrap(), r#"{"chargePointVendor":"Joule","chargePointModel":"J1"}"#);
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use RegistrationStatus as S;
        enum_matches_schema(&[S::Accepted, S::Pending, S::Rejected], "BootNotification", Direction::Response, "/properties/status");
    }
}
