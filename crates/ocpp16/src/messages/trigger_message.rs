//! TriggerMessage: the CSMS asks the charger to send one of its messages now.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    TriggerMessage: TriggerMessageRequest => TriggerMessageResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerMessageRequest {
    pub requested_message: MessageTrigger,
    /// For connector-specific messages; absent means all connectors.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<i64>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TriggerMessageResponse {
    pub status: TriggerMessageStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum MessageTrigger {
    BootNotification,
    DiagnosticsStatusNotification,
    FirmwareStatusNotification,
    Heartbeat,
    MeterValues,
    StatusNotification,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum TriggerMessageStatus {
    Accepted,
    Rejected,
    NotImplemented,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = TriggerMessageRequest { requested_message: MessageTrigger::StatusNotification, connector_id: Some(1) };
        round_trip::<TriggerMessage>(&request, &TriggerMessageResponse { status: TriggerMessageStatus::Accepted });
        let boot = TriggerMessageRequest { requested_message: MessageTrigger::BootNotification, connector_id: None };
        round_trip::<TriggerMessage>(&boot, &TriggerMessageResponse { status: TriggerMessageStatus::NotImplemented });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use MessageTrigger as M;
        use TriggerMessageStatus as S;
        let triggers =
            [M::BootNotification, M::DiagnosticsStatusNotification, M::FirmwareStatusNotification, M::Heartbeat, M::MeterValues, M::StatusNotification];
        enum_matches_schema(&triggers, "TriggerMessage", Direction::Request, "/properties/requestedMessage");
        enum_matches_schema(&[S::Accepted, S::Rejected, S::NotImplemented], "TriggerMessage", Direction::Response, "/properties/status");
    }
}
