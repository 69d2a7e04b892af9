//! Nodes as library values: two `App`s on one PostgreSQL database in this process, each on a
//! port of its own, a charger on one and its commands through the other, both ways.

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use joule::app::{App, Running};
use serde_json::{Value, json};
use store::testing::TestDatabase;
use store::{Store, SystemClock};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

const ADMIN: &str = "nodes-admin-token";

async fn node(db: &TestDatabase) -> Running {
    let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut app = App::new(store, listener, ADMIN);
    app.ocpp.call_timeout = Duration::from_secs(2);
    app.start().await.unwrap()
}

async fn api(node: &Running, method: reqwest::Method, path: &str, key: &str, body: Option<Value>) -> (u16, Value) {
    let mut request = reqwest::Client::new().request(method, format!("http://{}{path}", node.address)).bearer_auth(key);
    if let Some(body) = body {
        request = request.json(&body);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap())
}

type Charger = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn charger(node: &Running, endpoint: &str) -> Charger {
    let mut request = format!("ws://{}/ocpp/{endpoint}", node.address).into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("ocpp1.6"));
    let (mut socket, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    socket
        .send(Message::Text(json!([2, "boot", "BootNotification", { "chargePointVendor": "Acme", "chargePointModel": "N" }]).to_string().into()))
        .await
        .unwrap();
    assert_eq!(next(&mut socket).await[2]["status"], "Accepted");
    socket
}

async fn next(socket: &mut Charger) -> Value {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("a frame in time") {
            Some(Ok(Message::Text(text))) => return serde_json::from_str(&text).unwrap(),
            Some(Ok(_)) => {}
            other => panic!("the connection ended: {other:?}"),
        }
    }
}

/// Sends a command through `node` while the charger answers the CALL it gets.
async fn command_answered(node: &Running, key: &str, cs: &str, socket: &mut Charger) -> (u16, Value) {
    let path = format!("/v1.1/chargestations/{cs}/commands/GetLocalListVersion");
    let charger = async {
        let call = next(socket).await;
        assert_eq!(call[2], "GetLocalListVersion");
        socket.send(Message::Text(json!([3, call[1], { "listVersion": 7 }]).to_string().into())).await.unwrap();
    };
    let (answer, ()) = tokio::join!(api(node, reqwest::Method::POST, &path, key, Some(json!({}))), charger);
    answer
}

#[tokio::test]
async fn a_command_reaches_the_charger_through_the_node_that_does_not_hold_it() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let (a, b) = (node(&db).await, node(&db).await);
    let (_, org) = api(&a, reqwest::Method::POST, "/v1.1/organizations", ADMIN, Some(json!({ "name": "Two nodes" }))).await;
    let key = org["result"]["api_key"].as_str().unwrap().to_string();
    let (_, cs) = api(&b, reqwest::Method::POST, "/v1.1/chargestations", &key, Some(json!({ "endpoint": "CP-N" }))).await;
    let cs = cs["result"]["_id"].as_str().unwrap().to_string();
    let clear_cache = format!("/v1.1/chargestations/{cs}/commands/ClearCache");
    assert_eq!(api(&b, reqwest::Method::POST, &clear_cache, &key, Some(json!({}))).await.0, 409, "offline on every node");

    let mut on_a = charger(&a, "CP-N").await;
    let (status, answer) = command_answered(&b, &key, &cs, &mut on_a).await;
    assert_eq!((status, &answer["result"]), (200, &json!({ "listVersion": 7 })), "{answer}");

    // The charger moves to B; A closes the connection it had.
    let mut on_b = charger(&b, "CP-N").await;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), on_a.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(Some(frame)))) => break assert_eq!(frame.reason.as_str(), "connected to another node"),
            Some(Ok(_)) => {}
            other => panic!("closed without a reason: {other:?}"),
        }
    }
    let (status, answer) = command_answered(&a, &key, &cs, &mut on_b).await;
    assert_eq!((status, &answer["result"]), (200, &json!({ "listVersion": 7 })), "{answer}");
    // A charger that does not answer: 504, as on one node.
    assert_eq!(api(&a, reqwest::Method::POST, &clear_cache, &key, Some(json!({}))).await.0, 504);

    let ready = reqwest::get(format!("http://{}/readyz", a.address)).await.unwrap();
    assert_eq!(ready.status(), 200);
    assert!(ready.text().await.unwrap().contains("live nodes 2"));
    drop(on_b);
    a.stop().await.unwrap();
    b.stop().await.unwrap();
}
