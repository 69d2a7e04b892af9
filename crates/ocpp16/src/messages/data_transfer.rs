//! DataTransfer: vendor-specific data, in either direction with the same types.

use serde::{Deserialize, Serialize};

use super::action;

action! {
    /// Charger → CSMS and CSMS → charger.
    DataTransfer: DataTransferRequest => DataTransferResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataTransferRequest {
    pub vendor_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
    /// Free text; its meaning is agreed between the vendor and the receiver.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DataTransferResponse {
    pub status: DataTransferStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum DataTransferStatus {
    Accepted,
    Rejected,
    UnknownMessageId,
    UnknownVendorId,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{enum_matches_schema, round_trip};
    use crate::validate::Direction;

    #[test]
    fn typical_messages_match_the_schemas() {
        let request = DataTransferRequest { vendor_id: "com.example".into(), message_id: Some("Display".into()), data: Some(r#"{"line1":"Welcome"}"#.into()) };
        let response = DataTransferResponse { status: DataTransferStatus::Accepted, data: Some("ok".into()) };
        round_trip::<DataTransfer>(&request, &response);
        let bare = DataTransferRequest { vendor_id: "com.example".into(), message_id: None, data: None };
        round_trip::<DataTransfer>(&bare, &DataTransferResponse { status: DataTransferStatus::UnknownVendorId, data: None });
    }

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use DataTransferStatus as S;
        let statuses = [S::Accepted, S::Rejected, S::UnknownMessageId, S::UnknownVendorId];
        enum_matches_schema(&statuses, "DataTransfer", Direction::Response, "/properties/status");
    }
}
