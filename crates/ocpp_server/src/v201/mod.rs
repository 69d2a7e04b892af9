//! OCPP 2.0.1, as chargers connecting with subprotocol `ocpp2.0.1` speak it (SPEC 14): the
//! charger's messages answered with the same store use cases as 1.6's, their differences
//! ending here. Joule's connector N of a 2.0.1 chargestation is EVSE N.

use domain::chargestation::Registration;
use domain::connector::ConnectorStatus as Status;
use domain::token::Authorization;
use ocpp201::messages::{
    AuthorizationStatus, AuthorizeRequest, AuthorizeResponse, BootNotificationRequest, BootNotificationResponse, ConnectorStatus, HeartbeatResponse,
    IdTokenInfo, RegistrationStatus, StatusNotificationRequest, StatusNotificationResponse,
};
use ocpp201::{Direction, ErrorCode};
use serde_json::{Value, json};

use crate::connection::Dialect;
use crate::handlers::{Link, admit, answer, now_for_charger, request, timestamp};

mod transactions;

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
    let (org, cs) = (link.login.organization, link.login.chargestation);
    match action {
        "BootNotification" => answer(boot(link, request(payload)?).await),
        "Heartbeat" => answer(Ok(HeartbeatResponse { current_time: now_for_charger(link) })),
        "StatusNotification" => answer(status(link, request(payload)?).await),
        "Authorize" => answer(authorize(link, request(payload)?).await),
        "TransactionEvent" => answer(transactions::handle(link, request(payload)?).await),
        // Kept as events (`GET /v1.1/events`, webhooks), as the charger sent them.
        "NotifyEvent" | "SecurityEventNotification" | "NotifyReport" => {
            let what = match action {
                "NotifyEvent" => "notify_event",
                "SecurityEventNotification" => "security_event",
                _ => "report",
            };
            link.server.store.record_report(org, cs, what, &payload).await?;
            Ok(json!({}))
        }
        // Reports Joule has no use for yet: logged and acknowledged.
        "FirmwareStatusNotification"
        | "LogStatusNotification"
        | "PublishFirmwareStatusNotification"
        | "NotifyChargingLimit"
        | "ClearedChargingLimit"
        | "ReportChargingProfiles"
        | "NotifyMonitoringReport"
        | "NotifyDisplayMessages"
        | "NotifyCustomerInformation"
        | "ReservationStatusUpdate"
        | "MeterValues" => {
            tracing::info!(%payload, "a report Joule does not use");
            Ok(json!({}))
        }
        "DataTransfer" => Ok(json!({ "status": "UnknownVendorId" })),
        // Joule offers no ISO 15118 charging schedules and no certificate authority.
        "NotifyEVChargingNeeds" => Ok(json!({ "status": "Rejected" })),
        "NotifyEVChargingSchedule" => Ok(json!({ "status": "Accepted" })),
        "SignCertificate" => Ok(json!({ "status": "Rejected" })),
        "Get15118EVCertificate" => Ok(json!({ "status": "Failed", "exiResponse": "" })),
        "GetCertificateStatus" => Ok(json!({ "status": "Failed" })),
        other => Err(Failure::new(ErrorCode::NotSupported, format!("`{other}` is sent by a CSMS, not to one"))),
    }
}

/// The idToken's status from the token registry, with the wallet's checks for a card of a
/// user with a wallet (SPEC 5), as for 1.6's Authorize.
async fn authorize(link: &mut Link, request: AuthorizeRequest) -> Result<AuthorizeResponse, Failure> {
    let authorization = link.server.store.authorize(link.login.organization, link.login.chargestation, &request.id_token.id_token).await?;
    Ok(AuthorizeResponse { id_token_info: id_token_info(authorization) })
}

pub(crate) fn id_token_info(authorization: Authorization) -> IdTokenInfo {
    let status = match authorization {
        Authorization::Accepted => AuthorizationStatus::Accepted,
        Authorization::Blocked => AuthorizationStatus::Blocked,
        Authorization::Expired => AuthorizationStatus::Expired,
        Authorization::Invalid => AuthorizationStatus::Invalid,
    };
    IdTokenInfo { status, cache_expiry_date_time: None }
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

/// A connector's status is its EVSE's: Joule's connector N is EVSE N, and EVSE 0 the
/// chargestation itself, as 1.6's connector 0. 2.0.1 says only whether a car is there
/// (`Occupied`, shown as `Preparing` until its transaction says it charges).
async fn status(link: &mut Link, request: StatusNotificationRequest) -> Result<StatusNotificationResponse, Failure> {
    let connector_id = u32::try_from(request.evse_id).map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "evseId must not be negative"))?;
    let status = match request.connector_status {
        ConnectorStatus::Available => Status::Available,
        ConnectorStatus::Occupied => Status::Preparing,
        ConnectorStatus::Reserved => Status::Reserved,
        ConnectorStatus::Unavailable => Status::Unavailable,
        ConnectorStatus::Faulted => Status::Faulted,
    };
    link.record_status(connector_id, status, timestamp(&request.timestamp)).await?;
    Ok(StatusNotificationResponse {})
}
