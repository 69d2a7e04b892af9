//! Prometheus metrics and request logging.

use std::sync::OnceLock;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
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
            metrics::describe_gauge!("joule_http_connections", "HTTP connections open right now, chargers' WebSockets and TLS handshakes included");
            metrics::describe_counter!("joule_http_connections_refused_total", "Connections refused because max_connections were open");
            metrics::describe_counter!(
                "joule_charger_logins_total",
                "Charger handshakes by result: accepted, refused (401), throttled (429 after repeated failures), busy (503, no password check slot)"
            );
            metrics::describe_counter!("joule_webhook_attempts_total", "Webhook delivery attempts, by result (succeeded: a 2xx answer; failed)");
            metrics::describe_counter!("joule_webhook_endpoints_disabled_total", "Webhook endpoints disabled for a 410 or a spent retry schedule");
            metrics::gauge!("joule_connected_chargers").set(0.0);
            handle
        })
        .clone()
}

/// The method as a metric label: one of HTTP's own, else `OTHER`, so a client inventing methods
/// cannot make new time series.
fn method_label(method: &Method) -> &'static str {
    const KNOWN: [Method; 9] =
        [Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE, Method::HEAD, Method::OPTIONS, Method::CONNECT, Method::TRACE];
    KNOWN.iter().find(|m| *m == method).map_or("OTHER", Method::as_str)
}

/// Counts each request when it arrives (so the first `/metrics` already shows itself) and its
/// response when it leaves. Labels take only known values: the method (`method_label`) and the
/// route template that matched, else `unmatched`, never the raw path.
pub async fn count_requests(request: Request, next: Next) -> Response {
    let method = method_label(request.method());
    let route = request.extensions().get::<MatchedPath>().map(|p| p.as_str().to_string()).unwrap_or_else(|| "unmatched".into());
    metrics::counter!("joule_http_requests_total", "method" => method, "route" => route.clone()).increment(1);
    let started = std::time::Instant::now();
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    tracing::debug!(%method, %route, %status, elapsed_ms = started.elapsed().as_millis() as u64, "request");
    metrics::counter!("joule_http_responses_total", "method" => method, "route" => route, "status" => status).increment(1);
    response
}
