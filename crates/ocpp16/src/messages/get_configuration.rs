//! GetConfiguration: the CSMS reads the charger's configuration keys (all of them when `key`
//! is absent).

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    GetConfiguration: GetConfigurationRequest => GetConfigurationResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetConfigurationRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<Vec<String>>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetConfigurationResponse {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub configuration_key: Option<Vec<KeyValue>>,
    /// Requested keys the charger does not know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unknown_key: Option<Vec<String>>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct KeyValue {
    pub key: String,
    pub readonly: bool,
    /// Absent when the key is known but has no value set.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::round_trip;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = GetConfigurationRequest { key: Some(vec!["HeartbeatInterval".into(), "Vendor.Secret".into()]) };
        let response = GetConfigurationResponse {
            configuration_key: Some(vec![
                KeyValue { key: "HeartbeatInterval".into(), readonly: false, value: Some("300".into()) },
                KeyValue { key: "AuthorizationKey".into(), readonly: false, value: None },
            ]),
            unknown_key: Some(vec!["Vendor.Secret".into()]),
        };
        round_trip::<GetConfiguration>(&request, &response);
        let empty = GetConfigurationResponse { configuration_key: Some(vec![]), unknown_key: None };
        round_trip::<GetConfiguration>(&GetConfigurationRequest::default(), &empty);
    }
}
