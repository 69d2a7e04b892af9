//! GetLocalListVersion: the CSMS asks which version of the local authorization list the
//! charger holds.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// CSMS → charger.
    GetLocalListVersion: GetLocalListVersionRequest => GetLocalListVersionResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GetLocalListVersionRequest {}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetLocalListVersionResponse {
    /// 0 for an empty list, -1 when local lists are not supported.
    pub list_version: i64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::round_trip;

    #[test]
    fn typical_messages_match_the_schemas() {
        round_trip::<GetLocalListVersion>(&GetLocalListVersionRequest {}, &GetLocalListVersionResponse { list_version: 12 });
        round_trip::<GetLocalListVersion>(&GetLocalListVersionRequest {}, &GetLocalListVersionResponse { list_version: -1 });
    }
}
