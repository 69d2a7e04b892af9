//! Operators' commands to chargers, and what chargers reported.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::transaction::Transaction;
use ocpp_server::CallFailure;
use ocpp16::Direction;
use serde_json::{Map, Value};

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery, parse_id};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};

/// The OCPP 1.6 actions a central system may send.
pub const COMMANDS: [&str; 19] = [
    "Reset",
    "UnlockConnector",
    "ChangeAvailability",
    "GetConfiguration",
    "ChangeConfiguration",
    "ClearCache",
    "TriggerMessage",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "GetLocalListVersion",
    "SendLocalList",
    "ReserveNow",
    "CancelReservation",
    "UpdateFirmware",
    "GetDiagnostics",
    "DataTransfer",
];

/// Sends an OCPP 1.6 action to a connected charger with the payload given, validated against
/// the action's schema, and answers the charger's reply payload as it is.
#[utoipa::path(post, path = "/v1.1/chargestations/{id}/commands/{action}", operation_id = "send_command", tag = "chargestations",
    params(("id" = String, Path, description = "The chargestation"), ("action" = String, Path, description = "An OCPP 1.6 CSMS-initiated action, e.g. Reset")),
    request_body = Object,
    responses((status = 200, description = "The charger's reply payload", body = Envelope<Object>), BadRequest, Unauthorized, NotFound, Conflict, TooLarge, Unavailable,
        (status = 502, description = "The charger answered with a CALLERROR"), (status = 504, description = "The charger did not answer in time")))]
pub async fn send(
    State(s): State<AppState>,
    Org(org): Org,
    Path((id, action)): Path<(String, String)>,
    JsonBody(payload): JsonBody<Map<String, Value>>,
) -> ApiResult {
    let id = parse_id("id", &id)?;
    if !COMMANDS.contains(&action.as_str()) {
        return Err(ApiError::bad_request(format!("Invalid `action`: `{action}` is not an OCPP 1.6 command; one of {}", COMMANDS.join(", "))));
    }
    let payload = Value::Object(payload);
    ocpp16::validate(&action, Direction::Request, &payload).map_err(|v| ApiError::bad_request(format!("Invalid {action} payload: {}", v.description)))?;
    s.store.chargestation(org, id).await?;
    match s.ocpp.call(id, &action, payload).await {
        Ok(answer) => ok(answer),
        Err(CallFailure::Offline) => Err(ApiError::conflict("Chargestation is offline")),
        Err(CallFailure::Busy) => Err(ApiError::conflict("The chargestation has too many commands waiting; try again")),
        Err(CallFailure::Timeout) => Err(ApiError::new(StatusCode::GATEWAY_TIMEOUT, "The chargestation did not answer in time")),
        Err(CallFailure::Refused { code, description }) => {
            Err(ApiError::new(StatusCode::BAD_GATEWAY, format!("The chargestation answered {}: {description}", code.as_str())))
        }
    }
}

/// Lists what the charger reported with StartTransaction and StopTransaction, newest first.
#[utoipa::path(get, path = "/v1.1/chargestations/{id}/transactions", operation_id = "list_transactions", tag = "chargestations",
    params(IdPath, ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Transaction>>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn transactions(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, q: ListQuery) -> ApiResult {
    ok(s.store.transactions(org, id, q.page).await?)
}
