//! OCPP 2.0.1, as chargers connecting with subprotocol `ocpp2.0.1` speak it (SPEC 14): the
//! charger's messages answered with the same store use cases as 1.6's, their differences
//! ending here. Joule's connector N of a 2.0.1 chargestation is EVSE N.

use domain::chargestation::Registration;
use domain::connector::ConnectorStatus as Status;
use ocpp201::messages::{
    BootNotificationRequest, BootNotificationResponse, ConnectorStatus, HeartbeatResponse, RegistrationStatus, StatusNotificationRequest,
    StatusNotificationResponse,
};
use ocpp201::{Direction, ErrorCode};
use serde_json::Value;
use store::Presence;

use crate::connection::Dialect;
use crate::handlers::{Link, admit, answer, now_for_charger, request, timestamp};

type Failure = crate::handlers::Failure<ErrorCode>;

/// A charger that is not accepted boots again after this many seconds (SPEC 14: short, so a
/// Pending charger accepted through the API comes in soon).
const RETRY_INTERVAL_S: i64 = 10;

/// OCPP 2.0.1, as chargers connecting with subprotocol `ocpp2.0.1` speak it.
pub struct Ocpp201;

impl Dialect for Ocpp201 {
    type Code = ErrorCode;

    fn dispatch(link: &mut Link, action: &str, payload: Value) -> impl Future<Output = Result<Value, Failure>> + Send {
        dispatch(link, action, payload)
    }

    fn check_answer(action: &str, payload: &Value) -> Result<(), ocpp201::Violation> {
        ocpp201::validate(action, Direction::Response, payload)
    }
}

async fn dispatch(link: &mut Link, action: &str, payload: Value) -> Result<Value, Failure> {
    admit(link, ocpp201::schema_set(), "2.0.1", action, &payload)?;
    match action {
        "BootNotification" => answer(boot(link, request(payload)?).await),
        "Heartbeat" => answer(Ok(HeartbeatResponse { current_time: now_for_charger(link) })),
        "StatusNotification" => answer(status(link, request(payload)?).await),
        other => Err(Failure::new(ErrorCode::NotSupported, format!("`{other}` is not handled by Joule yet"))),
    }
}

async fn boot(link: &mut Link, request: BootNotificationRequest) -> Result<BootNotificationResponse, Failure> {
    let registration = crate::handlers::boot(link, serde_json::to_value(&request).unwrap_or_default()).await?;
    let (status, interval) = match registration {
        Registration::Accepted => (RegistrationStatus::Accepted, i64::from(link.server.config.heartbeat_interval_s)),
        Registration::Pending => (RegistrationStatus::Pending, RETRY_INTERVAL_S),
        Registration::Rejected => (RegistrationStatus::Rejected, RETRY_INTERVAL_S),
    };
    Ok(BootNotificationResponse { current_time: now_for_charger(link), interval, status, status_info: None })
}

/// A connector's status is its EVSE's: Joule's connector N is EVSE N. 2.0.1 says only whether
/// a car is there (`Occupied`, shown as `Preparing` until its transaction says it charges).
async fn status(link: &mut Link, request: StatusNotificationRequest) -> Result<StatusNotificationResponse, Failure> {
    let connector_id = u32::try_from(request.evse_id)
        .ok()
        .filter(|&evse| evse > 0)
        .ok_or_else(|| Failure::new(ErrorCode::PropertyConstraintViolation, "evseId must be 1 or more"))?;
    let status = match request.connector_status {
        ConnectorStatus::Available => Status::Available,
        ConnectorStatus::Occupied => Status::Preparing,
        ConnectorStatus::Reserved => Status::Reserved,
        ConnectorStatus::Unavailable => Status::Unavailable,
        ConnectorStatus::Faulted => Status::Faulted,
    };
    let at = timestamp(&request.timestamp);
    link.server.presence.record(link.login.organization, link.login.chargestation, Presence::Status { connector_id, status, at }).await?;
    Ok(StatusNotificationResponse {})
}
