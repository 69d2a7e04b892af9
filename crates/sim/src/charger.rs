//! The driver of one virtual charger: a task that owns its WebSocket, feeds the pure
//! [`Station`] with frames, timers and what the [`Charger`] handle asks, and sends what the
//! station queues, one CALL at a time. The station lives in a watch channel, so whoever holds
//! the handle can look at it or wait for a state without polling.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use futures_util::{SinkExt, StreamExt};
use ocppj::{Codes, Frame, Violation};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;

use crate::net::{self, ConnectError, Socket};
use crate::station::{Millis, Protocol, Station};

/// How long the central system has to answer one of our calls before the connection is
/// considered dead.
const CALL_TIMEOUT: Duration = Duration::from_secs(30);
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// How long a rebooting charger stays away.
const REBOOT_TIME: Duration = Duration::from_secs(1);

#[derive(Clone, Debug)]
pub struct ChargerConfig {
    /// The server's OCPP base URL; the charger connects to `{url}/{identity}`.
    pub url: String,
    pub identity: String,
    /// For HTTP Basic authentication (OCPP security profile 1), the identity as user name.
    pub password: Option<String>,
    /// The local address to connect from; the system picks one when `None`.
    pub source_address: Option<IpAddr>,
    pub connectors: u32,
    /// The most a connector delivers, W.
    pub power_w: u32,
    /// MeterValues during transactions come this often; zero sends none.
    pub meter_interval: Duration,
    /// Heartbeats at this interval, s, instead of the one BootNotification gives.
    pub heartbeat_interval_s: Option<u32>,
    /// A simulated driver plugs the car in when a transaction is authorized and unplugs it when
    /// the transaction ends; without, only [`Charger::plug_in`] and [`Charger::unplug`] do.
    pub auto_plug: bool,
    /// The WebSocket subprotocol offered, the OCPP version the charger speaks: `ocpp1.6` or
    /// `ocpp2.0.1`.
    pub subprotocol: &'static str,
}

impl ChargerConfig {
    pub fn protocol(&self) -> Protocol {
        Protocol::of(self.subprotocol)
    }

    /// One 7.2 kW connector, meter values every 10 s, cars plugged in on demand.
    pub fn new(url: impl Into<String>, identity: impl Into<String>) -> ChargerConfig {
        ChargerConfig {
            url: url.into(),
            identity: identity.into(),
            password: None,
            source_address: None,
            connectors: 1,
            power_w: 7200,
            meter_interval: Duration::from_secs(10),
            heartbeat_interval_s: None,
            auto_plug: true,
            subprotocol: "ocpp1.6",
        }
    }
}

/// Counters shared by a fleet of chargers.
#[derive(Default, Debug)]
pub struct Stats {
    pub connected: AtomicU64,
    /// WebSocket messages sent and received: calls, answers and errors.
    pub sent: AtomicU64,
    pub received: AtomicU64,
    /// CALLERRORs and invalid answers received, calls timed out.
    pub errors: AtomicU64,
    pub connect_failures: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Stats {
    pub fn last_error(&self) -> Option<String> {
        self.last_error.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn error(&self, what: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        self.set_last_error(what);
    }

    fn set_last_error(&self, what: String) {
        *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = Some(what);
    }
}

/// How a station answers a CALL (action, payload) in one OCPP version.
type AnswerCall<C> = fn(&mut Station, &str, &Value, Millis) -> Result<Value, Violation<C>>;

/// Something that happens at the charger, applied to its station at the time it is handled.
type Happening = Box<dyn FnOnce(&mut Station, Millis) + Send>;

enum Control {
    Station(Happening),
    Online(bool),
}

/// A running virtual charger. Dropping the handle (or [`stop`](Self::stop)) disconnects it.
pub struct Charger {
    controls: mpsc::UnboundedSender<Control>,
    state: watch::Receiver<Station>,
    task: JoinHandle<()>,
}

impl Charger {
    /// Starts the charger and waits for its first connection; it reconnects by itself after.
    pub async fn connect(config: ChargerConfig) -> Result<Charger, ConnectError> {
        let (first_tx, first) = oneshot::channel();
        let charger = Charger::start(config, Arc::default(), Some(first_tx));
        match first.await {
            Ok(Ok(())) => Ok(charger),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(ConnectError::Io(std::io::Error::other("the charger stopped before connecting"))),
        }
    }

    /// Starts the charger in the background: it connects, and reconnects with backoff, on its own.
    pub fn spawn(config: ChargerConfig, stats: Arc<Stats>) -> Charger {
        Charger::start(config, stats, None)
    }

    fn start(config: ChargerConfig, stats: Arc<Stats>, first: Option<oneshot::Sender<Result<(), ConnectError>>>) -> Charger {
        let (state_tx, state) = watch::channel(Station::new(&config, now()));
        let (controls, controls_rx) = mpsc::unbounded_channel();
        let driver = Driver { config, state: state_tx, stats, socket: None, in_flight: None, message_ids: 0, want_online: true, backoff: Duration::ZERO };
        let task = tokio::spawn(driver.run(controls_rx, first));
        Charger { controls, state, task }
    }

    pub fn plug_in(&self, connector: u32) {
        self.at_station(move |s, now| s.plug_in(connector, now));
    }

    pub fn unplug(&self, connector: u32) {
        self.at_station(move |s, now| s.unplug(connector, now));
    }

    /// Presents an RFID card at a connector: starts charging, or stops the card's transaction.
    pub fn present_card(&self, connector: u32, id_tag: &str) {
        let id_tag = id_tag.to_string();
        self.at_station(move |s, now| s.present_card(connector, &id_tag, now));
    }

    /// The car stops (`true`) or resumes drawing power by itself.
    pub fn set_ev_suspended(&self, connector: u32, suspended: bool) {
        self.at_station(move |s, now| s.set_ev_suspended(connector, suspended, now));
    }

    fn at_station(&self, happen: impl FnOnce(&mut Station, Millis) + Send + 'static) {
        self.send(Control::Station(Box::new(happen)));
    }

    /// Closes the connection and stays away; transaction messages are queued meanwhile.
    pub fn go_offline(&self) {
        self.send(Control::Online(false));
    }

    /// Reconnects and replays what was queued, in order.
    pub fn go_online(&self) {
        self.send(Control::Online(true));
    }

    fn send(&self, control: Control) {
        // The driver runs until the handle is dropped.
        let _ = self.controls.send(control);
    }

    /// The station as it is now. Hold the guard briefly: the driver waits while it is held.
    pub fn state(&self) -> watch::Ref<'_, Station> {
        self.state.borrow()
    }

    /// Waits until `check` finds what it looks for in the station, and returns it; `None` if
    /// the charger stopped first.
    pub async fn wait_for<T>(&self, mut check: impl FnMut(&Station) -> Option<T>) -> Option<T> {
        let mut state = self.state.clone();
        loop {
            if let Some(found) = check(&state.borrow_and_update()) {
                return Some(found);
            }
            state.changed().await.ok()?;
        }
    }

    /// Disconnects and waits for the driver to finish.
    pub async fn stop(self) {
        drop(self.controls);
        let _ = self.task.await;
    }
}

fn now() -> Millis {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as Millis)
}

/// The instant the station's `Millis` deadline falls on.
fn instant_at(at: Millis) -> Instant {
    Instant::now() + Duration::from_millis(u64::try_from(at - now()).unwrap_or(0))
}

struct Driver {
    config: ChargerConfig,
    state: watch::Sender<Station>,
    stats: Arc<Stats>,
    socket: Option<Socket>,
    /// The message id of our CALL awaiting its answer, and its deadline.
    in_flight: Option<(String, Instant)>,
    message_ids: u64,
    want_online: bool,
    backoff: Duration,
}

impl Driver {
    fn station<R>(&self, f: impl FnOnce(&mut Station) -> R) -> R {
        let mut result = None;
        self.state.send_modify(|station| result = Some(f(station)));
        result.expect("send_modify runs the closure")
    }

    async fn run(mut self, mut controls: mpsc::UnboundedReceiver<Control>, mut first: Option<oneshot::Sender<Result<(), ConnectError>>>) {
        let mut connect_at = Some(Instant::now());
        loop {
            if self.in_flight.is_none()
                && self.socket.is_some()
                && let Some((action, payload)) = self.station(|s| s.next_call())
            {
                self.message_ids += 1;
                let id = self.message_ids.to_string();
                let frame = Frame::<ocpp16::ErrorCode>::Call { id: id.clone(), action: action.into(), payload };
                self.in_flight = Some((id, Instant::now() + CALL_TIMEOUT));
                if !self.send(frame).await {
                    connect_at = self.lost();
                }
                continue;
            }
            let wakeup = self.state.borrow().next_wakeup().map(instant_at);
            let deadline = self.in_flight.as_ref().map(|(_, deadline)| *deadline);
            tokio::select! {
                control = controls.recv() => match control {
                    Some(Control::Online(online)) => {
                        self.want_online = online;
                        if online && self.socket.is_none() {
                            connect_at = Some(Instant::now());
                        } else if !online {
                            if let Some(mut socket) = self.socket.take() {
                                let _ = socket.close(None).await;
                                self.disconnected();
                            }
                            connect_at = None;
                        }
                    }
                    Some(Control::Station(happen)) => self.station(|s| happen(s, now())),
                    None => break,
                },
                _ = sleep_until(wakeup.unwrap_or_else(Instant::now)), if wakeup.is_some() => self.station(|s| s.tick(now())),
                _ = sleep_until(connect_at.unwrap_or_else(Instant::now)), if connect_at.is_some() && self.socket.is_none() => {
                    // Boxed: the handshake's state would otherwise make every idle charger's task larger.
                    match Box::pin(net::connect(&self.config)).await {
                        Ok(socket) => {
                            self.socket = Some(socket);
                            self.backoff = Duration::ZERO;
                            connect_at = None;
                            self.stats.connected.fetch_add(1, Ordering::Relaxed);
                            self.station(|s| s.connected(now()));
                            if let Some(first) = first.take() {
                                let _ = first.send(Ok(()));
                            }
                        }
                        Err(e) => {
                            self.stats.connect_failures.fetch_add(1, Ordering::Relaxed);
                            self.stats.set_last_error(format!("{}: {e}", self.config.identity));
                            if let Some(first) = first.take() {
                                let _ = first.send(Err(e));
                                return;
                            }
                            connect_at = Some(self.retry_after());
                        }
                    }
                }
                received = receive(&mut self.socket) => match received {
                    Some(Ok(Message::Text(text))) => {
                        self.stats.received.fetch_add(1, Ordering::Relaxed);
                        if !self.on_text(&text).await {
                            connect_at = self.lost();
                        } else if self.station(|s| s.take_reboot()) {
                            if let Some(mut socket) = self.socket.take() {
                                let _ = socket.close(None).await;
                                self.disconnected();
                            }
                            connect_at = Some(Instant::now() + REBOOT_TIME);
                        }
                    }
                    Some(Ok(_)) => {} // pings are answered by tungstenite; OCPP-J is text only
                    Some(Err(_)) | None => connect_at = self.lost(),
                },
                _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                    self.stats.error(format!("{}: a call timed out", self.config.identity));
                    connect_at = self.lost();
                }
            }
        }
        if let Some(mut socket) = self.socket.take() {
            let _ = socket.close(None).await;
            self.disconnected();
        }
    }

    /// Handles a text frame in the charger's version; `false` when the answer could not be sent.
    async fn on_text(&mut self, text: &str) -> bool {
        match self.config.protocol() {
            Protocol::Ocpp16 => self.on_frame(text, Station::on_call).await,
            Protocol::Ocpp201 => self.on_frame(text, Station::on_call201).await,
        }
    }

    /// Handles a text frame whose CALLERRORs carry `C`, answering CALLs with `answer`.
    async fn on_frame<C: Codes>(&mut self, text: &str, answer: AnswerCall<C>) -> bool {
        let frame = match Frame::<C>::parse(text) {
            Ok(frame) => frame,
            Err(e) => {
                self.stats.error(format!("{}: a bad frame: {e}", self.config.identity));
                return match e.id {
                    Some(id) => self.send(Frame::call_error(id, e.code, e.description)).await,
                    None => true,
                };
            }
        };
        match frame {
            Frame::Call { id, action, payload } => {
                let answer = match self.station(|s| answer(s, &action, &payload, now())) {
                    Ok(payload) => Frame::CallResult { id, payload },
                    Err(v) => Frame::call_error(id, v.code, v.description),
                };
                return self.send(answer).await;
            }
            Frame::CallResult { id, payload } if self.answers(&id) => {
                if let Err(v) = self.station(|s| s.on_result(&payload, now())) {
                    self.stats.error(format!("{}: an invalid answer: {v}", self.config.identity));
                }
            }
            Frame::CallError { id, code, description, .. } if self.answers(&id) => {
                self.stats.error(format!("{}: {code}: {description}", self.config.identity));
                self.station(|s| s.on_error(now()));
            }
            _ => tracing::debug!(charger = %self.config.identity, "an answer to no call in flight"),
        }
        true
    }

    /// Whether `id` answers the call in flight, which it then no longer is.
    fn answers(&mut self, id: &str) -> bool {
        self.in_flight.take_if(|(sent, _)| sent == id).is_some()
    }

    async fn send<C: Codes>(&mut self, frame: Frame<C>) -> bool {
        let Some(socket) = self.socket.as_mut() else { return false };
        let sent = socket.send(Message::text(frame.to_text())).await.is_ok();
        if sent {
            self.stats.sent.fetch_add(1, Ordering::Relaxed);
        }
        sent
    }

    /// The connection broke: forget it and plan the reconnection.
    fn lost(&mut self) -> Option<Instant> {
        self.socket = None;
        self.disconnected();
        self.want_online.then(|| self.retry_after())
    }

    fn disconnected(&mut self) {
        self.in_flight = None;
        self.stats.connected.fetch_sub(1, Ordering::Relaxed);
        self.station(|s| s.disconnected(now()));
    }

    /// Exponential backoff with jitter, so a fleet does not come back all at once.
    fn retry_after(&mut self) -> Instant {
        self.backoff = (self.backoff * 2).clamp(Duration::from_secs(1), MAX_BACKOFF);
        Instant::now() + self.backoff.mul_f64(rand::random_range(0.5..1.0))
    }
}

/// The next message, or never when there is no connection.
async fn receive(socket: &mut Option<Socket>) -> Option<Result<Message, tokio_tungstenite::tungstenite::Error>> {
    match socket {
        Some(socket) => socket.next().await,
        None => std::future::pending().await,
    }
}
