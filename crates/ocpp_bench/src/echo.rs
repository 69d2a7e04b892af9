//! The ceiling: a bare WebSocket server that answers every CALL with an empty CALLRESULT
//! (`[3, id, {}]`) the moment it reads it, and does nothing else. Whatever rate the load
//! reaches against it is what the machine, the kernel's loopback and the generator allow; a
//! real server can only be compared with it within the same run.

use std::borrow::Cow;

use futures_util::{SinkExt, StreamExt};
use serde::Deserialize;
use serde::de::IgnoredAny;
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::http::header::SEC_WEBSOCKET_PROTOCOL;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

const SUBPROTOCOLS: [&str; 2] = ["ocpp1.6", "ocpp2.0.1"];
/// As small as the chargers' own: OCPP frames are small.
const READ_BUFFER_BYTES: usize = 4096;

/// A CALL, read as little as it takes to answer it.
#[derive(Deserialize)]
struct Call<'a>(u8, #[serde(borrow)] Cow<'a, str>, IgnoredAny, IgnoredAny);

/// Accepts connections until the listener fails, each in a task of its own.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(connection(stream));
    }
}

async fn connection(stream: TcpStream) {
    let _ = stream.set_nodelay(true);
    let config = WebSocketConfig::default().read_buffer_size(READ_BUFFER_BYTES).write_buffer_size(0);
    let Ok(mut socket) = tokio_tungstenite::accept_hdr_async_with_config(stream, subprotocol, Some(config)).await else { return };
    while let Some(Ok(message)) = socket.next().await {
        let Message::Text(text) = message else { continue };
        let Ok(Call(2, id, ..)) = serde_json::from_str::<Call>(&text) else { continue };
        let answer = format!("[3,{},{{}}]", serde_json::Value::from(id.as_ref()));
        if socket.send(Message::text(answer)).await.is_err() {
            return;
        }
    }
}

/// Takes the first of `ocpp1.6` and `ocpp2.0.1` the client offers, as an OCPP server does.
#[expect(clippy::result_large_err, reason = "the signature of tungstenite's handshake callback")]
fn subprotocol(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let offered = request.headers().get_all(SEC_WEBSOCKET_PROTOCOL).iter().filter_map(|v| v.to_str().ok()).flat_map(|v| v.split(','));
    if let Some(known) = offered.map(str::trim).find_map(|p| SUBPROTOCOLS.into_iter().find(|known| *known == p)) {
        response.headers_mut().insert(SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(known));
    }
    Ok(response)
}
