//! Joule's OCPP 1.6J central system.
//!
//! Chargers connect over WebSocket to `/ocpp/{endpoint}` on the API's listener. `handshake`
//! checks the subprotocol and credentials; `connection` runs one task per charger that reads
//! frames, hands CALLs to `handlers` (one file per action, behind one dispatcher) and sends
//! CSMS-initiated calls from its queue one at a time; `registry` knows who is connected here
//! and is how the rest of Joule calls a charger; `presence` writes what connections say about
//! their chargestations (connected, booted, status, gone) in batches; `session_watch` is the session runner
//! (start timeouts, session intelligence, stops pursued, silent sessions ended, supervised).
//! Messages are parsed and validated against the official schemas by the pure `ocpp16`
//! crate; what they change is written by `store`.

mod auth;
pub mod calls;
mod connection;
mod fragments;
mod handlers;
mod handshake;
pub mod local_list;
pub mod nodes;
pub mod passwords;
pub mod presence;
mod registry;
pub mod session_watch;
mod v201;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::routing::any;
use domain::Id;
use serde_json::Value;
use store::Store;

pub use auth::AuthLimits;
pub use connection::{DEFAULT_CALL_TIMEOUT, Limits, SECURITY_CHANGED};
pub use handshake::SUBPROTOCOL;
pub use registry::{CallFailure, Registry};

#[derive(Clone, Debug)]
pub struct OcppConfig {
    /// The HeartbeatInterval given to accepted chargers, seconds.
    pub heartbeat_interval_s: u32,
    /// How long a charger has to answer a call.
    pub call_timeout: Duration,
    /// A ping goes out this often; a charger silent for this plus `ping_timeout` is dropped.
    pub ping_interval: Duration,
    pub ping_timeout: Duration,
    pub limits: Limits,
    /// Password checks and throttling of failed logins.
    pub auth: AuthLimits,
    /// A session the charger has not started after this is cancelled and its hold released.
    pub start_timeout: Duration,
    /// How often the session runner looks at running sessions (it also decides on every
    /// meter report).
    pub watch_interval: Duration,
    /// A running session is announced (`session.updated`) on its first reading, then at most
    /// this often while readings arrive.
    pub session_update_interval: Duration,
    /// A stop Joule decided is sent again at least this often until the charger reports the end.
    pub stop_retry_interval: Duration,
    /// A session the charger said nothing about for this long is ended by Joule.
    pub session_stale_after: Duration,
    /// Charger connections open at once on this node; one more is refused (503).
    pub max_chargers: usize,
    /// WebSocket handshakes (credentials being read and checked) in progress at once; one more
    /// waits for a turn, at most `handshake_wait`, and is then refused (503) before any
    /// database work.
    pub max_handshakes: usize,
    pub handshake_wait: Duration,
    /// This node's lease among the nodes sharing the database (`nodes`).
    pub node_lease: Duration,
}

impl Default for OcppConfig {
    fn default() -> Self {
        OcppConfig {
            heartbeat_interval_s: 300,
            call_timeout: DEFAULT_CALL_TIMEOUT,
            ping_interval: Duration::from_secs(30),
            ping_timeout: Duration::from_secs(30),
            limits: Limits::default(),
            auth: AuthLimits::default(),
            start_timeout: Duration::from_secs(120),
            watch_interval: Duration::from_secs(5),
            session_update_interval: Duration::from_secs(30),
            stop_retry_interval: Duration::from_secs(30),
            session_stale_after: Duration::from_secs(86_400),
            max_chargers: 19_500,
            max_handshakes: 256,
            handshake_wait: Duration::from_secs(5),
            node_lease: Duration::from_secs(15),
        }
    }
}

/// The central system: shared by the WebSocket endpoint and whoever sends commands.
#[derive(Clone)]
pub struct OcppServer {
    pub store: Store,
    pub registry: Arc<Registry>,
    pub config: Arc<OcppConfig>,
    gate: Arc<auth::Gate>,
    /// A permit per handshake in progress.
    handshakes: Arc<tokio::sync::Semaphore>,
    /// What the session runner remembers between rounds on this node.
    pub memory: Arc<session_watch::Memory>,
    /// Whether the session runner is running, for `/readyz`.
    pub runner: Arc<session_watch::RunnerHealth>,
    /// Writes the readings of live sessions, many connections' in one commit.
    pub writer: store::Writer,
    /// Records what connections say about their chargestations, many in one go.
    pub presence: presence::Recorder,
    /// Calls routed to other nodes, waiting for their answers.
    routes: Arc<nodes::Routes>,
    /// One sync of a charger's local list at a time on this node.
    local_lists: Arc<local_list::Turns>,
    /// Where connections run once upgraded, if not where their handshake ran (`on_runtime`).
    connections: Option<tokio::runtime::Handle>,
}

impl OcppServer {
    /// Needs a Tokio runtime: the readings' writer starts with it.
    pub fn new(store: Store, config: OcppConfig) -> OcppServer {
        OcppServer {
            writer: store::Writer::spawn(store.clone()),
            presence: presence::Recorder::spawn(store.clone()),
            store,
            registry: Arc::new(Registry::new(config.max_chargers)),
            handshakes: Arc::new(tokio::sync::Semaphore::new(config.max_handshakes.max(1))),
            gate: Arc::new(auth::Gate::new(config.auth)),
            config: Arc::new(config),
            memory: Arc::default(),
            runner: Arc::default(),
            routes: Arc::default(),
            local_lists: Arc::default(),
            connections: None,
        }
    }

    /// Runs the chargers' connections on another runtime than the HTTP server's. A task that
    /// becomes ready waits behind every task ready before it, and a fleet reconnecting at
    /// once keeps thousands ready: on one runtime, an API request waited that long at each of
    /// its steps (seconds at the p99 of a boot storm). On a runtime of their own the API's
    /// tasks wait only for the threads' turn on the CPU.
    pub fn on_runtime(mut self, connections: tokio::runtime::Handle) -> OcppServer {
        self.connections = Some(connections);
        self
    }

    /// `/ocpp/{endpoint}`, to merge into the application's router.
    pub fn router(&self) -> Router {
        Router::new().route("/ocpp/{endpoint}", any(handshake::upgrade)).with_state(self.clone())
    }

    /// Sends a CSMS-initiated call to a charger connected here or to another node, and waits
    /// for its answer.
    pub async fn call(&self, cs: Id, action: &str, payload: Value) -> Result<Value, CallFailure> {
        let timeout = self.config.call_timeout;
        let sending = async {
            if self.registry.is_connected(cs) { self.registry.call(cs, action, payload, timeout).await } else { self.route(cs, action, payload, timeout).await }
        };
        // The deadline covers waiting behind queued calls, and another node's answer, too.
        tokio::time::timeout(timeout, sending).await.unwrap_or(Err(CallFailure::Timeout))
    }
}

/// Counts the operator's loss on a session that just ended (what it cost beyond its
/// authorization), once its end is committed.
pub fn count_operator_loss(session: &domain::session::Session) {
    let Some(payment) = &session.payment else { return };
    if payment.uncollected_amount <= rust_decimal::Decimal::ZERO {
        return;
    }
    let currency = domain::Currency::parse(&payment.currency).unwrap_or(domain::Currency::USD);
    let minor = payment.uncollected_amount.checked_mul(rust_decimal::Decimal::from(10i64.pow(currency.exponent()))).and_then(|c| u64::try_from(c.trunc()).ok());
    metrics::counter!("joule_operator_loss_minor_units_total", "currency" => currency.lowercase()).increment(minor.unwrap_or(u64::MAX));
}
