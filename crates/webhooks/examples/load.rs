//! Webhook load: how many events per second the dispatcher delivers to a receiver on a local
//! port. A backlog of events about many chargestations is written to the outbox first, then
//! one dispatcher with the default settings (64 in flight, 8 per endpoint) drains it to one
//! endpoint subscribed to `*`, in order per chargestation.
//!
//! `cargo run --release -p webhooks --example load -- [sqlite|postgres] [EVENTS] [CHARGESTATIONS]`
//! (PostgreSQL at `JOULE_TEST_POSTGRES_URL`, as for the tests.)

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use domain::organization::OrganizationInput;
use domain::webhook::{OwnAddresses, Secret, WebhookInput};
use store::testing::TestDatabase;
use store::{ApiKeyRecord, Backend, Store, SystemClock};

#[tokio::main]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let backend = if args.get(1).map(String::as_str) == Some("postgres") { Backend::Postgres } else { Backend::Sqlite };
    let events: usize = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(20_000);
    let stations: usize = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(200);

    let db = TestDatabase::fresh(backend).await;
    let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
    let org = OrganizationInput { name: "Load".into(), country: None, configurations: None }.parse(store.new_id(), store.now()).unwrap();
    store.create_organization(&org, &ApiKeyRecord { id: "0000000000000000".into(), organization: org.id, secret_sha256: String::new() }).await.unwrap();
    tokio::time::sleep(Duration::from_millis(5)).await;

    let received = Arc::new(AtomicUsize::new(0));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    let counter = received.clone();
    let app = axum::Router::new().route(
        "/hook",
        axum::routing::post(move || {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::Relaxed);
                axum::http::StatusCode::NO_CONTENT
            }
        }),
    );
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let input = WebhookInput { url: Some(url), events: Some(vec!["*".into()]), ..WebhookInput::default() };
    let endpoint = input.create(store.new_id(), &OwnAddresses::default(), store.now()).unwrap();
    store.create_webhook(org.id, &endpoint, &Secret::from_key(&[7; 32])).await.unwrap();

    // The backlog: each chargestation's creation, then it going online and offline.
    let written = Instant::now();
    let per_station = (events / stations).max(2);
    let mut writers = Vec::new();
    for i in 0..stations {
        let store = store.clone();
        writers.push(tokio::spawn(async move {
            let cs = store::ChargestationRecord {
                id: store.new_id(),
                endpoint: format!("LOAD-{i}"),
                protocol: "ocpp1.6".into(),
                location: None,
                connection_url: "ws://127.0.0.1/ocpp".into(),
                security: store::StoredSecurity { kind: domain::chargestation::SecurityType::None, password_hash: None },
                registration: domain::chargestation::Registration::Accepted,
                created_at: store.now(),
            };
            store.create_chargestation(org.id, &cs).await.unwrap();
            for k in 1..per_station {
                store.charger_connection(org.id, cs.id, k % 2 == 1, store.now()).await.unwrap();
            }
        }));
    }
    for w in writers {
        w.await.unwrap();
    }
    // The endpoint's own creation is delivered too.
    let expected = stations * per_station + 1;
    println!("{backend:?}: {expected} events written in {:.1} s", written.elapsed().as_secs_f64());

    let started = Instant::now();
    let (_running, told) = tokio::sync::watch::channel(false);
    let dispatcher = webhooks::spawn(store.clone(), webhooks::DispatcherConfig::default(), told);
    while received.load(Ordering::Relaxed) < expected {
        tokio::time::sleep(Duration::from_millis(10)).await;
        assert!(started.elapsed() < Duration::from_secs(600), "stalled at {} of {expected}", received.load(Ordering::Relaxed));
    }
    let seconds = started.elapsed().as_secs_f64();
    println!("{backend:?}: {expected} events about {stations} chargestations delivered in {seconds:.2} s: {:.0} events/s", expected as f64 / seconds);
    dispatcher.abort();
    store.close().await;
    db.remove().await;
}
