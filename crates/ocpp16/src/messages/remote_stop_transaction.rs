//! RemoteStopTransaction: the CSMS asks the charger to stop a transaction.

use serde::{Deserialize, Serialize};

use super::{RemoteStartStopStatus, action};

action! {
    /// CSMS → charger.
    RemoteStopTransaction: RemoteStopTransactionRequest => RemoteStopTransactionResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteStopTransactionRequest {
    pub transaction_id: i64,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RemoteStopTransactionResponse {
    pub status: RemoteStartStopStatus,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::round_trip;

    #[test]
    fn typical_messages_match_the_schemas() {
        let response = RemoteStopTransactionResponse { status: RemoteStartStopStatus::Accepted };
        round_trip::<RemoteStopTransaction>(&RemoteStopTransactionRequest { transaction_id: 170_123 }, &response);
    }
}
