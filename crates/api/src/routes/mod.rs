//! The route table: one line per endpoint, handlers grouped by resource.

mod chargestations;
mod events;
mod operations;
mod organizations;
mod resources;
mod wallets;

use axum::Router;
use axum::routing::{get, post};

use crate::AppState;

pub use operations::operations;

pub fn v1(state: AppState) -> Router {
    Router::new()
        .route("/v1.1/organizations", post(organizations::create).get(organizations::list))
        .route("/v1.1/organizations/{id}", get(organizations::get_one))
        .route("/v1.1/organizations/{id}/api_keys", post(organizations::add_key))
        .route("/v1.1/organization", get(organizations::mine).patch(organizations::update_mine))
        .route("/v1.1/users", post(resources::create_user).get(resources::list_users))
        .route("/v1.1/users/{id}", get(resources::get_user).patch(resources::update_user))
        .route("/v1.1/users/{id}/wallet", post(wallets::create).get(wallets::of_user))
        .route("/v1.1/wallets/{id}", get(wallets::get_one))
        .route("/v1.1/wallets/{id}/adjustments", post(wallets::adjust))
        .route("/v1.1/wallets/{id}/transactions", get(wallets::transactions))
        .route("/v1.1/locations", post(resources::create_location).get(resources::list_locations))
        .route("/v1.1/locations/{id}", get(resources::get_location).patch(resources::update_location))
        .route("/v1.1/chargestations", post(chargestations::create).get(chargestations::list))
        .route("/v1.1/chargestations/{id}", get(chargestations::get_one).patch(chargestations::update))
        .route("/v1.1/connectors", post(resources::create_connector).get(resources::list_connectors))
        .route("/v1.1/connectors/{id}", get(resources::get_connector).patch(resources::update_connector))
        .route("/v1.1/rates", post(resources::create_rate).get(resources::list_rates))
        .route("/v1.1/rates/{id}", get(resources::get_rate))
        .route("/v1.1/events", get(events::list))
        .route("/v1.1/events/{id}", get(events::get_one))
        .with_state(state)
}
