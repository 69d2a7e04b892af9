//! The route table: one line per path, handlers grouped by resource. Each handler's
//! `#[utoipa::path]` names its path, so this table builds the router and the OpenAPI document.

mod chargestations;
mod commands;
mod events;
mod operations;
mod organizations;
mod quote;
mod resources;
mod sessions;
mod tokens;
mod top_ups;
mod wallets;
mod webhooks;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::openapi::ApiDoc;

pub use commands::document_each_command;
pub use operations::operations;

pub fn v1() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(organizations::create, organizations::list))
        .routes(routes!(organizations::get_one))
        .routes(routes!(organizations::add_key))
        .routes(routes!(organizations::mine, organizations::update_mine))
        .routes(routes!(resources::create_user, resources::list_users))
        .routes(routes!(resources::get_user, resources::update_user))
        .routes(routes!(wallets::create, wallets::of_user))
        .routes(routes!(wallets::get_one))
        .routes(routes!(wallets::adjust))
        .routes(routes!(wallets::transactions))
        .routes(routes!(top_ups::create, top_ups::list))
        .routes(routes!(top_ups::get_one))
        .routes(routes!(top_ups::stripe_webhook))
        .routes(routes!(resources::create_location, resources::list_locations))
        .routes(routes!(resources::get_location, resources::update_location))
        .routes(routes!(chargestations::create, chargestations::list))
        .routes(routes!(chargestations::get_one, chargestations::update))
        .routes(routes!(commands::send))
        .routes(routes!(commands::transactions))
        .routes(routes!(commands::sync_local_list))
        .routes(routes!(tokens::create, tokens::list))
        .routes(routes!(sessions::start, sessions::list))
        .routes(routes!(sessions::get_one))
        .routes(routes!(sessions::curve))
        .routes(routes!(sessions::stop))
        .routes(routes!(sessions::end))
        .routes(routes!(sessions::pause))
        .routes(routes!(sessions::resume))
        .routes(routes!(tokens::get_one, tokens::update, tokens::delete))
        .routes(routes!(resources::create_connector, resources::list_connectors))
        .routes(routes!(resources::get_connector, resources::update_connector))
        .routes(routes!(resources::create_rate, resources::list_rates))
        .routes(routes!(resources::get_rate))
        .routes(routes!(quote::quote))
        .routes(routes!(events::list))
        .routes(routes!(events::get_one))
        .routes(routes!(events::redeliver))
        .routes(routes!(webhooks::create, webhooks::list))
        .routes(routes!(webhooks::get_one, webhooks::update, webhooks::delete))
        .routes(routes!(webhooks::rotate_secret))
        .routes(routes!(webhooks::deliveries))
}
