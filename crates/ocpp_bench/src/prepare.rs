//! `prepare`: registers what the load needs through Joule's API, as an operator would: an
//! organization (with the admin token) and its API key, a rate, and for each charger its
//! chargestation (endpoint `{prefix}{i}`), connector 1 priced by the rate and a token whose
//! idTag is the endpoint; with `--wallets`, also a driver per charger with a funded wallet for
//! the wallet starts. Prints the [`Plan`] as JSON.

use futures_util::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

/// Requests in flight while registering.
const CONCURRENCY: usize = 8;
/// Each wallet holds this much, cents: far above the default minimum balance.
const WALLET_CENTS: u64 = 100_000;

#[derive(clap::Args, Clone, Debug)]
pub struct PrepareArgs {
    /// Joule's HTTP base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// Joule's admin token (JOULE_ADMIN_TOKEN of `joule serve`).
    #[arg(long, env = "JOULE_ADMIN_TOKEN")]
    pub admin_token: String,
    /// How many chargers.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub chargers: u32,
    /// Chargers are {prefix}1, {prefix}2, …
    #[arg(long, default_value = "CS-")]
    pub prefix: String,
    /// Also a driver with a funded wallet per charger.
    #[arg(long)]
    pub wallets: bool,
}

/// What `prepare` registered: what the wallet starts send.
#[derive(Serialize, Deserialize, Debug)]
pub struct Plan {
    pub api_key: String,
    pub chargers: Vec<Registered>,
}

#[derive(Serialize, Deserialize, Debug)]
pub struct Registered {
    pub endpoint: String,
    /// The connector's `_id`.
    pub connector: String,
    /// The driver's `_id`, with `--wallets`.
    pub user: Option<String>,
}

/// A client of Joule's API with one bearer token.
#[derive(Clone)]
pub struct Api {
    pub client: reqwest::Client,
    pub base: String,
    pub token: String,
}

impl Api {
    pub fn new(base: &str, token: &str) -> Api {
        let client = reqwest::Client::builder().timeout(crate::link::CALL_TIMEOUT).build().expect("a client without TLS builds");
        Api { client, base: base.trim_end_matches('/').to_string(), token: token.to_string() }
    }

    pub fn post_request(&self, path: &str, body: &Value) -> reqwest::RequestBuilder {
        self.client.post(format!("{}{path}", self.base)).bearer_auth(&self.token).json(body)
    }

    /// POSTs `body` and answers the envelope's `result`; anything but a 200 is an error.
    pub async fn post(&self, path: &str, body: Value) -> anyhow::Result<Value> {
        let response = self.post_request(path, &body).send().await?;
        let status = response.status();
        let mut envelope: Value = response.json().await?;
        anyhow::ensure!(status.is_success(), "POST {path}: {status}: {}", envelope["message"]);
        Ok(envelope["result"].take())
    }
}

pub async fn run(args: PrepareArgs) -> anyhow::Result<Plan> {
    let admin = Api::new(&args.api, &args.admin_token);
    let organization = admin.post("/v1.1/organizations", json!({ "name": "ocpp-load" })).await?;
    let api_key = organization["api_key"].as_str().ok_or_else(|| anyhow::anyhow!("no api_key in {organization}"))?.to_string();
    let api = Api::new(&args.api, &api_key);
    let rate = api
        .post(
            "/v1.1/rates",
            json!({ "name": "ocpp-load", "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.35 }, { "type": "TIME", "price": 1.2 }] }),
        )
        .await?;
    let rate = id(&rate)?;
    let chargers =
        stream::iter(1..=args.chargers).map(|i| register(&api, format!("{}{i}", args.prefix), &rate, args.wallets)).buffered(CONCURRENCY).try_collect().await?;
    Ok(Plan { api_key, chargers })
}

async fn register(api: &Api, endpoint: String, rate: &str, wallet: bool) -> anyhow::Result<Registered> {
    let chargestation = id(&api.post("/v1.1/chargestations", json!({ "endpoint": endpoint })).await?)?;
    let connector = id(&api.post("/v1.1/connectors", json!({ "chargestation": chargestation, "connector_id": 1, "rate": rate })).await?)?;
    api.post("/v1.1/tokens", json!({ "physicalId": endpoint })).await?;
    let user = if wallet {
        let email = format!("{}@example.com", endpoint.to_lowercase());
        let user = id(&api.post("/v1.1/users", json!({ "firstname": "Load", "lastname": endpoint, "email": email })).await?)?;
        let wallet = id(&api.post(&format!("/v1.1/users/{user}/wallet"), json!({ "currency": "usd" })).await?)?;
        api.post(&format!("/v1.1/wallets/{wallet}/adjustments"), json!({ "amount": WALLET_CENTS, "reason": "benchmark" })).await?;
        Some(user)
    } else {
        None
    };
    Ok(Registered { endpoint, connector, user })
}

fn id(resource: &Value) -> anyhow::Result<String> {
    resource["_id"].as_str().map(str::to_string).ok_or_else(|| anyhow::anyhow!("no _id in {resource}"))
}
