//! `Idempotency-Key`: a replay answers the first response and does nothing again.

use serde_json::{Value, json};

use crate::app::{TestApp, on_every_backend};

async fn post_with_key(app: &TestApp, path: &str, api_key: &str, idempotency_key: &str, body: Value) -> crate::app::Answer {
    let request = app.client.post(format!("{}{path}", app.base)).bearer_auth(api_key).header("idempotency-key", idempotency_key).body(body.to_string());
    app.send(request).await
}

#[tokio::test]
async fn replays_answer_the_first_response_once() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let first = post_with_key(&app, "/v1.1/users", &key, "create-ada", json!({ "firstname": "Ada" })).await;
        let again = post_with_key(&app, "/v1.1/users", &key, "create-ada", json!({ "firstname": "Ada" })).await;
        assert!(again.headers.contains_key("idempotent-replayed"));
        assert_eq!(first.body, again.body);
        assert_eq!(app.get("/v1.1/users", &key).await.ok().as_array().unwrap().len(), 1, "created once");

        let message = post_with_key(&app, "/v1.1/users", &key, "create-ada", json!({ "firstname": "Bob" })).await.err(409);
        assert!(message.contains("Idempotency-Key"), "{message}");

        // Money moves once however often the request is retried.
        let wallet = app.funded_wallet(&key, 1000).await;
        for _ in 0..3 {
            post_with_key(&app, &format!("/v1.1/wallets/{wallet}/adjustments"), &key, "credit-1", json!({ "amount": 500, "reason": "promo" })).await.ok();
        }
        assert_eq!(app.assert_ledger(&key, &wallet).await, (1500, 1500));

        // Refusals are replayed too, without running the request again.
        let refused = post_with_key(&app, &format!("/v1.1/wallets/{wallet}/adjustments"), &key, "debit-big", json!({ "amount": -5000, "reason": "x" })).await;
        refused.err(405);
        app.post(&format!("/v1.1/wallets/{wallet}/adjustments"), &key, json!({ "amount": 10000, "reason": "top" })).await.ok();
        post_with_key(&app, &format!("/v1.1/wallets/{wallet}/adjustments"), &key, "debit-big", json!({ "amount": -5000, "reason": "x" })).await.err(405);
        assert_eq!(app.assert_ledger(&key, &wallet).await, (11500, 11500));

        // Keys belong to their organization.
        let other = app.key().await;
        let theirs = post_with_key(&app, "/v1.1/users", &other, "create-ada", json!({ "firstname": "Bob" })).await.ok();
        assert_eq!(theirs["firstname"], "Bob");

        post_with_key(&app, "/v1.1/users", &key, &"k".repeat(256), json!({})).await.err(400);
        app
    })
    .await;
}
