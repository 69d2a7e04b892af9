//! RequestStartTransaction and RequestStopTransaction: the CSMS asks a charging station to
//! start a transaction for an idToken, or to stop one.

use serde::{Deserialize, Serialize};

use super::{IdToken, StatusInfo, action};

action! {
    /// CSMS → charging station.
    RequestStartTransaction: RequestStartTransactionRequest => RequestStartTransactionResponse
}

action! {
    /// CSMS → charging station.
    RequestStopTransaction: RequestStopTransactionRequest => RequestStopTransactionResponse
}

/// A charging profile may come with the request; Joule sends none.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStartTransactionRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evse_id: Option<i64>,
    pub id_token: IdToken,
    /// Carried by the TransactionEvent that the start makes, so the CSMS can tell which it is.
    pub remote_start_id: i64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStartTransactionResponse {
    pub status: RequestStartStopStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
    /// Set when a transaction was already running (the driver plugged in first).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<String>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStopTransactionRequest {
    pub transaction_id: String,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RequestStopTransactionResponse {
    pub status: RequestStartStopStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_info: Option<StatusInfo>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RequestStartStopStatus {
    Accepted,
    Rejected,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::round_trip;
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let start: RequestStartTransactionRequest =
            round_trip("RequestStartTransaction", Request, json!({"evseId": 1, "idToken": {"idToken": "JOULE-1", "type": "Central"}, "remoteStartId": 17}));
        assert_eq!(start.remote_start_id, 17);
        let started: RequestStartTransactionResponse = round_trip("RequestStartTransaction", Response, json!({"status": "Accepted", "transactionId": "t-1"}));
        assert_eq!(started.status, RequestStartStopStatus::Accepted);
        let _: RequestStopTransactionRequest = round_trip("RequestStopTransaction", Request, json!({"transactionId": "t-1"}));
        let refused: RequestStopTransactionResponse =
            round_trip("RequestStopTransaction", Response, json!({"status": "Rejected", "statusInfo": {"reasonCode": "UnknownTransaction"}}));
        assert_eq!(refused.status, RequestStartStopStatus::Rejected);
    }
}
