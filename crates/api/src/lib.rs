//! Joule's HTTP API: the `/v1.1` REST resources, health, metrics and the OpenAPI document.
//!
//! Handlers are thin: an extractor turns the request into typed input (`extract`, `auth`), the
//! domain parses it, one store call applies it, and `envelope` answers. Failures become HTTP
//! answers in one place, `error`. Cross-cutting layers: `idempotency` (POST replays),
//! `observe` (metrics, logs), `limits` (the body deadline), the 1 MiB body limit.

mod auth;
mod envelope;
mod error;
mod extract;
pub mod idempotency;
mod limits;
mod observe;
mod openapi;
mod routes;
pub mod secrets;
mod strict_json;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{Method, StatusCode, Uri};
use axum::middleware;
use ocpp_server::OcppServer;
use store::Store;

pub use auth::ActingFor;
pub use error::ApiError;

pub struct ApiConfig {
    /// Enables `/v1.1/organizations` for whoever presents it.
    pub admin_token: Option<String>,
    /// Where chargers reach this server (`ws://host:port`), for chargestations' `connection_url`.
    pub public_ws_url: String,
    /// The addresses this server listens on: webhook URLs may not point at them.
    pub listen_addresses: Vec<std::net::SocketAddr>,
    /// Where Stripe is and how long top-ups wait for their payment.
    pub stripe: stripe::StripeConfig,
    /// A request body must arrive whole within this (408 otherwise).
    pub body_timeout: std::time::Duration,
    /// Whether webhook URLs may point at private addresses (`webhook_allow_private`).
    pub webhook_allow_private: bool,
}

impl ApiConfig {
    /// Where this server can be reached, which webhook URLs must avoid.
    pub fn own_addresses(&self) -> domain::webhook::OwnAddresses {
        domain::webhook::OwnAddresses { listen: self.listen_addresses.clone(), public: vec![self.public_ws_url.clone()] }
    }
}

impl std::fmt::Debug for ApiConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiConfig")
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<hidden>"))
            .field("public_ws_url", &self.public_ws_url)
            .field("listen_addresses", &self.listen_addresses)
            .field("stripe", &self.stripe)
            .field("body_timeout", &self.body_timeout)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .finish()
    }
}

#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    pub config: Arc<ApiConfig>,
    /// The OCPP central system, for commands to chargers.
    pub ocpp: OcppServer,
    /// Stripe top-ups.
    pub top_ups: stripe::TopUps,
}

/// The whole HTTP surface, the OCPP endpoint included.
pub fn router(store: Store, ocpp: OcppServer, config: ApiConfig) -> Router {
    let body_timeout = config.body_timeout;
    let top_ups = stripe::TopUps::new(store.clone(), config.stripe.client(), config.stripe.top_up_lifetime);
    let state = AppState { store, config: Arc::new(config), ocpp: ocpp.clone(), top_ups };
    let metrics = observe::prometheus();
    Router::from(routes::v1())
        .with_state(state.clone())
        .layer(middleware::from_fn_with_state(state.clone(), idempotency::layer))
        .merge(routes::operations(state.clone(), metrics))
        .merge(ocpp.router())
        .fallback(unknown_route)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(middleware::from_fn_with_state(body_timeout, limits::read_body_within))
        .layer(DefaultBodyLimit::max(extract::BODY_LIMIT_BYTES))
        .layer(middleware::from_fn(observe::count_requests))
}

async fn unknown_route(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, format!("Route not found: {method} {}", uri.path()))
}

async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError::new(StatusCode::METHOD_NOT_ALLOWED, format!("Method {method} is not allowed on {}", uri.path()))
}

/// On first start with an empty database and no admin token, creates an organization and
/// returns its API key (to be shown once). `None` when there was already an organization.
pub async fn create_first_organization(store: &Store) -> Result<Option<(domain::organization::Organization, String)>, store::StoreError> {
    let input = domain::organization::OrganizationInput { name: "Default organization".into(), country: None, configurations: None };
    let org = input.parse(store.new_id(), store.now()).map_err(|e| store::StoreError::Config(e.to_string()))?;
    let key = secrets::new_api_key(org.id);
    Ok(store.create_first_organization(&org, &key.record).await?.then_some((org, key.key)))
}
