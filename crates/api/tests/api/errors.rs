//! Bad input and failures: each gets its precise status and message, and changes nothing.

use reqwest::Method;
use serde_json::json;

use crate::app::{TestApp, on_every_backend};

/// What the OpenAPI document says of every body: a JSON object, required, objects all the way
/// down, integers as JSON Schema reads them.
#[tokio::test]
async fn bodies_are_required_json_objects_all_the_way_down() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        for method in [Method::POST, Method::PATCH] {
            let path = if method == Method::POST { "/v1.1/users" } else { "/v1.1/organization" };
            let bare = app.client.request(method, format!("{}{path}", app.base)).bearer_auth(&key);
            assert_eq!(app.send(bare).await.err(400), "Missing request body: a JSON object is required", "{path}");
        }
        assert!(app.get("/v1.1/users", &key).await.ok().as_array().unwrap().is_empty(), "nothing was created");

        let message = app.post("/v1.1/locations", &key, json!({ "name": "Depot", "coordinates": [40.7, -74.0] })).await.err(400);
        assert!(message.starts_with("Invalid `coordinates`: invalid type: sequence"), "{message}");
        let message = app.post("/v1.1/sessions", &key, json!({ "connector": "0123456789abcdef01234567", "target": [null, 5] })).await.err(400);
        assert!(message.starts_with("Invalid `target`: invalid type: sequence"), "{message}");
        assert!(app.get("/v1.1/locations", &key).await.ok().as_array().unwrap().is_empty());

        let station = app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP-WHOLE" })).await.ok();
        let connector = app.post("/v1.1/connectors", &key, json!({ "chargestation": station["_id"], "connector_id": 2.0 })).await.ok();
        assert_eq!(connector["connector_id"], json!(2));
        let message = app.post("/v1.1/connectors", &key, json!({ "chargestation": station["_id"], "connector_id": 2.5 })).await.err(400);
        assert!(message.starts_with("Invalid `connector_id`"), "{message}");
        app
    })
    .await;
}

#[tokio::test]
async fn bad_requests_are_named_and_change_nothing() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let raw =
            |body: &'static str| app.client.post(format!("{}/v1.1/users", app.base)).bearer_auth(&key).header("content-type", "application/json").body(body);

        let message = app.send(raw("{\"firstname\": ")).await.err(400);
        assert!(message.starts_with("Malformed JSON"), "{message}");
        let message = app.send(raw("[1, 2")).await.err(400);
        assert!(message.starts_with("Malformed JSON"), "{message}");
        assert_eq!(app.send(raw("[1, 2]")).await.err(400), "Invalid request body: must be a JSON object");
        let message = app.send(raw("{\"firstname\": \"a\"} trailing")).await.err(400);
        assert!(message.starts_with("Malformed JSON"), "{message}");
        let message = app.send(raw("{\"firstname\": 42}")).await.err(400);
        assert!(message.contains("`firstname`") && message.contains("integer"), "{message}");
        let message = app.send(raw("{\"nickname\": \"x\"}")).await.err(400);
        assert!(message.contains("nickname"), "{message}");
        let message = app.send(raw("{\"meta_data\": {\"a\": 1}, \"active\": \"yes\"}")).await.err(400);
        assert!(message.contains("`active`"), "{message}");
        assert!(app.get("/v1.1/users", &key).await.ok().as_array().unwrap().is_empty(), "nothing was created");

        let message = app.get("/v1.1/users/not-an-id", &key).await.err(400);
        assert!(message.contains("not-an-id"), "{message}");
        app.get("/v1.1/users/0123456789ABCDEF01234567", &key).await.err(400);
        assert_eq!(app.get("/v1.1/users/0123456789abcdef01234567", &key).await.err(404), "User not found");
        for path in [
            "/v1.1/wallets/0123456789abcdef01234567",
            "/v1.1/locations/0123456789abcdef01234567",
            "/v1.1/chargestations/0123456789abcdef01234567",
            "/v1.1/connectors/0123456789abcdef01234567",
            "/v1.1/rates/0123456789abcdef01234567",
            "/v1.1/events/0123456789abcdef01234567",
        ] {
            app.get(path, &key).await.err(404);
        }

        // Over 1 MiB: refused before it is read in full.
        let big = json!({ "firstname": "x", "meta_data": { "blob": "a".repeat(1024 * 1024) } });
        assert_eq!(app.post("/v1.1/users", &key, big.clone()).await.err(413), "Request body is larger than 1 MiB");
        let replayable = app.client.post(format!("{}/v1.1/users", app.base)).bearer_auth(&key).header("idempotency-key", "big").body(big.to_string());
        app.send(replayable).await.err(413);
        // Under the limit but over what a user's metadata may hold.
        let message = app.post("/v1.1/users", &key, json!({ "meta_data": { "blob": "a".repeat(20_000) } })).await.err(400);
        assert!(message.contains("meta_data"), "{message}");
        assert!(app.get("/v1.1/users", &key).await.ok().as_array().unwrap().is_empty());

        assert_eq!(app.get("/v1.1/nothing-here", &key).await.err(404), "Route not found: GET /v1.1/nothing-here");
        app.call(Method::DELETE, "/v1.1/users", Some(&key), None).await.err(405);
        app
    })
    .await;
}

#[tokio::test]
async fn keys_are_required_and_checked() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        assert!(app.call(Method::GET, "/v1.1/users", None, None).await.err(401).contains("Missing API key"));
        assert_eq!(
            app.get("/v1.1/users", "jk_0000000000000000_0000000000000000000000000000000000000000000000000000000000000000").await.err(401),
            "Invalid API key"
        );
        app.get("/v1.1/users", "garbage").await.err(401);
        // The right key id with a wrong secret.
        let forged = format!("{}{}", &key[..20], "f".repeat(64));
        app.get("/v1.1/users", &forged).await.err(401);
        let basic = app.client.get(format!("{}/v1.1/users", app.base)).basic_auth("user", Some(&key));
        app.send(basic).await.err(401);
        let unauthenticated_post = app.call(Method::POST, "/v1.1/users", None, Some(json!({}))).await;
        unauthenticated_post.err(401);
        assert!(app.get("/v1.1/users", &key).await.ok().as_array().unwrap().is_empty());
        app
    })
    .await;
}

#[tokio::test]
async fn a_failing_database_is_a_generic_503() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        app.store.close().await;
        let answer = app.get("/v1.1/organization", &key).await;
        let message = answer.err(503);
        assert_eq!(message, "The service is temporarily unavailable; try again");
        let ready = app.client.get(format!("{}/readyz", app.base)).send().await.unwrap();
        assert_eq!(ready.status().as_u16(), 503);
        let health = app.client.get(format!("{}/healthz", app.base)).send().await.unwrap();
        assert_eq!(health.status().as_u16(), 200, "the process itself is alive");
        app
    })
    .await;
}
