//! Heartbeat: the charger tells it is alive and learns the CSMS's time.

use serde::{Deserialize, Serialize};

use super::{Timestamp, action};

action! {
    /// Charger → CSMS.
    Heartbeat: HeartbeatRequest => HeartbeatResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatRequest {}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct HeartbeatResponse {
    pub current_time: Timestamp,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{round_trip, ts};

    #[test]
    fn typical_messages_match_the_schemas() {
        round_trip::<Heartbeat>(&HeartbeatRequest {}, &HeartbeatResponse { current_time: ts("2024-05-01T10:00:00Z") });
        assert_eq!(serde_json::to_string(&HeartbeatRequest {}).unwrap(), "{}");
    }
}
