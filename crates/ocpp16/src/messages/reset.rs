//! Reset: the CSMS restarts the charger, gracefully (soft) or at once (hard).

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    Reset: ResetRequest => ResetResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetRequest {
    #[serde(rename = "type")]
    pub kind: ResetType,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResetResponse {
    pub status: ResetStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ResetType {
    Hard,
    Soft,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ResetStatus {
    Accepted,
    Rejected,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        round_trip::<Reset>(&ResetRequest { kind: ResetType::Soft }, &ResetResponse { status: ResetStatus::Accepted });
        assert_eq!(serde_json::to_string(&ResetRequest { kind: ResetType::Hard }).unwrap(), r#"{"type":"Hard"}"#);
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        enum_matches_schema(&[ResetType::Hard, ResetType::Soft], "Reset", Direction::Request, "/properties/type");
        enum_matches_schema(&[ResetStatus::Accepted, ResetStatus::Rejected], "Reset", Direction::Response, "/properties/status");
    }
}
