//! Another organization's objects do not exist for a key: 404, never 403.

use reqwest::Method;
use serde_json::json;

use crate::app::{TestApp, on_every_backend};

#[tokio::test]
async fn organizations_see_only_their_own_objects() {
    on_every_backend(|app: TestApp| async move {
        let a = app.key().await;
        let b = app.key().await;
        let user = app.user(&a).await;
        let wallet = app.funded_wallet(&a, 5000).await;
        let location = app.post("/v1.1/locations", &a, json!({ "name": "A's depot" })).await.ok()["_id"].as_str().unwrap().to_string();
        let rate = app.post("/v1.1/rates", &a, json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.3 }] })).await.ok()["_id"]
            .as_str()
            .unwrap()
            .to_string();
        let cs = app.post("/v1.1/chargestations", &a, json!({ "endpoint": "A-1" })).await.ok()["_id"].as_str().unwrap().to_string();
        let connector =
            app.post("/v1.1/connectors", &a, json!({ "chargestation": cs, "connector_id": 1, "rate": rate })).await.ok()["_id"].as_str().unwrap().to_string();
        let event = app.get("/v1.1/events?limit=1", &a).await.ok()[0]["_id"].as_str().unwrap().to_string();

        for path in [
            format!("/v1.1/users/{user}"),
            format!("/v1.1/users/{user}/wallet"),
            format!("/v1.1/wallets/{wallet}"),
            format!("/v1.1/wallets/{wallet}/transactions"),
            format!("/v1.1/locations/{location}"),
            format!("/v1.1/rates/{rate}"),
            format!("/v1.1/chargestations/{cs}"),
            format!("/v1.1/connectors/{connector}"),
            format!("/v1.1/events/{event}"),
        ] {
            app.get(&path, &b).await.err(404);
        }
        for (path, body) in [
            (format!("/v1.1/users/{user}"), json!({ "firstname": "Mallory" })),
            (format!("/v1.1/locations/{location}"), json!({ "name": "Mine" })),
            (format!("/v1.1/chargestations/{cs}"), json!({ "registration": "Rejected" })),
            (format!("/v1.1/connectors/{connector}"), json!({ "rate": null })),
        ] {
            app.call(Method::PATCH, &path, Some(&b), Some(body)).await.err(404);
        }
        app.post(&format!("/v1.1/wallets/{wallet}/adjustments"), &b, json!({ "amount": -5000, "reason": "theft" })).await.err(404);
        app.post(&format!("/v1.1/users/{user}/wallet"), &b, json!({})).await.err(404);
        app.post("/v1.1/connectors", &b, json!({ "chargestation": cs, "connector_id": 2 })).await.err(404);
        let b_cs = app.post("/v1.1/chargestations", &b, json!({ "endpoint": "B-1" })).await.ok()["_id"].as_str().unwrap().to_string();
        app.post("/v1.1/connectors", &b, json!({ "chargestation": b_cs, "connector_id": 1, "rate": rate })).await.err(404);
        app.post("/v1.1/chargestations", &b, json!({ "endpoint": "B-2", "location": location })).await.err(404);

        for list in ["/v1.1/users", "/v1.1/locations", "/v1.1/rates", "/v1.1/connectors"] {
            assert!(app.get(list, &b).await.ok().as_array().unwrap().is_empty(), "{list}");
        }
        assert_eq!(app.get("/v1.1/chargestations", &b).await.ok().as_array().unwrap().len(), 1);
        assert!(app.event_types(&b).await.iter().all(|t| t.starts_with("organization.") || t.starts_with("chargestation.")));

        // Nothing of A's changed.
        assert_eq!(app.assert_ledger(&a, &wallet).await, (5000, 5000));
        assert_eq!(app.get(&format!("/v1.1/chargestations/{cs}"), &a).await.ok()["registration"], "Accepted");
        assert_eq!(app.get(&format!("/v1.1/connectors/{connector}"), &a).await.ok()["rate"], json!(rate));
        app
    })
    .await;
}
