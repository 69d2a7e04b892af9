//! Every resource endpoint, as a client uses it.

use serde_json::{Value, json};

use crate::app::{ADMIN_TOKEN, TestApp, on_every_backend};

fn is_timestamp(v: &Value) -> bool {
    let s = v.as_str().unwrap_or("");
    s.len() == 24 && s.ends_with('Z') && s.as_bytes()[19] == b'.' && domain::Timestamp::parse(s).is_some()
}

fn is_id(v: &Value) -> bool {
    v.as_str().is_some_and(|s| s.parse::<domain::Id>().is_ok())
}

#[tokio::test]
async fn organizations_through_the_admin_api() {
    on_every_backend(|app: TestApp| async move {
        let created = app.post("/v1.1/organizations", ADMIN_TOKEN, json!({ "name": "Acme", "country": "us" })).await.ok();
        assert!(is_id(&created["_id"]) && is_timestamp(&created["createdAt"]) && is_timestamp(&created["updatedAt"]));
        assert_eq!(created["country"], "US");
        assert_eq!(created["configurations"]["session"]["minimum_balance"], 2000);
        assert_eq!(created["stripe"]["configured"], false);
        let key = created["api_key"].as_str().unwrap().to_string();
        let id = created["_id"].as_str().unwrap();

        let mine = app.get("/v1.1/organization", &key).await.ok();
        assert_eq!(mine["_id"], created["_id"]);
        assert!(mine.get("api_key").is_none(), "the key is shown once");
        assert_eq!(app.get(&format!("/v1.1/organizations/{id}"), ADMIN_TOKEN).await.ok()["name"], "Acme");
        let listed = app.get("/v1.1/organizations", ADMIN_TOKEN).await.ok();
        assert_eq!(listed.as_array().unwrap().len(), 1);

        // A second key works beside the first.
        let second = app.post(&format!("/v1.1/organizations/{id}/api_keys"), ADMIN_TOKEN, json!({})).await.ok();
        let second = second["api_key"].as_str().unwrap();
        assert_ne!(second, key);
        assert_eq!(app.get("/v1.1/organization", second).await.ok()["_id"], created["_id"]);
        app.post("/v1.1/organizations/0123456789abcdef01234567/api_keys", ADMIN_TOKEN, json!({})).await.err(404);

        // The organization changes its own settings.
        let patched =
            app.patch("/v1.1/organization", &key, json!({ "configurations": { "session": { "minimum_balance": 500 } }, "name": "Acme Inc" })).await.ok();
        assert_eq!(patched["configurations"]["session"]["minimum_balance"], 500);
        assert_eq!(patched["name"], "Acme Inc");
        assert_eq!(patched["country"], "US");
        assert_ne!(patched["updatedAt"], created["updatedAt"].clone(), "updatedAt moves");
        let message = app.patch("/v1.1/organization", &key, json!({ "configurations": { "session": { "minimum_balance": -1 } } })).await.err(400);
        assert!(message.contains("configurations.session.minimum_balance"), "{message}");
        let message = app.patch("/v1.1/organization", &key, json!({ "country": "Narnia" })).await.err(400);
        assert!(message.contains("country"), "{message}");
        assert_eq!(app.event_types(&key).await, ["organization.created", "organization.updated"]);

        // Keys and tokens open only their own doors.
        app.get("/v1.1/organizations", &key).await.err(401);
        app.get("/v1.1/organization", ADMIN_TOKEN).await.err(401);
        app
    })
    .await;
}

#[tokio::test]
async fn users_list_newest_first_and_patch() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let mut ids = Vec::new();
        for i in 0..5 {
            let u = app.post("/v1.1/users", &key, json!({ "firstname": format!("U{i}"), "lastname": "L", "email": format!("u{i}@example.com"), "phone": "+1 555 0100", "meta_data": { "n": i } })).await.ok();
            assert_eq!(u["wallet"], Value::Null);
            assert_eq!(u["active"], true);
            ids.push(u["_id"].as_str().unwrap().to_string());
        }
        let page1 = app.get("/v1.1/users?limit=2", &key).await.ok();
        let page3 = app.get("/v1.1/users?limit=2&page=3", &key).await.ok();
        let shown: Vec<&str> = page1.as_array().unwrap().iter().map(|u| u["_id"].as_str().unwrap()).collect();
        assert_eq!(shown, [ids[4].as_str(), ids[3].as_str()], "newest first");
        assert_eq!(page3.as_array().unwrap().len(), 1);
        assert_eq!(page3[0]["_id"], json!(ids[0]));
        assert_eq!(app.get("/v1.1/users", &key).await.ok().as_array().unwrap().len(), 5);
        app.get("/v1.1/users?limit=101", &key).await.err(400);
        app.get("/v1.1/users?page=0", &key).await.err(400);
        assert!(app.get("/v1.1/users?page=10001", &key).await.err(400).contains("`page`"), "pages stop at 10,000");
        assert!(app.get("/v1.1/users?page=10000", &key).await.ok().as_array().unwrap().is_empty());
        app.get("/v1.1/users?createdAt[gte]=yesterday", &key).await.err(400);
        let future = app.get("/v1.1/users?createdAt[gte]=2999-01-01T00:00:00.000Z", &key).await.ok();
        assert!(future.as_array().unwrap().is_empty());

        let one = app.get(&format!("/v1.1/users/{}", ids[0]), &key).await.ok();
        assert_eq!(one["meta_data"]["n"], 0);
        let patched = app.patch(&format!("/v1.1/users/{}", ids[0]), &key, json!({ "lastname": "Lovelace", "phone": null, "active": false })).await.ok();
        assert_eq!((patched["lastname"].as_str(), patched["phone"].as_str(), patched["active"].as_bool()), (Some("Lovelace"), None, Some(false)));
        assert_eq!(patched["firstname"], "U0", "absent fields stay");
        assert_eq!(app.get(&format!("/v1.1/users/{}", ids[0]), &key).await.ok(), patched);
        let message = app.patch(&format!("/v1.1/users/{}", ids[0]), &key, json!({ "email": "not-an-email" })).await.err(400);
        assert!(message.contains("email"), "{message}");
        let types = app.event_types(&key).await;
        assert_eq!(types.iter().filter(|t| *t == "user.created").count(), 5);
        assert_eq!(types.last().unwrap(), "user.updated");
        app
    })
    .await;
}

#[tokio::test]
async fn locations_chargestations_connectors_and_rates() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let location = app.post("/v1.1/locations", &key, json!({ "name": "Depot", "timezone": "America/New_York", "address": { "city": "Boston" }, "coordinates": { "latitude": 42.36, "longitude": -71.06 } })).await.ok();
        let loc_id = location["_id"].as_str().unwrap().to_string();
        let message = app.post("/v1.1/locations", &key, json!({ "name": "X", "timezone": "Mars/Base" })).await.err(400);
        assert!(message.contains("timezone"), "{message}");
        let patched = app.patch(&format!("/v1.1/locations/{loc_id}"), &key, json!({ "timezone": "Europe/Paris" })).await.ok();
        assert_eq!(patched["timezone"], "Europe/Paris");
        assert_eq!(patched["name"], "Depot");
        assert_eq!(app.get("/v1.1/locations", &key).await.ok().as_array().unwrap().len(), 1);

        let rate = app.post("/v1.1/rates", &key, json!({ "name": "Standard", "currency": "USD", "price_components": [
            { "type": "ENERGY", "price": 0.35, "tax": 8.25 }, { "type": "PARKING_TIME", "price": 3, "step_size": 300, "grace_period": 0.5 } ], "minimum_amount": 1.5 })).await.ok();
        assert_eq!(rate["price_components"][0]["price"], json!(0.35), "prices are JSON numbers");
        assert_eq!(rate["minimum_amount"], json!(1.5));
        let rate_id = rate["_id"].as_str().unwrap().to_string();
        assert_eq!(app.get(&format!("/v1.1/rates/{rate_id}"), &key).await.ok(), rate);
        assert_eq!(app.get("/v1.1/rates", &key).await.ok().as_array().unwrap().len(), 1);
        for (body, field) in [
            (json!({ "currency": "ZZZ", "price_components": [{ "type": "FLAT", "price": 1 }] }), "currency"),
            (json!({ "currency": "USD", "price_components": [{ "type": "FLAT", "price": -1 }] }), "price_components[0].price"),
            (json!({ "currency": "USD", "price_components": [{ "type": "TIME", "price": 1, "step_size": 1.5 }] }), "price_components[0].step_size"),
            (json!({ "currency": "USD", "price_components": [{ "type": "TIME", "price": 1, "tax": 120 }] }), "price_components[0].tax"),
            (json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 1, "grace_period": 1 }] }), "price_components[0].grace_period"),
            (json!({ "currency": "USD", "price_components": [{ "type": "FLAT", "price": 1 }, { "type": "FLAT", "price": 2 }] }), "price_components[1].type"),
            (json!({ "currency": "USD", "price_components": [{ "type": "HOURLY", "price": 1 }] }), "price_components[0].type"),
        ] {
            let message = app.post("/v1.1/rates", &key, body.clone()).await.err(400);
            assert!(message.contains(field), "{body}: {message}");
        }

        let cs = app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP-001", "location": loc_id, "security": { "type": "basic", "password": "s3cret-password-16" } })).await.ok();
        let cs_id = cs["_id"].as_str().unwrap().to_string();
        assert_eq!(cs["protocol"], "ocpp1.6");
        assert_eq!(cs["online"], false);
        assert_eq!(cs["registration"], "Accepted");
        assert_eq!(cs["security"], json!({ "type": "basic" }));
        assert_eq!(cs["connection_url"], json!(format!("{}/ocpp/CP-001", app.base.replace("http://", "ws://"))));
        assert!(!cs.to_string().contains("s3cret"), "the password is never shown");
        for field in ["lastConnectAt", "lastDisconnectAt", "lastMessageAt", "bootInfo"] {
            assert_eq!(cs[field], Value::Null, "{field}");
        }
        let message = app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP-001" })).await.err(409);
        assert!(message.contains("CP-001"), "{message}");
        app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP 2" })).await.err(400);
        app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP-3", "security": { "type": "basic" } })).await.err(400);
        app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP-3", "location": "0123456789abcdef01234567" })).await.err(404);
        let pending = app.patch(&format!("/v1.1/chargestations/{cs_id}"), &key, json!({ "registration": "Pending", "security": { "type": "none" } })).await.ok();
        assert_eq!((pending["registration"].as_str(), pending["security"]["type"].as_str()), (Some("Pending"), Some("none")));
        assert_eq!(app.get(&format!("/v1.1/chargestations?location={loc_id}"), &key).await.ok().as_array().unwrap().len(), 1);

        let connector = app.post("/v1.1/connectors", &key, json!({ "chargestation": cs_id, "connector_id": 1, "rate": rate_id, "type": "IEC_62196_T2", "format": "SOCKET", "power_type": "AC_3_PHASE", "power": 22 })).await.ok();
        let connector_id = connector["_id"].as_str().unwrap().to_string();
        assert_eq!((connector["status"].as_str(), connector["power"].as_i64()), (Some("Available"), Some(22)));
        app.post("/v1.1/connectors", &key, json!({ "chargestation": cs_id, "connector_id": 1 })).await.err(409);
        app.post("/v1.1/connectors", &key, json!({ "chargestation": cs_id, "connector_id": 0 })).await.err(400);
        app.post("/v1.1/connectors", &key, json!({ "chargestation": "0123456789abcdef01234567", "connector_id": 2 })).await.err(404);
        app.post("/v1.1/connectors", &key, json!({ "chargestation": cs_id, "connector_id": 2, "rate": "0123456789abcdef01234567" })).await.err(404);
        app.post("/v1.1/connectors", &key, json!({ "chargestation": cs_id, "connector_id": 2, "format": "PLUG" })).await.err(400);
        let detached = app.patch(&format!("/v1.1/connectors/{connector_id}"), &key, json!({ "rate": null })).await.ok();
        assert_eq!(detached["rate"], Value::Null);
        assert_eq!(detached["format"], "SOCKET");
        let shown = app.get(&format!("/v1.1/chargestations/{cs_id}"), &key).await.ok();
        assert_eq!(shown["connectors"], json!([detached]), "chargestations embed their connectors");
        assert_eq!(app.get(&format!("/v1.1/connectors?chargestation={cs_id}"), &key).await.ok().as_array().unwrap().len(), 1);
        app.get("/v1.1/connectors?chargestation=nope", &key).await.err(400);

        let types = app.event_types(&key).await;
        for t in ["location.created", "location.updated", "rate.created", "chargestation.created", "chargestation.updated", "connector.created", "connector.updated"] {
            assert!(types.contains(&t.to_string()), "{t} in {types:?}");
        }
        let updates = app.get("/v1.1/events?type=connector.updated", &key).await.ok();
        assert_eq!(updates.as_array().unwrap().len(), 1);
        assert_eq!(updates[0]["data"], detached, "events carry the object after the change");
        assert_eq!(updates[0]["object"], "connector");
        let event = app.get(&format!("/v1.1/events/{}", updates[0]["_id"].as_str().unwrap()), &key).await.ok();
        assert_eq!(event, updates[0]);
        app
    })
    .await;
}
