//! Operators' commands to chargers, and what chargers reported.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use domain::chargestation::PROTOCOL_OCPP201;
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

/// The OCPP 2.0.1 actions a CSMS may send through the commands endpoint (SPEC 14).
pub const COMMANDS_201: [&str; 17] = [
    "Reset",
    "ChangeAvailability",
    "UnlockConnector",
    "TriggerMessage",
    "GetVariables",
    "SetVariables",
    "GetBaseReport",
    "ClearCache",
    "GetLocalListVersion",
    "SendLocalList",
    "RequestStartTransaction",
    "RequestStopTransaction",
    "SetChargingProfile",
    "ClearChargingProfile",
    "GetCompositeSchedule",
    "GetTransactionStatus",
    "DataTransfer",
];

/// Sends an OCPP action to a connected charger with the payload given, validated against the
/// action's schema in the chargestation's OCPP version, and answers the charger's reply payload
/// as it is. An action of the other version is a 400 that never reaches the charger.
///
/// The document shows this operation once per action, with the action's official OCPP 1.6
/// schemas as its body and its answer's `result` (see [`document_each_command`]).
#[utoipa::path(post, path = COMMAND_PATH, operation_id = "send_command", tag = "chargestations",
    params(IdPath, ("action" = String, Path, description = "A CSMS-initiated action of the chargestation's OCPP version, e.g. Reset")),
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
    let action = action.as_str();
    if !COMMANDS.contains(&action) && !COMMANDS_201.contains(&action) {
        return Err(ApiError::bad_request(format!("Invalid `action`: `{action}` is not an OCPP command; one of {}", COMMANDS.join(", "))));
    }
    let payload = Value::Object(payload);
    let cs = s.store.chargestation(org, id).await?;
    let invalid = |description: String| ApiError::bad_request(format!("Invalid {action} payload: {description}"));
    if cs.protocol == PROTOCOL_OCPP201 {
        if !COMMANDS_201.contains(&action) {
            return Err(ApiError::bad_request(format!("Invalid `action`: `{action}` is not an OCPP 2.0.1 command; one of {}", COMMANDS_201.join(", "))));
        }
        ocpp201::validate(action, ocpp201::Direction::Request, &payload).map_err(|v| invalid(v.description))?;
    } else {
        if !COMMANDS.contains(&action) {
            return Err(ApiError::bad_request(format!("Invalid `action`: `{action}` is not an OCPP 1.6 command; one of {}", COMMANDS.join(", "))));
        }
        ocpp16::validate(action, Direction::Request, &payload).map_err(|v| invalid(v.description))?;
    }
    ok(s.ocpp.call(id, action, payload).await.map_err(call_failure)?)
}

/// What a caller is told when a charger was not reached or did not answer.
fn call_failure(failure: CallFailure) -> ApiError {
    match failure {
        CallFailure::Offline => ApiError::conflict("Chargestation is offline"),
        CallFailure::Busy => ApiError::conflict("The chargestation has too many commands waiting; try again"),
        CallFailure::Timeout => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "The chargestation did not answer in time"),
        CallFailure::Refused { code, description } => ApiError::new(StatusCode::BAD_GATEWAY, format!("The chargestation answered {code}: {description}")),
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
/// action's official request schema and whose `result` is its response schema, in OCPP 1.6,
/// 2.0.1 or either (`anyOf`) for an action both have: a client built from the document sends
/// only payloads the server forwards.
pub fn document_each_command(document: &mut Value) {
    let Some(paths) = document["paths"].as_object_mut() else { return };
    let Some(template) = paths.remove(COMMAND_PATH) else { return };
    let ocpp_schema = |action: &str, direction: Direction| {
        let v16 = COMMANDS.contains(&action).then(|| ocpp16::schema(action, direction)).flatten().map(ocppj::validate::standalone);
        let v201 = COMMANDS_201.contains(&action).then(|| ocpp201::schema(action, direction)).flatten().map(ocppj::validate::standalone);
        match (v16, v201) {
            (Some(a), Some(b)) => json!({ "anyOf": [a, b] }),
            (Some(one), None) | (None, Some(one)) => one,
            (None, None) => json!({ "type": "object" }),
        }
    };
    let mut actions: Vec<&str> = COMMANDS.iter().chain(COMMANDS_201.iter().filter(|a| !COMMANDS.contains(a))).copied().collect();
    actions.sort_unstable();
    for action in actions {
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
    ok(s.store.transactions(org, id, q.page).await?.iter().map(Transaction::shown).collect::<Vec<_>>())
}
