//! Heartbeat: the charging station is still there, and asks the time.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// Charging station → CSMS.
    Heartbeat: HeartbeatRequest => HeartbeatResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
pub struct HeartbeatRequest {}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HeartbeatResponse {
    pub current_time: Timestamp,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::testing::round_trip;
    use crate::validate::Direction::{Request, Response};

    #[test]
    fn typical_messages_match_the_schemas() {
        let _: HeartbeatRequest = round_trip("Heartbeat", Request, json!({}));
        let _: HeartbeatResponse = round_trip("Heartbeat", Response, json!({"currentTime": "2026-12-07T10:00:00.123Z"}));
    }
}
