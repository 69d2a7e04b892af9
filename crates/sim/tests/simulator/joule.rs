//! A Joule node in the test process (`joule::app::App`, as `joule serve` runs it) with a fresh
//! database, the records the simulated chargers need, and a look at what it stored.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use domain::Id;
use domain::chargestation::{Registration, SecurityType};
use domain::organization::OrganizationInput;
use domain::page::Page;
use domain::token::{Token, TokenStatus, TokenType};
use domain::transaction::Transaction;
use ocpp_server::OcppServer;
use store::testing::TestDatabase;
use store::{Backend, ChargestationRecord, Store, StoredSecurity, SystemClock};
use tokio::time::Instant;

/// How long anything in these tests may take to happen.
pub const DEADLINE: Duration = Duration::from_secs(20);

pub struct Joule {
    /// The OCPP base URL chargers connect to.
    pub url: String,
    pub ocpp: OcppServer,
    pub store: Store,
    pub org: Id,
    db: TestDatabase,
    running: joule::app::Running,
}

/// A stored sampled value.
#[derive(Debug)]
pub struct Reading {
    pub transaction_id: Option<i64>,
    pub measurand: String,
    pub value: f64,
    /// The charger's time, and the time Joule stored it, ms.
    pub sampled_at: i64,
    pub created_at: i64,
}

impl Joule {
    pub async fn start(backend: Backend) -> Joule {
        let db = TestDatabase::fresh(backend).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let running = joule::app::App::new(store.clone(), listener, "sim-tests-admin-token").start().await.expect("the node starts");
        let (address, ocpp) = (running.address, running.ocpp.clone());

        let input = OrganizationInput { name: "Sim Charging".into(), country: None, configurations: None };
        let org = input.parse(store.new_id(), store.now()).unwrap();
        store.create_organization(&org, &api::secrets::new_api_key(org.id).record).await.unwrap();
        Joule { url: format!("ws://{address}/ocpp"), ocpp, store, org: org.id, db, running }
    }

    /// Registers a chargestation, with Basic authentication when there is a password.
    pub async fn chargestation(&self, endpoint: &str, password: Option<&str>) -> Id {
        let security = match password {
            Some(p) => StoredSecurity { kind: SecurityType::Basic, password_hash: Some(ocpp_server::passwords::hash_password(p)) },
            None => StoredSecurity { kind: SecurityType::None, password_hash: None },
        };
        let record = ChargestationRecord {
            id: self.store.new_id(),
            endpoint: endpoint.into(),
            protocol: "ocpp1.6".into(),
            location: None,
            connection_url: format!("{}/{endpoint}", self.url),
            security,
            registration: Registration::Accepted,
            created_at: self.store.now(),
        };
        self.store.create_chargestation(self.org, &record).await.unwrap().id
    }

    /// An RFID token Joule accepts.
    pub async fn token(&self, id_tag: &str) {
        let now = self.store.now();
        let token = Token {
            id: self.store.new_id(),
            physical_id: id_tag.into(),
            kind: TokenType::Iso14443,
            user: None,
            status: TokenStatus::Accepted,
            expires_at: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        self.store.create_token(self.org, &token).await.unwrap();
    }

    pub async fn transactions(&self, cs: Id) -> Vec<Transaction> {
        self.store.transactions(self.org, cs, Page { limit: 100, page: 1 }).await.unwrap()
    }

    /// The values stored for a chargestation, in the charger's time order.
    pub async fn readings(&self, cs: Id) -> Vec<Reading> {
        let mut readings = Vec::new();
        for stored in self.store.stored_readings(cs).await {
            readings.extend(stored.samples.as_array().unwrap().iter().map(|sample| Reading {
                transaction_id: stored.transaction_id,
                measurand: sample["measurand"].as_str().unwrap().to_string(),
                value: sample["value"].as_str().unwrap().parse().unwrap(),
                sampled_at: stored.sampled_at,
                created_at: stored.created_at,
            }));
        }
        readings
    }

    pub async fn stop(self) {
        self.running.stop().await.expect("the node stops");
        self.store.close().await;
        self.db.remove().await;
    }
}

/// Polls `probe` until it finds what it looks for; the test fails after [`DEADLINE`].
pub async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + DEADLINE;
    loop {
        if let Some(found) = probe().await {
            return found;
        }
        assert!(Instant::now() < deadline, "gave up waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
