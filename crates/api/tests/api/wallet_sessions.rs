//! Starting wallet sessions: the checks in SPEC order with their exact messages, the hold, the
//! remote start, and the cancellation when the charger refuses.

use serde_json::{Value, json};

use crate::app::{TestApp, on_every_backend};
use crate::charger::{Socket, answer, call, charger};

struct Site {
    key: String,
    cs: String,
    connectors: Vec<String>,
    socket: Socket,
}

/// An online chargestation with `n` connectors at a USD rate, and a charger for it.
async fn site(app: &TestApp, endpoint: &str, n: u32) -> Site {
    let key = app.key().await;
    let rate = app.post("/v1.1/rates", &key, json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.35 }] })).await.ok();
    let cs = app.post("/v1.1/chargestations", &key, json!({ "endpoint": endpoint })).await.ok()["_id"].as_str().unwrap().to_string();
    let mut connectors = Vec::new();
    for i in 1..=n {
        let c = app.post("/v1.1/connectors", &key, json!({ "chargestation": cs, "connector_id": i, "rate": rate["_id"] })).await.ok();
        connectors.push(c["_id"].as_str().unwrap().to_string());
    }
    let mut socket = charger(app, endpoint).await;
    call(&mut socket, "BootNotification", json!({ "chargePointVendor": "Acme", "chargePointModel": "W" })).await;
    Site { key, cs, connectors, socket }
}

async fn wallet_user(app: &TestApp, key: &str, cents: i64) -> (String, String) {
    let user = app.user(key).await;
    let wallet = app.post(&format!("/v1.1/users/{user}/wallet"), key, json!({})).await.ok()["_id"].as_str().unwrap().to_string();
    if cents > 0 {
        app.post(&format!("/v1.1/wallets/{wallet}/adjustments"), key, json!({ "amount": cents, "reason": "funding" })).await.ok();
    }
    (user, wallet)
}

fn start(connector: &str, user: &str) -> Value {
    json!({ "type": "wallet", "connector": connector, "user": user })
}

#[tokio::test]
async fn the_start_checks_come_in_order_and_refusals_hold_nothing() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-1", 2).await;
        let key = site.key.clone();
        let (rich, rich_wallet) = wallet_user(&app, &key, 16072).await;
        let (poor, _) = wallet_user(&app, &key, 1999).await;
        let walletless = app.user(&key).await;
        let unknown = "0123456789abcdef01234567";
        let connector = site.connectors[0].clone();

        assert_eq!(app.post("/v1.1/sessions", &key, start(unknown, &rich)).await.err(404), "Connector not found");
        assert_eq!(app.post("/v1.1/sessions", &key, start(&connector, unknown)).await.err(404), "User not found");
        assert_eq!(app.post("/v1.1/sessions", &key, start(&connector, &walletless)).await.err(405), "User does not have a wallet");
        assert_eq!(app.post("/v1.1/sessions", &key, start(&connector, &poor)).await.err(405), "User does not have minimum balance");
        let bare = app.post("/v1.1/connectors", &key, json!({ "chargestation": site.cs, "connector_id": 9 })).await.ok()["_id"].as_str().unwrap().to_string();
        assert_eq!(app.post("/v1.1/sessions", &key, start(&bare, &rich)).await.err(405), "Connector does not have a rate");
        let euros = app.post("/v1.1/rates", &key, json!({ "currency": "EUR", "price_components": [{ "type": "ENERGY", "price": 0.3 }] })).await.ok();
        app.patch(&format!("/v1.1/connectors/{bare}"), &key, json!({ "rate": euros["_id"] })).await.ok();
        assert_eq!(app.post("/v1.1/sessions", &key, start(&bare, &rich)).await.err(405), "Wallet currency does not match the rate currency");
        app.post("/v1.1/sessions", &key, json!({ "type": "prepaid", "connector": connector, "user": rich })).await.err(400);
        assert!(app.get("/v1.1/sessions", &key).await.ok().as_array().unwrap().is_empty(), "refusals create nothing");
        assert_eq!(app.assert_ledger(&key, &rich_wallet).await, (16072, 16072), "and hold nothing");

        // Success: the whole available balance is held; the charger is asked to start.
        let session = app.post("/v1.1/sessions", &key, start(&connector, &rich)).await.ok();
        assert_eq!((session["status"].as_str(), session["type"].as_str()), (Some("created"), Some("wallet")));
        assert_eq!(
            (session["chargestation"].as_str(), session["connector"].as_str(), session["user"].as_str()),
            (Some(site.cs.as_str()), Some(connector.as_str()), Some(rich.as_str()))
        );
        let payment = &session["payment"];
        assert_eq!(payment["type"], "api_wallet");
        assert_eq!(payment["status"], "authorized");
        assert_eq!(payment["authorized_amount"], json!(160.72));
        assert_eq!(payment["captured_amount"], json!(0));
        assert_eq!(payment["currency"], "usd");
        assert_eq!(payment["session"], session["_id"]);
        assert_eq!(payment["wallet"], json!(rich_wallet));
        assert_eq!(app.assert_ledger(&key, &rich_wallet).await, (16072, 0), "held, not spent");
        let remote = answer(&mut site.socket, json!({ "status": "Accepted" })).await;
        assert_eq!(remote[2], "RemoteStartTransaction");
        let id_tag = remote[3]["idTag"].as_str().unwrap().to_string();
        assert!(id_tag.len() <= 20);
        assert_eq!(remote[3]["connectorId"], 1);
        assert_eq!(call(&mut site.socket, "Authorize", json!({ "idTag": id_tag })).await["idTagInfo"]["status"], "Accepted", "the session's idTag is accepted");
        let started =
            call(&mut site.socket, "StartTransaction", json!({ "connectorId": 1, "idTag": id_tag, "meterStart": 0, "timestamp": "2026-11-25T10:00:00Z" }))
                .await;
        assert_eq!(started["idTagInfo"]["status"], "Accepted");
        let id = session["_id"].as_str().unwrap();
        let running = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!((running["status"].as_str(), running["transactionId"].clone()), (Some("started"), started["transactionId"].clone()));

        let (second, _) = wallet_user(&app, &key, 3000).await;
        assert_eq!(app.post("/v1.1/sessions", &key, start(&connector, &second)).await.err(409), "Connector is not available");
        assert_eq!(
            app.post("/v1.1/sessions", &key, start(&connector, &rich)).await.err(405),
            "User does not have minimum balance",
            "the balance check comes first"
        );
        let types = app.event_types(&key).await;
        let tail: Vec<&str> = types.iter().map(String::as_str).filter(|t| t.starts_with("session.") || t.starts_with("payment.")).collect();
        assert_eq!(tail, ["session.created", "payment.created", "payment.authorized", "session.started"]);

        // The chargestation goes offline: no more starts there.
        drop(site.socket);
        let mut refused = String::new();
        for _ in 0..200 {
            let answer = app.post("/v1.1/sessions", &key, start(&site.connectors[1], &second)).await;
            if answer.status.as_u16() == 409 {
                refused = answer.err(409);
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(refused, "Chargestation is offline");
        app
    })
    .await;
}

#[tokio::test]
async fn a_refused_remote_start_cancels_and_releases_the_hold() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-2", 1).await;
        let key = site.key.clone();
        let (user, wallet) = wallet_user(&app, &key, 5000).await;
        let session = app.post("/v1.1/sessions", &key, start(&site.connectors[0], &user)).await.ok();
        assert_eq!(app.assert_ledger(&key, &wallet).await, (5000, 0));
        answer(&mut site.socket, json!({ "status": "Rejected" })).await;
        let id = session["_id"].as_str().unwrap();
        let mut cancelled = Value::Null;
        for _ in 0..500 {
            cancelled = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
            if cancelled["status"] == "cancelled" {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        assert_eq!(cancelled["status"], "cancelled");
        assert_eq!(cancelled["payment"]["status"], "canceled");
        assert_eq!(app.assert_ledger(&key, &wallet).await, (5000, 5000), "the hold is released");
        let types = app.event_types(&key).await;
        for t in ["session.start_failure", "session.cancelled", "payment.canceled"] {
            assert!(types.contains(&t.to_string()), "{t} in {types:?}");
        }
        app
    })
    .await;
}

#[tokio::test]
async fn concurrent_starts_never_hold_more_than_the_wallet_has() {
    on_every_backend(|app: TestApp| async move {
        let site = site(&app, "W-3", 50).await;
        let key = site.key.clone();
        let (user, wallet) = wallet_user(&app, &key, 7500).await;
        let starts = site.connectors.iter().map(|c| {
            let (app, key, body) = (&app, &key, start(c, &user));
            async move { app.post("/v1.1/sessions", key, body).await }
        });
        let answers = futures::future::join_all(starts).await;
        let ok = answers.iter().filter(|a| a.status.as_u16() == 200).count();
        assert_eq!(ok, 1, "{:?}: one start holds everything", app.backend());
        assert!(answers.iter().filter(|a| a.status.as_u16() != 200).all(|a| a.message() == "User does not have minimum balance"));
        assert_eq!(app.assert_ledger(&key, &wallet).await, (7500, 0));
        assert_eq!(app.store.held_on_wallet(wallet.parse().unwrap()).await.unwrap().0, 7500, "balance − available is what sessions hold");
        drop(site.socket);
        app
    })
    .await;
}

/// Starts a wallet session through the API and has the charger start it; returns the session
/// id and the transactionId.
/// A wallet session the charger started `seconds_ago`: Joule asked for it then (a wallet
/// session is billed only from when Joule asked for it).
async fn running(app: &TestApp, site: &mut Site, connector: &str, user: &str, seconds_ago: i64) -> (String, Value) {
    app.clock.shift_ms(-seconds_ago * 1000);
    let session = app.post("/v1.1/sessions", &site.key, start(connector, user)).await.ok();
    app.clock.shift_ms(0);
    let remote = answer(&mut site.socket, json!({ "status": "Accepted" })).await;
    let started = call(
        &mut site.socket,
        "StartTransaction",
        json!({ "connectorId": remote[3]["connectorId"], "idTag": remote[3]["idTag"], "meterStart": 1000, "timestamp": ago(seconds_ago) }),
    )
    .await;
    (session["_id"].as_str().unwrap().to_string(), started["transactionId"].clone())
}

#[tokio::test]
async fn a_wallet_session_is_captured_once_at_its_end() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-4", 2).await;
        let key = site.key.clone();
        let (user, wallet) = wallet_user(&app, &key, 5000).await;
        let first = site.connectors[0].clone();
        // Times are recent: a report hours old would make session intelligence stop the session.
        let (id, transaction) = running(&app, &mut site, &first, &user, 3600).await;
        let reading = |at: String, wh: u32| json!({ "connectorId": 1, "transactionId": transaction, "meterValue": [{ "timestamp": at, "sampledValue": [{ "value": wh.to_string(), "measurand": "Energy.Active.Import.Register", "unit": "Wh" }] }] });
        call(&mut site.socket, "MeterValues", reading(ago(1800), 6000)).await;
        call(&mut site.socket, "MeterValues", reading(ago(900), 5500)).await;
        // While it runs: the cost so far (5 kWh; the dip to 5500 is left out), metrics, readings.
        let so_far = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!(so_far["cost"]["amount"], json!(1.75));
        assert_eq!((so_far["metrics"]["energyConsumed"].clone(), so_far["metrics"]["energyPeriod"].clone()), (json!(5000), json!(1800)));
        assert_eq!(so_far["energy_report"].as_array().unwrap().len(), 1);
        assert_eq!(so_far["charging_activity"][0]["status"], "Charging");
        let stop = json!({ "transactionId": transaction, "meterStop": 11000, "timestamp": ago(0), "reason": "EVDisconnected" });
        call(&mut site.socket, "StopTransaction", stop.clone()).await;

        // 10 kWh at $0.35: $3.50 captured from the $50.00 held, the rest released.
        let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!(ended["status"], "ended");
        assert_eq!((ended["cost"]["amount"].clone(), ended["metrics"]["energyConsumed"].clone()), (json!(3.5), json!(10000)));
        assert_eq!(ended["payment"]["status"], "succeeded");
        assert_eq!((ended["payment"]["captured_amount"].clone(), ended["payment"]["uncollected_amount"].clone()), (json!(3.5), json!(0)));
        assert_eq!(app.assert_ledger(&key, &wallet).await, (4650, 4650));
        let entries = app.get(&format!("/v1.1/wallets/{wallet}/transactions"), &key).await.ok();
        assert_eq!((entries[0]["type"].as_str(), entries[0]["amount"].as_i64(), entries[0]["reference"].as_str()), (Some("session_capture"), Some(-350), Some(id.as_str())));

        // A repeated StopTransaction, and readings after the stop, change nothing.
        call(&mut site.socket, "StopTransaction", stop).await;
        call(&mut site.socket, "MeterValues", reading(ago(-60), 12000)).await;
        assert_eq!(app.assert_ledger(&key, &wallet).await, (4650, 4650));
        let after = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!((after["energy_report"].clone(), after["cost"].clone()), (ended["energy_report"].clone(), ended["cost"].clone()));
        let types = app.event_types(&key).await;
        for t in ["session.ended", "payment.captured", "session.payment.captured"] {
            assert_eq!(types.iter().filter(|x| *x == t).count(), 1, "{t} once in {types:?}");
        }
        assert_eq!(types.iter().filter(|x| *x == "session.updated").count(), 1, "one for the reading stored, none for the dip");
        let events = app.get("/v1.1/events?limit=100", &key).await.ok();
        let updated = events.as_array().unwrap().iter().find(|e| e["type"] == "session.updated").unwrap();
        assert_eq!((updated["data"]["cost"]["amount"].clone(), updated["data"]["metrics"]["energyConsumed"].clone()), (json!(1.75), json!(5000)), "the event carries the running cost and metrics");

        // Beyond the authorization: capped at what was held, the rest recorded as uncollected.
        let (poor, poor_wallet) = wallet_user(&app, &key, 2500).await;
        let second = site.connectors[1].clone();
        let (id, transaction) = running(&app, &mut site, &second, &poor, 7200).await;
        call(&mut site.socket, "StopTransaction", json!({ "transactionId": transaction, "meterStop": 101000, "timestamp": now() })).await;
        let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!(ended["cost"]["amount"], json!(35));
        assert_eq!((ended["payment"]["captured_amount"].clone(), ended["payment"]["uncollected_amount"].clone()), (json!(25), json!(10)));
        assert_eq!(app.assert_ledger(&key, &poor_wallet).await, (0, 0), "never below zero");
        app
    })
    .await;
}

fn now() -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    domain::Timestamp::from_millis(ms).to_string()
}

#[tokio::test]
async fn pause_and_resume_as_the_charger_sees_them() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-5", 1).await;
        let key = site.key.clone();
        let parking = app
            .post(
                "/v1.1/rates",
                &key,
                json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.35 }, { "type": "PARKING_TIME", "price": 3600 }] }),
            )
            .await
            .ok();
        app.patch(&format!("/v1.1/connectors/{}", site.connectors[0]), &key, json!({ "rate": parking["_id"] })).await.ok();
        let (user, _) = wallet_user(&app, &key, 100_000).await;
        let connector = site.connectors[0].clone();
        let (id, transaction) = running(&app, &mut site, &connector, &user, 0).await;

        // A charger that refuses: 409 with its answer, nothing changes.
        let refused = {
            let (app, key, id) = (&app, &key, &id);
            async move { app.post(&format!("/v1.1/sessions/{id}/pause"), key, json!({})).await }
        };
        let (refused, _) = tokio::join!(refused, answer(&mut site.socket, json!({ "status": "Rejected" })));
        assert!(refused.err(409).contains("Rejected"));
        assert_eq!(app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok()["status"], "started");

        let pause = {
            let (app, key, id) = (&app, &key, &id);
            async move { app.call(reqwest::Method::GET, &format!("/v1.1/sessions/{id}/pause"), Some(key), None).await }
        };
        let (paused, request) = tokio::join!(pause, answer(&mut site.socket, json!({ "status": "Accepted" })));
        assert_eq!(paused.ok()["status"], "paused");
        assert_eq!(request[2], "SetChargingProfile");
        let profile = &request[3]["csChargingProfiles"];
        assert_eq!((profile["chargingProfilePurpose"].as_str(), profile["transactionId"].clone()), (Some("TxProfile"), transaction.clone()));
        assert_eq!(profile["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"], json!(0));
        assert_eq!(app.post(&format!("/v1.1/sessions/{id}/pause"), &key, json!({})).await.err(409), "Session is paused, not started");

        let resume = {
            let (app, key, id) = (&app, &key, &id);
            async move { app.post(&format!("/v1.1/sessions/{id}/resume"), key, json!({})).await }
        };
        let (resumed, request) = tokio::join!(resume, answer(&mut site.socket, json!({ "status": "Accepted" })));
        let resumed = resumed.ok();
        assert_eq!(resumed["status"], "started");
        assert_eq!((request[2].as_str(), request[3]["id"].clone()), (Some("ClearChargingProfile"), profile["chargingProfileId"].clone()));
        assert!(resumed["pauses"][0]["endTime"].is_string());

        // A charger that lost the profile answers Unknown: nothing holds it back, it is resumed.
        let pause = {
            let (app, key, id) = (&app, &key, &id);
            async move { app.post(&format!("/v1.1/sessions/{id}/pause"), key, json!({})).await }
        };
        assert_eq!(tokio::join!(pause, answer(&mut site.socket, json!({ "status": "Accepted" }))).0.ok()["status"], "paused");
        let resume = {
            let (app, key, id) = (&app, &key, &id);
            async move { app.post(&format!("/v1.1/sessions/{id}/resume"), key, json!({})).await }
        };
        assert_eq!(tokio::join!(resume, answer(&mut site.socket, json!({ "status": "Unknown" }))).0.ok()["status"], "started");

        call(&mut site.socket, "StopTransaction", json!({ "transactionId": transaction, "meterStop": 2000, "timestamp": now() })).await;
        let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        let rows = ended["cost"]["breakdown"].as_array().unwrap();
        assert!(rows.iter().any(|r| r["type"] == "PARKING_TIME" && r["quantity"].as_f64().unwrap() > 0.0), "paused time is parking: {rows:?}");
        let types = app.event_types(&key).await;
        assert!(types.contains(&"session.paused".to_string()) && types.contains(&"session.resumed".to_string()));
        app
    })
    .await;
}

fn ago(seconds: i64) -> String {
    let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_millis() as i64;
    domain::Timestamp::from_millis(ms - seconds * 1000).to_string()
}

#[tokio::test]
async fn intelligence_stops_a_session_before_its_authorization_and_unstarted_sessions_time_out() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-6", 2).await;
        let key = site.key.clone();
        let (user, wallet) = wallet_user(&app, &key, 2000).await;
        let first = site.connectors[0].clone();
        let (id, transaction) = running(&app, &mut site, &first, &user, 60).await;
        let reading = |at: String, wh: u32| json!({ "connectorId": 1, "transactionId": transaction, "meterValue": [{ "timestamp": at, "sampledValue": [{ "value": wh.to_string() }] }] });
        // 50 kWh so far ($17.50 of $20.00), at 1.8 MW: the next 90 seconds would pass the cap.
        call(&mut site.socket, "MeterValues", reading(ago(20), 46_000)).await;
        call(&mut site.socket, "MeterValues", reading(ago(10), 51_000)).await;
        // Decided on the report itself, without waiting for the runner's timer.
        let stop = answer(&mut site.socket, json!({ "status": "Accepted" })).await;
        assert_eq!((stop[2].as_str(), stop[3]["transactionId"].clone()), (Some("RemoteStopTransaction"), transaction.clone()));
        let session = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!(session["stop_requested"]["reason"], "authorized_amount");
        ocpp_server::session_watch::tick(&app.ocpp).await.unwrap();
        let types = app.event_types(&key).await;
        assert_eq!(types.iter().filter(|t| *t == "session.stop_requested").count(), 1, "asked once");
        // The charger reports its stop 20 s after Joule asked: its stop latency is learned.
        call(&mut site.socket, "StopTransaction", json!({ "transactionId": transaction, "meterStop": 52_000, "timestamp": ago(-20) })).await;
        let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!(ended["payment"]["uncollected_amount"], json!(0), "stopped in time: no loss");
        let org = app.get("/v1.1/organization", &key).await.ok()["_id"].as_str().unwrap().parse().unwrap();
        let (_, facts) = app.store.session_with_facts(org, id.parse().unwrap()).await.unwrap();
        let learned = facts.unwrap().stop_latency_s.expect("learned from the stop Joule asked for");
        assert!((20..=22).contains(&learned), "learned {learned} s");
        let (balance, available) = app.assert_ledger(&key, &wallet).await;
        assert_eq!(balance, available);

        // A session the charger accepts but never starts is cancelled after the start timeout.
        let (late, late_wallet) = wallet_user(&app, &key, 3000).await;
        let second = site.connectors[1].clone();
        let waiting = app.post("/v1.1/sessions", &key, start(&second, &late)).await.ok();
        answer(&mut site.socket, json!({ "status": "Accepted" })).await;
        ocpp_server::session_watch::tick(&app.ocpp).await.unwrap();
        assert_eq!(app.get(&format!("/v1.1/sessions/{}", waiting["_id"].as_str().unwrap()), &key).await.ok()["status"], "created", "within the timeout");
        let impatient = ocpp_server::OcppServer::new(app.store.clone(), ocpp_server::OcppConfig { start_timeout: std::time::Duration::ZERO, ..Default::default() });
        ocpp_server::session_watch::tick(&impatient).await.unwrap();
        let cancelled = app.get(&format!("/v1.1/sessions/{}", waiting["_id"].as_str().unwrap()), &key).await.ok();
        assert_eq!((cancelled["status"].as_str(), cancelled["payment"]["status"].as_str()), (Some("cancelled"), Some("canceled")));
        assert_eq!(app.assert_ledger(&key, &late_wallet).await, (3000, 3000));
        app
    })
    .await;
}

#[tokio::test]
async fn targets_stop_sessions_and_are_validated() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-7", 1).await;
        let key = site.key.clone();
        let connector = site.connectors[0].clone();
        app.post("/v1.1/sessions", &key, json!({ "connector": connector, "target": { "energy": 0 } })).await.err(400);
        app.post("/v1.1/sessions", &key, json!({ "connector": connector, "target": { "time": 0 } })).await.err(400);
        app.post("/v1.1/sessions", &key, json!({ "connector": connector, "target": { "distance": 5 } })).await.err(400);
        // A session without payment, with an energy target of 5 kWh.
        let session = app.post("/v1.1/sessions", &key, json!({ "connector": connector, "target": { "energy": 5 } })).await.ok();
        assert!(session.get("payment").is_none());
        assert_eq!(session["target"], json!({ "energy": 5, "time": 720 }), "12 hours unless told otherwise");
        let remote = answer(&mut site.socket, json!({ "status": "Accepted" })).await;
        let started = call(&mut site.socket, "StartTransaction", json!({ "connectorId": 1, "idTag": remote[3]["idTag"], "meterStart": 0, "timestamp": ago(30) })).await;
        let reading = |at: String, wh: u32| json!({ "connectorId": 1, "transactionId": started["transactionId"], "meterValue": [{ "timestamp": at, "sampledValue": [{ "value": wh.to_string() }] }] });
        call(&mut site.socket, "MeterValues", reading(ago(20), 4000)).await;
        call(&mut site.socket, "MeterValues", reading(ago(10), 4900)).await;
        let (done, stop) = tokio::join!(ocpp_server::session_watch::tick(&app.ocpp), answer(&mut site.socket, json!({ "status": "Accepted" })));
        done.unwrap();
        assert_eq!(stop[2], "RemoteStopTransaction");
        let id = session["_id"].as_str().unwrap();
        assert_eq!(app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok()["stop_requested"]["reason"], "target.energy");
        app
    })
    .await;
}

#[tokio::test]
async fn the_chargers_statuses_tell_charging_from_parking_and_from_neither() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-8", 1).await;
        let key = site.key.clone();
        let rate = app.post("/v1.1/rates", &key, json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.30 }, { "type": "PARKING_TIME", "price": 6 }] })).await.ok();
        app.patch(&format!("/v1.1/connectors/{}", site.connectors[0]), &key, json!({ "rate": rate["_id"] })).await.ok();
        let (user, _) = wallet_user(&app, &key, 100_000).await;
        let connector = site.connectors[0].clone();
        let (id, transaction) = running(&app, &mut site, &connector, &user, 1800).await;
        let reading = |at: String, wh: u32| json!({ "connectorId": 1, "transactionId": transaction, "meterValue": [{ "timestamp": at, "sampledValue": [{ "value": wh.to_string() }] }] });
        let status = |at: String, status: &str| json!({ "connectorId": 1, "errorCode": "NoError", "status": status, "timestamp": at });
        call(&mut site.socket, "StatusNotification", status(ago(1790), "Charging")).await;
        call(&mut site.socket, "MeterValues", reading(ago(1200), 3000)).await;
        // Ten minutes held back by the operator's load management, then ten parked.
        call(&mut site.socket, "StatusNotification", status(ago(1200), "SuspendedEVSE")).await;
        call(&mut site.socket, "MeterValues", reading(ago(600), 3000)).await;
        call(&mut site.socket, "StatusNotification", status(ago(600), "SuspendedEV")).await;
        call(&mut site.socket, "StopTransaction", json!({ "transactionId": transaction, "meterStop": 3000, "timestamp": ago(0) })).await;
        let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        let parking: Vec<_> = ended["cost"]["breakdown"].as_array().unwrap().iter().filter(|r| r["type"] == "PARKING_TIME").collect();
        assert_eq!(parking.len(), 1, "{}", ended["cost"]);
        let hours = parking[0]["quantity"].as_f64().unwrap();
        assert!((hours - 600.0 / 3600.0).abs() < 0.001, "only the SuspendedEV ten minutes are parking: {hours} h");
        assert_eq!(ended["cost"]["amount"], json!(1.6), "$0.60 of energy and $1.00 of parking: {}", ended["cost"]);
        app
    })
    .await;
}

#[tokio::test]
async fn a_stop_request_racing_the_chargers_stop_never_undoes_the_end() {
    on_every_backend(|app: TestApp| async move {
        let mut site = site(&app, "W-9", 1).await;
        let key = site.key.clone();
        let org: domain::Id = app.get("/v1.1/organization", &key).await.ok()["_id"].as_str().unwrap().parse().unwrap();
        let (user, wallet) = wallet_user(&app, &key, 5000).await;
        let connector = site.connectors[0].clone();
        for _ in 0..8 {
            let (id, transaction) = running(&app, &mut site, &connector, &user, 60).await;
            let stop = json!({ "transactionId": transaction, "meterStop": 2000, "timestamp": ago(0) });
            // The runner's stop request and the charger's stop, at once: whichever commits
            // second must see what the first wrote.
            let (asked, _) =
                tokio::join!(app.store.request_stop(org, id.parse().unwrap(), "authorized_amount"), call(&mut site.socket, "StopTransaction", stop));
            asked.unwrap();
            let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
            assert_eq!((ended["status"].as_str(), ended["payment"]["status"].as_str()), (Some("ended"), Some("succeeded")), "{ended}");
            assert_eq!(app.store.held_on_wallet(wallet.parse().unwrap()).await.unwrap().0, 0, "nothing stays held");
        }
        let (balance, available) = app.assert_ledger(&key, &wallet).await;
        assert_eq!((balance, available), (5000 - 8 * 35, 5000 - 8 * 35), "eight captures of 1 kWh at $0.35");
        app
    })
    .await;
}

#[tokio::test]
async fn concurrent_starts_on_one_connector_start_one_session() {
    on_every_backend(|app: TestApp| async move {
        let site = site(&app, "W-10", 1).await;
        let key = site.key.clone();
        let mut drivers = Vec::new();
        for _ in 0..8 {
            drivers.push(wallet_user(&app, &key, 3000).await);
        }
        let starts = drivers.iter().map(|(user, _)| {
            let (app, key, body) = (&app, &key, start(&site.connectors[0], user));
            async move { app.post("/v1.1/sessions", key, body).await }
        });
        let answers = futures::future::join_all(starts).await;
        assert_eq!(answers.iter().filter(|a| a.status.as_u16() == 200).count(), 1, "{:?}: one session per connector", app.backend());
        assert!(answers.iter().filter(|a| a.status.as_u16() != 200).all(|a| a.status.as_u16() == 409 && a.message() == "Connector is not available"));
        let mut holding = 0;
        for (_, wallet) in &drivers {
            let (balance, available) = app.assert_ledger(&key, wallet).await;
            assert_eq!(balance, 3000);
            holding += usize::from(available == 0);
        }
        assert_eq!(holding, 1, "only the started session holds money");
        drop(site.socket);
        app
    })
    .await;
}
