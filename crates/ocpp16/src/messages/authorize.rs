//! Authorize: the charger asks whether an id tag may charge.

use serde::{Deserialize, Serialize};

use super::{IdTagInfo, action};

action! {
    /// Charger → CSMS.
    Authorize: AuthorizeRequest => AuthorizeResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeRequest {
    pub id_tag: String,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizeResponse {
    pub id_tag_info: IdTagInfo,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::AuthorizationStatus;
    use crate::messages::testing::{round_trip, ts};

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = AuthorizeRequest { id_tag: "04E91C5A123456".into() };
        let info =
            IdTagInfo { expiry_date: Some(ts("2024-06-01T00:00:00+02:00")), parent_id_tag: Some("FLEET-7".into()), status: AuthorizationStatus::Accepted };
        round_trip::<Authorize>(&request, &AuthorizeResponse { id_tag_info: info });
        let blocked = IdTagInfo { expiry_date: None, parent_id_tag: None, status: AuthorizationStatus::Blocked };
        round_trip::<Authorize>(&request, &AuthorizeResponse { id_tag_info: blocked });
    }
}
