//! Health, readiness, metrics and the OpenAPI document.

use crate::app::{TestApp, on_every_backend};

#[tokio::test]
async fn operational_endpoints_need_no_key_and_no_envelope() {
    on_every_backend(|app: TestApp| async move {
        let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();
        assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
        let ready = get("/readyz").await.unwrap();
        let node = app.store.node().to_string();
        assert_eq!((ready.status().as_u16(), ready.headers()["joule-node"].to_str().unwrap()), (200, node.as_str()));
        assert_eq!(ready.text().await.unwrap(), format!("ready\nnode {node}\nlive nodes 1\n"));

        let metrics = get("/metrics").await.unwrap().text().await.unwrap();
        assert!(metrics.contains("joule_http_requests_total{method=\"GET\",route=\"/metrics\"}"), "{metrics}");
        assert!(metrics.contains("joule_connected_chargers"), "{metrics}");

        let doc: serde_json::Value = get("/v1.1/openapi.json").await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        for path in ["/v1.1/users", "/v1.1/users/{id}/wallet", "/v1.1/wallets/{id}/adjustments", "/v1.1/chargestations", "/v1.1/events/{id}"] {
            assert!(doc["paths"].get(path).is_some(), "{path} in the OpenAPI document");
        }
        assert!(doc["components"]["securitySchemes"].is_object());
        let params = doc["paths"]["/v1.1/users"]["get"]["parameters"].as_array().unwrap();
        let page = params.iter().find(|p| p["name"] == "page").unwrap();
        assert_eq!((page["schema"]["minimum"].as_u64(), page["schema"]["maximum"].as_u64()), (Some(1), Some(10_000)), "{page}");
        app
    })
    .await;
}

#[tokio::test]
async fn metric_labels_take_only_known_methods_and_route_templates() {
    let app = TestApp::spawn(store::Backend::Sqlite).await;
    let key = app.key().await;
    let odd = reqwest::Method::from_bytes(b"BREW").unwrap();
    let probe = "no-such-route-4f1c9e";
    for (method, path) in [(odd.clone(), "/healthz".to_string()), (odd, format!("/{probe}")), (reqwest::Method::GET, format!("/v1.1/{probe}/7"))] {
        app.client.request(method, format!("{}{path}", app.base)).send().await.unwrap();
    }
    let user = app.user(&key).await;
    app.get(&format!("/v1.1/users/{user}"), &key).await.ok();

    let metrics = app.client.get(format!("{}/metrics", app.base)).send().await.unwrap().text().await.unwrap();
    let label_values = |label: &str| -> std::collections::BTreeSet<String> {
        let needle = format!("{label}=\"");
        metrics.lines().filter(|l| l.starts_with("joule_http_")).filter_map(|l| l.split(&needle).nth(1)?.split('"').next().map(String::from)).collect()
    };
    let methods = label_values("method");
    assert!(methods.contains("OTHER") && !methods.contains("BREW"), "{methods:?}");
    assert!(
        methods.iter().all(|m| ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS", "CONNECT", "TRACE", "OTHER"].contains(&m.as_str())),
        "{methods:?}"
    );
    let routes = label_values("route");
    assert!(routes.contains("unmatched") && routes.contains("/v1.1/users/{id}") && !routes.contains(&format!("/v1.1/users/{user}")), "{routes:?}");
    assert!(routes.iter().all(|r| !r.contains(probe)), "{routes:?}");
    app.stop().await;
}

/// The API over a central system of its own, whose session runner the test starts and stops
/// (the node's own runs all along), answering at the address returned.
async fn api_over(store: store::Store, ocpp: ocpp_server::OcppServer) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let config = api::ApiConfig {
        admin_token: None,
        public_ws_url: format!("ws://{address}"),
        listen_addresses: vec![address],
        stripe: Default::default(),
        body_timeout: std::time::Duration::from_secs(30),
        webhook_allow_private: true,
    };
    let router = api::router(store, ocpp, config);
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{address}")
}

#[tokio::test]
async fn readiness_follows_the_session_runner_which_is_restarted_after_a_panic() {
    let app = TestApp::spawn(store::testing::backends()[0]).await;
    let ocpp = ocpp_server::OcppServer::new(app.store.clone(), ocpp_server::OcppConfig::default());
    let base = api_over(app.store.clone(), ocpp.clone()).await;
    let ready = || async { app.client.get(format!("{base}/readyz")).send().await.unwrap().status().as_u16() };
    let (stop, told) = tokio::sync::watch::channel(false);
    let runner = ocpp_server::session_watch::spawn(ocpp.clone(), told.clone());
    assert_eq!(ready().await, 200, "the runner runs");
    stop.send_replace(true);
    tokio::time::timeout(std::time::Duration::from_secs(10), runner).await.expect("the runner stops when told").unwrap();
    assert_eq!(ready().await, 503, "the runner was stopped");
    stop.send_replace(false);

    // A runner that panics on its first run is marked stopped, then restarted.
    let health = ocpp.runner.clone();
    let runs = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = runs.clone();
    let supervisor = ocpp_server::session_watch::supervise(health.clone(), std::time::Duration::from_secs(1), told, move || {
        let run = counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        async move {
            assert!(run > 0, "a bad number on the first run");
            std::future::pending::<()>().await
        }
    });
    let silence = std::time::Duration::from_secs(60);
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(10);
    while health.is_running(silence) {
        assert!(tokio::time::Instant::now() < deadline, "the panic was noticed");
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    assert_eq!(ready().await, 503);
    while runs.load(std::sync::atomic::Ordering::SeqCst) < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the runner was restarted");
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    assert!(health.is_running(silence));
    assert_eq!(ready().await, 200);
    supervisor.abort();
    app.stop().await;
}
