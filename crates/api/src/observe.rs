//! Prometheus metrics and request logging.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

/// The process-wide recorder; several apps in one process (tests) share it.
pub fn prometheus() -> PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            let recorder = PrometheusBuilder::new().build_recorder();
            let handle = recorder.handle();
            if metrics::set_global_recorder(recorder).is_err() {
                tracing::warn!("a metrics recorder was already installed; /metrics shows only this one");
            }
            metrics::describe_counter!("joule_http_requests_total", "HTTP requests received, by method and route");
            metrics::describe_counter!("joule_http_responses_total", "HTTP responses sent, by method, route and status");
            metrics::describe_gauge!("joule_connected_chargers", "Chargers connected over OCPP right now");
            metrics::describe_counter!("joule_webhook_attempts_total", "Webhook delivery attempts, by result (succeeded: a 2xx answer; failed)");
            metrics::describe_counter!("joule_webhook_endpoints_disabled_total", "Webhook endpoints disabled for a 410 or a spent retry schedule");
            metrics::gauge!("joule_connected_chargers").set(0.0);
            handle
        })
        .clone()
}

/// Counts each request when it arrives (so the first `/metrics` already shows itself) and its
/// response when it leaves.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let method = request.method().to_string();
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    metrics::counter!("joule_http_requests_total", "method" => method.clone(), "route" => route.clone()).increment(1);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    tracing::debug!(%method, %route, %status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    metrics::counter!("joule_http_responses_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}
