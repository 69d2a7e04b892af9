//! The session runner: on a timer, cancels sessions the charger never started, ends sessions
//! their charger went silent about, lets session intelligence stop wallet sessions before their
//! cost passes what was authorized, and sends a stop Joule decided again until the charger
//! reports the end. The rules are `session::upkeep` and `session::intelligence`; this carries
//! them out. Everything that matters is read from the store, so after a restart running
//! sessions are watched again at once; `Memory` only spaces out re-sends and announcements.
//!
//! The runner is supervised: one session's failure (a panic, a bad number, a database error)
//! is logged and tried again next round without holding up the others, and a runner that stops
//! is restarted; `/readyz` answers 503 while it is not running.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use domain::session::EndedBy;
use domain::{Id, Timestamp};
use rust_decimal::Decimal;
use serde_json::Value;
use session::facts::SessionFacts;
use session::intelligence::{self, Decision};
use session::live::Live;
use session::upkeep::{self, Occasion};
use store::StoreError;

use crate::{CallFailure, OcppServer};

/// A runner that has not shown progress for this long (at least) is not running.
const MIN_SILENCE_BEFORE_UNREADY: Duration = Duration::from_secs(60);
/// Entries older than their interval mean the same as none; past this many, they are dropped.
const MEMORY_PRUNE_AT: usize = 1024;

/// What this node's runner remembers between rounds: when it last sent each pending stop and
/// when it last announced each running session. A restart forgets it, which costs one early
/// re-send or one extra `session.updated`, never a missed one.
#[derive(Default)]
pub struct Memory {
    stops_sent: Mutex<HashMap<Id, Timestamp>>,
    announced: Mutex<HashMap<Id, Timestamp>>,
    /// The running cost last told to each 2.0.1 session's charger (CostUpdated), and when.
    costs_told: Mutex<HashMap<Id, (Timestamp, Decimal)>>,
}

/// A charger is told a running session's cost at most this often (SPEC 14).
const COST_UPDATE_INTERVAL_S: u32 = 60;

fn remember(map: &Mutex<HashMap<Id, Timestamp>>, id: Id, at: Timestamp, keep: Duration) {
    let mut map = map.lock().unwrap_or_else(|e| e.into_inner());
    map.insert(id, at);
    if map.len() > MEMORY_PRUNE_AT {
        let keep_ms = millis(keep);
        map.retain(|_, t| at.millis().saturating_sub(t.millis()) < keep_ms);
    }
}

fn recall(map: &Mutex<HashMap<Id, Timestamp>>, id: Id) -> Option<Timestamp> {
    map.lock().unwrap_or_else(|e| e.into_inner()).get(&id).copied()
}

fn millis(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

fn seconds(d: Duration) -> u32 {
    u32::try_from(d.as_secs()).unwrap_or(u32::MAX)
}

impl Memory {
    /// Whether a reading of this session at `now` is announced with `session.updated`.
    pub fn update_due(&self, session: Id, now: Timestamp, interval: Duration) -> bool {
        upkeep::update_due(recall(&self.announced, session), now, seconds(interval))
    }

    /// Notes that the session was announced at `at`; `interval` as in `update_due`.
    pub fn announced(&self, session: Id, at: Timestamp, interval: Duration) {
        remember(&self.announced, session, at, interval);
    }

    /// Whether the session's running cost `amount` is to be told to its charger at `now`: when
    /// it changed since it was last told, at most once a minute. Noted as told if so.
    pub fn cost_update_due(&self, session: Id, amount: Decimal, now: Timestamp) -> bool {
        let mut told = self.costs_told.lock().unwrap_or_else(|e| e.into_inner());
        let due = match told.get(&session) {
            None => !amount.is_zero(),
            Some(&(at, last)) => last != amount && upkeep::update_due(Some(at), now, COST_UPDATE_INTERVAL_S),
        };
        if due {
            told.insert(session, (now, amount));
            if told.len() > MEMORY_PRUNE_AT {
                told.retain(|_, (at, _)| !upkeep::update_due(Some(*at), now, 10 * COST_UPDATE_INTERVAL_S));
            }
        }
        due
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Liveness {
    /// No runner was started on this server (an API-only server in tests): nothing to report.
    Unsupervised,
    Running(Instant),
    Stopped,
}

/// Whether the session runner runs: it beats at every round and after every session it looked
/// at; its supervisor marks it stopped when it ends.
#[derive(Debug)]
pub struct RunnerHealth {
    liveness: Mutex<Liveness>,
}

impl Default for RunnerHealth {
    fn default() -> Self {
        RunnerHealth { liveness: Mutex::new(Liveness::Unsupervised) }
    }
}

impl RunnerHealth {
    fn set(&self, liveness: Liveness) {
        *self.liveness.lock().unwrap_or_else(|e| e.into_inner()) = liveness;
    }

    fn beat(&self) {
        self.set(Liveness::Running(Instant::now()));
    }

    fn stopped(&self) {
        self.set(Liveness::Stopped);
    }

    /// False while the runner is stopped, or has shown no progress for `silence` (a round
    /// stuck on a database that does not answer).
    pub fn is_running(&self, silence: Duration) -> bool {
        match *self.liveness.lock().unwrap_or_else(|e| e.into_inner()) {
            Liveness::Unsupervised => true,
            Liveness::Running(beat) => beat.elapsed() < silence.max(MIN_SILENCE_BEFORE_UNREADY),
            Liveness::Stopped => false,
        }
    }
}

impl OcppServer {
    /// Whether the session runner is running, for `/readyz`.
    pub fn runner_is_running(&self) -> bool {
        self.runner.is_running(self.config.watch_interval.saturating_mul(6))
    }
}

/// Aborts a task when dropped, so a supervisor that is itself aborted takes its runner along.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Marks the runner stopped when its supervisor ends, however it ends.
struct StoppedOnDrop(std::sync::Arc<RunnerHealth>);

impl Drop for StoppedOnDrop {
    fn drop(&mut self) {
        self.0.stopped();
    }
}

/// Runs the session runner (`tick` every `watch_interval`) under a supervisor until `stop`
/// turns true (or its sender is dropped); the round in progress is finished first.
pub fn spawn(server: OcppServer, stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let health = server.runner.clone();
    let restart_after = server.config.watch_interval;
    let stopped = stop.clone();
    supervise(health, restart_after, stopped, move || run(server.clone(), stop.clone()))
}

/// Runs `runner` again `restart_after` each time it ends (a panic included), with `health`
/// stopped in between, until `stop` turns true.
pub fn supervise<F, R>(
    health: std::sync::Arc<RunnerHealth>,
    restart_after: Duration,
    stop: tokio::sync::watch::Receiver<bool>,
    runner: F,
) -> tokio::task::JoinHandle<()>
where
    F: Fn() -> R + Send + 'static,
    R: std::future::Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let _stopped = StoppedOnDrop(health.clone());
        loop {
            health.beat();
            let mut task = AbortOnDrop(tokio::spawn(runner()));
            let ended = (&mut task.0).await;
            health.stopped();
            if *stop.borrow() || stop.has_changed().is_err() {
                return;
            }
            match ended {
                Err(e) if e.is_panic() => tracing::error!("the session runner panicked; restarting it"),
                _ => tracing::error!("the session runner stopped; restarting it"),
            }
            tokio::time::sleep(restart_after).await;
        }
    })
}

/// Rounds until `stop` turns true; a round in progress is finished first.
async fn run(server: OcppServer, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut timer = tokio::time::interval(server.config.watch_interval);
    timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = timer.tick() => {}
            _ = stop.wait_for(|&stopped| stopped) => return,
        }
        server.runner.beat();
        if let Err(e) = tick(&server).await {
            tracing::error!(error = %e, "the session runner failed a round");
        }
    }
}

/// One round over the sessions no node's connection looks after: those never started, and the
/// running ones of chargers no node holds. Each node's round claims the sessions it looks at
/// until its next round (`Store::claim_unheld_sessions`), so that no two nodes look after one
/// session at once. A session that fails is logged and looked at again next round; only failing
/// to claim the sessions fails the round.
pub async fn tick(server: &OcppServer) -> Result<(), StoreError> {
    let store = &server.store;
    let now = store.now();
    let until = Timestamp::from_millis(now.millis().saturating_add(millis(server.config.watch_interval)));
    // A session never started is cancelled after the start timeout, or once stale if that is shorter.
    let patience = server.config.start_timeout.min(server.config.session_stale_after);
    let before = Timestamp::from_millis(now.millis().saturating_sub(millis(patience)));
    for (org, id) in store.claim_unstarted_sessions(before, until).await? {
        if let Err(e) = store.cancel_session(org, id, false).await {
            tracing::error!(error = %e, session = %id, "could not cancel a session its charger never started; trying again next round");
        }
        server.runner.beat();
    }
    for (org, id, cs) in store.claim_unheld_sessions(until).await? {
        // Its connection here looks after it (the charger's holder is being written).
        if server.registry.is_connected(cs) {
            continue;
        }
        if let Err(failure) = watch_alone(server, org, id).await {
            tracing::error!(session = %id, %failure, "could not look after a session; trying again next round");
        }
        server.runner.beat();
    }
    Ok(())
}

/// Looks after one session in a task of its own, so that its panic stays its own.
async fn watch_alone(server: &OcppServer, org: Id, id: Id) -> Result<(), String> {
    let server = server.clone();
    match tokio::spawn(async move { look_after(&server, org, id).await }).await {
        Ok(done) => done.map_err(|e| e.to_string()),
        Err(e) if e.is_panic() => Err("it panicked".into()),
        Err(_) => Err("it was cancelled".into()),
    }
}

async fn look_after(server: &OcppServer, org: Id, id: Id) -> Result<(), StoreError> {
    let (_, Some(facts)) = server.store.session_with_facts(org, id).await? else { return Ok(()) };
    if !end_if_stale(server, &facts).await? {
        check(server, &facts, Occasion::Timer).await?;
    }
    Ok(())
}

/// Ends a session its charger has said nothing about for too long; answers whether it did.
async fn end_if_stale(server: &OcppServer, facts: &SessionFacts) -> Result<bool, StoreError> {
    let store = &server.store;
    if !upkeep::is_stale(facts.last_heard, store.now(), seconds(server.config.session_stale_after)) {
        return Ok(false);
    }
    let id = facts.session.id;
    tracing::info!(session = %id, last_heard = %facts.last_heard, "ending a session its charger has said nothing about for too long");
    crate::count_operator_loss(&store.end_without_charger(facts.organization, id, EndedBy::Joule).await?);
    Ok(true)
}

/// Looks after a session kept live by its charger's connection when its time comes: read
/// again if something else changed it, ended if its charger went silent about it, otherwise
/// decided on as in [`check`]. Answers when to look again, or `None` once it no longer runs.
pub async fn look_after_live(server: &OcppServer, live: &mut Live) -> Result<Option<Duration>, StoreError> {
    let store = &server.store;
    let (org, session) = (live.facts().organization, &live.facts().session);
    if store.session_changed_since(session.id, session.updated_at).await? {
        let (cs, transaction) = (session.chargestation, session.transaction_id.unwrap_or_default());
        match store.running_session_facts(org, cs, transaction).await? {
            Some(facts) => *live = Live::new(facts),
            None => return Ok(None),
        }
    }
    if end_if_stale(server, live.facts()).await? {
        return Ok(None);
    }
    check_live(server, live, Occasion::Timer).await.map(Some)
}

/// Decides on one running session as of now: a stop Joule asked for goes out again when due;
/// otherwise session intelligence may stop a session started through the API, which is
/// recorded once (`session.stop_requested`) and sent. Answers when to decide again at the
/// latest (sooner if a reading arrives).
pub async fn check(server: &OcppServer, facts: &SessionFacts, occasion: Occasion) -> Result<Duration, StoreError> {
    check_with(server, facts, occasion, &|now| intelligence::decide_on(facts, now)).await
}

/// [`check`] for a session kept live by its charger's connection.
pub async fn check_live(server: &OcppServer, live: &Live, occasion: Occasion) -> Result<Duration, StoreError> {
    check_with(server, live.facts(), occasion, &|now| live.decide(now)).await
}

async fn check_with(
    server: &OcppServer,
    facts: &SessionFacts,
    occasion: Occasion,
    decide: &(dyn Fn(Timestamp) -> Decision + Sync),
) -> Result<Duration, StoreError> {
    let store = &server.store;
    let (org, session) = (facts.organization, &facts.session);
    let (retry, watch) = (server.config.stop_retry_interval, server.config.watch_interval);
    let Some(transaction_id) = session.transaction_id else { return Ok(watch) };
    if let Some(asked) = &session.stop_requested {
        let now = store.now();
        if upkeep::stop_due(asked.at, recall(&server.memory.stops_sent, session.id), now, seconds(retry), occasion) {
            send_stop(server, session.id, session.chargestation, transaction_id, true);
        }
        return Ok(retry);
    }
    // A card's session without payment has neither an authorization nor a target to keep.
    if session.token.is_some() && session.payment.is_none() {
        return Ok(watch);
    }
    match decision(facts, || decide(store.now())) {
        Decision::Continue { recheck_in_s } => Ok(Duration::from_secs(u64::from(recheck_in_s)).min(watch)),
        Decision::Stop(reason) => {
            if store.request_stop(org, session.id, reason.as_str()).await? {
                tracing::info!(session = %session.id, reason = reason.as_str(), "stopping a session");
                send_stop(server, session.id, session.chargestation, transaction_id, false);
            }
            Ok(retry)
        }
    }
}

/// Sends the stops Joule asked for on a chargestation that just connected.
pub async fn on_connect(server: OcppServer, org: Id, cs: Id) {
    match server.store.stops_pending(org, cs).await {
        Ok(pending) => {
            for (session, transaction_id) in pending {
                send_stop(&server, session, cs, transaction_id, true);
            }
        }
        Err(e) => tracing::error!(error = %e, %cs, "could not read the stops pending on a chargestation; the runner will send them"),
    }
}

/// Asks the charger to stop a session now and waits for its answer (the stop API); the stop
/// is pursued whatever it answers.
pub async fn stop_now(server: &OcppServer, session: Id, cs: Id, transaction_id: i64) -> Result<Value, CallFailure> {
    remember(&server.memory.stops_sent, session, server.store.now(), server.config.stop_retry_interval);
    crate::calls::stop(server, cs, transaction_id).await
}

fn send_stop(server: &OcppServer, session: Id, cs: Id, transaction_id: i64, again: bool) {
    if again {
        metrics::counter!("joule_stop_resends_total").increment(1);
    }
    let server = server.clone();
    tokio::spawn(async move {
        match stop_now(&server, session, cs, transaction_id).await {
            Ok(answer) if answer["status"] == "Accepted" => {}
            Ok(answer) => tracing::warn!(%cs, %session, answer = %answer["status"], "the charger did not take the stop; it will be sent again"),
            Err(e) => tracing::warn!(error = %e, %cs, %session, "the charger did not take the stop; it will be sent again"),
        }
    });
}

/// Session intelligence's decision; one that fails (a panic on some number) is logged and
/// taken again next time, and stops nothing meanwhile.
fn decision(f: &SessionFacts, decide: impl FnOnce() -> Decision) -> Decision {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(decide)).unwrap_or_else(|_| {
        tracing::error!(session = %f.session.id, "session intelligence failed on a session; deciding again next time");
        Decision::Continue { recheck_in_s: 5 }
    })
}
