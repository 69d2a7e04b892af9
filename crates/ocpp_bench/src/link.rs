//! One charger's WebSocket to the server under test: a CALL and its answer, one at a time as
//! OCPP-J requires, and the server's own CALLs answered in between. Payloads are written as
//! JSON text directly: the generator should spend its time on the wire, not on serializers.

use std::collections::VecDeque;
use std::time::Duration;

use chrono::{SecondsFormat, Utc};
use futures_util::{SinkExt, StreamExt};
use ocpp16::{ErrorCode, Frame};
use serde_json::Value;
use sim::{ChargerConfig, Socket};
use tokio::time::{Instant, sleep_until};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::http::StatusCode;

use crate::fleet::Gate;
use crate::tally::Tally;

/// How long the server has to answer one CALL; past it the call counts as timed out and the
/// charger gives up.
pub const CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a charger tries again after a 503 before it gives up.
const BUSY_RETRIES: u32 = 60;

/// Why a charger's exchange with the server failed.
#[derive(Debug, thiserror::Error)]
pub enum Failure {
    #[error("connect: {0}")]
    Connect(#[from] sim::ConnectError),
    #[error("connection lost: {0}")]
    Closed(String),
    #[error("no answer within {}s", CALL_TIMEOUT.as_secs())]
    Timeout,
    #[error("CALLERROR {code}: {description}")]
    CallError { code: String, description: String },
    /// An answer that says no: a registration or an idTag not accepted, an HTTP error.
    #[error("refused: {0}")]
    Refused(String),
}

/// Whether a charger tries a failed connection again.
fn tried_again(failure: &sim::ConnectError) -> bool {
    match failure {
        sim::ConnectError::Refused(status) => *status == StatusCode::SERVICE_UNAVAILABLE,
        sim::ConnectError::Url(_) => false,
        sim::ConnectError::Timeout | sim::ConnectError::Io(_) | sim::ConnectError::WebSocket(_) => true,
    }
}

/// What [`Link::wait`] woke up for.
#[derive(Debug, PartialEq, Eq)]
pub enum Wake {
    /// The server said something (and was answered if it asked).
    Served,
    Due,
    Stopped,
}

/// A remote start the server asked for and this charger accepted.
#[derive(Clone, Debug)]
pub struct RemoteStart {
    pub connector_id: i64,
    pub id_tag: String,
}

pub struct Link {
    socket: Socket,
    last_id: u64,
    /// Remote starts accepted and not yet taken by the mode.
    pub remote_starts: VecDeque<RemoteStart>,
    /// CALLs the server sent.
    pub server_calls: u64,
}

impl Link {
    /// Connects `{url}/{identity}` with subprotocol `ocpp1.6`; see [`Link::connect_with`].
    pub async fn connect(url: &str, identity: &str) -> Result<Link, Failure> {
        Link::connect_with(url, identity, "ocpp1.6").await
    }

    /// Connects `{url}/{identity}` with `subprotocol`. A 503 (a node at its limit of
    /// handshakes or connections) or an attempt that failed on the way (timed out in a listener's
    /// queue a whole fleet filled, cut off) is tried again after one to two seconds, as chargers
    /// do, for up to `BUSY_RETRIES` times; another answer (401, 404) is final.
    pub async fn connect_with(url: &str, identity: &str, subprotocol: &'static str) -> Result<Link, Failure> {
        let config = ChargerConfig { subprotocol, ..ChargerConfig::new(url, identity) };
        let mut tries = 0;
        let socket = loop {
            match sim::connect(&config).await {
                Err(e) if tries < BUSY_RETRIES && tried_again(&e) => {
                    tries += 1;
                    // Spread by identity, so that refused chargers do not all come back at once.
                    let spread = identity.bytes().fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b))) % 1000;
                    tokio::time::sleep(Duration::from_millis(1000 + spread)).await;
                }
                connected => break connected?,
            }
        };
        Ok(Link { socket, last_id: 0, remote_starts: VecDeque::new(), server_calls: 0 })
    }

    /// Connects with subprotocol `ocpp2.0.1`, boots, and reports EVSE 1's connector `status`.
    pub async fn boot_201(url: &str, identity: &str, status: &str) -> Result<Link, Failure> {
        let mut link = Link::connect_with(url, identity, "ocpp2.0.1").await?;
        booted(&link.call("BootNotification", r#"{"chargingStation":{"model":"ocpp-load","vendorName":"Joule"},"reason":"PowerUp"}"#).await?)?;
        let status = format!(r#"{{"timestamp":"{}","connectorStatus":"{status}","evseId":1,"connectorId":1}}"#, timestamp());
        link.call("StatusNotification", &status).await?;
        Ok(link)
    }

    /// Connects, boots, and reports connector `status`; answers the heartbeat interval the
    /// server gave, if any.
    pub async fn boot(url: &str, identity: &str, connector_id: i64, status: &str) -> Result<(Link, Option<u64>), Failure> {
        let mut link = Link::connect(url, identity).await?;
        let interval = booted(&link.call("BootNotification", &boot_notification()).await?)?;
        link.call("StatusNotification", &status_notification(connector_id, status)).await?;
        Ok((link, interval))
    }

    /// Sends a CALL and waits for its answer's payload; a CALLERROR is a [`Failure::CallError`].
    pub async fn call(&mut self, action: &str, payload: &str) -> Result<Value, Failure> {
        tokio::time::timeout(CALL_TIMEOUT, self.exchange(action, payload)).await.map_err(|_| Failure::Timeout)?
    }

    async fn exchange(&mut self, action: &str, payload: &str) -> Result<Value, Failure> {
        self.last_id += 1;
        let id = self.last_id.to_string();
        self.send(format!("[2,\"{id}\",\"{action}\",{payload}]")).await?;
        loop {
            match self.read().await? {
                Frame::CallResult { id: answered, payload } if answered == id => return Ok(payload),
                Frame::CallError { id: answered, code, description, .. } if answered == id => {
                    return Err(Failure::CallError { code: code.to_string(), description });
                }
                Frame::Call { id, action, payload } => self.answer(&id, &action, &payload).await?,
                _ => {}
            }
        }
    }

    /// The next frame from the server. Cancel-safe: nothing is lost when another branch of a
    /// `select!` wins.
    pub async fn read(&mut self) -> Result<Frame, Failure> {
        loop {
            match self.socket.next().await {
                Some(Ok(Message::Text(text))) => return Frame::parse(&text).map_err(|e| Failure::Closed(format!("a broken frame: {e}"))),
                Some(Ok(Message::Close(_))) | None => return Err(Failure::Closed("closed by the server".into())),
                // Pings are answered by tungstenite; OCPP-J is text only.
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(Failure::Closed(e.to_string())),
            }
        }
    }

    /// Handles what [`Link::read`] gave outside a CALL of ours: the server's CALLs are
    /// answered, stray answers ignored.
    async fn handle(&mut self, frame: Result<Frame, Failure>) -> Result<(), Failure> {
        match frame? {
            Frame::Call { id, action, payload } => self.answer(&id, &action, &payload).await,
            _ => Ok(()),
        }
    }

    /// Answers a CALL from the server: remote starts and stops are accepted (a start is kept in
    /// [`Link::remote_starts`] for the mode to carry out), anything else is NotImplemented.
    async fn answer(&mut self, id: &str, action: &str, payload: &Value) -> Result<(), Failure> {
        self.server_calls += 1;
        let answer = match action {
            "RemoteStartTransaction" => {
                let id_tag = payload["idTag"].as_str().unwrap_or_default().to_string();
                self.remote_starts.push_back(RemoteStart { connector_id: payload["connectorId"].as_i64().unwrap_or(1), id_tag });
                Frame::CallResult { id: id.into(), payload: serde_json::json!({ "status": "Accepted" }) }
            }
            "RemoteStopTransaction" => Frame::CallResult { id: id.into(), payload: serde_json::json!({ "status": "Accepted" }) },
            _ => Frame::call_error(id, ErrorCode::NotImplemented, format!("{action} is not part of the benchmark")),
        };
        self.send(answer.to_text()).await
    }

    async fn send(&mut self, text: String) -> Result<(), Failure> {
        self.socket.send(Message::text(text)).await.map_err(|e| Failure::Closed(e.to_string()))
    }

    /// Waits for the server's next frame (answering its CALLs), for the instant `due`, or for
    /// the run's end, whichever comes first.
    pub async fn wait(&mut self, gate: &mut Gate, due: Option<Instant>) -> Result<Wake, Failure> {
        let frame = tokio::select! {
            frame = self.read() => frame,
            _ = sleep_until(due.unwrap_or_else(Instant::now)), if due.is_some() => return Ok(Wake::Due),
            _ = gate.stopped() => return Ok(Wake::Stopped),
        };
        self.handle(frame).await.map(|()| Wake::Served)
    }

    /// Closes the connection, politely when the server still listens, and counts the CALLs
    /// the server sent.
    pub async fn close(mut self, tally: &mut Tally) {
        tally.server_calls += self.server_calls;
        let _ = self.socket.close(None).await;
    }
}

/// Now, as OCPP timestamps carry it (UTC, milliseconds).
pub fn timestamp() -> String {
    Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true)
}

pub fn boot_notification() -> String {
    r#"{"chargePointVendor":"Joule","chargePointModel":"ocpp-load","firmwareVersion":"1.0"}"#.into()
}

pub fn status_notification(connector_id: i64, status: &str) -> String {
    format!(r#"{{"connectorId":{connector_id},"errorCode":"NoError","status":"{status}","timestamp":"{}"}}"#, timestamp())
}

pub fn start_transaction(connector_id: i64, id_tag: &str, meter_start_wh: u64) -> String {
    format!(r#"{{"connectorId":{connector_id},"idTag":"{id_tag}","meterStart":{meter_start_wh},"timestamp":"{}"}}"#, timestamp())
}

/// A periodic reading of the energy register (Wh) and the power drawn (W), stamped now.
pub fn meter_values(connector_id: i64, transaction_id: i64, register_wh: u64, power_w: u32) -> String {
    format!(
        concat!(
            r#"{{"connectorId":{},"transactionId":{},"meterValue":[{{"timestamp":"{}","sampledValue":["#,
            r#"{{"value":"{}","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"Wh"}},"#,
            r#"{{"value":"{}","context":"Sample.Periodic","measurand":"Power.Active.Import","unit":"W"}}]}}]}}"#
        ),
        connector_id,
        transaction_id,
        timestamp(),
        register_wh,
        power_w
    )
}

/// An OCPP 2.0.1 TransactionEvent of transaction `id` on EVSE 1, carrying a reading of the
/// energy register (Wh) and the power drawn (W), stamped now. Started carries the idToken `id`
/// and the charging state, as a charger sends them once.
pub fn transaction_event_201(event_type: &str, id: &str, seq_no: u64, register_wh: u64, power_w: u32) -> String {
    let started = event_type == "Started";
    let (trigger, context) = if started { ("Authorized", "Transaction.Begin") } else { ("MeterValuePeriodic", "Sample.Periodic") };
    let first = if started { format!(r#","chargingState":"Charging"}},"idToken":{{"idToken":"{id}","type":"ISO14443"}}"#) } else { "}".into() };
    let at = timestamp();
    format!(
        concat!(
            r#"{{"eventType":"{}","timestamp":"{}","triggerReason":"{}","seqNo":{},"transactionInfo":{{"transactionId":"{}"{},"#,
            r#""evse":{{"id":1,"connectorId":1}},"meterValue":[{{"timestamp":"{}","sampledValue":["#,
            r#"{{"value":{},"context":"{}","measurand":"Energy.Active.Import.Register","unitOfMeasure":{{"unit":"Wh"}}}},"#,
            r#"{{"value":{},"context":"{}","measurand":"Power.Active.Import","unitOfMeasure":{{"unit":"W"}}}}]}}]}}"#
        ),
        event_type, at, trigger, seq_no, id, first, at, register_wh, context, power_w, context
    )
}

/// BootNotification's answer: refused unless Accepted (a server that says nothing, like the
/// echo, accepts); the heartbeat interval it gives, if any.
pub fn booted(answer: &Value) -> Result<Option<u64>, Failure> {
    match answer["status"].as_str() {
        None | Some("Accepted") => Ok(answer["interval"].as_u64()),
        Some(other) => Err(Failure::Refused(format!("BootNotification {other}"))),
    }
}

/// StartTransaction's answer: refused unless the idTag is Accepted; the transactionId, or
/// `fallback` from a server that gives none (the echo).
pub fn started(answer: &Value, fallback: i64) -> Result<i64, Failure> {
    match answer["idTagInfo"]["status"].as_str() {
        None | Some("Accepted") => Ok(answer["transactionId"].as_i64().unwrap_or(fallback)),
        Some(other) => Err(Failure::Refused(format!("StartTransaction {other}"))),
    }
}

#[cfg(test)]
mod tests {
    use ocpp16::{Direction, validate};

    use super::*;

    #[test]
    fn payloads_are_valid_ocpp() {
        let payloads = [
            ("BootNotification", boot_notification()),
            ("StatusNotification", status_notification(1, "Charging")),
            ("StartTransaction", start_transaction(1, "CS-1", 1_234_567)),
            ("MeterValues", meter_values(1, 42, 1_234_999, 7_400)),
        ];
        for (action, payload) in payloads {
            let value: Value = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{action}: {e}: {payload}"));
            validate(action, Direction::Request, &value).unwrap_or_else(|v| panic!("{action}: {v:?}: {payload}"));
        }
        for kind in ["Started", "Updated"] {
            let payload = transaction_event_201(kind, "CS-1", 3, 1_234_999, 7_400);
            let value: Value = serde_json::from_str(&payload).unwrap_or_else(|e| panic!("{kind}: {e}: {payload}"));
            ocpp201::validate("TransactionEvent", Direction::Request, &value).unwrap_or_else(|v| panic!("{kind}: {v:?}: {payload}"));
        }
    }

    #[test]
    fn answers_that_say_no_are_refusals() {
        assert_eq!(booted(&serde_json::json!({"status": "Accepted", "interval": 300})).unwrap(), Some(300));
        assert_eq!(booted(&serde_json::json!({})).unwrap(), None);
        assert!(matches!(booted(&serde_json::json!({"status": "Pending"})), Err(Failure::Refused(_))));
        assert_eq!(started(&serde_json::json!({"idTagInfo": {"status": "Accepted"}, "transactionId": 7}), 1).unwrap(), 7);
        assert_eq!(started(&serde_json::json!({}), 3).unwrap(), 3);
        assert!(matches!(started(&serde_json::json!({"idTagInfo": {"status": "Invalid"}, "transactionId": 7}), 1), Err(Failure::Refused(_))));
    }
}
