//! Sessions a charger starts with a token: listed, stopped through the API, ended by the
//! charger. The charger is a raw OCPP-J client.

use futures::SinkExt;
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;

use crate::app::{TestApp, on_every_backend};
use crate::charger::{call, charger, next};

#[tokio::test]
async fn a_token_session_runs_and_stops() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let user = app.user(&key).await;
        let parking = app.post("/v1.1/rates", &key, json!({ "currency": "USD", "price_components": [{ "type": "PARKING_TIME", "price": 5 }] })).await.ok();
        let energy = app.post("/v1.1/rates", &key, json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.3 }] })).await.ok();
        let cs = app.post("/v1.1/chargestations", &key, json!({ "endpoint": "CP-T" })).await.ok()["_id"].as_str().unwrap().to_string();
        app.post("/v1.1/connectors", &key, json!({ "chargestation": cs, "connector_id": 1, "rate": energy["_id"] })).await.ok();
        app.post("/v1.1/connectors", &key, json!({ "chargestation": cs, "connector_id": 2, "rate": parking["_id"] })).await.ok();
        let token = app.post("/v1.1/tokens", &key, json!({ "physicalId": "CARD-7", "user": user })).await.ok();
        app.post("/v1.1/tokens", &key, json!({ "physicalId": "CARD-B", "status": "Blocked" })).await.ok();

        let mut s = charger(&app, "CP-T").await;
        assert_eq!(call(&mut s, "BootNotification", json!({ "chargePointVendor": "Acme", "chargePointModel": "T" })).await["status"], "Accepted");
        let started =
            call(&mut s, "StartTransaction", json!({ "connectorId": 1, "idTag": "CARD-7", "meterStart": 1000, "timestamp": "2026-11-25T10:00:00Z" })).await;
        assert_eq!(started["idTagInfo"]["status"], "Accepted");
        let blocked =
            call(&mut s, "StartTransaction", json!({ "connectorId": 2, "idTag": "CARD-B", "meterStart": 0, "timestamp": "2026-11-25T10:00:00Z" })).await;
        assert_eq!(blocked["idTagInfo"]["status"], "Blocked");

        let sessions = app.get("/v1.1/sessions?status=started", &key).await.ok();
        assert_eq!(sessions.as_array().unwrap().len(), 1, "a blocked token starts no session");
        let session = &sessions[0];
        assert_eq!((session["token"].clone(), session["user"].clone(), session["connector_id"].clone()), (token["_id"].clone(), json!(user), json!(1)));
        assert_eq!(session["transactionId"], started["transactionId"]);
        assert_eq!(session["rate"], energy["_id"]);
        assert!(session.get("type").is_none(), "no payment");
        let id = session["_id"].as_str().unwrap().to_string();
        assert_eq!(app.get(&format!("/v1.1/sessions?user={user}"), &key).await.ok().as_array().unwrap().len(), 1);

        // The API asks the charger to stop; the charger agrees, then reports the stop.
        let stop = {
            let (app, key, id) = (&app, &key, &id);
            async move { app.post(&format!("/v1.1/sessions/{id}/stop"), key, json!({})).await }
        };
        let charger_side = async {
            let request = next(&mut s).await;
            assert_eq!((request[2].as_str(), request[3]["transactionId"].clone()), (Some("RemoteStopTransaction"), started["transactionId"].clone()));
            s.send(Message::Text(json!([3, request[1], { "status": "Accepted" }]).to_string().into())).await.unwrap();
        };
        let (answer, ()) = tokio::join!(stop, charger_side);
        assert_eq!(answer.ok()["status"], "started", "running until the charger reports the stop");
        call(
            &mut s,
            "StopTransaction",
            json!({ "transactionId": started["transactionId"], "meterStop": 9000, "timestamp": "2026-11-25T11:00:00Z", "reason": "Remote" }),
        )
        .await;
        let ended = app.get(&format!("/v1.1/sessions/{id}"), &key).await.ok();
        assert_eq!((ended["status"].as_str(), ended["endedAt"].as_str()), (Some("ended"), Some("2026-11-25T11:00:00.000Z")));
        assert_eq!(app.post(&format!("/v1.1/sessions/{id}/stop"), &key, json!({})).await.err(409), "Session is ended, not running");

        // A session on a rate with PARKING_TIME ends only at the charger.
        app.post("/v1.1/tokens", &key, json!({ "physicalId": "CARD-8" })).await.ok();
        call(&mut s, "StartTransaction", json!({ "connectorId": 2, "idTag": "CARD-8", "meterStart": 0, "timestamp": "2026-11-25T12:00:00Z" })).await;
        let parked = app.get("/v1.1/sessions?status=started", &key).await.ok()[0]["_id"].as_str().unwrap().to_string();
        let message = app.call(reqwest::Method::GET, &format!("/v1.1/sessions/{parked}/stop"), Some(&key), None).await.err(405);
        assert_eq!(message, "Session cannot be stopped via API when the rate has a PARKING_TIME component");
        let types = app.event_types(&key).await;
        for t in ["session.created", "session.started", "session.ended"] {
            assert!(types.contains(&t.to_string()), "{t}");
        }
        app
    })
    .await;
}
