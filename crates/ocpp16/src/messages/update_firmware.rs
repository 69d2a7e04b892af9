//! UpdateFirmware: the CSMS asks the charger to download firmware from `location` from
//! `retrieve_date` on and install it; progress comes back as FirmwareStatusNotification.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// CSMS → charger.
    UpdateFirmware: UpdateFirmwareRequest => UpdateFirmwareResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UpdateFirmwareRequest {
    /// A URI (the schema checks its form).
    pub location: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    pub retrieve_date: Timestamp,
    /// Seconds between retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_interval: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateFirmwareResponse {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{round_trip, ts};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = UpdateFirmwareRequest {
            location: "https://firmware.example.com/j1/6.2.0.bin".into(),
            retries: Some(3),
            retrieve_date: ts("2024-05-02T02:00:00+02:00"),
            retry_interval: Some(300),
        };
        round_trip::<UpdateFirmware>(&request, &UpdateFirmwareResponse {});
    }
}
