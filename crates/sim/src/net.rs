//! Opening one charger's WebSocket: a TCP socket bound to the chosen source address, then the
//! OCPP-J handshake (the configured subprotocol, HTTP Basic credentials when there is a password).
//!
//! Binding the source address is what lets one process hold tens of thousands of connections to
//! one server: each (source address, server address) pair has its own ephemeral port range, so
//! spreading chargers over 127.0.0.1..127.0.0.N multiplies the ports available by N.

use std::net::SocketAddr;
use std::time::Duration;

use base64::Engine;
use tokio::net::{TcpSocket, TcpStream};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderValue, StatusCode, header};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

use crate::ChargerConfig;

pub type Socket = WebSocketStream<TcpStream>;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// OCPP frames are small; tungstenite's defaults (128 KiB each way) would cost gigabytes
/// across tens of thousands of connections.
const READ_BUFFER_BYTES: usize = 2048;
const MAX_MESSAGE_BYTES: usize = 1024 * 1024;

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("the server refused the connection: HTTP {0}")]
    Refused(StatusCode),
    #[error("{0}")]
    Url(String),
    #[error("timed out after {}s", CONNECT_TIMEOUT.as_secs())]
    Timeout,
    #[error(transparent)]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    WebSocket(#[from] tokio_tungstenite::tungstenite::Error),
}

/// Connects `{url}/{identity}` from the configured source address.
pub async fn connect(config: &ChargerConfig) -> Result<Socket, ConnectError> {
    tokio::time::timeout(CONNECT_TIMEOUT, open(config)).await.map_err(|_| ConnectError::Timeout)?
}

async fn open(config: &ChargerConfig) -> Result<Socket, ConnectError> {
    let url = format!("{}/{}", config.url.trim_end_matches('/'), config.identity);
    let mut request = url.as_str().into_client_request()?;
    if request.uri().scheme_str() != Some("ws") {
        return Err(ConnectError::Url(format!("{url}: only ws:// URLs are supported")));
    }
    let headers = request.headers_mut();
    headers.insert(header::SEC_WEBSOCKET_PROTOCOL, HeaderValue::from_static(config.subprotocol));
    if let Some(password) = &config.password {
        let credentials = base64::engine::general_purpose::STANDARD.encode(format!("{}:{password}", config.identity));
        let value = HeaderValue::from_str(&format!("Basic {credentials}")).map_err(|e| ConnectError::Url(e.to_string()))?;
        headers.insert(header::AUTHORIZATION, value);
    }

    let host = request.uri().host().unwrap_or_default().trim_matches(['[', ']']);
    let port = request.uri().port_u16().unwrap_or(80);
    let server = tokio::net::lookup_host((host, port))
        .await?
        .find(|a| config.source_address.is_none_or(|s| s.is_ipv4() == a.is_ipv4()))
        .ok_or_else(|| ConnectError::Url(format!("{url}: no address for {host} to reach from the source address")))?;
    let socket = if server.is_ipv4() { TcpSocket::new_v4()? } else { TcpSocket::new_v6()? };
    if let Some(source) = config.source_address {
        socket.bind(SocketAddr::new(source, 0))?;
    }
    let stream = socket.connect(server).await?;
    stream.set_nodelay(true)?;

    let limits = WebSocketConfig::default()
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(Some(MAX_MESSAGE_BYTES))
        .max_frame_size(Some(MAX_MESSAGE_BYTES));
    match tokio_tungstenite::client_async_with_config(request, stream, Some(limits)).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => Err(ConnectError::Refused(response.status())),
        Err(e) => Err(e.into()),
    }
}
