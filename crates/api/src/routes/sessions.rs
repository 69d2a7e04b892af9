//! Sessions: start them, read them, pause, resume and stop a running one, end one without its
//! charger.

use axum::extract::{RawQuery, State};
use domain::rate::ComponentType;
use domain::session::{EndedBy, Session, SessionInput, SessionStatus, StartSession};
use ocpp_server::calls;
use ocpp_server::{CallFailure, session_watch};
use serde_json::{Value, json};
use session::facts::SessionFacts;
use session::pricing;

use crate::AppState;
use crate::auth::Org;
use crate::envelope::{Envelope, ok};
use crate::error::{ApiError, ApiResult};
use crate::extract::{IdPath, JsonBody, ListQuery};
use crate::openapi::{BadRequest, Conflict, NotFound, TooLarge, Unauthorized, Unavailable};

/// Starts a session on a connector: with `type: "wallet"`, paid from the user's wallet, whose
/// available balance is held until the session ends. Joule then asks the charger to start
/// (RemoteStartTransaction with the session's idTag; RequestStartTransaction with it as a
/// `Central` idToken for a 2.0.1 charger); if the charger refuses, the session is
/// cancelled and the hold released.
#[utoipa::path(post, path = "/v1.1/sessions", operation_id = "start_session", tag = "sessions",
    request_body = StartSession,
    responses((status = 200, description = "OK", body = Envelope<Session>), BadRequest, Unauthorized, NotFound,
        (status = 405, description = "No wallet, too low a balance, no rate, or another currency"), Conflict, TooLarge, Unavailable))]
pub async fn start(State(s): State<AppState>, Org(org): Org, JsonBody(input): JsonBody<SessionInput>) -> ApiResult {
    let session = s.store.start_session(org, &input.parse()?).await?;
    let (ocpp, store, started) = (s.ocpp.clone(), s.store.clone(), session.clone());
    tokio::spawn(async move {
        let accepted = matches!(calls::start(&ocpp, &started).await, Ok(answer) if answer["status"] == "Accepted");
        if !accepted && let Err(e) = store.cancel_session(org, started.id, true).await {
            tracing::error!(error = %e, session = %started.id, "could not cancel a session the charger did not start");
        }
    });
    ok(session)
}

/// Lists sessions, newest first; filter by `status`, `user`, `chargestation`.
#[utoipa::path(get, path = "/v1.1/sessions", operation_id = "list_sessions", tag = "sessions",
    params(ListQuery),
    responses((status = 200, description = "OK", body = Envelope<Vec<Session>>), BadRequest, Unauthorized, Unavailable))]
pub async fn list(State(s): State<AppState>, Org(org): Org, q: ListQuery) -> ApiResult {
    let q = q.text_filter("status", "status").id_filter("user", "user_id")?.id_filter("chargestation", "chargestation_id")?;
    ok(s.store.sessions(org, q.page, &q.filters).await?)
}

/// Reads a session.
#[utoipa::path(get, path = "/v1.1/sessions/{id}", operation_id = "get_session", tag = "sessions",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Session>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn get_one(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    let (session, facts) = s.store.session_with_facts(org, id).await?;
    ok(view(session, facts.as_ref()))
}

/// A point of a session's curve.
#[derive(serde::Serialize, utoipa::ToSchema)]
pub struct CurvePoint {
    /// The end of the stretch of activity this point closes.
    pub timestamp: domain::Timestamp,
    /// Energy delivered so far, Wh.
    #[schema(value_type = f64)]
    pub energy: rust_decimal::Decimal,
    /// Power over the stretch ending here, W.
    #[schema(value_type = f64)]
    pub power: rust_decimal::Decimal,
    /// The cost so far, as the session is priced (absent without a rate).
    #[schema(value_type = Option<f64>)]
    pub cost: Option<rust_decimal::Decimal>,
}

/// A session's energy, power and cost over time (for a chart): at most `points` points spread
/// over its activity so far, each cost priced as the session is. Empty before the charger
/// started.
#[utoipa::path(get, path = "/v1.1/sessions/{id}/curve", operation_id = "session_curve", tag = "sessions",
    params(IdPath, ("points" = Option<u32>, Query, minimum = 1, maximum = 500, description = "At most this many points; 60 when absent.")),
    responses((status = 200, description = "OK", body = Envelope<Vec<CurvePoint>>), BadRequest, Unauthorized, NotFound, Unavailable))]
pub async fn curve(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath, RawQuery(query): RawQuery) -> ApiResult {
    let points = match query.as_deref().unwrap_or_default().split('&').find_map(|p| p.strip_prefix("points=")) {
        None => 60,
        Some(raw) => raw
            .parse::<usize>()
            .ok()
            .filter(|p| (1..=500).contains(p))
            .ok_or_else(|| ApiError::bad_request("Invalid `points`: must be an integer from 1 to 500"))?,
    };
    let (_, facts) = s.store.session_with_facts(org, id).await?;
    let curve = facts.map(|f| pricing::curve(&f, points)).unwrap_or_default();
    ok(curve.into_iter().map(|p| CurvePoint { timestamp: p.at, energy: p.energy_wh, power: p.power_w, cost: p.cost }).collect::<Vec<_>>())
}

/// A session as `GET /v1.1/sessions/{id}` shows it: with its `metrics`, `energy_report` (the
/// meter readings), `charging_activity` (what it is priced on) and, while it runs, its `cost`
/// so far, priced by the same engine as its final cost.
fn view(session: Session, facts: Option<&SessionFacts>) -> Value {
    let Some(facts) = facts else { return serde_json::to_value(session).unwrap_or_default() };
    let activity = pricing::activity(facts);
    let mut shown = serde_json::to_value(&session).unwrap_or_default();
    if session.status.is_running() {
        let cost = pricing::cost(facts, &activity).ok().flatten();
        shown["cost"] = cost.and_then(|c| serde_json::to_value(c).ok()).unwrap_or_default();
    }
    shown["metrics"] = serde_json::to_value(pricing::metrics(facts, &activity)).unwrap_or_default();
    shown["energy_report"] = facts.readings.iter().map(|(at, wh)| json!({ "timestamp": at, "energy": wh })).collect();
    shown["charging_activity"] = activity
        .periods()
        .iter()
        .map(|p| json!({ "startTime": p.start, "endTime": p.end, "status": p.status.as_str(), "paused": p.paused, "energy": p.energy_wh }))
        .collect();
    shown
}

/// Asks the charger to stop a running session (RemoteStopTransaction). The stop is recorded
/// (`stop_requested`, event `session.stop_requested` once) and pursued until the charger
/// reports the end: sent again when the charger reconnects, on its reports about the session
/// and at least every `stop_retry_interval`. So the answer is 200 with the session whatever
/// the charger said now (Accepted, Rejected, no answer, offline); the session ends when the
/// charger reports it, or through `POST /v1.1/sessions/{id}/end`.
#[utoipa::path(method(get, post), path = "/v1.1/sessions/{id}/stop", operation_id = "stop_session", tag = "sessions",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Session>), BadRequest, Unauthorized, NotFound,
        (status = 405, description = "The session's rate has a PARKING_TIME component"), Conflict, Unavailable))]
pub async fn stop(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    let session = s.store.session(org, id).await?;
    if let Some(rate) = session.rate
        && s.store.rate(org, rate).await?.has_component(ComponentType::ParkingTime)
    {
        return Err(ApiError::refused("Session cannot be stopped via API when the rate has a PARKING_TIME component"));
    }
    let (true, Some(transaction_id)) = (session.status.is_running(), session.transaction_id) else {
        return Err(ApiError::conflict(format!("Session is {}, not running", session.status.as_str())));
    };
    s.store.request_stop(org, id, "api").await?;
    match session_watch::stop_now(&s.ocpp, id, session.chargestation, transaction_id).await {
        Ok(answer) if answer["status"] == "Accepted" => {}
        Ok(answer) => tracing::info!(session = %id, answer = %answer["status"], "the chargestation refused the stop; it is sent again until the session ends"),
        Err(e) => tracing::info!(error = %e, session = %id, "the chargestation did not take the stop; it is sent again until the session ends"),
    }
    ok(s.store.session(org, id).await?)
}

/// Ends a session in Joule without its charger, for a charger that is gone and will not
/// report (soft end). A `started` or `paused` session ends from the readings stored so far and
/// is settled as a StopTransaction would settle it (`ended_by: "operator"`); a `created` one is
/// cancelled and its hold released, as in the start timeout. The connector is free at once. A
/// StopTransaction that comes later is recorded on the transaction and answered, and charges
/// nothing.
#[utoipa::path(post, path = "/v1.1/sessions/{id}/end", operation_id = "end_session", tag = "sessions",
    params(IdPath),
    responses((status = 200, description = "OK", body = Envelope<Session>), BadRequest, Unauthorized, NotFound,
        (status = 409, description = "The session is already ended or cancelled"), Unavailable))]
pub async fn end(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    let ended = s.store.end_without_charger(org, id, EndedBy::Operator).await?;
    ocpp_server::count_operator_loss(&ended);
    ok(ended)
}

/// Pauses or resumes a session at the charger, then records it. The charger's refusal is a 409
/// with its answer, and nothing changes.
async fn pause_or_resume(s: &AppState, org: domain::Id, id: domain::Id, pause: bool) -> ApiResult {
    let session = s.store.session(org, id).await?;
    let expected = if pause { SessionStatus::Started } else { SessionStatus::Paused };
    let (true, Some(transaction_id)) = (session.status == expected, session.transaction_id) else {
        return Err(ApiError::conflict(format!("Session is {}, not {}", session.status.as_str(), expected.as_str())));
    };
    let action = if pause { "SetChargingProfile" } else { "ClearChargingProfile" };
    let ocpp_id = s.store.ocpp_transaction_id(session.chargestation, transaction_id).await?;
    match calls::pause_or_resume(&s.ocpp, &session, transaction_id, ocpp_id, pause).await {
        Ok((_, answer)) if answer["status"] == "Accepted" => ok(s.store.pause_or_resume(org, id, pause).await?),
        // The charger has no such profile (it lost it, in a reboot say): nothing holds the
        // charging back any more, so the session is resumed.
        Ok((_, answer)) if !pause && answer["status"] == "Unknown" => ok(s.store.pause_or_resume(org, id, pause).await?),
        Ok((action, answer)) => {
            Err(ApiError::conflict(format!("The chargestation answered {action} with {}", answer["status"].as_str().unwrap_or("something else"))))
        }
        Err(CallFailure::Offline) => Err(ApiError::conflict("Chargestation is offline")),
        Err(e) => Err(ApiError::conflict(format!("The chargestation did not accept {action}: {e}"))),
    }
}

/// Pauses a started session: a TxProfile with limit 0 for its transaction. Paused time is
/// billed as PARKING_TIME when the rate has it.
#[utoipa::path(method(get, post), path = "/v1.1/sessions/{id}/pause", operation_id = "pause_session", tag = "sessions",
    params(IdPath), responses((status = 200, description = "OK", body = Envelope<Session>), BadRequest, Unauthorized, NotFound, Conflict, Unavailable))]
pub async fn pause(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    pause_or_resume(&s, org, id, true).await
}

/// Resumes a paused session: the pause profile is cleared.
#[utoipa::path(method(get, post), path = "/v1.1/sessions/{id}/resume", operation_id = "resume_session", tag = "sessions",
    params(IdPath), responses((status = 200, description = "OK", body = Envelope<Session>), BadRequest, Unauthorized, NotFound, Conflict, Unavailable))]
pub async fn resume(State(s): State<AppState>, Org(org): Org, IdPath(id): IdPath) -> ApiResult {
    pause_or_resume(&s, org, id, false).await
}
