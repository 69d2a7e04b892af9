//! The dispatcher against real HTTP receivers on local ports, on SQLite and PostgreSQL, with
//! the store's clock moved by hand so that retries due in hours come at once.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use domain::Id;
use domain::organization::OrganizationInput;
use domain::user::UserInput;
use domain::webhook::{OwnAddresses, Secret, WebhookEndpoint, WebhookInput};
use domain::webhook_delivery::{self as rules, DeliveryAttempt, FAILING_REASON, GONE_REASON, MAX_ATTEMPTS, RETRY_DELAYS_S, Slots};
use serde_json::Value;
use store::testing::{ManualClock, TestDatabase, backends};
use store::{ApiKeyRecord, Backend, Clock, Filter, Store, SystemClock};
use webhooks::DispatcherConfig;

/// One request as the receiver saw it.
#[derive(Clone, Debug)]
struct Received {
    id: String,
    timestamp: i64,
    signature: String,
    edrv: String,
    body: Vec<u8>,
    json: Value,
    status: u16,
}

/// What to answer: given the request and how many times its `webhook-id` came (from 1), a
/// status and a delay.
type Plan = Arc<dyn Fn(&Received, usize) -> (u16, Duration) + Send + Sync>;

#[derive(Clone)]
struct Receiver {
    url: String,
    got: Arc<Mutex<Vec<Received>>>,
    plan: Arc<Mutex<Plan>>,
}

impl Receiver {
    async fn start(plan: Plan) -> Receiver {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let receiver = Receiver { url: format!("http://{}/hook", listener.local_addr().unwrap()), got: Arc::default(), plan: Arc::new(Mutex::new(plan)) };
        let app = axum::Router::new().route("/hook", axum::routing::post(receive)).with_state(receiver.clone());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        receiver
    }

    fn answering(status: u16) -> Plan {
        Arc::new(move |_, _| (status, Duration::ZERO))
    }

    fn got(&self) -> Vec<Received> {
        self.got.lock().unwrap().clone()
    }

    fn delivered(&self) -> Vec<Received> {
        self.got().into_iter().filter(|r| (200..300).contains(&r.status)).collect()
    }
}

async fn receive(State(r): State<Receiver>, headers: HeaderMap, body: Bytes) -> StatusCode {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    let mut seen = Received {
        id: header("webhook-id"),
        timestamp: header("webhook-timestamp").parse().unwrap_or(-1),
        signature: header("webhook-signature"),
        edrv: header("edrv-signature"),
        json: serde_json::from_slice(&body).unwrap_or(Value::Null),
        body: body.to_vec(),
        status: 0,
    };
    let nth = r.got.lock().unwrap().iter().filter(|g| g.id == seen.id).count() + 1;
    let plan = r.plan.lock().unwrap().clone();
    let (status, delay) = plan(&seen, nth);
    seen.status = status;
    r.got.lock().unwrap().push(seen);
    tokio::time::sleep(delay).await;
    StatusCode::from_u16(status).unwrap()
}

/// A store on a fresh database whose clock the test moves, an organization in it, and a
/// dispatcher once the test starts one.
struct World {
    store: Store,
    clock: Arc<ManualClock>,
    org: Id,
    db: Option<TestDatabase>,
    dispatcher: Option<tokio::task::JoinHandle<()>>,
    /// Tells the dispatchers to stop.
    stopping: tokio::sync::watch::Sender<bool>,
}

fn config() -> DispatcherConfig {
    // The receivers listen on 127.0.0.1.
    DispatcherConfig {
        poll_interval: Duration::from_millis(20),
        timeout: Duration::from_secs(3),
        lease: Duration::from_secs(5),
        allow_private: true,
        ..DispatcherConfig::default()
    }
}

impl World {
    async fn new(backend: Backend) -> World {
        let db = TestDatabase::fresh(backend).await;
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = Store::connect(&db.url, clock.clone()).await.unwrap();
        let org = organization(&store, "Hooks").await;
        // Endpoints created from here on do not get the organization's creation.
        clock.advance_ms(1000);
        World { store, clock, org, db: Some(db), dispatcher: None, stopping: tokio::sync::watch::channel(false).0 }
    }

    /// Waits until `n` attempts to deliver to `endpoint` are recorded (the receiver sees a
    /// request before the dispatcher records what became of it).
    async fn recorded(&self, endpoint: Id, n: usize) {
        for _ in 0..500 {
            if self.attempts(endpoint).await.len() >= n {
                return;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        panic!("still waiting for {n} attempt records");
    }

    fn start(&mut self, config: DispatcherConfig) {
        self.dispatcher = Some(webhooks::spawn(self.store.clone(), config, self.stopping.subscribe()));
    }

    async fn endpoint(&self, url: &str, events: &[&str]) -> (WebhookEndpoint, Secret) {
        self.endpoint_of(self.org, url, events).await
    }

    async fn endpoint_of(&self, org: Id, url: &str, events: &[&str]) -> (WebhookEndpoint, Secret) {
        let input = WebhookInput { url: Some(url.into()), events: Some(events.iter().map(|e| e.to_string()).collect()), ..WebhookInput::default() };
        let endpoint = input.create(self.store.new_id(), &OwnAddresses::default(), self.store.now()).unwrap();
        let secret = Secret::from_key(&rand::random::<[u8; 32]>());
        self.store.create_webhook(org, &endpoint, &secret).await.unwrap();
        (endpoint, secret)
    }

    /// A `user.created` event (about no chargestation); answers its id.
    async fn user_event(&self) -> Id {
        let user = UserInput { firstname: Some(Some("Ada".into())), ..UserInput::default() }.create(self.store.new_id(), self.store.now()).unwrap();
        self.store.create_user(self.org, &user).await.unwrap();
        self.events_of("user.created").await[0]
    }

    /// Event ids of one type, oldest first.
    async fn events_of(&self, kind: &str) -> Vec<Id> {
        let page = domain::page::Page::parse(Some("100"), None).unwrap();
        let mut ids: Vec<Id> = self.store.events(self.org, page, &[Filter::Eq("kind", kind.into())]).await.unwrap().into_iter().map(|e| e.id).collect();
        ids.reverse();
        ids
    }

    async fn attempts(&self, endpoint: Id) -> Vec<DeliveryAttempt> {
        let page = domain::page::Page::parse(Some("100"), None).unwrap();
        let mut a = self.store.webhook_attempts(self.org, endpoint, page, &[]).await.unwrap();
        a.reverse();
        a
    }

    fn advance_s(&self, seconds: f64) {
        self.clock.advance_ms((seconds * 1000.0) as i64);
    }

    async fn stop(mut self) {
        self.stopping.send_replace(true);
        if let Some(d) = self.dispatcher.take() {
            tokio::time::timeout(Duration::from_secs(10), d).await.expect("the dispatcher stops when told").unwrap();
        }
        self.store.close().await;
        if let Some(db) = self.db.take() {
            db.remove().await;
        }
    }
}

async fn organization(store: &Store, name: &str) -> Id {
    let org = OrganizationInput { name: name.into(), country: None, configurations: None }.parse(store.new_id(), store.now()).unwrap();
    store
        .create_organization(&org, &ApiKeyRecord { id: format!("{:016x}", rand::random::<u64>()), organization: org.id, secret_sha256: String::new() })
        .await
        .unwrap();
    org.id
}

/// Waits (real time) until `probe` holds.
async fn until(what: &str, probe: impl Fn() -> bool) {
    for _ in 0..500 {
        if probe() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("still waiting for {what}");
}

/// Gives the dispatcher time to do what it should not.
async fn settle() {
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// The signatures of a delivery verify with `secret`.
fn signed_with(r: &Received, secret: &Secret) -> bool {
    let standard = rules::standard_signature(secret, &r.id, r.timestamp, &r.body);
    let edrv = format!("v1={}", rules::edrv_signature(secret, r.timestamp, &r.body));
    r.signature.split(' ').any(|s| s == standard) && r.edrv.starts_with(&format!("t={},", r.timestamp)) && r.edrv.split(',').any(|s| s == edrv)
}

#[tokio::test]
async fn retries_follow_the_schedule_until_the_receiver_recovers_with_one_webhook_id() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Arc::new(|_, nth| (if nth <= 3 { 500 } else { 204 }, Duration::ZERO))).await;
        let (endpoint, secret) = w.endpoint(&receiver.url, &["user.created"]).await;
        let event = w.user_event().await;
        w.start(config());
        until("attempt 1", || receiver.got().len() == 1).await;
        for (n, delay) in RETRY_DELAYS_S[..3].iter().enumerate() {
            w.recorded(endpoint.id, n + 1).await;
            settle().await;
            assert_eq!(receiver.got().len(), n + 1, "{backend:?}: attempt {} waits for its time", n + 2);
            w.advance_s(*delay as f64 * 1.1 + 0.01);
            until("the next attempt", || receiver.got().len() == n + 2).await;
        }
        settle().await;
        let got = receiver.got();
        assert_eq!(got.len(), 4, "{backend:?}: no attempt after the success");
        assert!(got.iter().all(|r| r.id == event.to_string() && r.body == got[0].body && signed_with(r, &secret)), "{backend:?}");
        assert_eq!(got[0].json["_id"], event.to_string());
        assert_eq!(got[0].json["type"], "user.created");
        assert_eq!(got[0].json["object"], "user");
        assert!(got[0].json["createdAt"].is_string() && got[0].json["data"]["_id"].is_string());

        w.recorded(endpoint.id, 4).await;
        let attempts = w.attempts(endpoint.id).await;
        let statuses: Vec<(u32, Option<u16>, String, bool)> =
            attempts.iter().map(|a| (a.attempt, a.response_status, a.status.clone(), a.next_retry_at.is_some())).collect();
        assert_eq!(
            statuses,
            vec![
                (1, Some(500), "failed".into(), true),
                (2, Some(500), "failed".into(), true),
                (3, Some(500), "failed".into(), true),
                (4, Some(204), "succeeded".into(), false)
            ],
            "{backend:?}"
        );
        let gap = attempts[0].next_retry_at.unwrap().millis() - attempts[0].created_at.millis();
        assert!((4_500..=5_500).contains(&gap), "{backend:?}: first retry after 5 s ± 10%: {gap}");
        assert!(attempts.iter().all(|a| a.event == event && a.delivery == attempts[0].delivery && a.kind == "user.created"));
        w.stop().await;
    }
}

#[tokio::test]
async fn an_endpoint_failing_for_the_whole_schedule_is_disabled_with_its_event() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(503)).await;
        let (endpoint, _) = w.endpoint(&receiver.url, &["user.*"]).await;
        w.user_event().await;
        w.start(config());
        for n in 1..=MAX_ATTEMPTS as usize {
            until("the next attempt", || receiver.got().len() == n).await;
            w.recorded(endpoint.id, n).await;
            w.advance_s(24.0 * 3600.0 * 1.1);
        }
        settle().await;
        assert_eq!(receiver.got().len(), MAX_ATTEMPTS as usize, "{backend:?}: nothing after the schedule");
        let after = w.store.webhook(w.org, endpoint.id).await.unwrap();
        assert!(!after.enabled, "{backend:?}");
        assert_eq!(after.disabled_reason.as_deref(), Some(FAILING_REASON));
        assert_eq!(w.events_of("webhook_endpoint.disabled").await.len(), 1, "{backend:?}");
        let attempts = w.attempts(endpoint.id).await;
        assert_eq!(attempts.len(), MAX_ATTEMPTS as usize);
        assert!(attempts.last().unwrap().next_retry_at.is_none());
        w.stop().await;
    }
}

#[tokio::test]
async fn a_410_disables_the_endpoint_at_once() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(410)).await;
        let (endpoint, _) = w.endpoint(&receiver.url, &["user.*"]).await;
        w.user_event().await;
        w.start(config());
        until("the endpoint disabled", || receiver.got().len() == 1).await;
        settle().await;
        let after = w.store.webhook(w.org, endpoint.id).await.unwrap();
        assert_eq!((after.enabled, after.disabled_reason.as_deref()), (false, Some(GONE_REASON)), "{backend:?}");
        assert_eq!(w.events_of("webhook_endpoint.disabled").await.len(), 1);
        w.user_event().await;
        w.advance_s(7.0 * 24.0 * 3600.0);
        settle().await;
        assert_eq!(receiver.got().len(), 1, "{backend:?}: a disabled endpoint gets nothing");
        w.stop().await;
    }
}

#[tokio::test]
async fn a_chargestations_events_stay_in_order_while_one_is_retried_and_others_go_on() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(200)).await;
        let (endpoint, secret) = w.endpoint(&receiver.url, &["chargestation.*"]).await;
        let stations = stations_with_events(&w, 2, 4).await;
        let events = w.store.events(w.org, domain::page::Page::parse(Some("100"), None).unwrap(), &[]).await.unwrap();
        let of = |cs: Id| -> Vec<String> {
            let mut ids: Vec<String> = events.iter().filter(|e| e.data["_id"] == cs.to_string()).map(|e| e.id.to_string()).collect();
            ids.reverse();
            ids
        };
        let (a, b) = (of(stations[0]), of(stations[1]));
        assert_eq!((a.len(), b.len()), (5, 5));
        // A's second event fails once.
        let failing = a[1].clone();
        *receiver.plan.lock().unwrap() = Arc::new(move |r, nth| (if r.id == failing && nth == 1 { 500 } else { 200 }, Duration::ZERO));
        w.start(config());
        let delivered_of = |ids: &[String]| -> Vec<String> { receiver.delivered().into_iter().map(|r| r.id).filter(|id| ids.contains(id)).collect() };
        until("B's events", || delivered_of(&b).len() == 5).await;
        w.recorded(endpoint.id, 7).await;
        settle().await;
        assert_eq!(delivered_of(&a), a[..1].to_vec(), "{backend:?}: A waits behind its failed event");
        w.advance_s(6.0);
        until("A's events", || delivered_of(&a).len() == 5).await;
        assert_eq!(delivered_of(&a), a, "{backend:?}: in order");
        assert_eq!(delivered_of(&b), b, "{backend:?}: in order");
        assert!(receiver.got().iter().all(|r| signed_with(r, &secret)));
        w.stop().await;
    }
}

#[tokio::test]
async fn events_about_one_object_stay_in_order_while_one_is_retried() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(200)).await;
        let (endpoint, _) = w.endpoint(&receiver.url, &["user.*"]).await;
        // Ada is created, then renamed twice; Grace is created after her. None is about a
        // chargestation: each user's events are a stream of their own.
        let ada = UserInput { firstname: Some(Some("Ada".into())), ..UserInput::default() }.create(w.store.new_id(), w.store.now()).unwrap();
        w.store.create_user(w.org, &ada).await.unwrap();
        for name in ["Augusta", "Ada"] {
            let rename = UserInput { firstname: Some(Some(name.into())), ..UserInput::default() };
            w.store.update_user(w.org, ada.id, |stored| Ok::<_, store::StoreError>(rename.apply(stored, w.store.now()).unwrap())).await.unwrap();
        }
        w.user_event().await;
        let (created, updated) = (w.events_of("user.created").await, w.events_of("user.updated").await);
        let (ada_events, grace) = ([vec![created[0]], updated].concat(), created[1]);
        let failing = ada_events[0].to_string();
        *receiver.plan.lock().unwrap() = Arc::new(move |r, nth| (if r.id == failing && nth == 1 { 500 } else { 200 }, Duration::ZERO));
        w.start(config());
        until("Grace's creation", || receiver.delivered().iter().any(|r| r.id == grace.to_string())).await;
        w.recorded(endpoint.id, 2).await;
        settle().await;
        let of_ada =
            || -> Vec<String> { receiver.delivered().into_iter().map(|r| r.id).filter(|id| ada_events.iter().any(|e| e.to_string() == *id)).collect() };
        assert!(of_ada().is_empty(), "{backend:?}: Ada's renames wait behind her failed creation: {:?}", of_ada());
        w.advance_s(6.0);
        until("Ada's events", || of_ada().len() == 3).await;
        assert_eq!(of_ada(), ada_events.iter().map(Id::to_string).collect::<Vec<_>>(), "{backend:?}: in order");
        w.stop().await;
    }
}

#[tokio::test]
async fn a_slow_endpoint_does_not_delay_another() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let slow = Receiver::start(Arc::new(|_, _| (200, Duration::from_millis(1500)))).await;
        let fast = Receiver::start(Receiver::answering(200)).await;
        w.endpoint(&slow.url, &["user.created"]).await;
        w.endpoint(&fast.url, &["user.created"]).await;
        for _ in 0..12 {
            w.user_event().await;
        }
        w.start(DispatcherConfig { concurrency: 6, per_endpoint: 3, ..config() });
        let started = std::time::Instant::now();
        until("the fast endpoint's events", || fast.got().len() == 12).await;
        assert!(started.elapsed() < Duration::from_millis(1400), "{backend:?}: {:?}", started.elapsed());
        assert!(slow.got().len() <= 3, "{backend:?}: the slow endpoint keeps to its share");
        until("the slow endpoint's events", || slow.got().len() == 12).await;
        w.stop().await;
    }
}

#[tokio::test]
async fn an_organizations_flood_leaves_half_the_slots_to_the_others() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        // The first organization's endpoints are slow and have many events due; the second's
        // endpoint was created later, so it comes last when the due endpoints are read.
        let mut slow = Vec::new();
        for _ in 0..2 {
            slow.push(Receiver::start(Arc::new(|_, _| (200, Duration::from_millis(1500)))).await);
        }
        for r in &slow {
            w.endpoint(&r.url, &["user.created"]).await;
        }
        for _ in 0..8 {
            w.user_event().await;
        }
        let other = organization(&w.store, "Other").await;
        // How many of the flood's requests had arrived when the other organization's came.
        let flooding = Arc::new(Mutex::new(None));
        let (seen, flood) = (flooding.clone(), slow.clone());
        let fast = Receiver::start(Arc::new(move |_, _| {
            seen.lock().unwrap().get_or_insert(flood.iter().map(|r| r.got().len()).sum::<usize>());
            (200, Duration::ZERO)
        }))
        .await;
        w.endpoint_of(other, &fast.url, &["user.created"]).await;
        let user = UserInput { firstname: Some(Some("Grace".into())), ..UserInput::default() }.create(w.store.new_id(), w.store.now()).unwrap();
        w.store.create_user(other, &user).await.unwrap();

        w.start(DispatcherConfig { concurrency: 4, per_endpoint: 4, ..config() });
        let started = std::time::Instant::now();
        until("the other organization's event", || fast.got().len() == 1).await;
        assert!(started.elapsed() < Duration::from_millis(1400), "{backend:?}: waited for the flood: {:?}", started.elapsed());
        let flooding = flooding.lock().unwrap().unwrap();
        assert!(flooding <= 2, "{backend:?}: the flooding organization had {flooding} of 4 slots");
        until("the flood", || slow.iter().map(|r| r.got().len()).sum::<usize>() == 16).await;
        w.stop().await;
    }
}

#[tokio::test]
async fn a_node_that_does_not_allow_private_addresses_sends_them_nothing_and_retries() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(200)).await;
        // Endpoints made while private receivers were allowed: by address, and by a name that resolves to one.
        let (literal, _) = w.endpoint(&receiver.url, &["user.created"]).await;
        let (named, _) = w.endpoint(&receiver.url.replace("127.0.0.1", "localhost"), &["user.created"]).await;
        w.user_event().await;
        w.start(DispatcherConfig { allow_private: false, ..config() });
        w.recorded(literal.id, 1).await;
        w.recorded(named.id, 1).await;
        settle().await;
        assert!(receiver.got().is_empty(), "{backend:?}: nothing reaches the private receiver");
        for (endpoint, why) in [(literal.id, "127.0.0.1 is a loopback address"), (named.id, "`localhost` resolves to")] {
            let attempts = w.attempts(endpoint).await;
            assert_eq!(attempts.len(), 1, "{backend:?}");
            let a = &attempts[0];
            let error = a.error.clone().unwrap_or_default();
            assert!(error.starts_with("refused before sending: ") && error.contains(why), "{backend:?}: {error}");
            assert_eq!((a.status.as_str(), a.response_status, a.response_excerpt.as_deref()), ("failed", None, None), "{backend:?}");
            assert!(a.next_retry_at.is_some(), "{backend:?}: a refused delivery follows the retry schedule");
        }
        w.advance_s(RETRY_DELAYS_S[0] as f64 * 1.1 + 0.01);
        w.recorded(literal.id, 2).await;
        assert!(receiver.got().is_empty(), "{backend:?}: the retry is refused too");
        w.stop().await;
    }
}

#[tokio::test]
async fn a_delivery_held_by_a_dead_node_is_sent_once_its_lease_ends() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(200)).await;
        w.endpoint(&receiver.url, &["user.created"]).await;
        let event = w.user_event().await;
        // A node fans out and claims, then dies before sending.
        w.store.fan_out_events(100).await.unwrap();
        let lease = config().lease;
        let held = w.store.claim_webhook_deliveries(lease.as_millis() as i64, &mut Slots::new(10, 10, 10, [])).await.unwrap();
        assert_eq!(held.len(), 1);
        w.start(config());
        settle().await;
        assert!(receiver.got().is_empty(), "{backend:?}: leased to the dead node");
        w.advance_s(lease.as_secs_f64() + 0.01);
        until("the delivery", || receiver.got().len() == 1).await;
        settle().await;
        assert_eq!(receiver.got().len(), 1);
        assert_eq!(receiver.got()[0].id, event.to_string());
        let deliveries = w.store.deliveries_of_event(w.org, event).await.unwrap();
        assert_eq!((deliveries.len(), deliveries[0].status.as_str(), deliveries[0].attempts), (1, "succeeded", 1), "{backend:?}");
        w.stop().await;
    }
}

#[tokio::test]
async fn after_a_rotation_both_secrets_sign_for_a_day() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(200)).await;
        let (endpoint, old) = w.endpoint(&receiver.url, &["user.created"]).await;
        let new = Secret::from_key(&[42; 32]);
        w.store.rotate_webhook_secret(w.org, endpoint.id, &new).await.unwrap();
        w.start(config());
        w.user_event().await;
        until("a delivery", || receiver.got().len() == 1).await;
        let first = &receiver.got()[0];
        assert!(signed_with(first, &old) && signed_with(first, &new), "{backend:?}: {first:?}");
        assert_eq!(first.signature.split(' ').count(), 2);
        w.advance_s(24.0 * 3600.0 + 1.0);
        w.user_event().await;
        until("a delivery", || receiver.got().len() == 2).await;
        let second = &receiver.got()[1];
        assert!(signed_with(second, &new) && !signed_with(second, &old), "{backend:?}");
        w.stop().await;
    }
}

#[tokio::test]
async fn every_matching_endpoint_gets_each_event_once_and_others_none() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let (all, users, wallets) =
            (Receiver::start(Receiver::answering(200)).await, Receiver::start(Receiver::answering(202)).await, Receiver::start(Receiver::answering(200)).await);
        w.endpoint(&all.url, &["*"]).await;
        w.endpoint(&users.url, &["user.*"]).await;
        w.endpoint(&wallets.url, &["wallet.created"]).await;
        w.start(config());
        for _ in 0..5 {
            w.user_event().await;
        }
        until("the deliveries", || all.got().iter().filter(|r| r.json["type"] == "user.created").count() == 5 && users.got().len() == 5).await;
        settle().await;
        let ids = |r: &Receiver| r.got().into_iter().filter(|g| g.json["type"] == "user.created").map(|g| g.id).collect::<Vec<_>>();
        let expected: Vec<String> = w.events_of("user.created").await.iter().map(Id::to_string).collect();
        let mut count: HashMap<String, usize> = HashMap::new();
        for id in ids(&all) {
            *count.entry(id).or_default() += 1;
        }
        assert!(expected.iter().all(|e| count.get(e) == Some(&1)), "{backend:?}: each once");
        let mut got_users = ids(&users);
        got_users.sort();
        let mut sorted = expected.clone();
        sorted.sort();
        assert_eq!(got_users, sorted);
        assert!(wallets.got().is_empty());
        w.stop().await;
    }
}

/// Chargestations registered in `w`'s organization, each with `n` events after its creation
/// (`chargestation.online`/`.offline`); answers their ids.
async fn stations_with_events(w: &World, stations: usize, n: usize) -> Vec<Id> {
    let mut ids = Vec::new();
    for i in 0..stations {
        let cs = store::ChargestationRecord {
            id: w.store.new_id(),
            endpoint: format!("CS-{i}-{}", rand::random::<u32>()),
            protocol: "ocpp1.6".into(),
            location: None,
            connection_url: "ws://127.0.0.1/ocpp".into(),
            security: store::StoredSecurity { kind: domain::chargestation::SecurityType::None, password_hash: None },
            registration: domain::chargestation::Registration::Accepted,
            created_at: w.store.now(),
        };
        w.store.create_chargestation(w.org, &cs).await.unwrap();
        ids.push(cs.id);
    }
    for k in 0..n {
        for &cs in &ids {
            w.store.charger_connection(w.org, cs, k % 2 == 0, w.store.now()).await.unwrap();
        }
    }
    ids
}

#[tokio::test]
async fn two_nodes_share_the_work_without_sending_anything_twice_and_keep_the_order() {
    for backend in backends() {
        let mut w = World::new(backend).await;
        let receiver = Receiver::start(Receiver::answering(200)).await;
        w.endpoint(&receiver.url, &["chargestation.*", "user.created"]).await;
        let stations = stations_with_events(&w, 4, 6).await;
        for _ in 0..10 {
            w.user_event().await;
        }
        // A second node: its own connections to the same database, the same clock.
        let other = Store::connect(&w.db.as_ref().unwrap().url, w.clock.clone()).await.unwrap();
        let second = webhooks::spawn(other.clone(), config(), w.stopping.subscribe());
        w.start(config());
        let expected = 4 * 7 + 10;
        until("every event", || receiver.got().len() >= expected).await;
        settle().await;
        let got = receiver.got();
        let mut ids: Vec<&String> = got.iter().map(|r| &r.id).collect();
        ids.sort();
        ids.dedup();
        assert_eq!((got.len(), ids.len()), (expected, expected), "{backend:?}: each event once");
        for cs in stations {
            let order: Vec<String> = got.iter().filter(|r| r.json["data"]["_id"] == cs.to_string()).map(|r| r.id.clone()).collect();
            let mut sorted = order.clone();
            sorted.sort_by_key(|id| id.parse::<Id>().unwrap());
            assert_eq!(order.len(), 7);
            assert_eq!(order, sorted, "{backend:?}: one chargestation's events in order");
        }
        w.stopping.send_replace(true);
        second.await.unwrap();
        other.close().await;
        w.stop().await;
    }
}
