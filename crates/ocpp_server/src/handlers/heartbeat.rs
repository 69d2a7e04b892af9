//! Heartbeat: the charger is alive and wants the time.

use ocpp16::messages::{HeartbeatRequest, HeartbeatResponse};

use super::{Failure, Link, now_for_charger};

pub async fn handle(link: &mut Link, _: HeartbeatRequest) -> Result<HeartbeatResponse, Failure> {
    Ok(HeartbeatResponse { current_time: now_for_charger(link) })
}
