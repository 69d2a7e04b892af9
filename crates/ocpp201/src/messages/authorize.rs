//! Authorize: may this idToken charge here?

use serde::{Deserialize, Serialize};

use super::{IdToken, IdTokenInfo, action};

action! {
    /// Charging station → CSMS.
    Authorize: AuthorizeRequest => AuthorizeResponse
}

/// The ISO 15118 certificate fields are validated, not kept: Joule authorizes idTokens.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeRequest {
    pub id_token: IdToken,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuthorizeResponse {
    pub id_token_info: IdTokenInfo,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::round_trip;
    use crate::messages::{AuthorizationStatus, IdTokenKind};
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request: AuthorizeRequest = round_trip("Authorize", Request, json!({"idToken": {"idToken": "04A2B3C4", "type": "ISO14443"}}));
        assert_eq!(request.id_token.kind, IdTokenKind::Iso14443);
        let emaid: AuthorizeRequest = round_trip(
            "Authorize",
            Request,
            json!({"idToken": {"idToken": "NL-TNM-012204-5", "type": "eMAID", "additionalInfo": [{"additionalIdToken": "x", "type": "y"}]}}),
        );
        assert_eq!(emaid.id_token.kind, IdTokenKind::EMaid);
        let response: AuthorizeResponse = round_trip("Authorize", Response, json!({"idTokenInfo": {"status": "NotAtThisTime"}}));
        assert_eq!(response.id_token_info.status, AuthorizationStatus::NotAtThisTime);
    }
}
