//! The session runner: on a timer, cancels sessions the charger never started and lets session
//! intelligence stop wallet sessions before their cost passes what was authorized. It keeps no
//! state of its own (everything is read from the store), so after a restart running sessions
//! are watched again at once.

use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;
use serde_json::json;
use session::activity::reported_use;
use session::intelligence::{Decision, Targets, Watch, decide, horizon_s};
use store::{SessionFacts, StoreError};
use tariff::Outlook;

use crate::{OcppServer, pricing};

/// The power assumed until two meter readings tell the real one: high, so that a session is
/// never let run past its authorization for lack of data.
const UNKNOWN_POWER_W: i64 = 22_000;

/// Runs `tick` every `watch_interval` until the process ends.
pub fn spawn(server: OcppServer) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut timer = tokio::time::interval(server.config.watch_interval);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            timer.tick().await;
            if let Err(e) = tick(&server).await {
                tracing::error!(error = %e, "the session runner failed a round");
            }
        }
    })
}

/// One round over all sessions.
pub async fn tick(server: &OcppServer) -> Result<(), StoreError> {
    let store = &server.store;
    let now = store.now();
    let timeout_ms = i64::try_from(server.config.start_timeout.as_millis()).unwrap_or(i64::MAX);
    for (org, id) in store.unstarted_sessions(Timestamp::from_millis(now.millis() - timeout_ms)).await? {
        store.cancel_session(org, id, false).await?;
    }
    for facts in store.sessions_to_watch().await? {
        check(server, &facts).await?;
    }
    Ok(())
}

/// Decides on one running session as of now, and asks its charger to stop it (once) when
/// session intelligence says so.
pub async fn check(server: &OcppServer, facts: &SessionFacts) -> Result<(), StoreError> {
    let store = &server.store;
    let Decision::Stop(reason) = decision(facts, store.now()) else { return Ok(()) };
    let (org, session) = (facts.organization, &facts.session);
    if store.request_stop(org, session.id, reason.as_str()).await? {
        tracing::info!(session = %session.id, reason = reason.as_str(), "stopping a session");
        let (server, cs) = (server.clone(), session.chargestation);
        let request = json!({ "transactionId": facts.transaction.transaction_id });
        tokio::spawn(async move {
            if let Err(e) = server.call(cs, "RemoteStopTransaction", request).await {
                tracing::warn!(error = %e, %cs, "the charger did not take the stop");
            }
        });
    }
    Ok(())
}

fn targets(target: Option<&domain::session::Target>) -> Targets {
    Targets {
        energy_wh: target.and_then(|t| t.energy).and_then(|kwh| kwh.checked_mul(Decimal::ONE_THOUSAND)),
        duration_s: target.and_then(|t| t.time).map(|minutes| minutes.saturating_mul(60)),
        cost: target.and_then(|t| t.cost),
    }
}

fn decision(f: &SessionFacts, now: Timestamp) -> Decision {
    let Some(rate) = &f.rate else { return Decision::Continue { recheck_in_s: 60 } };
    if f.session.stop_requested.is_some() || !f.session.status.is_running() {
        return Decision::Continue { recheck_in_s: 60 };
    }
    let activity = pricing::activity(f);
    let power_w = match f.readings.as_slice() {
        [.., (t0, e0), (t1, e1)] if t1 > t0 => e1
            .checked_sub(*e0)
            .and_then(|wh| wh.checked_mul(Decimal::from(3_600_000)))
            .and_then(|x| x.checked_div(Decimal::from(t1.millis().saturating_sub(t0.millis()))))
            .unwrap_or(Decimal::from(UNKNOWN_POWER_W)),
        _ => Decimal::from(UNKNOWN_POWER_W),
    };
    let paused = f.session.status == domain::session::SessionStatus::Paused;
    // As in the activity: the charger's last status where it tells, else the energy flow (a
    // car plugged in that takes no energy is parked). Energy is projected in any status.
    let reported = f.statuses.last().and_then(|(_, s)| reported_use(*s));
    let status = match (paused, reported, power_w > Decimal::ZERO) {
        (true, _, _) => ConnectorStatus::SuspendedEVSE,
        (false, Some(status), _) => status,
        (false, None, true) => ConnectorStatus::Charging,
        (false, None, false) => ConnectorStatus::SuspendedEV,
    };
    let outlook = Outlook { status, paused, power_w: if paused { Decimal::ZERO } else { power_w } };
    let report_times: Vec<Timestamp> = f.readings.iter().map(|(at, _)| *at).collect();
    decide(&Watch {
        rate,
        tz: pricing::timezone(f),
        activity: &activity,
        started_at: f.transaction.started_at,
        now,
        outlook,
        authorized: f.session.payment.as_ref().map(|p| p.authorized_amount),
        horizon_s: horizon_s(&report_times, f.stop_latency_s),
        targets: targets(f.session.target.as_ref()),
        recheck_s: 5,
    })
}
