//! `Idempotency-Key`: a replay answers the first response and does nothing again.

use serde_json::{Value, json};

use crate::app::{TestApp, on_every_backend};

pub async fn post_with_key(app: &TestApp, path: &str, api_key: &str, idempotency_key: &str, body: Value) -> crate::app::Answer {
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
        post_with_key(&app, "/v1.1/users", &key, "two words", json!({})).await.err(400);
        app
    })
    .await;
}

/// Sends a POST with an `Idempotency-Key` over a raw connection and hangs up `after` it was
/// sent, without reading the answer.
async fn post_and_hang_up(app: &TestApp, path: &str, api_key: &str, idempotency_key: &str, body: &Value, after: std::time::Duration) {
    use tokio::io::AsyncWriteExt;
    let address = app.base.trim_start_matches("http://");
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nAuthorization: Bearer {api_key}\r\nIdempotency-Key: {idempotency_key}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut stream = tokio::net::TcpStream::connect(address).await.unwrap();
    stream.write_all(request.as_bytes()).await.unwrap();
    tokio::time::sleep(after).await;
    drop(stream);
}

/// Retries until the first request is no longer running, for at most 10 seconds: a claim
/// left stuck by a dropped request would keep answering 409 and fail the test.
async fn retry_until_answered(app: &TestApp, path: &str, api_key: &str, idempotency_key: &str, body: &Value) -> crate::app::Answer {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    loop {
        let answer = post_with_key(app, path, api_key, idempotency_key, body.clone()).await;
        let still_running = answer.status == 409 && answer.message().contains("still being processed");
        if !still_running || std::time::Instant::now() > deadline {
            return answer;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_client_that_hangs_up_gets_the_first_answer_when_it_retries() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let wallet = app.funded_wallet(&key, 0).await;
        let path = format!("/v1.1/wallets/{wallet}/adjustments");
        let runs = 30;
        let mut answered = Vec::new();
        for run in 0..runs {
            let body = json!({ "amount": 100 + run, "reason": format!("run {run}") });
            let idempotency_key = format!("hang-up-{run}");
            // Hung up 0 to 100 ms after sending, as a flaky mobile client does.
            post_and_hang_up(&app, &path, &key, &idempotency_key, &body, std::time::Duration::from_millis((run as u64 * 7) % 101)).await;
            let result = retry_until_answered(&app, &path, &key, &idempotency_key, &body).await.ok();
            assert_eq!(result["transaction"]["amount"], 100 + run, "{:?}", app.backend());
            let again = post_with_key(&app, &path, &key, &idempotency_key, body).await;
            assert!(again.headers.contains_key("idempotent-replayed"));
            assert_eq!(again.ok(), result, "every retry answers the first answer");
            answered.push(result["transaction"]["_id"].as_str().unwrap().to_string());
        }
        // Each adjustment happened exactly once, and is the one its retries answered.
        let entries = app.get(&format!("/v1.1/wallets/{wallet}/transactions?limit=100"), &key).await.ok();
        let mut ids: Vec<String> = entries.as_array().unwrap().iter().map(|e| e["_id"].as_str().unwrap().to_string()).collect();
        ids.sort();
        answered.sort();
        assert_eq!(ids, answered, "{:?}", app.backend());
        let expected: i64 = (0..runs).map(|run| 100 + run).sum();
        assert_eq!(app.assert_ledger(&key, &wallet).await, (expected, expected));
        app
    })
    .await;
}

#[tokio::test]
async fn a_claim_whose_node_died_is_taken_over_once_its_lease_ends() {
    on_every_backend(|app: TestApp| async move {
        let (org, key) = app.organization(json!({ "name": "Acme" })).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let path = format!("/v1.1/wallets/{wallet}/adjustments");
        let body = json!({ "amount": 250, "reason": "promo" });
        let fingerprint = api::idempotency::fingerprint(&axum::http::Method::POST, &path, body.to_string().as_bytes());

        // A node claimed the key and died: while its lease runs, a retry is told to wait.
        let claimed = app.store.idempotency_start(&org, "held", &fingerprint, api::idempotency::CLAIM_LEASE_MS).await.unwrap();
        assert!(matches!(claimed, store::IdempotencyStart::New(_)));
        let message = post_with_key(&app, &path, &key, "held", body.clone()).await.err(409);
        assert_eq!(message, "A request with this Idempotency-Key is still being processed");

        // Once its lease ended, the retry runs the request, once.
        let stale = app.store.idempotency_start(&org, "dead", &fingerprint, 0).await.unwrap();
        assert!(matches!(stale, store::IdempotencyStart::New(_)));
        let first = post_with_key(&app, &path, &key, "dead", body.clone()).await.ok();
        assert_eq!(first["wallet"]["balance"], 250);
        assert_eq!(post_with_key(&app, &path, &key, "dead", body).await.ok(), first);
        assert_eq!(app.assert_ledger(&key, &wallet).await, (250, 250));
        app
    })
    .await;
}

#[tokio::test]
async fn stored_answers_keep_no_secret() {
    on_every_backend(|app: TestApp| async move {
        let admin = crate::app::ADMIN_TOKEN;
        let org = json!({ "name": "Acme" });
        let first = post_with_key(&app, "/v1.1/organizations", admin, "org-1", org.clone()).await.ok();
        let api_key = first["api_key"].as_str().unwrap().to_string();
        // The retry answers the same organization, without the key: only the first answer shows
        // it (another is made with POST /v1.1/organizations/{id}/api_keys).
        let again = post_with_key(&app, "/v1.1/organizations", admin, "org-1", org).await.ok();
        assert_eq!(again["_id"], first["_id"]);
        assert_eq!(again["api_key"], Value::Null);
        assert_eq!(app.get("/v1.1/organizations", admin).await.ok().as_array().unwrap().len(), 1);

        let hook = json!({ "url": "https://hooks.example.com/joule", "events": ["*"] });
        let created = post_with_key(&app, "/v1.1/webhooks", &api_key, "hook-1", hook.clone()).await.ok();
        assert!(created["secret"].as_str().unwrap().starts_with("whsec_"));
        let again = post_with_key(&app, "/v1.1/webhooks", &api_key, "hook-1", hook).await.ok();
        assert_eq!((&again["_id"], &again["secret"]), (&created["_id"], &Value::Null), "a new secret comes from rotate_secret");
        app
    })
    .await;
}
