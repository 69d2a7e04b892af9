//! A raw OCPP-J charger for API tests: connect, send CALLs, read what the server sends.

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;

use crate::app::TestApp;

pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

pub async fn charger(app: &TestApp, endpoint: &str) -> Socket {
    let url = format!("{}/ocpp/{endpoint}", app.base.replace("http://", "ws://"));
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("ocpp1.6"));
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

pub async fn next(socket: &mut Socket) -> Value {
    loop {
        if let Some(Ok(Message::Text(t))) = socket.next().await {
            return serde_json::from_str(&t).unwrap();
        }
    }
}

pub async fn call(socket: &mut Socket, action: &str, payload: Value) -> Value {
    socket.send(Message::Text(json!([2, action, action, payload]).to_string().into())).await.unwrap();
    let answer = next(socket).await;
    assert_eq!(answer[0], 3, "{action}: {answer}");
    answer[2].clone()
}

/// Answers the next CALL from the server with `payload`; returns that CALL.
pub async fn answer(socket: &mut Socket, payload: Value) -> Value {
    let request = next(socket).await;
    assert_eq!(request[0], 2, "a CALL: {request}");
    socket.send(Message::Text(json!([3, request[1], payload]).to_string().into())).await.unwrap();
    request
}
