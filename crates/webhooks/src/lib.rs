//! The webhook dispatcher: the shell around `domain::webhook_delivery`.
//!
//! It loops over three steps, each a store use case in its own transaction:
//! 1. **fan out**: events of the outbox not yet seen become one delivery per enabled endpoint
//!    whose patterns match (`Store::fan_out_events`);
//! 2. **claim**: due deliveries are leased to this node (`Store::claim_webhook_deliveries`), at
//!    most [`DispatcherConfig::concurrency`] in flight and
//!    [`DispatcherConfig::per_endpoint`] per endpoint, so one slow endpoint never takes the
//!    slots of the others, and at most half of them to one organization while another has
//!    deliveries due (`webhook_delivery::Slots`); of one stream's events (a chargestation's, or else one object's)
//!    only the earliest pending one is ever due for an endpoint, which keeps them in order;
//! 3. **deliver**: each claimed delivery is POSTed in its own task, signed, with a timeout and
//!    no redirects; the answer goes through `webhook_delivery::decide`;
//! 4. **record**: `Store::finish_webhook_attempts` writes the finished attempts and their
//!    consequences, as many as have finished meanwhile in one transaction.
//!
//! Nothing is kept in memory that another node or a restart would need: a node killed
//! mid-flight leaves leases that end after [`DispatcherConfig::lease`], and its deliveries are
//! sent again (at least once). Time comes from the store's clock, so tests can move it.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod destination;

pub use destination::check_url;

use domain::Id;
use domain::webhook_delivery::{self as rules, AttemptFacts, DeliveryAttempt, Response, Slots, Verdict};
use store::{ClaimedDelivery, FinishedAttempt, Store};
use tokio::sync::mpsc::{UnboundedReceiver, UnboundedSender, unbounded_channel};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinHandle;

#[derive(Clone, Debug)]
pub struct DispatcherConfig {
    /// Deliveries in flight at once on this node.
    pub concurrency: usize,
    /// Deliveries in flight at once to one endpoint.
    pub per_endpoint: usize,
    /// How long an endpoint has to answer.
    pub timeout: Duration,
    /// How long a claimed delivery is this node's; longer than `timeout`, so that a live node's
    /// attempt is never sent twice.
    pub lease: Duration,
    /// How often to look for work when nothing woke the dispatcher.
    pub poll_interval: Duration,
    /// Multiplies the retry schedule: 1 in production; tests that cannot wait days use less.
    pub retry_scale: f64,
    /// Events fanned out per transaction.
    pub fan_out_batch: u32,
    /// Whether endpoints may be on loopback, private, link-local and other non-public
    /// addresses (`webhook_allow_private`): for on-premises receivers and tests only, since an
    /// organization could otherwise reach the operator's own network.
    pub allow_private: bool,
}

impl Default for DispatcherConfig {
    fn default() -> Self {
        DispatcherConfig {
            concurrency: 256,
            per_endpoint: 32,
            timeout: Duration::from_secs(10),
            lease: Duration::from_secs(15),
            poll_interval: Duration::from_millis(200),
            retry_scale: 1.0,
            fan_out_batch: 500,
            allow_private: false,
        }
    }
}

/// Starts the dispatcher on `store`; it ends once `stop` turns true (or its sender is dropped),
/// after the transaction in progress: a task aborted after its COMMIT went out still sent a
/// ROLLBACK, which PostgreSQL answered with a warning.
pub fn spawn(store: Store, config: DispatcherConfig, stop: watch::Receiver<bool>) -> JoinHandle<()> {
    let (finished, to_record) = unbounded_channel();
    let dispatcher = Dispatcher::new(store, config, finished);
    tokio::spawn(async move {
        tokio::join!(dispatcher.run(stop.clone()), dispatcher.record(to_record, stop));
    })
}

/// An attempt done, with the slot it held until it is recorded.
type Done = (FinishedAttempt, OwnedSemaphorePermit);

/// At most this many attempts are recorded in one transaction.
const RECORD_BATCH: usize = 256;

struct Dispatcher {
    store: Store,
    config: DispatcherConfig,
    client: reqwest::Client,
    /// Bounds the deliveries in flight on this node.
    slots: Arc<Semaphore>,
    /// `(endpoint, organization)` of each delivery in flight, so that claims leave room for
    /// the other endpoints and organizations.
    busy: Arc<Mutex<Vec<(Id, Id)>>>,
    /// Poked when deliveries are recorded: the next one of their stream may be due.
    wake: Arc<Notify>,
    finished: UnboundedSender<Done>,
}

impl Dispatcher {
    fn new(store: Store, config: DispatcherConfig, finished: UnboundedSender<Done>) -> Dispatcher {
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .connect_timeout(config.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Joule-Webhooks/", env!("CARGO_PKG_VERSION")));
        // Connections go only to the addresses the resolver checked: never through a proxy,
        // which would connect to whatever the name means to it.
        let client = if config.allow_private { client } else { client.dns_resolver(Arc::new(destination::PublicOnly)).no_proxy() };
        let client = client.build().expect("the HTTP client builds");
        let slots = Arc::new(Semaphore::new(config.concurrency.max(1)));
        Dispatcher { store, config, client, slots, busy: Arc::default(), wake: Arc::default(), finished }
    }

    /// Records what the delivery tasks finished, in batches, then frees their slots.
    async fn record(&self, mut to_record: UnboundedReceiver<Done>, mut stop: watch::Receiver<bool>) {
        loop {
            // Attempts that end after the stop are not recorded: their leases run out and
            // another run delivers them again.
            let first = tokio::select! {
                done = to_record.recv() => match done {
                    Some(done) => done,
                    None => return,
                },
                _ = stop.wait_for(|&stopped| stopped) => return,
            };
            let mut batch = vec![first];
            while batch.len() < RECORD_BATCH {
                match to_record.try_recv() {
                    Ok(done) => batch.push(done),
                    Err(_) => break,
                }
            }
            let attempts: Vec<FinishedAttempt> = batch.iter().map(|(f, _)| f.clone()).collect();
            if let Err(e) = self.store.finish_webhook_attempts(&attempts).await {
                // The leases run out and the deliveries are tried again: at least once, never lost.
                tracing::warn!(error = %e, attempts = attempts.len(), "could not record webhook attempts");
            }
            let mut busy = self.busy.lock().expect("busy map");
            for (f, _slot) in batch {
                let sent = (f.claimed.endpoint, f.claimed.organization);
                if let Some(i) = busy.iter().position(|b| *b == sent) {
                    busy.swap_remove(i);
                }
            }
            drop(busy);
            self.wake.notify_one();
        }
    }

    async fn run(&self, mut stop: watch::Receiver<bool>) {
        loop {
            self.fan_out(&stop).await;
            if let Err(e) = self.dispatch().await {
                tracing::warn!(error = %e, "webhook dispatch failed; trying again");
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.poll_interval) => {}
                _ = self.wake.notified() => {}
                _ = stop.wait_for(|&stopped| stopped) => return,
            }
        }
    }

    async fn fan_out(&self, stop: &watch::Receiver<bool>) {
        loop {
            match self.store.fan_out_events(self.config.fan_out_batch).await {
                Ok(n) if n == self.config.fan_out_batch as usize && !*stop.borrow() => continue,
                Ok(_) => return,
                Err(e) => {
                    tracing::warn!(error = %e, "webhook fan-out failed; trying again");
                    return;
                }
            }
        }
    }

    async fn dispatch(&self) -> Result<(), store::StoreError> {
        let free = self.slots.available_permits();
        if free == 0 {
            return Ok(());
        }
        let lease_ms = i64::try_from(self.config.lease.as_millis()).unwrap_or(i64::MAX);
        let in_flight: Vec<(Id, Id)> = self.busy.lock().expect("busy map").clone();
        let mut slots = Slots::new(self.config.concurrency.max(1), free, self.config.per_endpoint.max(1), in_flight);
        let claimed = self.store.claim_webhook_deliveries(lease_ms, &mut slots).await?;
        for delivery in claimed {
            let Ok(slot) = self.slots.clone().try_acquire_owned() else { break };
            self.busy.lock().expect("busy map").push((delivery.endpoint, delivery.organization));
            let (store, client, finished, scale, allow_private) =
                (self.store.clone(), self.client.clone(), self.finished.clone(), self.config.retry_scale, self.config.allow_private);
            tokio::spawn(async move {
                let done = attempt(&store, &client, delivery, scale, allow_private).await;
                let _ = finished.send((done, slot));
            });
        }
        Ok(())
    }
}

/// One attempt: sign, POST, decide. A destination that is not allowed fails the attempt
/// without sending anything.
async fn attempt(store: &Store, client: &reqwest::Client, d: ClaimedDelivery, scale: f64, allow_private: bool) -> FinishedAttempt {
    let body = serde_json::to_vec(&d.event).expect("events serialize");
    let started_at = store.now();
    let secrets = rules::signing_secrets(&d.secret, d.previous_secret.as_ref().map(|(s, until)| (s, *until)), started_at);
    let signed = rules::sign(&secrets, &d.event.id.to_string(), started_at, &body);
    let clock = Instant::now();
    let refused = if allow_private { None } else { destination::literal_refusal(&d.url) };
    let (response, excerpt) = match refused {
        Some(refused) => (Response::Failed(refused.to_string()), None),
        None => send(client, &d.url, &signed, body).await,
    };
    let duration_ms = i64::try_from(clock.elapsed().as_millis()).unwrap_or(i64::MAX);
    let facts = AttemptFacts {
        attempt: d.attempt,
        now: store.now(),
        first_attempt_at: d.first_attempt_at.unwrap_or(started_at),
        endpoint_last_success: d.endpoint_last_success,
        jitter: rand::random(),
        scale,
    };
    let verdict = rules::decide(&response, facts);
    let (response_status, error) = match &response {
        Response::Status(s) => (Some(*s), None),
        Response::Failed(e) => (None, Some(e.clone())),
    };
    let record = DeliveryAttempt {
        id: store.new_id(),
        webhook: d.endpoint,
        delivery: d.delivery,
        event: d.event.id,
        kind: d.event.kind.clone(),
        attempt: d.attempt,
        status: if verdict == Verdict::Delivered { "succeeded" } else { "failed" }.into(),
        response_status,
        error,
        response_excerpt: excerpt,
        duration_ms,
        next_retry_at: match verdict {
            Verdict::RetryAt(at) => Some(at),
            _ => None,
        },
        created_at: started_at,
    };
    tracing::debug!(webhook = %d.endpoint, event = %d.event.id, attempt = d.attempt, status = ?response_status, "webhook attempt");
    metrics::counter!("joule_webhook_attempts_total", "result" => record.status.clone()).increment(1);
    if let Verdict::GiveUp { disable: Some(reason) } = &verdict {
        tracing::warn!(webhook = %d.endpoint, reason, "disabling a webhook endpoint");
        metrics::counter!("joule_webhook_endpoints_disabled_total").increment(1);
    }
    FinishedAttempt { claimed: d, attempt: record, verdict }
}

/// POSTs a signed delivery: its status and the excerpt of its answer, or why there was none.
async fn send(client: &reqwest::Client, url: &str, signed: &rules::Signed, body: Vec<u8>) -> (Response, Option<String>) {
    let sent = client
        .post(url)
        .header("content-type", "application/json")
        .header("webhook-id", &signed.webhook_id)
        .header("webhook-timestamp", &signed.webhook_timestamp)
        .header("webhook-signature", &signed.webhook_signature)
        .header("edrv-signature", &signed.edrv_signature)
        .body(body)
        .send()
        .await;
    match sent {
        Ok(r) => (Response::Status(r.status().as_u16()), Some(read_excerpt(r).await)),
        Err(e) => (Response::Failed(describe(&e)), None),
    }
}

/// Reads no more of the body than the excerpt keeps.
async fn read_excerpt(mut r: reqwest::Response) -> String {
    let mut kept = Vec::new();
    while kept.len() < rules::EXCERPT_BYTES {
        match r.chunk().await {
            Ok(Some(chunk)) => kept.extend_from_slice(&chunk),
            _ => break,
        }
    }
    rules::excerpt(&kept)
}

/// Why there was no answer, without the URL (it may carry a token).
fn describe(e: &reqwest::Error) -> String {
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        if let Some(refused) = s.downcast_ref::<destination::Refused>() {
            return refused.to_string();
        }
        source = s.source();
    }
    if e.is_timeout() {
        "timed out".into()
    } else if e.is_connect() {
        "could not connect".into()
    } else {
        let mut message = e.to_string();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            message = format!("{message}: {s}");
            source = s.source();
        }
        message.replace(e.url().map(|u| u.as_str()).unwrap_or("\u{0}"), "<url>")
    }
}
