//! UnlockConnector: the CSMS releases the cable lock of a connector (ending any transaction
//! on it).

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    UnlockConnector: UnlockConnectorRequest => UnlockConnectorResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlockConnectorRequest {
    pub connector_id: i64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct UnlockConnectorResponse {
    pub status: UnlockStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum UnlockStatus {
    Unlocked,
    UnlockFailed,
    NotSupported,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let response = UnlockConnectorResponse { status: UnlockStatus::Unlocked };
        round_trip::<UnlockConnector>(&UnlockConnectorRequest { connector_id: 1 }, &response);
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use UnlockStatus as S;
        enum_matches_schema(&[S::Unlocked, S::UnlockFailed, S::NotSupported], "UnlockConnector", Direction::Response, "/properties/status");
    }
}
