//! `POST /v1.1/rates/{id}/quote`: the cost object of an activity, and its errors.

use serde_json::{Value, json};

use crate::app::{TestApp, on_every_backend};

async fn rate(app: &TestApp, key: &str, body: Value) -> String {
    app.post("/v1.1/rates", key, body).await.ok()["_id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn quotes_price_an_activity() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let id = rate(
            &app,
            &key,
            json!({ "name": "Standard", "currency": "USD", "price_components": [
            { "type": "ENERGY", "price": 0.35, "tax": 8.25 }, { "type": "TIME", "price": 2.00 }, { "type": "PARKING_TIME", "price": 6, "step_size": 300 } ] }),
        )
        .await;
        let quote = app
            .post(
                &format!("/v1.1/rates/{id}/quote"),
                &key,
                json!({ "charging_activity": [
            { "startTime": "2026-11-25T10:00:00.000Z", "endTime": "2026-11-25T11:00:00.000Z", "status": "Charging", "energy": 10000 },
            { "startTime": "2026-11-25T11:00:00.000Z", "endTime": "2026-11-25T11:07:00.000Z", "status": "SuspendedEV", "energy": 0 } ] }),
            )
            .await
            .ok();
        // 10 kWh at 0.35 + 8.25% = 3.78875; 1 h at 2.00; 7 min parking billed as 10 at 6.00/h = 1.00.
        assert_eq!(quote["amount"], json!(6.79));
        assert_eq!(quote["currency"], "USD");
        let rows = quote["breakdown"].as_array().unwrap();
        let energy = rows.iter().find(|r| r["type"] == "ENERGY").unwrap();
        assert_eq!((energy["quantity"].clone(), energy["unit"].clone(), energy["unitPrice"].clone()), (json!(10), json!("kWh"), json!(0.35)));
        assert_eq!(
            (energy["beforeTax"].clone(), energy["tax"].clone(), energy["totalTax"].clone(), energy["totalCost"].clone()),
            (json!(3.5), json!(8.25), json!(0.28875), json!(3.78875))
        );
        assert_eq!(energy["rateName"], "Standard");
        assert_eq!(energy["period"], json!({ "startTime": "2026-11-25T10:00:00.000Z", "endTime": "2026-11-25T11:00:00.000Z" }));
        let parking = rows.iter().find(|r| r["type"] == "PARKING_TIME").unwrap();
        assert_eq!(parking["unit"], "hours");
        assert_eq!(parking["totalCost"], json!(1));

        // Times of day are read in the time zone given.
        let night = rate(
            &app,
            &key,
            json!({ "currency": "USD", "elements": [
            { "price_components": [{ "type": "ENERGY", "price": 0.10 }], "restrictions": { "start_time": "22:00", "end_time": "06:00" } } ],
            "price_components": [{ "type": "ENERGY", "price": 0.40 }] }),
        )
        .await;
        let at_3_utc = json!([{ "startTime": "2026-07-01T03:00:00.000Z", "endTime": "2026-07-01T04:00:00.000Z", "status": "Charging", "energy": 10000 }]);
        let utc = app.post(&format!("/v1.1/rates/{night}/quote"), &key, json!({ "charging_activity": at_3_utc })).await.ok();
        let la = app.post(&format!("/v1.1/rates/{night}/quote"), &key, json!({ "charging_activity": at_3_utc, "timezone": "America/Los_Angeles" })).await.ok();
        assert_eq!((utc["amount"].clone(), la["amount"].clone()), (json!(1), json!(4)), "03:00 UTC is night in UTC and 20:00 in Los Angeles");

        let empty = app.post(&format!("/v1.1/rates/{id}/quote"), &key, json!({ "charging_activity": [] })).await.ok();
        assert_eq!(empty["amount"], json!(0));
        app
    })
    .await;
}

#[tokio::test]
async fn quote_errors_name_the_problem() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let id = rate(&app, &key, json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.35 }] })).await;
        let path = format!("/v1.1/rates/{id}/quote");
        let period = |start: &str, end: &str, status: &str, energy: Value| json!({ "startTime": start, "endTime": end, "status": status, "energy": energy });
        let (t0, t1, t2) = ("2026-11-25T10:00:00.000Z", "2026-11-25T11:00:00.000Z", "2026-11-25T12:00:00.000Z");
        for (activity, field) in [
            (json!([period(t1, t0, "Charging", json!(1))]), "charging_activity[0].endTime"),
            (json!([period(t0, t2, "Charging", json!(1)), period(t1, t2, "Charging", json!(1))]), "charging_activity[1].startTime"),
            (json!([period(t0, t1, "Charging", json!(-1))]), "charging_activity[0].energy"),
            (json!([period(t0, t1, "Driving", json!(1))]), "charging_activity[0].status"),
            (json!([period("yesterday", t1, "Charging", json!(1))]), "charging_activity[0].startTime"),
            (json!([period(t0, t1, "Charging", json!("lots"))]), "charging_activity[0].energy"),
        ] {
            let message = app.post(&path, &key, json!({ "charging_activity": activity })).await.err(400);
            assert!(message.contains(field), "{field}: {message}");
        }
        let message = app.post(&path, &key, json!({ "charging_activity": [], "timezone": "Mars/Olympus" })).await.err(400);
        assert!(message.contains("timezone"), "{message}");
        app.post(&path, &key, json!({})).await.err(400);
        app.post("/v1.1/rates/0123456789abcdef01234567/quote", &key, json!({ "charging_activity": [] })).await.err(404);
        let other = app.key().await;
        app.post(&path, &other, json!({ "charging_activity": [] })).await.err(404);

        // Rates whose elements can never price anything are refused.
        for (body, field) in [
            (json!({ "currency": "USD", "elements": [{ "price_components": [{ "type": "ENERGY", "price": 1 }], "restrictions": { "min_kwh": 10, "max_kwh": 5 } }] }), "elements[0].restrictions.max_kwh"),
            (json!({ "currency": "USD", "elements": [{ "price_components": [{ "type": "ENERGY", "price": 1 }], "restrictions": { "start_time": "25:00" } }] }), "elements[0].restrictions.start_time"),
            (json!({ "currency": "USD", "elements": [{ "price_components": [] }] }), "elements[0].price_components"),
            (json!({ "currency": "USD", "elements": [{ "price_components": [{ "type": "ENERGY", "price": 1 }], "restrictions": { "day_of_week": ["FUNDAY"] } }] }), "elements[0].restrictions.day_of_week"),
        ] {
            let message = app.post("/v1.1/rates", &key, body.clone()).await.err(400);
            assert!(message.contains(field), "{body}: {message}");
        }
        app
    })
    .await;
}

/// A quote answers exactly what the tariff engine prices for the same activity, which is what a
/// session's running and final cost are computed with.
#[tokio::test]
async fn a_quote_is_the_engines_price_of_the_activity() {
    use rand::{Rng, SeedableRng};
    use rust_decimal::Decimal;

    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let body = json!({ "name": "Mixed", "currency": "USD", "minimum_amount": 1.25, "elements": [
            { "price_components": [{ "type": "ENERGY", "price": 0.12, "step_size": 250 }], "restrictions": { "start_time": "21:00", "end_time": "07:00" } },
            { "price_components": [{ "type": "TIME", "price": 4.5, "tax": 7 }], "restrictions": { "min_power": 22 } } ],
            "price_components": [{ "type": "FLAT", "price": 0.99 }, { "type": "ENERGY", "price": 0.41, "tax": 6.5 }, { "type": "TIME", "price": 1.2 },
                { "type": "PARKING_TIME", "price": 9, "step_size": 600, "grace_period": 0.25 }] });
        let id = rate(&app, &key, body.clone()).await;
        let stored: domain::rate::Rate = serde_json::from_value(app.get(&format!("/v1.1/rates/{id}"), &key).await.ok()).unwrap();
        let statuses = ["Charging", "Charging", "SuspendedEV", "SuspendedEVSE", "Finishing"];
        let mut rng = rand::rngs::StdRng::seed_from_u64(20261125);
        for _ in 0..25 {
            let mut at = 1_790_000_000_000i64 + rng.random_range(0..86_400_000);
            let mut activity = Vec::new();
            let mut periods = Vec::new();
            for _ in 0..rng.random_range(1..12) {
                let length = rng.random_range(0..5_400_000i64);
                let status = statuses[rng.random_range(0..statuses.len())];
                let energy = Decimal::new(rng.random_range(0..40_000_000), 3);
                let (start, end) = (domain::Timestamp::from_millis(at), domain::Timestamp::from_millis(at + length));
                activity.push(json!({ "startTime": start, "endTime": end, "status": status, "energy": energy }));
                let status = domain::connector::ConnectorStatus::parse(status).unwrap();
                periods.push(tariff::Period { start, end, status, paused: false, energy_wh: energy });
                at += length + rng.random_range(0..600_000);
            }
            let quote = app.post(&format!("/v1.1/rates/{id}/quote"), &key, json!({ "charging_activity": activity, "timezone": "America/Chicago" })).await.ok();
            let priced = tariff::price(&stored, chrono_tz::America::Chicago, &tariff::Activity::new(periods).unwrap()).unwrap();
            assert_eq!(quote, serde_json::to_value(&priced).unwrap());
        }
        app
    })
    .await;
}
