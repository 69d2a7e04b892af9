//! `joule demo`: a newcomer's first command. A Joule server in this process on a throwaway
//! SQLite file, one simulated charger connected to it over a real WebSocket, one wallet-paid
//! session run end to end through the real HTTP API, as any client would, then a second one
//! started and stopped with the driver's card at the charger, and a webhook receiver that
//! checks the signature of every delivery it gets. The charger speaks OCPP 1.6J, or 2.0.1
//! with `--protocol ocpp2.0.1`.
//!
//! The script (`script`) is the shell: it talks to the server and waits on it. What a line
//! says (money, energy, progress, event summaries) is pure and tested below.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::str::FromStr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use domain::webhook::Secret;
use domain::webhook_delivery::standard_signature;
use reqwest::Method;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Value, json};
use sim::{Charger, ChargerConfig};
use store::{Store, SystemClock};
use tokio::net::TcpListener;
use tokio::time::Instant;

use crate::app::App;

/// The session's plan: charging, a pause, charging again, then the stop. About 20 s in all
/// (and the card's session 6 s), so the demo is quick to watch and quick to test.
const CHARGE_BEFORE_PAUSE: Duration = Duration::from_secs(8);
const PAUSE: Duration = Duration::from_secs(4);
const CHARGE_AFTER_PAUSE: Duration = Duration::from_secs(6);
/// How long the second session, started with a card, charges.
const CARD_CHARGE: Duration = Duration::from_secs(6);
const CARD: &str = "ADA-CARD-1";
/// Meter values this often, so the running cost moves while one watches.
const METER_INTERVAL: Duration = Duration::from_secs(2);
/// A DC fast charger.
const POWER_W: u32 = 150_000;
const FUNDING_CENTS: i64 = 2500;
/// The longest the demo waits for the server or the charger to do something.
const DEADLINE: Duration = Duration::from_secs(20);
/// How often the progress line is refreshed.
const REFRESH: Duration = Duration::from_millis(250);
const ENDPOINT: &str = "DEMO-1";
const BAR_WIDTH: usize = 12;

#[derive(clap::Args, Clone, Debug)]
pub struct DemoArgs {
    /// The OCPP version the simulated charger speaks.
    #[arg(long, default_value = "ocpp1.6", value_parser = ["ocpp1.6", "ocpp2.0.1"])]
    pub protocol: String,
    /// Afterwards, keep serving (the dashboard included) until Ctrl-C.
    #[arg(long)]
    pub keep: bool,
}

/// What the messages of a session are called in one OCPP version.
struct Words {
    version: &'static str,
    subprotocol: &'static str,
    remote_start: &'static str,
    remote_stop: &'static str,
    /// What the charger sends when a transaction starts, and when it ends.
    started: &'static str,
    ended: &'static str,
}

const OCPP16: Words = Words {
    version: "OCPP 1.6J",
    subprotocol: "ocpp1.6",
    remote_start: "RemoteStartTransaction",
    remote_stop: "RemoteStopTransaction",
    started: "StartTransaction",
    ended: "StopTransaction",
};

const OCPP201: Words = Words {
    version: "OCPP 2.0.1",
    subprotocol: "ocpp2.0.1",
    remote_start: "RequestStartTransaction",
    remote_stop: "RequestStopTransaction",
    started: "TransactionEvent Started",
    ended: "TransactionEvent Ended",
};

pub async fn run(args: DemoArgs) -> anyhow::Result<()> {
    let words = if args.protocol == OCPP201.subprotocol { &OCPP201 } else { &OCPP16 };
    let began = Instant::now();
    let dir = TempDir::new()?;
    let database_url = format!("sqlite://{}", dir.0.join("joule.db").display());
    let store = Store::connect(&database_url, Arc::new(SystemClock)).await.context("creating the demo database")?;
    let listener = TcpListener::bind("127.0.0.1:0").await.context("binding 127.0.0.1:0")?;
    let address = listener.local_addr()?;
    let admin_token = format!("{:032x}", rand::random::<u128>());
    // Short intervals: the session runner looks every second, not every five.
    let ocpp = ocpp_server::OcppConfig { watch_interval: Duration::from_secs(1), ..ocpp_server::OcppConfig::default() };
    let server = App {
        store: store.clone(),
        listener,
        tls: None,
        ocpp,
        http: crate::settings::Settings::default().http(),
        admin_token: Some(admin_token.clone()),
        public_url: None,
        // The demo's receiver listens on 127.0.0.1.
        webhooks: webhooks::DispatcherConfig { allow_private: true, ..Default::default() },
        stripe: Default::default(),
        retention: Default::default(),
    };
    let (stop_server, stopped) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(server.run(async {
        let _ = stopped.await;
    }));

    let mut screen = Screen { terminal: std::io::stdout().is_terminal(), drawn: None };
    screen.say("Joule demo: wallet-paid charging sessions, started from an app and with a card, end to end, against a real server.");
    screen.say(&format!("Joule runs in this process at http://{address}, on a throwaway SQLite database."));
    let base = format!("http://{address}");
    let outcome = tokio::select! {
        outcome = script(&base, &admin_token, words, &mut screen) => Some(outcome),
        _ = tokio::signal::ctrl_c() => None,
    };
    screen.end_progress();
    // No orderly teardown for whoever wants out: only the files go, as `dir` is dropped.
    let outcome = outcome.ok_or_else(|| anyhow!("interrupted"))?;
    if let (true, Ok(api_key)) = (args.keep, &outcome) {
        screen.say("");
        screen.say(&format!("The dashboard: http://{address}/dashboard/ (sign in with the organization's API key {api_key})."));
        screen.say("Joule keeps serving until Ctrl-C.");
        tokio::signal::ctrl_c().await.context("waiting for Ctrl-C")?;
    }
    let _ = stop_server.send(());
    let served = serving.await.context("the server stopped abnormally")?;
    store.close().await;
    drop(dir);
    outcome?;
    served?;
    screen.say(&format!("Done in {} s; the database is gone. `joule serve` runs Joule for real.", began.elapsed().as_secs()));
    Ok(())
}

/// What the demo made through the REST API for the session.
struct Site {
    station_path: String,
    connector_id: String,
    user_id: String,
    wallet_id: String,
    /// The wallet's balance before the session, cents.
    funded: i64,
}

/// Sets up through the REST API, connects the charger, runs the session, and disconnects the
/// charger whatever happened: the server may stop only once it has recorded that.
/// Answers the organization's API key.
async fn script(base: &str, admin_token: &str, words: &Words, screen: &mut Screen) -> anyhow::Result<String> {
    screen.say("Setting up through the REST API:");
    let admin = Api::new(base, admin_token);
    let org = admin.post("/v1.1/organizations", json!({ "name": "Demo Charging", "country": "US" })).await?;
    step(screen, "POST /v1.1/organizations", &format!("{}, and its API key", text(&org["name"])));
    let api = Api::new(base, text(&org["api_key"]));

    let location = api.post("/v1.1/locations", json!({ "name": "Main St depot", "timezone": "America/New_York" })).await?;
    step(screen, "POST /v1.1/locations", &format!("{} ({})", text(&location["name"]), text(&location["timezone"])));
    let rate = api
        .post(
            "/v1.1/rates",
            json!({ "name": "DC fast", "currency": "USD", "price_components": [
                { "type": "ENERGY", "price": 0.48, "tax": 8.25 },
                { "type": "TIME", "price": 6.00 }] }),
        )
        .await?;
    step(screen, "POST /v1.1/rates", &format!("{}: $0.48 per kWh + 8.25% tax, $6.00 per hour charging", text(&rate["name"])));
    let password = format!("{:032x}", rand::random::<u128>());
    let station = api
        .post(
            "/v1.1/chargestations",
            json!({ "endpoint": ENDPOINT, "protocol": words.subprotocol, "location": location["_id"], "security": { "type": "basic", "password": password } }),
        )
        .await?;
    let station_id = text(&station["_id"]).to_string();
    step(screen, "POST /v1.1/chargestations", &format!("{ENDPOINT}, {}, with a Basic-auth password", words.version));
    let connector = api
        .post(
            "/v1.1/connectors",
            json!({ "chargestation": station_id, "connector_id": 1, "rate": rate["_id"], "type": "IEC_62196_T1_COMBO",
                    "format": "CABLE", "power_type": "DC", "power": POWER_W / 1000 }),
        )
        .await?;
    step(screen, "POST /v1.1/connectors", &format!("connector 1, {} kW DC, at that rate", connector["power"]));
    let user = api.post("/v1.1/users", json!({ "firstname": "Ada", "lastname": "Lovelace", "email": "ada@example.com" })).await?;
    let user_id = text(&user["_id"]).to_string();
    step(screen, "POST /v1.1/users", "Ada Lovelace");
    let wallet = api.post(&format!("/v1.1/users/{user_id}/wallet"), json!({ "currency": "usd" })).await?;
    let wallet_id = text(&wallet["_id"]).to_string();
    step(screen, "POST /v1.1/users/{id}/wallet", "a USD wallet");
    let adjusted = api.post(&format!("/v1.1/wallets/{wallet_id}/adjustments"), json!({ "amount": FUNDING_CENTS, "reason": "welcome credit" })).await?;
    let funded = cents(&adjusted["wallet"]["balance"])?;
    step(
        screen,
        "POST /v1.1/wallets/{id}/adjustments",
        &format!("{}: balance {}", signed_money(Decimal::new(FUNDING_CENTS, 2)), money(Decimal::new(funded, 2))),
    );
    // Subscribed from here on: everything about the session is about its chargestation, and
    // so arrives in the order it happened.
    let receiver = Receiver::start().await?;
    let endpoint = api.post("/v1.1/webhooks", json!({ "url": receiver.url, "events": WEBHOOK_EVENTS, "description": "the demo's receiver" })).await?;
    let secret = Secret::parse(text(&endpoint["secret"])).context("the webhook endpoint's secret")?;
    *receiver.secret.lock().unwrap_or_else(|e| e.into_inner()) = Some(secret);
    step(screen, "POST /v1.1/webhooks", &format!("{} to {}", WEBHOOK_EVENTS.join(" "), receiver.url));

    let url = text(&station["connection_url"]);
    screen.say(&format!(
        "A simulated charger connects to {url} over {} ({} kW, meter values every {} s).",
        words.version,
        POWER_W / 1000,
        METER_INTERVAL.as_secs()
    ));
    let ocpp_base = url.strip_suffix(&format!("/{ENDPOINT}")).context("the connection_url ends with the chargestation's endpoint")?;
    let config = ChargerConfig {
        password: Some(password),
        power_w: POWER_W,
        meter_interval: METER_INTERVAL,
        subprotocol: words.subprotocol,
        ..ChargerConfig::new(ocpp_base, ENDPOINT)
    };
    let charger = Charger::connect(config).await.context("the simulated charger could not connect")?;
    let site =
        Site { station_path: format!("/v1.1/chargestations/{station_id}"), connector_id: text(&connector["_id"]).to_string(), user_id, wallet_id, funded };
    let outcome = async {
        let by_app = session(&api, &site, words, screen).await?;
        let by_card = card_session(&api, &site, &charger, words, screen).await?;
        summarize(&api, &site, [&by_app, &by_card], &receiver, text(&endpoint["createdAt"]), screen).await
    }
    .await;
    charger.stop().await;
    let offline = until("the server to see the charger go", || async { Ok((api.get(&site.station_path).await?["online"] == false).then_some(())) }).await;
    outcome.and(offline)?;
    Ok(text(&org["api_key"]).to_string())
}

/// The session, step by step, through the REST API; answers it ended.
async fn session(api: &Api, site: &Site, words: &Words, screen: &mut Screen) -> anyhow::Result<Value> {
    let Site { station_path, connector_id, user_id, wallet_id, .. } = site;
    until("the charger to boot and report its connector", || async {
        let cs = api.get(station_path).await?;
        Ok((cs["online"] == true && !cs["bootInfo"].is_null() && cs["connectors"][0]["status"] == "Available").then_some(()))
    })
    .await?;
    screen.say(&format!("  {ENDPOINT} is online, connector 1 is Available."));

    let session = api.post("/v1.1/sessions", json!({ "type": "wallet", "connector": connector_id, "user": user_id })).await?;
    let session_path = format!("/v1.1/sessions/{}", text(&session["_id"]));
    let held = api.get(&format!("/v1.1/wallets/{wallet_id}")).await?;
    screen.say(&format!(
        "POST /v1.1/sessions {{\"type\": \"wallet\"}}: {}; {} held on the wallet (available now {}).",
        text(&session["status"]),
        money(decimal(&session["payment"]["authorized_amount"])),
        money(Decimal::new(cents(&held["available_balance"])?, 2)),
    ));
    until("the charger to start the session", || async {
        let s = api.get(&session_path).await?;
        match text(&s["status"]) {
            "started" => Ok(Some(())),
            "created" => Ok(None),
            other => bail!("the session is {other} instead of started"),
        }
    })
    .await?;
    screen.say(&format!("  Joule sent {}; the charger started the transaction: started.", words.remote_start));

    let charging_from = Instant::now();
    let planned = CHARGE_BEFORE_PAUSE + PAUSE + CHARGE_AFTER_PAUSE;
    let mut watch = Watch { api, path: &session_path, from: charging_from, planned, screen: &mut *screen };
    watch.phase("charging", charging_from + CHARGE_BEFORE_PAUSE).await?;
    let paused = api.post(&format!("{session_path}/pause"), json!({})).await?;
    watch
        .screen
        .say(&format!("POST /v1.1/sessions/{{id}}/pause: {} (SetChargingProfile at 0 W; the TIME price does not run while paused).", text(&paused["status"])));
    watch.phase("paused", charging_from + CHARGE_BEFORE_PAUSE + PAUSE).await?;
    let resumed = api.post(&format!("{session_path}/resume"), json!({})).await?;
    watch.screen.say(&format!("POST /v1.1/sessions/{{id}}/resume: {} again.", text(&resumed["status"])));
    watch.phase("charging", charging_from + CHARGE_BEFORE_PAUSE + PAUSE + CHARGE_AFTER_PAUSE).await?;
    api.post(&format!("{session_path}/stop"), json!({})).await?;
    screen.say(&format!("POST /v1.1/sessions/{{id}}/stop: Joule sent {}.", words.remote_stop));
    let ended = until("the session to end", || async {
        let s = api.get(&session_path).await?;
        Ok((s["status"] == "ended").then_some(s))
    })
    .await?;
    let energy = decimal(&ended["metrics"]["energyConsumed"]);
    screen.say(&format!("  The charger sent {}: session ended, {}, cost {}.", words.ended, kwh(energy), money(decimal(&ended["cost"]["amount"]))));
    Ok(ended)
}

/// A second session, started and stopped by Ada's card at the charger; answers it ended.
async fn card_session(api: &Api, site: &Site, charger: &Charger, words: &Words, screen: &mut Screen) -> anyhow::Result<Value> {
    screen.say("");
    let card = api.post("/v1.1/tokens", json!({ "physicalId": CARD, "user": site.user_id })).await?;
    step(screen, "POST /v1.1/tokens", &format!("{CARD}, an RFID card of Ada's"));
    charger.present_card(1, CARD);
    let session = until("the card's session to start", || async {
        let sessions = api.get("/v1.1/sessions?limit=100").await?;
        Ok(sessions.as_array().and_then(|all| all.iter().find(|s| s["token"] == card["_id"] && s["status"] == "started").cloned()))
    })
    .await?;
    screen.say(&format!(
        "Ada taps {CARD} at {ENDPOINT}: {}; her wallet passes the checks, so Joule answers Accepted: a {} session, {} held.",
        words.started,
        text(&session["type"]),
        money(decimal(&session["payment"]["authorized_amount"])),
    ));
    let session_path = format!("/v1.1/sessions/{}", text(&session["_id"]));
    let from = Instant::now();
    Watch { api, path: &session_path, from, planned: CARD_CHARGE, screen: &mut *screen }.phase("charging", from + CARD_CHARGE).await?;
    charger.present_card(1, CARD);
    let ended = until("the card's session to end", || async {
        let s = api.get(&session_path).await?;
        Ok((s["status"] == "ended").then_some(s))
    })
    .await?;
    let energy = decimal(&ended["metrics"]["energyConsumed"]);
    screen.say(&format!(
        "Ada taps {CARD} again: the charger sent {}: session ended, {}, cost {}.",
        words.ended,
        kwh(energy),
        money(decimal(&ended["cost"]["amount"]))
    ));
    Ok(ended)
}

/// What the sessions left: the events, the payments, the wallet and its ledger, and the
/// webhooks, each checked.
async fn summarize(api: &Api, site: &Site, sessions: [&Value; 2], receiver: &Receiver, subscribed_at: &str, screen: &mut Screen) -> anyhow::Result<()> {
    let Site { wallet_id, funded, .. } = site;
    let funded = *funded;
    screen.say("");
    screen.say("Events (GET /v1.1/events), oldest first:");
    for line in event_lines(&all_events(api).await?) {
        screen.say(&format!("  {line}"));
    }
    let mut captured = Decimal::ZERO;
    for (label, session) in ["Payment", "Card payment"].into_iter().zip(sessions) {
        let payment = &session["payment"];
        captured += decimal(&payment["captured_amount"]);
        screen.say(&format!(
            "{label}: authorized {}, captured {}, {}.",
            money(decimal(&payment["authorized_amount"])),
            money(decimal(&payment["captured_amount"])),
            text(&payment["status"])
        ));
    }
    let wallet = api.get(&format!("/v1.1/wallets/{wallet_id}")).await?;
    let balance = cents(&wallet["balance"])?;
    screen.say(&format!(
        "Wallet: balance {} (was {}), available {}.",
        money(Decimal::new(balance, 2)),
        money(Decimal::new(funded, 2)),
        money(Decimal::new(cents(&wallet["available_balance"])?, 2))
    ));
    screen.say("Ledger (GET /v1.1/wallets/{id}/transactions), oldest first:");
    let mut ledger = api.get(&format!("/v1.1/wallets/{wallet_id}/transactions?limit=100")).await?.as_array().cloned().unwrap_or_default();
    ledger.reverse();
    for entry in &ledger {
        screen.say(&format!("  {}", ledger_line(entry)?));
    }
    if Decimal::new(funded - balance, 2) != captured {
        bail!("the wallet lost {} but the payments captured {}", money(Decimal::new(funded - balance, 2)), money(captured));
    }

    // Every event the endpoint subscribed to reaches the receiver, signed.
    let subscribed =
        |e: &&Value| text(&e["createdAt"]) >= subscribed_at && WEBHOOK_EVENTS.iter().any(|p| text(&e["type"]).starts_with(p.trim_end_matches('*')));
    let wanted: Vec<String> = all_events(api).await?.iter().filter(subscribed).map(|e| text(&e["_id"]).to_string()).collect();
    let received = until("the webhooks to arrive", || async {
        let got = receiver.received.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(wanted.iter().all(|id| got.iter().any(|(e, _)| text(&e["_id"]) == id)).then_some(got))
    })
    .await?;
    let forged = received.iter().filter(|(_, verified)| !verified).count();
    if forged > 0 {
        bail!("{forged} webhooks came with a signature the endpoint's secret does not make");
    }
    if received.iter().map(|(e, _)| text(&e["_id"])).ne(wanted.iter().map(String::as_str)) {
        bail!("the webhooks did not arrive once each and in the order of the events");
    }
    screen.say(&format!("Webhooks received at {} ({}, in order), each signature checked with the endpoint's secret:", receiver.url, received.len()));
    let deliveries: Vec<Value> = received.into_iter().map(|(event, _)| event).collect();
    for line in event_lines(&deliveries) {
        screen.say(&format!("  {line}"));
    }
    Ok(())
}

/// What the demo's webhook endpoint subscribes to.
const WEBHOOK_EVENTS: [&str; 3] = ["session.*", "payment.*", "wallet.*"];

/// A webhook receiver on a free local port: it keeps every delivery, with whether its
/// Standard Webhooks signature is the one the endpoint's secret makes.
struct Receiver {
    url: String,
    secret: Arc<Mutex<Option<Secret>>>,
    received: Arc<Mutex<Vec<(Value, bool)>>>,
}

impl Receiver {
    async fn start() -> anyhow::Result<Receiver> {
        let listener = TcpListener::bind("127.0.0.1:0").await.context("binding the webhook receiver")?;
        let url = format!("http://{}/webhooks", listener.local_addr()?);
        let (secret, received) = (Arc::new(Mutex::new(None::<Secret>)), Arc::new(Mutex::new(Vec::new())));
        let (keys, kept) = (secret.clone(), received.clone());
        let receive = move |headers: HeaderMap, body: Bytes| {
            let (keys, kept) = (keys.clone(), kept.clone());
            async move {
                let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
                let verified = match (keys.lock().unwrap_or_else(|e| e.into_inner()).as_ref(), header("webhook-timestamp").parse::<i64>()) {
                    (Some(secret), Ok(t)) => header("webhook-signature").split(' ').any(|s| s == standard_signature(secret, &header("webhook-id"), t, &body)),
                    _ => false,
                };
                let event: Value = serde_json::from_slice(&body).unwrap_or_default();
                kept.lock().unwrap_or_else(|e| e.into_inner()).push((event, verified));
                StatusCode::NO_CONTENT
            }
        };
        let app = axum::Router::new().route("/webhooks", axum::routing::post(receive));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Ok(Receiver { url, secret, received })
    }
}

/// Redraws the session's progress until `until`.
struct Watch<'a> {
    api: &'a Api,
    path: &'a str,
    /// When charging began: the bar shows the session's plan from there.
    from: Instant,
    planned: Duration,
    screen: &'a mut Screen,
}

impl Watch<'_> {
    async fn phase(&mut self, phase: &'static str, until: Instant) -> anyhow::Result<()> {
        loop {
            let session = self.api.get(self.path).await?;
            let progress = Progress {
                phase,
                elapsed: self.from.elapsed(),
                planned: self.planned,
                energy_wh: decimal(&session["metrics"]["energyConsumed"]),
                cost: decimal(&session["cost"]["amount"]),
                authorized: decimal(&session["payment"]["authorized_amount"]),
            };
            self.screen.progress(&progress);
            if Instant::now() >= until {
                self.screen.end_progress();
                return Ok(());
            }
            tokio::time::sleep(REFRESH.min(until - Instant::now())).await;
        }
    }
}

fn step(screen: &mut Screen, request: &str, what: &str) {
    screen.say(&format!("  {request:<36} {what}"));
}

/// Every event of the organization, oldest first.
async fn all_events(api: &Api) -> anyhow::Result<Vec<Value>> {
    const LIMIT: usize = 100;
    let mut events = Vec::new();
    for page in 1.. {
        let batch = api.get(&format!("/v1.1/events?limit={LIMIT}&page={page}")).await?.as_array().cloned().unwrap_or_default();
        let last = batch.len() < LIMIT;
        events.extend(batch);
        if last {
            break;
        }
    }
    events.reverse();
    Ok(events)
}

/// Asks `probe` every 100 ms until it finds what it looks for; an error after [`DEADLINE`].
async fn until<T, F, Fut>(what: &str, mut probe: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = probe().await? {
            return Ok(found);
        }
        if Instant::now() >= deadline {
            bail!("gave up after {} s waiting for {what}", DEADLINE.as_secs());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The REST API over loopback, with one bearer token.
struct Api {
    http: reqwest::Client,
    base: String,
    token: String,
}

impl Api {
    fn new(base: &str, token: &str) -> Api {
        Api { http: reqwest::Client::new(), base: base.into(), token: token.into() }
    }

    async fn get(&self, path: &str) -> anyhow::Result<Value> {
        self.call(Method::GET, path, None).await
    }

    async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        self.call(Method::POST, path, Some(body)).await
    }

    /// The `result` of a successful answer; any other answer is an error naming the request.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> anyhow::Result<Value> {
        let mut request = self.http.request(method.clone(), format!("{}{path}", self.base)).bearer_auth(&self.token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.with_context(|| format!("{method} {path}"))?;
        let status = response.status();
        let mut answer: Value = response.json().await.with_context(|| format!("{method} {path} answered {status} without JSON"))?;
        if !status.is_success() || answer["ok"] != true {
            bail!("{method} {path} answered {status}: {}", text(&answer["message"]));
        }
        Ok(answer["result"].take())
    }
}

/// Where the demo writes. A terminal gets the progress line redrawn in place; anything else
/// (a pipe, a file, a test) gets plain lines, a new one only when the numbers change.
struct Screen {
    terminal: bool,
    /// The progress line last drawn, without its bar, while it is the last line.
    drawn: Option<String>,
}

impl Screen {
    fn say(&mut self, line: &str) {
        self.end_progress();
        println!("{line}");
    }

    fn progress(&mut self, p: &Progress) {
        let plain = progress_line(p, false);
        if self.terminal {
            print!("\r\x1b[2K{}", progress_line(p, true));
            let _ = std::io::stdout().flush();
        } else if self.drawn.as_deref() != Some(plain.as_str()) {
            println!("{plain}");
        }
        self.drawn = Some(plain);
    }

    /// Leaves the last progress line as it is and moves below it.
    fn end_progress(&mut self) {
        if self.drawn.take().is_some() && self.terminal {
            println!();
        }
    }
}

/// A directory under the system's temporary one, removed when dropped: also on failure.
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> anyhow::Result<TempDir> {
        let path = std::env::temp_dir().join(format!("joule-demo-{}-{:08x}", std::process::id(), rand::random::<u32>()));
        std::fs::create_dir_all(&path).with_context(|| format!("creating {}", path.display()))?;
        Ok(TempDir(path))
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

// ---- What the lines say -----------------------------------------------------------------------

struct Progress {
    phase: &'static str,
    elapsed: Duration,
    planned: Duration,
    energy_wh: Decimal,
    cost: Decimal,
    authorized: Decimal,
}

/// The phase, how far the session's plan has gone (with the bar), what the session has used
/// and what is left of its authorization.
fn progress_line(p: &Progress, with_bar: bool) -> String {
    let bar = if with_bar {
        let done = (p.elapsed.as_secs_f64() / p.planned.as_secs_f64()).clamp(0.0, 1.0);
        let filled = (done * BAR_WIDTH as f64).round() as usize;
        format!("▕{}{}▏{:>3} s ", "█".repeat(filled), "░".repeat(BAR_WIDTH - filled), p.elapsed.as_secs())
    } else {
        String::new()
    };
    format!("  {:<8} {bar} {}  cost {}  {} of {} left", p.phase, kwh(p.energy_wh), money(p.cost), money(p.authorized - p.cost), money(p.authorized))
}

/// Consecutive events of one type on one line, with the last one's summary.
fn event_lines(events: &[Value]) -> Vec<String> {
    let mut runs: Vec<(String, usize, String)> = Vec::new();
    for event in events {
        let kind = text(&event["type"]).to_string();
        let summary = summary(text(&event["object"]), &event["data"]);
        match runs.last_mut() {
            Some((last, count, last_summary)) if *last == kind => {
                *count += 1;
                *last_summary = summary;
            }
            _ => runs.push((kind, 1, summary)),
        }
    }
    let named: Vec<(String, String)> =
        runs.into_iter().map(|(kind, count, summary)| (if count > 1 { format!("{kind} ×{count}") } else { kind }, summary)).collect();
    let width = named.iter().map(|(name, _)| name.chars().count()).max().unwrap_or(0);
    named.into_iter().map(|(name, summary)| format!("{name:<width$}  {summary}").trim_end().to_string()).collect()
}

/// A few words about an event's object as it was after the change.
fn summary(object: &str, data: &Value) -> String {
    let dollars = |field: &str| money(decimal(&data[field]));
    let whole = |field: &str| cents(&data[field]).map(|c| money(Decimal::new(c, 2))).unwrap_or_default();
    match object {
        "organization" | "location" | "rate" => text(&data["name"]).to_string(),
        "user" => format!("{} {}", text(&data["firstname"]), text(&data["lastname"])),
        "wallet" => format!("balance {}, available {}", whole("balance"), whole("available_balance")),
        "session" if data["cost"]["amount"].is_null() => text(&data["status"]).to_string(),
        "session" => format!("{}, cost {}", text(&data["status"]), money(decimal(&data["cost"]["amount"]))),
        "payment" => format!("{}: {} of {} captured", text(&data["status"]), dollars("captured_amount"), dollars("authorized_amount")),
        "connector" => format!("connector {} {}", data["connector_id"], text(&data["status"])),
        "chargestation" => format!("{} {}", text(&data["endpoint"]), if data["online"] == true { "online" } else { "offline" }),
        _ => String::new(),
    }
}

fn ledger_line(entry: &Value) -> anyhow::Result<String> {
    let amount = signed_money(Decimal::new(cents(&entry["amount"])?, 2));
    let after = money(Decimal::new(cents(&entry["balance_after"])?, 2));
    let reference = match text(&entry["type"]) {
        "session_capture" => format!("session {}", text(&entry["reference"])),
        _ => text(&entry["reference"]).to_string(),
    };
    Ok(format!("{:<16} {amount:>9}  balance {after}  {reference}", text(&entry["type"])))
}

/// `$1,234.56` style without the separators: `$25.00`, `-$0.32`.
fn money(amount: Decimal) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() { "-" } else { "" };
    format!("{sign}${:.2}", rounded.abs())
}

/// Money with its sign, as a ledger shows it: `+$25.00`, `-$0.32`.
fn signed_money(amount: Decimal) -> String {
    if amount.is_sign_negative() { money(amount) } else { format!("+{}", money(amount)) }
}

fn kwh(wh: Decimal) -> String {
    format!("{:.3} kWh", (wh / Decimal::ONE_THOUSAND).round_dp(3))
}

/// A JSON number as an exact decimal; zero when absent.
fn decimal(value: &Value) -> Decimal {
    let text = value.to_string();
    Decimal::from_str(&text).or_else(|_| Decimal::from_scientific(&text)).unwrap_or_default()
}

/// A whole number of cents, as wallets and ledger entries carry them.
fn cents(value: &Value) -> anyhow::Result<i64> {
    value.as_i64().ok_or_else(|| anyhow!("expected an amount in cents, got {value}"))
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(elapsed_s: u64, energy_wh: i64, cost_cents: i64) -> Progress {
        Progress {
            phase: "charging",
            elapsed: Duration::from_secs(elapsed_s),
            planned: Duration::from_secs(20),
            energy_wh: Decimal::from(energy_wh),
            cost: Decimal::new(cost_cents, 2),
            authorized: Decimal::from(25),
        }
    }

    #[test]
    fn money_rounds_half_up_and_signs() {
        assert_eq!(money(Decimal::new(2500, 2)), "$25.00");
        assert_eq!(money(Decimal::new(-32, 2)), "-$0.32");
        assert_eq!(money(Decimal::new(1245, 3)), "$1.25");
        assert_eq!(money(Decimal::new(-4, 3)), "$0.00");
        assert_eq!(signed_money(Decimal::new(2500, 2)), "+$25.00");
        assert_eq!(signed_money(Decimal::new(-32, 2)), "-$0.32");
    }

    #[test]
    fn json_numbers_are_read_exactly() {
        assert_eq!(decimal(&json!(0.1)) + decimal(&json!(0.2)), Decimal::new(3, 1));
        assert_eq!(decimal(&serde_json::from_str::<Value>("1e-2").unwrap()), Decimal::new(1, 2));
        assert_eq!(decimal(&Value::Null), Decimal::ZERO);
        assert_eq!(kwh(Decimal::new(123_456, 1)), "12.346 kWh");
    }

    #[test]
    fn the_bar_fills_with_the_plan_and_stops_full() {
        let half = "█".repeat(BAR_WIDTH / 2) + &"░".repeat(BAR_WIDTH / 2);
        assert!(progress_line(&progress(0, 0, 0), true).contains(&"░".repeat(BAR_WIDTH)));
        assert!(progress_line(&progress(10, 0, 0), true).contains(&half));
        assert!(progress_line(&progress(30, 0, 0), true).contains(&"█".repeat(BAR_WIDTH)));
        let line = progress_line(&progress(10, 290, 15), true);
        assert!(line.chars().count() < 80, "fits a terminal: {line}");
        assert_eq!(progress_line(&progress(10, 290, 15), false), "  charging  0.290 kWh  cost $0.15  $24.85 of $25.00 left");
    }

    #[test]
    fn repeated_events_share_a_line_with_the_last_summary() {
        let event = |kind: &str, object: &str, data: Value| json!({ "type": kind, "object": object, "data": data });
        let events = [
            event("session.created", "session", json!({ "status": "created" })),
            event("session.updated", "session", json!({ "status": "started", "cost": { "amount": 0.1 } })),
            event("session.updated", "session", json!({ "status": "started", "cost": { "amount": 0.2 } })),
            event("wallet.updated", "wallet", json!({ "balance": 2468, "available_balance": 2468 })),
            event("webhook_endpoint.created", "webhook_endpoint", json!({})),
            event("connector.updated", "connector", json!({ "connector_id": 1, "status": "Charging" })),
        ];
        let lines = event_lines(&events);
        assert_eq!(lines.len(), 5);
        assert_eq!(lines[0], format!("{:<24}  created", "session.created"), "the names make a column as wide as the longest");
        assert!(lines[1].starts_with("session.updated ×2") && lines[1].ends_with("started, cost $0.20"), "{}", lines[1]);
        assert!(lines[2].ends_with("balance $24.68, available $24.68"), "{}", lines[2]);
        assert_eq!(lines[3], "webhook_endpoint.created");
        assert!(lines[4].ends_with("  connector 1 Charging"), "{}", lines[4]);
    }

    #[test]
    fn ledger_lines_show_the_signed_amount_and_the_balance_after() {
        let entry = json!({ "type": "session_capture", "amount": -32, "balance_after": 2468, "reference": "abc" });
        assert_eq!(ledger_line(&entry).unwrap(), "session_capture     -$0.32  balance $24.68  session abc");
        assert!(ledger_line(&json!({ "type": "adjustment", "amount": "x" })).is_err());
    }
}
