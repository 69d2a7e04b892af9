//! Wallets, adjustments and the ledger, including concurrent adjustments.

use serde_json::json;

use crate::app::{TestApp, on_every_backend};

#[tokio::test]
async fn wallets_are_created_funded_and_debited_by_the_rules() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let user = app.user(&key).await;
        app.post("/v1.1/users/0123456789abcdef01234567/wallet", &key, json!({})).await.err(404);
        app.post(&format!("/v1.1/users/{user}/wallet"), &key, json!({ "currency": "usdx" })).await.err(400);
        let wallet = app.post(&format!("/v1.1/users/{user}/wallet"), &key, json!({ "currency": "usd" })).await.ok();
        assert_eq!((wallet["balance"].as_i64(), wallet["available_balance"].as_i64(), wallet["currency"].as_str()), (Some(0), Some(0), Some("usd")));
        assert_eq!(wallet["user"], json!(user));
        let message = app.post(&format!("/v1.1/users/{user}/wallet"), &key, json!({})).await.err(409);
        assert_eq!(message, "User already has a wallet");
        assert_eq!(app.get(&format!("/v1.1/users/{user}"), &key).await.ok()["wallet"], wallet, "users embed their wallet");
        assert_eq!(app.get(&format!("/v1.1/users/{user}/wallet"), &key).await.ok(), wallet);
        let id = wallet["_id"].as_str().unwrap();

        // GET creates a missing wallet, in USD.
        let other = app.user(&key).await;
        let created = app.get(&format!("/v1.1/users/{other}/wallet"), &key).await.ok();
        assert_eq!(created["currency"], "usd");
        assert_eq!(app.get(&format!("/v1.1/users/{other}/wallet"), &key).await.ok()["_id"], created["_id"]);

        let credit = app.post(&format!("/v1.1/wallets/{id}/adjustments"), &key, json!({ "amount": 16072, "reason": "welcome credit" })).await.ok();
        assert_eq!(credit["wallet"]["balance"], 16072);
        assert_eq!(credit["transaction"]["type"], "adjustment");
        assert_eq!(credit["transaction"]["balance_after"], 16072);
        assert_eq!(credit["transaction"]["reference"], "welcome credit");
        app.post(&format!("/v1.1/wallets/{id}/adjustments"), &key, json!({ "amount": -72, "reason": "correction" })).await.ok();
        assert_eq!(app.assert_ledger(&key, id).await, (16000, 16000));

        // Refused adjustments change nothing.
        let message = app.post(&format!("/v1.1/wallets/{id}/adjustments"), &key, json!({ "amount": -16001, "reason": "too much" })).await.err(405);
        assert_eq!(message, "Insufficient available balance");
        for (body, field) in [
            (json!({ "amount": 1.5, "reason": "x" }), "amount"),
            (json!({ "amount": "100", "reason": "x" }), "amount"),
            (json!({ "amount": 0, "reason": "x" }), "amount"),
            (json!({ "amount": 100 }), "reason"),
            (json!({ "amount": 100, "reason": "" }), "reason"),
            (json!({ "amount": 100_000_000_001i64, "reason": "x" }), "amount"),
        ] {
            let message = app.post(&format!("/v1.1/wallets/{id}/adjustments"), &key, body.clone()).await.err(400);
            assert!(message.contains(field), "{body}: {message}");
        }
        app.post("/v1.1/wallets/0123456789abcdef01234567/adjustments", &key, json!({ "amount": 1, "reason": "x" })).await.err(404);
        assert_eq!(app.assert_ledger(&key, id).await, (16000, 16000));
        let entries = app.get(&format!("/v1.1/wallets/{id}/transactions"), &key).await.ok();
        let amounts: Vec<i64> = entries.as_array().unwrap().iter().map(|e| e["amount"].as_i64().unwrap()).collect();
        assert_eq!(amounts, [-72, 16072], "newest first");
        let types = app.event_types(&key).await;
        assert_eq!(types.iter().filter(|t| *t == "wallet.updated").count(), 2, "{types:?}");
        assert_eq!(types.iter().filter(|t| *t == "wallet.created").count(), 2, "{types:?}");
        app
    })
    .await;
}

#[tokio::test]
async fn wallets_exist_only_in_us_organizations() {
    on_every_backend(|app: TestApp| async move {
        let (_, key) = app.organization(json!({ "name": "Stadtwerke", "country": "DE" })).await;
        let user = app.user(&key).await;
        assert_eq!(app.post(&format!("/v1.1/users/{user}/wallet"), &key, json!({})).await.err(405), "Wallets are only available in the US");
        assert_eq!(app.get(&format!("/v1.1/users/{user}/wallet"), &key).await.err(405), "Wallets are only available in the US");
        assert!(!app.event_types(&key).await.contains(&"wallet.created".to_string()));
        app
    })
    .await;
}

#[tokio::test]
async fn concurrent_adjustments_keep_the_ledger() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let wallet = app.funded_wallet(&key, 2000).await;
        let requests = (0..50).map(|i| {
            let amount = if i % 2 == 0 { -150 } else { 40 };
            let (app, key, wallet) = (&app, &key, &wallet);
            async move { (amount, app.post(&format!("/v1.1/wallets/{wallet}/adjustments"), key, json!({ "amount": amount, "reason": "load" })).await) }
        });
        let mut expected = 2000;
        for (amount, answer) in futures::future::join_all(requests).await {
            match answer.status.as_u16() {
                200 => expected += amount,
                405 => assert!(amount < 0),
                other => panic!("{:?}: unexpected {other}: {:?}", app.backend(), answer.body),
            }
        }
        let (balance, available) = app.assert_ledger(&key, &wallet).await;
        assert_eq!((balance, available), (expected, expected), "{:?}", app.backend());
        app
    })
    .await;
}
