//! Operators' commands to chargers, and what chargers reported.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::local_list::SyncAnswer;
use domain::transaction::Transaction;
use ocpp_server::CallFailure;
use ocpp_server::local_list::{self, SyncFailure};
use ocpp16::Direction;
use serde_json::{Map, Value, json};

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
///
/// The document shows this operation once per action, with the action's official OCPP 1.6
/// schemas as its body and its answer's `result` (see [`document_each_command`]).
#[utoipa::path(post, path = COMMAND_PATH, operation_id = "send_command", tag = "chargestations",
    params(IdPath, ("action" = String, Path, description = "An OCPP 1.6 CSMS-initiated action, e.g. Reset")),
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
    ok(s.ocpp.call(id, &action, payload).await.map_err(call_failure)?)
}

/// What a caller is told when a charger was not reached or did not answer.
fn call_failure(failure: CallFailure) -> ApiError {
    match failure {
        CallFailure::Offline => ApiError::conflict("Chargestation is offline"),
        CallFailure::Busy => ApiError::conflict("The chargestation has too many commands waiting; try again"),
        CallFailure::Timeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "The chargestation did not answer in time"),
        CallFailure::Refused { code, description } => {
            ApiError::new(StatusCode::BAD_GATEWAY, format!("The chargestation answered {}: {description}", code.as_str()))
        }
    }
}

/// Sends the organization's tokens to the charger's local authorization list (SendLocalList),
/// so that its cards work while it cannot reach Joule: the whole list the first time, then only
/// what changed since the list the charger accepted (the whole list again if it refuses the
/// changes). Answers the charger's status and the list's version, which rises with every sync
/// whose list differs from the last one sent; the chargestation shows it as `localList`.
#[utoipa::path(post, path = "/v1.1/chargestations/{id}/local_list/sync", operation_id = "sync_local_list", tag = "chargestations",
    params(IdPath),
    responses((status = 200, description = "The charger's answer and the list's version", body = Envelope<SyncAnswer>), BadRequest, Unauthorized, NotFound, Conflict, Unavailable,
        (status = 502, description = "The charger answered with a CALLERROR or an invalid reply"), (status = 504, description = "The charger did not answer in time")))]
pub async fn sync_local_list(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    s.store.chargestation(org, id).await?;
    match local_list::sync(&s.ocpp, org, id).await {
        Ok(synced) => ok(SyncAnswer { status: synced.status.into(), list_version: synced.version }),
        Err(SyncFailure::Store(e)) => Err(e.into()),
        Err(SyncFailure::Call(failure)) => Err(call_failure(failure)),
        Err(e @ SyncFailure::Answer(_)) => Err(ApiError::new(StatusCode::BAD_GATEWAY, e.to_string())),
    }
}

const COMMAND_PATH: &str = "/v1.1/chargestations/{id}/commands/{action}";

/// Replaces the `{action}` path of the document with one path per command, whose body is the
/// action's OCPP 1.6 request schema and whose `result` is its response schema: a client built
/// from the document sends only payloads the server forwards.
pub fn document_each_command(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else { return };
    let Some(template) = paths.remove(COMMAND_PATH) else { return };
    let ocpp_schema = |action: &str, direction: Direction| {
        let mut schema = ocpp16::schema(action, direction).unwrap_or_else(|| json!({ "type": "object" }));
        if let Some(fields) = schema.as_object_mut() {
            fields.remove("$schema");
        }
        schema
    };
    for action in COMMANDS {
        let mut item = template.clone();
        let operation = &mut item["post"];
        operation["operationId"] = json!(format!("send_{action}"));
        operation["summary"] = json!(format!("Sends {action} to a connected charger and answers the charger's reply payload as it is."));
        if let Some(parameters) = operation["parameters"].as_array_mut() {
            parameters.retain(|p| p["name"] != "action");
        }
        operation["requestBody"]["content"]["application/json"]["schema"] = ocpp_schema(action, Direction::Request);
        operation["responses"]["200"]["content"]["application/json"]["schema"] = json!({
            "type": "object",
            "required": ["ok", "message", "result"],
            "properties": { "ok": { "type": "boolean" }, "message": { "type": "string" }, "result": ocpp_schema(action, Direction::Response) }
        });
        paths.insert(COMMAND_PATH.replace("{action}", action), item);
    }
}

/// Lists what the charger reported with StartTransaction and StopTransaction, newest first.
#[utoipa::path(get, path = "/v1.1/chargestations/{id}/transactions", operation_id = "list_transactions", tag = "chargestations",
    params(IdPath, ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Transaction>>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn transactions(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, q: ListQuery) -> ApiResult {
    ok(s.store.transactions(org, id, q.page).await?)
}
