//! The central system against misbehaving chargers: raw WebSocket clients sending what real
//! hardware sometimes does. Every test runs against a real server on a random port.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use domain::Id;
use domain::chargestation::{Registration, SecurityType};
use futures_util::{SinkExt, StreamExt};
use ocpp_server::{AuthLimits, CallFailure, OcppConfig, OcppServer, passwords};
use serde_json::{Value, json};
use store::testing::TestDatabase;
use store::{ApiKeyRecord, Backend, ChargestationRecord, Store, StoredSecurity, SystemClock};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream, connect_async};

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

struct Harness {
    server: OcppServer,
    base: String,
    org: Id,
    db: TestDatabase,
}

async fn harness(config: OcppConfig) -> Harness {
    let db = TestDatabase::fresh(Backend::Sqlite).await;
    let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
    let org = domain::organization::OrganizationInput { name: "Acme".into(), country: None, configurations: None }.parse(store.new_id(), store.now()).unwrap();
    store.create_organization(&org, &ApiKeyRecord { id: "k".into(), organization: org.id, secret_sha256: "00".into() }).await.unwrap();
    let server = OcppServer::new(store, config);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("ws://{}/ocpp", listener.local_addr().unwrap());
    let router = server.router().into_make_service_with_connect_info::<SocketAddr>();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    Harness { server, base, org: org.id, db }
}

impl Harness {
    async fn chargestation(&self, endpoint: &str, password: Option<&str>, registration: Registration) -> Id {
        let security = match password {
            Some(p) => StoredSecurity { kind: SecurityType::Basic, password_hash: Some(passwords::hash_password(p)) },
            None => StoredSecurity { kind: SecurityType::None, password_hash: None },
        };
        let store = &self.server.store;
        let record = ChargestationRecord {
            id: store.new_id(),
            endpoint: endpoint.into(),
            protocol: "ocpp1.6".into(),
            location: None,
            connection_url: format!("{}/{endpoint}", self.base),
            security,
            registration,
            created_at: store.now(),
        };
        store.create_chargestation(self.org, &record).await.unwrap();
        record.id
    }

    async fn connect_with(&self, endpoint: &str, protocol: Option<&str>, basic: Option<(&str, &str)>) -> Result<Socket, WsError> {
        let mut request = format!("{}/{endpoint}", self.base).into_client_request().unwrap();
        if let Some(p) = protocol {
            request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_str(p).unwrap());
        }
        if let Some((user, password)) = basic {
            use base64::Engine;
            let token = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
            request.headers_mut().insert("Authorization", HeaderValue::from_str(&format!("Basic {token}")).unwrap());
        }
        connect_async(request).await.map(|(socket, _)| socket)
    }

    async fn connect(&self, endpoint: &str) -> Socket {
        self.connect_with(endpoint, Some("ocpp1.6"), None).await.unwrap()
    }

    /// Waits (with a deadline) until the stored chargestation satisfies `condition`.
    async fn until(&self, cs: Id, condition: impl Fn(&domain::chargestation::Chargestation) -> bool) {
        for _ in 0..500 {
            if condition(&self.server.store.chargestation(self.org, cs).await.unwrap()) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        panic!("the chargestation never reached the expected state");
    }

    async fn stop(self) {
        self.server.store.close().await;
        self.db.remove().await;
    }
}

async fn send(socket: &mut Socket, frame: Value) {
    socket.send(Message::Text(frame.to_string().into())).await.unwrap();
}

/// The next OCPP frame from the server, skipping pings.
async fn next(socket: &mut Socket) -> Option<Value> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await.expect("the server answers") {
            Some(Ok(Message::Text(t))) => return Some(serde_json::from_str(&t).unwrap()),
            Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
            _ => return None,
        }
    }
}

async fn call(socket: &mut Socket, id: &str, action: &str, payload: Value) -> Value {
    send(socket, json!([2, id, action, payload])).await;
    next(socket).await.expect("an answer")
}

fn error_code(answer: &Value) -> &str {
    assert_eq!(answer[0], 4, "a CALLERROR: {answer}");
    answer[2].as_str().unwrap()
}

fn boot() -> Value {
    json!({ "chargePointVendor": "Acme", "chargePointModel": "One" })
}

#[tokio::test]
async fn bad_frames_get_the_right_error_and_the_connection_stays_up() {
    let h = harness(OcppConfig::default()).await;
    h.chargestation("CP-1", None, Registration::Accepted).await;
    let mut s = h.connect("CP-1").await;
    assert_eq!(call(&mut s, "b", "BootNotification", boot()).await[2]["status"], "Accepted");

    s.send(Message::Text("this is not json".into())).await.unwrap();
    send(&mut s, json!([3, "nobody-asked", {}])).await;
    send(&mut s, json!([4, "nobody-asked", "GenericError", "", {}])).await;
    s.send(Message::Binary(vec![1, 2, 3].into())).await.unwrap();
    for (frame, code) in [
        (json!([2, "short", "Heartbeat"]), None),
        (json!([7, "t7", "Heartbeat", {}]), None),
        (json!([2, "na", "FlyToTheMoon", {}]), Some("NotImplemented")),
        (json!([2, "ty", "BootNotification", { "chargePointVendor": 5, "chargePointModel": "M" }]), Some("TypeConstraintViolation")),
        (json!([2, "oc", "BootNotification", { "chargePointModel": "M" }]), Some("OccurenceConstraintViolation")),
        (json!([2, "ex", "Heartbeat", { "extra": true }]), Some("FormationViolation")),
        (json!([2, "en", "StatusNotification", { "connectorId": 1, "errorCode": "NoError", "status": "Dancing" }]), Some("PropertyConstraintViolation")),
        (json!([2, "pl", "Heartbeat", [1, 2]]), Some("FormationViolation")),
        (json!([2, "rs", "Reset", { "type": "Soft" }]), Some("NotSupported")),
    ] {
        send(&mut s, frame.clone()).await;
        let answer = next(&mut s).await.unwrap();
        assert_eq!(answer[1], frame[1], "the error answers the frame's id: {answer}");
        let got = error_code(&answer);
        if let Some(code) = code {
            assert_eq!(got, code, "{frame}");
        }
    }
    let big = json!([2, "big", "DataTransfer", { "vendorId": "acme", "data": "x".repeat(100_000) }]);
    send(&mut s, big).await;
    assert_eq!(error_code(&next(&mut s).await.unwrap()), "FormationViolation", "an oversized CALL");

    let heartbeat = call(&mut s, "hb", "Heartbeat", json!({})).await;
    assert_eq!((heartbeat[0].as_i64(), heartbeat[1].as_str()), (Some(3), Some("hb")), "still up after every bad frame");
    assert!(heartbeat[2]["currentTime"].is_string());

    // Beyond the WebSocket message limit the connection is closed, as WebSocket prescribes.
    let huge = json!([2, "huge", "DataTransfer", { "vendorId": "acme", "data": "x".repeat(2 * 1024 * 1024) }]);
    let _ = s.send(Message::Text(huge.to_string().into())).await;
    assert!(next(&mut s).await.is_none(), "closed");
    h.stop().await;
}

fn status(r: Result<Socket, WsError>) -> u16 {
    match r {
        Err(WsError::Http(response)) => response.status().as_u16(),
        Err(e) => panic!("{e}"),
        Ok(_) => 101,
    }
}

/// A refused handshake's status, body and authentication challenge.
fn refusal(r: Result<Socket, WsError>) -> (u16, String, Option<String>) {
    match r {
        Err(WsError::Http(response)) => (
            response.status().as_u16(),
            String::from_utf8_lossy(response.body().as_deref().unwrap_or_default()).into_owned(),
            response.headers().get("www-authenticate").map(|v| v.to_str().unwrap().to_string()),
        ),
        other => panic!("not refused: {:?}", other.map(|_| ())),
    }
}

#[tokio::test]
async fn handshakes_are_refused_without_the_subprotocol_or_the_right_credentials() {
    let h = harness(OcppConfig::default()).await;
    h.chargestation("OPEN", None, Registration::Accepted).await;
    h.chargestation("LOCKED", Some("s3cret-password"), Registration::Accepted).await;
    assert_eq!(status(h.connect_with("OPEN", None, None).await), 400, "no subprotocol");
    assert_eq!(status(h.connect_with("OPEN", Some("ocpp2.1"), None).await), 400, "another subprotocol");
    assert_eq!(status(h.connect_with("NOBODY", Some("ocpp1.6"), None).await), 401, "unknown endpoints are refused like wrong passwords");
    let unknown = refusal(h.connect_with("NOBODY", Some("ocpp1.6"), Some(("NOBODY", "s3cret-password"))).await);
    let wrong = refusal(h.connect_with("LOCKED", Some("ocpp1.6"), Some(("LOCKED", "wrong-password"))).await);
    assert_eq!(unknown, wrong, "an unknown endpoint cannot be told from a wrong password");
    assert_eq!(status(h.connect_with("LOCKED", Some("ocpp1.6"), None).await), 401, "no credentials");
    assert_eq!(status(h.connect_with("LOCKED", Some("ocpp1.6"), Some(("LOCKED", "wrong-password"))).await), 401);
    assert_eq!(status(h.connect_with("LOCKED", Some("ocpp1.6"), Some(("OPEN", "s3cret-password"))).await), 401, "another identity");
    assert_eq!(status(h.connect_with("LOCKED", Some("ocpp1.6"), Some(("LOCKED", "s3cret-password"))).await), 101);
    assert_eq!(status(h.connect_with("OPEN", Some("ocpp1.6, ocpp2.1"), None).await), 101, "ocpp1.6 among others");
    h.stop().await;
}

#[tokio::test]
async fn a_new_connection_replaces_the_old_one() {
    let h = harness(OcppConfig::default()).await;
    let cs = h.chargestation("CP-R", None, Registration::Accepted).await;
    let mut first = h.connect("CP-R").await;
    h.until(cs, |c| c.online).await;
    let mut second = h.connect("CP-R").await;
    assert!(next(&mut first).await.is_none(), "the first connection is closed");
    assert_eq!(call(&mut second, "1", "Heartbeat", json!({})).await[0], 3);
    assert_eq!(h.server.registry.connected(), 1);
    assert!(h.server.store.chargestation(h.org, cs).await.unwrap().online, "the replaced connection does not mark it offline");
    drop(second);
    h.until(cs, |c| !c.online && c.last_disconnect_at.is_some()).await;
    h.stop().await;
}

#[tokio::test]
async fn calls_go_one_at_a_time_and_fail_cleanly() {
    let h = harness(OcppConfig { call_timeout: Duration::from_millis(400), ..OcppConfig::default() }).await;
    let cs = h.chargestation("CP-C", None, Registration::Accepted).await;
    assert_eq!(h.server.call(cs, "Reset", json!({ "type": "Soft" })).await, Err(CallFailure::Offline));

    let mut s = h.connect("CP-C").await;
    h.until(cs, |c| c.online).await;
    let server = h.server.clone();
    let first = tokio::spawn({
        let server = server.clone();
        async move { server.call(cs, "Reset", json!({ "type": "Soft" })).await }
    });
    let reset = next(&mut s).await.unwrap();
    assert_eq!((reset[0].as_i64(), reset[2].as_str()), (Some(2), Some("Reset")));
    let second = tokio::spawn({
        let server = server.clone();
        async move { server.call(cs, "ClearCache", json!({})).await }
    });
    // The second call waits until the first is answered.
    assert!(tokio::time::timeout(Duration::from_millis(150), s.next()).await.is_err(), "nothing else in flight");
    send(&mut s, json!([3, reset[1], { "status": "Accepted" }])).await;
    assert_eq!(first.await.unwrap(), Ok(json!({ "status": "Accepted" })));
    let clear = next(&mut s).await.unwrap();
    assert_eq!(clear[2], "ClearCache");
    send(&mut s, json!([4, clear[1], "NotSupported", "no cache here", {}])).await;
    assert_eq!(second.await.unwrap(), Err(CallFailure::Refused { code: "NotSupported".into(), description: "no cache here".into() }));

    // An answer that breaks the schema is not passed on.
    let bad = tokio::spawn({
        let server = server.clone();
        async move { server.call(cs, "ClearCache", json!({})).await }
    });
    let clear = next(&mut s).await.unwrap();
    send(&mut s, json!([3, clear[1], { "status": "Maybe" }])).await;
    assert!(matches!(bad.await.unwrap(), Err(CallFailure::Refused { .. })));

    // A charger that never answers: a timeout, and the next call goes out.
    assert_eq!(server.call(cs, "ClearCache", json!({})).await, Err(CallFailure::Timeout));
    let _ignored = next(&mut s).await.unwrap();

    // A charger that drops mid-call: offline at once, not a timeout.
    let dropped = tokio::spawn(async move { server.call(cs, "ClearCache", json!({})).await });
    let _ = next(&mut s).await.unwrap();
    s.close(None).await.unwrap();
    assert_eq!(dropped.await.unwrap(), Err(CallFailure::Offline));
    h.stop().await;
}

#[tokio::test]
async fn a_charger_not_accepted_may_only_boot() {
    let h = harness(OcppConfig::default()).await;
    h.chargestation("CP-P", None, Registration::Pending).await;
    h.chargestation("CP-X", None, Registration::Rejected).await;
    let mut pending = h.connect("CP-P").await;
    assert_eq!(error_code(&call(&mut pending, "1", "Heartbeat", json!({})).await), "SecurityError");
    let answer = call(&mut pending, "2", "BootNotification", boot()).await;
    assert_eq!(answer[2]["status"], "Pending");
    assert_eq!(
        error_code(&call(&mut pending, "3", "StatusNotification", json!({ "connectorId": 1, "errorCode": "NoError", "status": "Available" })).await),
        "SecurityError"
    );
    let mut rejected = h.connect("CP-X").await;
    assert_eq!(call(&mut rejected, "1", "BootNotification", boot()).await[2]["status"], "Rejected");
    h.stop().await;
}

#[tokio::test]
async fn a_silent_charger_is_dropped_and_marked_offline() {
    let h = harness(OcppConfig { ping_interval: Duration::from_millis(100), ping_timeout: Duration::from_millis(100), ..OcppConfig::default() }).await;
    let cs = h.chargestation("CP-S", None, Registration::Accepted).await;
    // Connected but never read from, so pings go unanswered.
    let silent = h.connect("CP-S").await;
    h.until(cs, |c| c.online).await;
    h.until(cs, |c| !c.online).await;
    drop(silent);
    h.stop().await;
}

#[tokio::test]
async fn failed_logins_are_throttled_by_endpoint_and_by_source() {
    let auth = AuthLimits { failures_per_endpoint: 3, failures_per_source: 8, ..AuthLimits::default() };
    let h = harness(OcppConfig { auth, ..OcppConfig::default() }).await;
    h.chargestation("OPEN", None, Registration::Accepted).await;
    h.chargestation("LOCKED", Some("right-password"), Registration::Accepted).await;
    h.chargestation("LOCKED-2", Some("right-password"), Registration::Accepted).await;
    let login = |endpoint: &'static str, password: &'static str| h.connect_with(endpoint, Some("ocpp1.6"), Some((endpoint, password)));

    // A charger that logs in has its endpoint's failures forgotten.
    assert_eq!(status(login("LOCKED-2", "wrong").await), 401);
    assert_eq!(status(login("LOCKED-2", "wrong").await), 401);
    assert_eq!(status(login("LOCKED-2", "right-password").await), 101);
    assert_eq!(status(login("LOCKED-2", "wrong").await), 401);
    assert_eq!(status(login("LOCKED-2", "wrong").await), 401, "two failures since the login, not four");

    for _ in 0..3 {
        assert_eq!(status(login("LOCKED", "wrong").await), 401);
    }
    let throttled = login("LOCKED", "right-password").await;
    let Err(WsError::Http(response)) = throttled else { panic!("not refused") };
    assert_eq!(response.status().as_u16(), 429, "refused, even with the right password, until the window ends");
    let retry_after: u64 = response.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry_after), "{retry_after}");

    // Eight failures from this address, over any endpoints, known or not: the address waits.
    assert_eq!(status(login("NOBODY", "guess").await), 401);
    assert_eq!(status(h.connect_with("OPEN", Some("ocpp1.6"), None).await), 429);
    h.stop().await;
}

#[tokio::test]
async fn a_disconnected_charger_is_closed_with_the_reason_and_goes_offline() {
    let h = harness(OcppConfig::default()).await;
    let cs = h.chargestation("CP-D", None, Registration::Accepted).await;
    let mut s = h.connect("CP-D").await;
    h.until(cs, |c| c.online).await;
    assert!(h.server.registry.disconnect(cs, "the chargestation's security changed"));
    let close = loop {
        match tokio::time::timeout(Duration::from_secs(10), s.next()).await.expect("closed in time") {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("{other:?}"),
        }
    };
    assert_eq!(close.map(|f| f.reason.to_string()).as_deref(), Some("the chargestation's security changed"));
    h.until(cs, |c| !c.online).await;
    assert!(!h.server.registry.disconnect(cs, "again"), "nothing left to close");
    h.stop().await;
}
