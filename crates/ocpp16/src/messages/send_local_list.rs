//! SendLocalList: the CSMS replaces (`Full`) or amends (`Differential`) the charger's local
//! authorization list.

use serde::{Deserialize, Serialize};

use super::{IdTagInfo, action};

action! {
    /// CSMS → charger.
    SendLocalList: SendLocalListRequest => SendLocalListResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendLocalListRequest {
    pub list_version: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub local_authorization_list: Option<Vec<AuthorizationData>>,
    pub update_type: UpdateType,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuthorizationData {
    pub id_tag: String,
    /// Absent in a `Differential` update removes the tag from the list.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id_tag_info: Option<IdTagInfo>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendLocalListResponse {
    pub status: UpdateStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum UpdateType {
    Differential,
    Full,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum UpdateStatus {
    Accepted,
    Failed,
    NotSupported,
    VersionMismatch,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::AuthorizationStatus;
    use crate::messages::testing::{enum_matches_schema, round_trip, ts};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = SendLocalListRequest {
            list_version: 13,
            local_authorization_list: Some(vec![
                AuthorizationData {
                    id_tag: "04E91C5A123456".into(),
                    id_tag_info: Some(IdTagInfo {
                        expiry_date: Some(ts("2025-01-01T00:00:00Z")),
                        parent_id_tag: Some("FLEET-7".into()),
                        status: AuthorizationStatus::Accepted,
                    }),
                },
                AuthorizationData { id_tag: "OLD-TAG".into(), id_tag_info: None },
            ]),
            update_type: UpdateType::Differential,
        };
        round_trip::<SendLocalList>(&request, &SendLocalListResponse { status: UpdateStatus::Accepted });
        let clear = SendLocalListRequest { list_version: 14, local_authorization_list: None, update_type: UpdateType::Full };
        round_trip::<SendLocalList>(&clear, &SendLocalListResponse { status: UpdateStatus::VersionMismatch });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use UpdateStatus as S;
        let statuses = [S::Accepted, S::Failed, S::NotSupported, S::VersionMismatch];
        enum_matches_schema(&statuses, "SendLocalList", Direction::Response, "/properties/status");
        enum_matches_schema(&[UpdateType::Differential, UpdateType::Full], "SendLocalList", Direction::Request, "/properties/updateType");
    }
}
