//! DiagnosticsStatusNotification: the charger reports how an upload asked for by
//! GetDiagnostics is going.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// Charger → CSMS.
    DiagnosticsStatusNotification: DiagnosticsStatusNotificationRequest => DiagnosticsStatusNotificationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DiagnosticsStatusNotificationRequest {
    pub status: DiagnosticsStatus,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DiagnosticsStatusNotificationResponse {}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum DiagnosticsStatus {
    Idle,
    Uploaded,
    UploadFailed,
    Uploading,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = DiagnosticsStatusNotificationRequest { status: DiagnosticsStatus::Uploaded };
        round_trip::<DiagnosticsStatusNotification>(&request, &DiagnosticsStatusNotificationResponse {});
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use DiagnosticsStatus as S;
        let statuses = [S::Idle, S::Uploaded, S::UploadFailed, S::Uploading];
        enum_matches_schema(&statuses, "DiagnosticsStatusNotification", Direction::Request, "/properties/status");
    }
}
