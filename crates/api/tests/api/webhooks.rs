//! The webhook endpoints API: secrets shown once, validation naming the field, tenancy,
//! redelivery.

use reqwest::Method;
use serde_json::{Value, json};

use crate::app::{TestApp, on_every_backend};

fn id(v: &Value) -> String {
    v["_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn endpoints_are_created_read_changed_rotated_and_deleted() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let created = app
            .post(
                "/v1.1/webhooks",
                &key,
                json!({ "url": "https://hooks.example.com/joule", "events": ["session.*", "payment.captured"], "description": "billing" }),
            )
            .await
            .ok();
        let webhook = id(&created);
        let secret = created["secret"].as_str().unwrap().to_string();
        assert!(secret.starts_with("whsec_") && secret.len() > 40, "{secret}");
        assert_eq!(created["url"], "https://hooks.example.com/joule");
        assert_eq!(created["events"], json!(["session.*", "payment.captured"]));
        assert_eq!((created["enabled"].clone(), created["disabled_reason"].clone()), (json!(true), Value::Null));

        let read = app.get(&format!("/v1.1/webhooks/{webhook}"), &key).await.ok();
        assert!(read.get("secret").is_none());
        let listed = app.get("/v1.1/webhooks", &key).await.ok();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert!(listed[0].get("secret").is_none());

        let off = app.patch(&format!("/v1.1/webhooks/{webhook}"), &key, json!({ "enabled": false, "events": ["*"], "description": null })).await.ok();
        assert_eq!((off["enabled"].clone(), off["events"].clone(), off["description"].clone()), (json!(false), json!(["*"]), Value::Null));
        assert_eq!(off["url"], "https://hooks.example.com/joule");
        app.patch(&format!("/v1.1/webhooks/{webhook}"), &key, json!({ "enabled": true })).await.ok();

        let rotated = app.post(&format!("/v1.1/webhooks/{webhook}/rotate_secret"), &key, json!({})).await.ok();
        let new_secret = rotated["secret"].as_str().unwrap();
        assert!(new_secret.starts_with("whsec_") && new_secret != secret);
        assert_eq!(id(&rotated), webhook);

        assert!(app.get(&format!("/v1.1/webhooks/{webhook}/deliveries"), &key).await.ok().as_array().unwrap().is_empty());
        let deleted = app.call(Method::DELETE, &format!("/v1.1/webhooks/{webhook}"), Some(&key), None).await.ok();
        assert_eq!(id(&deleted), webhook);
        assert_eq!(app.get(&format!("/v1.1/webhooks/{webhook}"), &key).await.err(404), "Webhook not found");

        let types: Vec<String> = app.event_types(&key).await.into_iter().filter(|t| t.starts_with("webhook_endpoint.")).collect();
        let expected = ["created", "updated", "disabled", "updated", "updated", "deleted"].map(|k| format!("webhook_endpoint.{k}"));
        assert_eq!(types, expected);
        let events = app.get("/v1.1/events?limit=100", &key).await.ok().to_string();
        assert!(!events.contains(&secret[6..]) && !events.contains(&new_secret[6..]), "no secret in events");
        app
    })
    .await;
}

#[tokio::test]
async fn invalid_endpoints_are_refused_naming_the_field() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let own = app.base.clone();
        let port = own.rsplit(':').next().unwrap().to_string();
        for (body, field) in [
            (json!({ "events": ["*"] }), "url"),
            (json!({ "url": "https://hooks.example.com" }), "events"),
            (json!({ "url": "ftp://hooks.example.com/x", "events": ["*"] }), "url"),
            (json!({ "url": "javascript:alert(1)", "events": ["*"] }), "url"),
            (json!({ "url": "hooks.example.com", "events": ["*"] }), "url"),
            (json!({ "url": format!("{own}/v1.1/events"), "events": ["*"] }), "url"),
            (json!({ "url": format!("http://localhost:{port}/x"), "events": ["*"] }), "url"),
            (json!({ "url": "https://hooks.example.com", "events": [] }), "events"),
            (json!({ "url": "https://hooks.example.com", "events": ["session.*", "bogus.*"] }), "events[1]"),
            (json!({ "url": "https://hooks.example.com", "events": "session.*" }), "events"),
            (json!({ "url": "https://hooks.example.com", "events": ["*"], "secret": "whsec_mine" }), "secret"),
        ] {
            let message = app.post("/v1.1/webhooks", &key, body.clone()).await.err(400);
            assert!(message.contains(&format!("`{field}`")), "{body}: {message}");
        }
        // Another port on this machine is not this server: tests deliver there.
        app.post("/v1.1/webhooks", &key, json!({ "url": "http://127.0.0.1:9/hook", "events": ["*"] })).await.ok();
        let webhook = id(&app.get("/v1.1/webhooks", &key).await.ok()[0]);
        let message = app.patch(&format!("/v1.1/webhooks/{webhook}"), &key, json!({ "url": format!("{own}/x") })).await.err(400);
        assert!(message.contains("`url`"), "{message}");
        app.get("/v1.1/webhooks/not-an-id", &key).await.err(400);
        app
    })
    .await;
}

#[tokio::test]
async fn other_organizations_webhooks_and_events_are_not_found() {
    on_every_backend(|app: TestApp| async move {
        let a = app.key().await;
        let b = app.key().await;
        let webhook = id(&app.post("/v1.1/webhooks", &a, json!({ "url": "https://a.example.com", "events": ["*"] })).await.ok());
        let event = id(&app.get("/v1.1/events?limit=1", &a).await.ok()[0]);
        app.get(&format!("/v1.1/webhooks/{webhook}"), &b).await.err(404);
        app.get(&format!("/v1.1/webhooks/{webhook}/deliveries"), &b).await.err(404);
        app.patch(&format!("/v1.1/webhooks/{webhook}"), &b, json!({ "enabled": false })).await.err(404);
        app.post(&format!("/v1.1/webhooks/{webhook}/rotate_secret"), &b, json!({})).await.err(404);
        app.call(Method::DELETE, &format!("/v1.1/webhooks/{webhook}"), Some(&b), None).await.err(404);
        app.post(&format!("/v1.1/events/{event}/redeliver"), &b, json!({})).await.err(404);
        let b_event = id(&app.get("/v1.1/events?limit=1", &b).await.ok()[0]);
        app.post(&format!("/v1.1/events/{b_event}/redeliver"), &b, json!({ "webhook": webhook })).await.err(404);
        assert!(app.get("/v1.1/webhooks", &b).await.ok().as_array().unwrap().is_empty());
        assert_eq!(app.get(&format!("/v1.1/webhooks/{webhook}"), &a).await.ok()["enabled"], true);
        app
    })
    .await;
}

#[tokio::test]
async fn events_are_redelivered_to_matching_endpoints_or_the_one_named() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let all = id(&app.post("/v1.1/webhooks", &key, json!({ "url": "https://all.example.com", "events": ["*"] })).await.ok());
        let users = id(&app.post("/v1.1/webhooks", &key, json!({ "url": "https://users.example.com", "events": ["user.created"] })).await.ok());
        let off = id(&app.post("/v1.1/webhooks", &key, json!({ "url": "https://off.example.com", "events": ["*"] })).await.ok());
        app.patch(&format!("/v1.1/webhooks/{off}"), &key, json!({ "enabled": false })).await.ok();
        app.user(&key).await;
        let event = app.get("/v1.1/events?type=user.created", &key).await.ok()[0].clone();
        let deliveries = app.post(&format!("/v1.1/events/{}/redeliver", id(&event)), &key, json!({})).await.ok();
        let mut to: Vec<String> = deliveries.as_array().unwrap().iter().map(|d| d["webhook"].as_str().unwrap().to_string()).collect();
        to.sort();
        let mut expected = vec![all.clone(), users.clone()];
        expected.sort();
        assert_eq!(to, expected);
        assert!(deliveries.as_array().unwrap().iter().all(|d| d["status"] == "pending" && d["event"] == event["_id"] && d["attempts"] == 0));
        let one = app.post(&format!("/v1.1/events/{}/redeliver", id(&event)), &key, json!({ "webhook": users })).await.ok();
        assert_eq!(one.as_array().unwrap().len(), 1);
        assert_eq!(one[0]["webhook"], json!(users));
        app.post(&format!("/v1.1/events/{}/redeliver", id(&event)), &key, json!({ "webhook": "nope" })).await.err(400);
        app
    })
    .await;
}
