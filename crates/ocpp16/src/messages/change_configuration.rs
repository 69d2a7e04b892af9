//! ChangeConfiguration: the CSMS sets one configuration key of the charger.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    ChangeConfiguration: ChangeConfigurationRequest => ChangeConfigurationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeConfigurationRequest {
    pub key: String,
    pub value: String,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChangeConfigurationResponse {
    pub status: ConfigurationStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ConfigurationStatus {
    Accepted,
    Rejected,
    RebootRequired,
    NotSupported,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = ChangeConfigurationRequest { key: "MeterValueSampleInterval".into(), value: "60".into() };
        round_trip::<ChangeConfiguration>(&request, &ChangeConfigurationResponse { status: ConfigurationStatus::RebootRequired });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use ConfigurationStatus as S;
        let statuses = [S::Accepted, S::Rejected, S::RebootRequired, S::NotSupported];
        enum_matches_schema(&statuses, "ChangeConfiguration", Direction::Response, "/properties/status");
    }
}
