//! Unauthenticated operational endpoints, served as they are (no envelope).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::AppState;

#[derive(Clone)]
struct Ops {
    app: AppState,
    metrics: PrometheusHandle,
}

pub fn operations(app: AppState, metrics: PrometheusHandle) -> Router {
    Router::new()
        .route("/healthz", get(healthz))
        .route("/readyz", get(readyz))
        .route("/metrics", get(render_metrics))
        .route("/v1.1/openapi.json", get(openapi))
        .with_state(Ops { app, metrics })
}

/// The process is up.
async fn healthz() -> Response {
    (StatusCode::OK, "ok").into_response()
}

/// The process can serve: its database answers and its session runner runs. Names this node
/// (also in the `Joule-Node` header) and how many nodes share the database.
async fn readyz(State(ops): State<Ops>) -> Response {
    let node = ops.app.store.node().to_string();
    if !ops.app.ocpp.runner_is_running() {
        tracing::warn!("the session runner is not running");
        return (StatusCode::SERVICE_UNAVAILABLE, [("joule-node", node)], "session runner not running").into_response();
    }
    match ops.app.store.live_nodes().await {
        Ok(nodes) => (StatusCode::OK, [("joule-node", node.clone())], format!("ready\nnode {node}\nlive nodes {}\n", nodes.len())).into_response(),
        Err(e) => {
            tracing::warn!(error = %e, "database not ready");
            (StatusCode::SERVICE_UNAVAILABLE, [("joule-node", node)], "database unavailable").into_response()
        }
    }
}

async fn render_metrics(State(ops): State<Ops>) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], ops.metrics.render()).into_response()
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], crate::openapi::document()).into_response()
}
