//! Numbers, rates and quotes are bounded where they enter (SPEC section 13): a 400 naming the
//! field, and nothing stored.

use serde_json::{Value, json};

use crate::app::{TestApp, on_every_backend};

#[tokio::test]
async fn session_targets_are_bounded() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let user = app.user(&key).await;
        for (target, field) in [
            (json!({ "energy": 1e26 }), "target.energy"),
            (json!({ "energy": 10000.5 }), "target.energy"),
            (json!({ "time": 10081 }), "target.time"),
            (json!({ "time": 4_294_967_296u64 }), "target.time"),
            (json!({ "cost": 1000000.01 }), "target.cost"),
            (json!({ "cost": 0 }), "target.cost"),
        ] {
            let body = json!({ "type": "wallet", "connector": "0123456789abcdef01234567", "user": user, "target": target });
            let message = app.post("/v1.1/sessions", &key, body).await.err(400);
            assert!(message.contains(field), "{target}: {message}");
        }
        assert_eq!(app.get("/v1.1/sessions", &key).await.ok().as_array().map(Vec::len), Some(0));
        app
    })
    .await;
}

#[tokio::test]
async fn rate_numbers_and_elements_are_bounded() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let element = json!({ "price_components": [{ "type": "TIME", "price": 1 }], "restrictions": { "day_of_week": ["MONDAY"] } });
        let restricted = |restrictions: Value| json!({ "currency": "USD", "elements": [{ "price_components": [{ "type": "TIME", "price": 1 }], "restrictions": restrictions }] });
        for (body, field) in [
            (json!({ "currency": "USD", "elements": vec![element.clone(); 33] }), "elements"),
            (json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 1e20 }] }), "price_components[0].price"),
            (json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 1, "step_size": 1_000_001 }] }), "price_components[0].step_size"),
            (json!({ "currency": "USD", "price_components": [{ "type": "PARKING_TIME", "price": 1, "grace_period": 1e9 }] }), "price_components[0].grace_period"),
            (json!({ "currency": "USD", "price_components": [{ "type": "TIME", "price": 1 }], "minimum_amount": 1e25 }), "minimum_amount"),
            (restricted(json!({ "max_kwh": 1e25 })), "elements[0].restrictions.max_kwh"),
            (restricted(json!({ "min_power": 10001 })), "elements[0].restrictions.min_power"),
            (restricted(json!({ "max_duration": 2_678_401 })), "elements[0].restrictions.max_duration"),
        ] {
            let message = app.post("/v1.1/rates", &key, body.clone()).await.err(400);
            assert!(message.contains(&format!("`{field}`")), "{body}: {message}");
        }
        assert_eq!(app.get("/v1.1/rates", &key).await.ok().as_array().map(Vec::len), Some(0));
        let most = app.post("/v1.1/rates", &key, json!({ "currency": "USD", "elements": vec![element; 32] })).await.ok();
        assert_eq!(most["elements"].as_array().map(Vec::len), Some(32));
        app
    })
    .await;
}

#[tokio::test]
async fn quotes_span_at_most_31_days_and_10000_periods() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let weekdays = json!({ "currency": "USD", "elements": [
            { "price_components": [{ "type": "TIME", "price": 2 }], "restrictions": { "day_of_week": ["MONDAY", "TUESDAY"] } } ],
            "price_components": [{ "type": "TIME", "price": 1 }] });
        let id = app.post("/v1.1/rates", &key, weekdays).await.ok()["_id"].as_str().unwrap().to_string();
        let path = format!("/v1.1/rates/{id}/quote");
        let period = |start: &str, end: &str| json!({ "startTime": start, "endTime": end, "status": "Charging", "energy": 0 });

        let ages = json!({ "charging_activity": [period("0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z")] });
        let message = app.post(&path, &key, ages).await.err(400);
        assert!(message.contains("`charging_activity[0].endTime`"), "{message}");
        let split =
            json!({ "charging_activity": [period("2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"), period("2026-01-30T00:00:00Z", "2026-02-01T00:00:01Z")] });
        let message = app.post(&path, &key, split).await.err(400);
        assert!(message.contains("`charging_activity[1].endTime`"), "{message}");

        // 31 days exactly: the 8 Mondays and Tuesdays of January 2026 at 2/h, the other 23 days at 1/h.
        let month = json!({ "charging_activity": [period("2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z")] });
        assert_eq!(app.post(&path, &key, month).await.ok()["amount"], json!((8 * 2 + 23) * 24));

        let many: Vec<Value> = (0..10_001).map(|_| period("2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z")).collect();
        let message = app.post(&path, &key, json!({ "charging_activity": many })).await.err(400);
        assert!(message.contains("`charging_activity`"), "{message}");
        app
    })
    .await;
}

/// Every bound above is stated in the OpenAPI document the server serves.
#[tokio::test]
async fn the_openapi_document_states_the_bounds() {
    on_every_backend(|app: TestApp| async move {
        let doc = app.client.get(format!("{}/v1.1/openapi.json", app.base)).send().await.unwrap().json::<Value>().await.unwrap();
        let schema = |name: &str, field: &str| doc["components"]["schemas"][name]["properties"][field].clone();
        for (name, field, key, value) in [
            ("Target", "energy", "maximum", json!(10000)),
            ("Target", "time", "maximum", json!(10080)),
            ("Target", "cost", "maximum", json!(1000000)),
            ("RateInput", "elements", "maxItems", json!(32)),
            ("RateInput", "minimum_amount", "maximum", json!(1000000)),
            ("PriceComponentInput", "price", "maximum", json!(1000000)),
            ("PriceComponentInput", "step_size", "maximum", json!(1000000)),
            ("PriceComponentInput", "grace_period", "maximum", json!(168)),
            ("Restrictions", "max_kwh", "maximum", json!(10000)),
            ("Restrictions", "max_power", "maximum", json!(10000)),
            ("Restrictions", "max_duration", "maximum", json!(2678400)),
            ("QuoteInput", "charging_activity", "maxItems", json!(10000)),
            ("PeriodInput", "energy", "maximum", json!(1000000000)),
            ("AdjustmentInput", "amount", "maximum", json!(100000000000u64)),
            ("TopUpInput", "amount", "maximum", json!(99999999)),
        ] {
            assert_eq!(schema(name, field)[key].as_f64(), value.as_f64(), "{name}.{field}.{key}");
        }
        app
    })
    .await;
}
