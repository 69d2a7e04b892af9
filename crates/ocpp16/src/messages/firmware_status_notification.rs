//! FirmwareStatusNotification: the charger reports how a firmware update asked for by
//! UpdateFirmware is going.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// Charger → CSMS.
    FirmwareStatusNotification: FirmwareStatusNotificationRequest => FirmwareStatusNotificationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct FirmwareStatusNotificationRequest {
    pub status: FirmwareStatus,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FirmwareStatusNotificationResponse {}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum FirmwareStatus {
    Downloaded,
    DownloadFailed,
    Downloading,
    Idle,
    InstallationFailed,
    Installing,
    Installed,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = FirmwareStatusNotificationRequest { status: FirmwareStatus::Installing };
        round_trip::<FirmwareStatusNotification>(&request, &FirmwareStatusNotificationResponse {});
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use FirmwareStatus as S;
        let statuses = [S::Downloaded, S::DownloadFailed, S::Downloading, S::Idle, S::InstallationFailed, S::Installing, S::Installed];
        enum_matches_schema(&statuses, "FirmwareStatusNotification", Direction::Request, "/properties/status");
    }
}
