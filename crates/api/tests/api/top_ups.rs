//! Stripe top-ups through the API: the organization's write-only keys, top-up validation and
//! refusals, tenancy, and the Stripe webhook endpoint's signature checks and exactly-once
//! credit. What needs a Stripe (a PaymentIntent made and paid) is in the interop tests, against
//! localstripe; here top-ups that Stripe would have made are written through the store.

use serde_json::json;

use crate::app::{TestApp, on_every_backend};

pub const SECRET_KEY: &str = "sk_test_joule0123456789abcdef";
pub const WEBHOOK_SECRET: &str = "whsec_joule0123456789abcdef";

/// Sets both Stripe keys of the organization behind `key`.
pub async fn configure_stripe(app: &TestApp, key: &str) {
    let org = app.patch("/v1.1/organization", key, json!({ "stripe": { "secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET } })).await.ok();
    assert_eq!(org["stripe"], json!({ "configured": true }));
}

#[tokio::test]
async fn stripe_keys_are_write_only() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let org = app.get("/v1.1/organization", &key).await.ok();
        assert_eq!(org["stripe"], json!({ "configured": false }));
        let half = app.patch("/v1.1/organization", &key, json!({ "stripe": { "secret_key": SECRET_KEY } })).await.ok();
        assert_eq!(half["stripe"], json!({ "configured": false }), "both keys are needed");
        configure_stripe(&app, &key).await;
        let shown = app.get("/v1.1/organization", &key).await.ok();
        assert_eq!(shown["stripe"], json!({ "configured": true }));
        // Other changes keep the keys.
        let renamed = app.patch("/v1.1/organization", &key, json!({ "name": "Renamed" })).await.ok();
        assert_eq!(renamed["stripe"], json!({ "configured": true }));

        for (body, field) in [
            (json!({ "stripe": { "secret_key": "pk_test_joule0123456789" } }), "stripe.secret_key"),
            (json!({ "stripe": { "secret_key": "not a key at all" } }), "stripe.secret_key"),
            (json!({ "stripe": { "webhook_secret": "sk_test_joule0123456789" } }), "stripe.webhook_secret"),
            (json!({ "stripe": { "webhook_secret": 42 } }), "stripe.webhook_secret"),
            (json!({ "stripe": { "publishable_key": "pk_test_joule0123456789" } }), "stripe.publishable_key"),
            (json!({ "stripe": "sk_test_joule0123456789" }), "stripe"),
        ] {
            let message = app.patch("/v1.1/organization", &key, body.clone()).await.err(400);
            assert!(message.contains(field) && !message.contains("joule0123456789"), "{body}: {message}");
        }
        assert_eq!(app.get("/v1.1/organization", &key).await.ok()["stripe"], json!({ "configured": true }), "refused changes change nothing");

        let removed = app.patch("/v1.1/organization", &key, json!({ "stripe": null })).await.ok();
        assert_eq!(removed["stripe"], json!({ "configured": false }));

        // No answer, list or event ever shows a key.
        let events = app.get("/v1.1/events?limit=100", &key).await.ok();
        let everything = format!("{events} {}", app.get("/v1.1/organization", &key).await.ok());
        assert!(!everything.contains("joule0123456789"), "{everything}");
        app
    })
    .await;
}
