//! BootNotification: the charger says what it is; Joule answers its registration.

use domain::chargestation::Registration;
use ocpp16::messages::{BootNotificationRequest, BootNotificationResponse, RegistrationStatus};

use super::{Failure, Link, now_for_charger};

/// A charger that is not accepted asks again after this many seconds.
const RETRY_INTERVAL_S: i64 = 60;

pub async fn handle(link: &mut Link, request: BootNotificationRequest) -> Result<BootNotificationResponse, Failure> {
    let registration = super::boot(link, serde_json::to_value(&request).unwrap_or_default()).await?;
    let (status, interval) = match registration {
        Registration::Accepted => (RegistrationStatus::Accepted, i64::from(link.server.config.heartbeat_interval_s)),
        Registration::Pending => (RegistrationStatus::Pending, RETRY_INTERVAL_S),
        Registration::Rejected => (RegistrationStatus::Rejected, RETRY_INTERVAL_S),
    };
    Ok(BootNotificationResponse { status, current_time: now_for_charger(link), interval })
}
