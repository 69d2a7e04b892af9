//! Health, readiness, metrics and the OpenAPI document.

use crate::app::{TestApp, on_every_backend};

#[tokio::test]
async fn operational_endpoints_need_no_key_and_no_envelope() {
    on_every_backend(|app: TestApp| async move {
        let get = |path: &str| app.client.get(format!("{}{path}", app.base)).send();
        assert_eq!(get("/healthz").await.unwrap().status().as_u16(), 200);
        assert_eq!(get("/readyz").await.unwrap().status().as_u16(), 200);

        let metrics = get("/metrics").await.unwrap().text().await.unwrap();
        assert!(metrics.contains("joule_http_requests_total{method=\"GET\",route=\"/metrics\"}"), "{metrics}");
        assert!(metrics.contains("joule_connected_chargers"), "{metrics}");

        let doc: serde_json::Value = get("/v1.1/openapi.json").await.unwrap().json().await.unwrap();
        assert!(doc["openapi"].as_str().unwrap().starts_with("3.1"), "{doc}");
        for path in ["/v1.1/users", "/v1.1/users/{id}/wallet", "/v1.1/wallets/{id}/adjustments", "/v1.1/chargestations", "/v1.1/events/{id}"] {
            assert!(doc["paths"].get(path).is_some(), "{path} in the OpenAPI document");
        }
        assert!(doc["components"]["securitySchemes"].is_object());
        app
    })
    .await;
}
