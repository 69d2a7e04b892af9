//! The session runner: on a timer, cancels sessions the charger never started and lets session
//! intelligence stop wallet sessions before their cost passes what was authorized. It keeps no
//! state of its own (everything is read from the store), so after a restart running sessions
//! are watched again at once.

use std::time::Duration;

use chrono_tz::Tz;
use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;
use serde_json::json;
use session::activity::of_session;
use session::intelligence::{Decision, Targets, Watch, decide};
use store::{StoreError, Watched};
use tariff::Outlook;

use crate::OcppServer;

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
    for watched in store.sessions_to_watch().await? {
        if let Decision::Stop(reason) = decision(&watched, now, server.config.stop_horizon) {
            let (org, session) = (watched.organization, &watched.session);
            if store.request_stop(org, session.id, reason.as_str()).await? {
                tracing::info!(session = %session.id, reason = reason.as_str(), "stopping a session");
                let (server, cs) = (server.clone(), session.chargestation);
                let request = json!({ "transactionId": watched.transaction.transaction_id });
                tokio::spawn(async move {
                    if let Err(e) = server.call(cs, "RemoteStopTransaction", request).await {
                        tracing::warn!(error = %e, %cs, "the charger did not take the stop");
                    }
                });
            }
        }
    }
    Ok(())
}

fn targets(target: Option<&domain::session::Target>) -> Targets {
    Targets {
        energy_wh: target.and_then(|t| t.energy).map(|kwh| kwh * Decimal::ONE_THOUSAND),
        duration_s: target.and_then(|t| t.time).map(|minutes| minutes.saturating_mul(60)),
        cost: target.and_then(|t| t.cost),
    }
}

fn decision(w: &Watched, now: Timestamp, horizon: Duration) -> Decision {
    let Some(rate) = &w.rate else { return Decision::Continue { recheck_in_s: 60 } };
    let t = &w.transaction;
    let pauses: Vec<_> = w.session.pauses.iter().map(|p| (p.start, p.end)).collect();
    let activity = of_session(t.started_at, Decimal::from(t.meter_start), &w.readings, None, &pauses);
    let power_w = match w.readings.as_slice() {
        [.., (t0, e0), (t1, e1)] if t1 > t0 => (*e1 - *e0) * Decimal::from(3_600_000) / Decimal::from(t1.millis() - t0.millis()),
        _ => Decimal::from(UNKNOWN_POWER_W),
    };
    let paused = w.session.status == domain::session::SessionStatus::Paused;
    let outlook = Outlook {
        status: if paused { ConnectorStatus::SuspendedEVSE } else { ConnectorStatus::Charging },
        paused,
        power_w: if paused { Decimal::ZERO } else { power_w },
    };
    let tz: Tz = w.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::UTC);
    decide(&Watch {
        rate,
        tz,
        activity: &activity,
        started_at: t.started_at,
        now,
        outlook,
        authorized: w.session.payment.as_ref().map(|p| p.authorized_amount),
        horizon_s: u32::try_from(horizon.as_secs()).unwrap_or(u32::MAX),
        targets: targets(w.session.target.as_ref()),
        recheck_s: 5,
    })
}
