//! `TestApp`: one node (`joule::app::App`, as `joule serve` runs it, every runner included)
//! with its own fresh database, and typed helpers to call it.

use std::sync::Arc;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use store::testing::{ShiftedClock, TestDatabase, backends};
use store::{Backend, Store};

pub const ADMIN_TOKEN: &str = "test-admin-token-0123456789";
/// A closed local port (the discard service's): Stripe "cannot be reached" there.
pub const UNREACHABLE_STRIPE: &str = "http://127.0.0.1:9";

pub struct TestApp {
    pub base: String,
    pub client: reqwest::Client,
    pub store: Store,
    pub ocpp: ocpp_server::OcppServer,
    /// The store's clock: the system's unless a test shifts it.
    pub clock: Arc<ShiftedClock>,
    db: Option<TestDatabase>,
    running: Option<joule::app::Running>,
}

/// An answer: the status and the parsed body (`Value::Null` when it was not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
    pub headers: reqwest::header::HeaderMap,
}

impl Answer {
    pub fn message(&self) -> &str {
        self.body["message"].as_str().unwrap_or("")
    }

    /// Asserts a successful envelope and returns its result.
    #[track_caller]
    pub fn ok(self) -> Value {
        assert_eq!(self.status, StatusCode::OK, "{:?}", self.body);
        assert_eq!(self.body["ok"], json!(true));
        self.body["result"].clone()
    }

    /// Asserts an error envelope with this status and returns its message.
    #[track_caller]
    pub fn err(self, status: u16) -> String {
        assert_eq!(self.status.as_u16(), status, "{:?}", self.body);
        assert_eq!(self.body["ok"], json!(false), "{:?}", self.body);
        assert_eq!(self.body["result"], Value::Null);
        self.message().to_string()
    }
}

/// Runs `test` once per backend, each time on a fresh server and database.
pub async fn on_every_backend<F, Fut>(test: F)
where
    F: Fn(TestApp) -> Fut,
    Fut: std::future::Future<Output = TestApp>,
{
    for backend in backends() {
        let app = TestApp::spawn(backend).await;
        let app = test(app).await;
        app.stop().await;
    }
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> TestApp {
        let db = TestDatabase::fresh(backend).await;
        let clock = Arc::new(ShiftedClock::default());
        let store = Store::connect(&db.url, clock.clone()).await.expect("store");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut app = joule::app::App::new(store.clone(), listener, ADMIN_TOKEN);
        // Stripe is never called from these tests: where one would be, nothing listens.
        app.stripe = stripe::StripeConfig { api_base: UNREACHABLE_STRIPE.into(), max_retries: 0, ..Default::default() };
        let running = app.start().await.expect("the node starts");
        TestApp {
            base: format!("http://{}", running.address),
            client: reqwest::Client::new(),
            store,
            ocpp: running.ocpp.clone(),
            clock,
            db: Some(db),
            running: Some(running),
        }
    }

    pub fn backend(&self) -> Backend {
        self.store.backend()
    }

    pub async fn stop(mut self) {
        if let Some(running) = self.running.take() {
            running.stop().await.expect("the node stops");
        }
        self.store.close().await;
        if let Some(db) = self.db.take() {
            db.remove().await;
        }
    }

    /// Sends a request with an optional bearer token and JSON body.
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: Option<Value>) -> Answer {
        let mut request = self.client.request(method, format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.header("content-type", "application/json").body(body.to_string());
        }
        self.send(request).await
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.expect("request");
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap_or_default();
        Answer { status, body: serde_json::from_str(&text).unwrap_or(Value::Null), headers }
    }

    pub async fn get(&self, path: &str, key: &str) -> Answer {
        self.call(Method::GET, path, Some(key), None).await
    }

    pub async fn post(&self, path: &str, key: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(key), Some(body)).await
    }

    pub async fn patch(&self, path: &str, key: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(key), Some(body)).await
    }

    /// Creates an organization through the admin API; returns its id and API key.
    pub async fn organization(&self, body: Value) -> (String, String) {
        let org = self.post("/v1.1/organizations", ADMIN_TOKEN, body).await.ok();
        (org["_id"].as_str().unwrap().to_string(), org["api_key"].as_str().unwrap().to_string())
    }

    /// An organization's API key, for tests that need just one.
    pub async fn key(&self) -> String {
        self.organization(json!({ "name": "Acme" })).await.1
    }

    pub async fn user(&self, key: &str) -> String {
        let user = self.post("/v1.1/users", key, json!({ "firstname": "Ada", "email": "ada@example.com" })).await.ok();
        user["_id"].as_str().unwrap().to_string()
    }

    /// A user with a wallet holding `cents`; returns the wallet id.
    pub async fn funded_wallet(&self, key: &str, cents: i64) -> String {
        let user = self.user(key).await;
        let wallet = self.post(&format!("/v1.1/users/{user}/wallet"), key, json!({ "currency": "usd" })).await.ok();
        let id = wallet["_id"].as_str().unwrap().to_string();
        if cents != 0 {
            self.post(&format!("/v1.1/wallets/{id}/adjustments"), key, json!({ "amount": cents, "reason": "funding" })).await.ok();
        }
        id
    }

    /// The ledger invariant seen through the API: balance = sum of entries, and
    /// 0 <= available_balance <= balance.
    pub async fn assert_ledger(&self, key: &str, wallet: &str) -> (i64, i64) {
        let w = self.get(&format!("/v1.1/wallets/{wallet}"), key).await.ok();
        let (balance, available) = (w["balance"].as_i64().unwrap(), w["available_balance"].as_i64().unwrap());
        let mut sum = 0;
        let mut page = 1;
        loop {
            let entries = self.get(&format!("/v1.1/wallets/{wallet}/transactions?limit=100&page={page}"), key).await.ok();
            let entries = entries.as_array().unwrap().clone();
            sum += entries.iter().map(|e| e["amount"].as_i64().unwrap()).sum::<i64>();
            if entries.len() < 100 {
                break;
            }
            page += 1;
        }
        assert_eq!(sum, balance, "{:?}: balance is the sum of the ledger", self.backend());
        assert!(0 <= available && available <= balance, "{:?}: {available} of {balance}", self.backend());
        (balance, available)
    }

    pub async fn event_types(&self, key: &str) -> Vec<String> {
        let events = self.get("/v1.1/events?limit=100", key).await.ok();
        let mut types: Vec<String> = events.as_array().unwrap().iter().map(|e| e["type"].as_str().unwrap().to_string()).collect();
        types.reverse();
        types
    }
}
