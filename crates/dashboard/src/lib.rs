//! The operator dashboard, served at `/dashboard/` beside the REST API: pages rendered on the
//! server (`maud` templates, compiled in), plain HTML forms, and one small script that keeps
//! marked parts of a page live from a Server-Sent Events stream of the organization's events.
//!
//! Above the API's use cases, beside its handlers: every page reads, and every form acts,
//! through the REST API's own router, called in this process for the signed-in organization
//! (`api::ActingFor`). So the dashboard has no path to the store of its own (only its sign-ins),
//! and every rule and every refusal message is the API's.
//!
//! Layout:
//! - `sign_in`: the API key exchanged for an HTTP-only, SameSite=Strict cookie; the `Operator`
//!   extractor, and the form token every POST must carry;
//! - `api`: the in-process client of the REST API;
//! - `format`: money with its currency, energy, times in a location's zone (pure);
//! - `pages`: one module per page family, and the layout they share;
//! - `live`: the event stream the pages' live regions follow.

mod api;
mod format;
mod live;
mod pages;
mod sign_in;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Path, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use store::Store;

pub use api::Api;

const FORM_LIMIT_BYTES: usize = 16 * 1024;

#[derive(Clone)]
struct Dashboard {
    store: Store,
    api: Api,
}

/// The dashboard's routes, acting through `api` (the REST API's router, without the
/// dashboard).
pub fn router(store: Store, api: Router) -> Router {
    let state = Dashboard { store, api: Api::new(api) };
    Router::new()
        .route("/dashboard", get(|| async { Redirect::permanent("/dashboard/") }))
        .route("/dashboard/", get(pages::overview::show))
        .route("/dashboard/sign-in", get(sign_in::form).post(sign_in::submit))
        .route("/dashboard/sign-out", post(sign_in::sign_out))
        .route("/dashboard/live", get(live::stream))
        .route("/dashboard/assets/{file}", get(asset))
        .route("/dashboard/chargestations", get(pages::chargestations::list))
        .route("/dashboard/chargestations/{id}", get(pages::chargestations::show))
        .route("/dashboard/chargestations/{id}/commands", post(pages::chargestations::command))
        .route("/dashboard/sessions", get(pages::sessions::list))
        .route("/dashboard/sessions/{id}", get(pages::sessions::show))
        .route("/dashboard/sessions/{id}/{action}", post(pages::sessions::act))
        .route("/dashboard/users", get(pages::wallets::users))
        .route("/dashboard/users/{id}", get(pages::wallets::user))
        .route("/dashboard/wallets/{id}/adjustments", post(pages::wallets::adjust))
        .route("/dashboard/rates", get(pages::rates::list))
        .route("/dashboard/rates/{id}", get(pages::rates::show))
        .route("/dashboard/webhooks", get(pages::webhooks::list))
        .route("/dashboard/webhooks/{id}", get(pages::webhooks::show))
        .route("/dashboard/events", get(pages::webhooks::events))
        .route("/dashboard/events/{id}/redeliver", post(pages::webhooks::redeliver))
        .route("/dashboard/{*rest}", get(pages::not_found))
        .with_state(state)
        // Forms are a few fields.
        .layer(DefaultBodyLimit::max(FORM_LIMIT_BYTES))
        .layer(middleware::from_fn(security_headers))
}

/// Pages load nothing from elsewhere, run only the dashboard's own script, are never framed
/// and never cached.
async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await;
    let headers = response.headers_mut();
    let policy = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
    headers.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(policy));
    headers.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    headers.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    headers.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    if !headers.contains_key(header::CACHE_CONTROL) {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    response
}

/// The stylesheet and the script, compiled into the binary.
async fn asset(Path(file): Path<String>) -> Response {
    let (body, kind) = match file.as_str() {
        "style.css" => (include_str!("../assets/style.css"), "text/css; charset=utf-8"),
        "live.js" => (include_str!("../assets/live.js"), "text/javascript; charset=utf-8"),
        _ => return StatusCode::NOT_FOUND.into_response(),
    };
    ([(header::CONTENT_TYPE, kind), (header::CACHE_CONTROL, "public, max-age=300")], body).into_response()
}
