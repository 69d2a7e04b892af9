//! SendLocalList: the CSMS replaces (`Full`) or amends (`Differential`) the charging station's
//! local authorization list.

use serde::{Deserialize, Serialize};

use super::{IdToken, IdTokenInfo, StatusInfo, action};

action! {
    /// CSMS → charging station.
    SendLocalList: SendLocalListRequest => SendLocalListResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendLocalListRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_authorization_list: Option<Vec<AuthorizationData>>,
    pub version_number: i64,
    pub update_type: UpdateType,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizationData {
    pub id_token: IdToken,
    /// Absent in a `Differential` update removes the idToken from the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_token_info: Option<IdTokenInfo>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum UpdateType {
    Differential,
    Full,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SendLocalListResponse {
    pub status: SendLocalListStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum SendLocalListStatus {
    Accepted,
    Failed,
    VersionMismatch,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::round_trip;
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request: SendLocalListRequest = round_trip(
            "SendLocalList",
            Request,
            json!({"versionNumber": 2, "updateType": "Differential", "localAuthorizationList": [
                {"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}, "idTokenInfo": {"status": "Blocked", "cacheExpiryDateTime": "2027-01-01T00:00:00Z"}},
                {"idToken": {"idToken": "APP-1", "type": "Central"}}]}),
        );
        assert_eq!((request.version_number, request.update_type), (2, UpdateType::Differential));
        let answer: SendLocalListResponse = round_trip("SendLocalList", Response, json!({"status": "VersionMismatch"}));
        assert_eq!(answer.status, SendLocalListStatus::VersionMismatch);
    }
}
