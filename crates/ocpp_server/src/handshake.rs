//! The WebSocket handshake at `/ocpp/{endpoint}`: subprotocol `ocpp1.6` or `ocpp2.0.1`, a known
//! endpoint, and for `basic` security the chargestation's password (OCPP security profiles 1
//! and 2), checked through `auth`'s gate.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use domain::chargestation::SecurityType;
use hyper::upgrade::OnUpgrade;
use hyper_util::rt::TokioIo;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::handshake::derive_accept_key;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tracing::Instrument;

use crate::OcppServer;
use crate::auth::Busy;
use crate::connection::{self, Checked, Limits, Socket};
use crate::fragments::{Cutter, Cutting};
use crate::handlers::Ocpp16;
use crate::registry::NoSeat;
use crate::v201::Ocpp201;

pub const SUBPROTOCOL: &str = "ocpp1.6";
pub const SUBPROTOCOL_201: &str = "ocpp2.0.1";

/// The subprotocols Joule speaks that the charger offers, in the charger's order.
fn offered(headers: &HeaderMap) -> Vec<&'static str> {
    let offers = headers.get_all(header::SEC_WEBSOCKET_PROTOCOL).iter().flat_map(|value| value.as_bytes().split(|&b| b == b','));
    offers.filter_map(|p| [SUBPROTOCOL, SUBPROTOCOL_201].into_iter().find(|known| p.trim_ascii().eq_ignore_ascii_case(known.as_bytes()))).collect()
}

fn refuse(endpoint: &str, status: StatusCode, why: &str) -> Response {
    tracing::info!(endpoint, %status, why, "refused a charger's handshake");
    (status, why.to_string()).into_response()
}

/// `Authorization: Basic` user and password, if present and well-formed.
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = base64::engine::general_purpose::STANDARD.decode(encoded.trim()).ok()?;
    let (user, password) = std::str::from_utf8(&decoded).ok()?.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// Refuses an endpoint or source address that failed too often lately, then checks the
/// credentials. An unknown endpoint is refused exactly like a wrong password (401, same body,
/// a password check as long), so endpoint names cannot be probed; a `none` endpoint needs none.
pub async fn upgrade(
    State(server): State<OcppServer>,
    Path(endpoint): Path<String>,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: HeaderMap,
    ws: Upgrade,
) -> Response {
    let offered = offered(&headers);
    if offered.is_empty() {
        return refuse(&endpoint, StatusCode::BAD_REQUEST, "the WebSocket subprotocol ocpp1.6 or ocpp2.0.1 is required");
    }
    // The node's limits, before any database work. A fleet reconnecting at once waits its
    // turn rather than being sent away: a refused charger comes back with a new connection
    // and handshake, which cost both sides more than the wait.
    let seat = match server.registry.seat() {
        Ok(seat) => seat,
        Err(NoSeat::Full) => {
            refused("connections");
            return unavailable(&endpoint, "too many charger connections on this node; try again later");
        }
        Err(NoSeat::Stopping) => {
            refused("stopping");
            return unavailable(&endpoint, "the server is shutting down; try again later");
        }
    };
    let source = peer.map(|Extension(ConnectInfo(address))| address.ip());
    if let Some(wait) = server.gate.throttled(&endpoint, source) {
        counted("throttled");
        // Not logged one by one: these cost nothing and come as fast as an attacker sends them.
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, wait.as_millis().div_ceil(1000).max(1).to_string())],
            "too many failed logins; try again later",
        )
            .into_response();
    }
    // Throttled ones are answered first: they cost nothing, and do not wait for a turn.
    let turn = tokio::time::timeout(server.config.handshake_wait, server.handshakes.clone().acquire_owned());
    let Ok(Ok(_handshake)) = turn.await else {
        refused("handshakes");
        return unavailable(&endpoint, "too many charger handshakes in progress; try again later");
    };
    let disconnects = server.registry.disconnects();
    let login = match server.store.charger_login(&endpoint).await {
        Ok(login) => login,
        Err(e) => {
            tracing::error!(%endpoint, error = %e, "charger login failed");
            return refuse(&endpoint, StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
        }
    };
    let open = login.as_ref().is_some_and(|l| l.security == SecurityType::None);
    let accepted = open
        || match basic_credentials(&headers) {
            None => false,
            Some((user, password)) => match server.gate.check(password, login.as_ref().and_then(|l| l.password_hash.clone())).await {
                Ok(matches) => matches && user == endpoint,
                Err(Busy) => {
                    counted("busy");
                    return refuse(&endpoint, StatusCode::SERVICE_UNAVAILABLE, "too many logins at once; try again later");
                }
            },
        };
    let Some(login) = login.filter(|_| accepted) else {
        counted("refused");
        server.gate.failed(&endpoint, source);
        let mut refusal = refuse(&endpoint, StatusCode::UNAUTHORIZED, "unknown chargestation or wrong credentials");
        refusal.headers_mut().insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Basic realm=\"OCPP\""));
        return refusal;
    };
    counted("accepted");
    server.gate.succeeded(&endpoint);
    // The protocol the chargestation is registered with if the charger offers it, else the
    // first it offers, which the chargestation then shows.
    let protocol = offered.iter().copied().find(|p| *p == login.protocol).unwrap_or(offered[0]);
    let ticket = server.registry.ticket();
    let elsewhere = server.connections.clone();
    let limits = server.config.limits;
    let connecting = async move {
        let Ok(upgraded) = ws.on_upgrade.await else { return };
        // Every line the connection logs names the charger: its endpoint (the identity it
        // connects with), chargestation and organization.
        let span = tracing::info_span!("charger", endpoint = %endpoint, cs = %login.chargestation, org = %login.organization, node = %server.store.node());
        let socket = websocket(TokioIo::new(upgraded), limits).await;
        if protocol != login.protocol
            && let Err(e) = server.store.chargestation_speaks(login.chargestation, protocol).await
        {
            tracing::error!(error = %e, protocol, "could not record the protocol the charger speaks");
        }
        let checked = Checked { endpoint, disconnects, ticket };
        match protocol {
            SUBPROTOCOL_201 => connection::run::<Ocpp201>(server, login, socket, checked, seat).instrument(span).await,
            _ => connection::run::<Ocpp16>(server, login, socket, checked, seat).instrument(span).await,
        }
    };
    match elsewhere {
        Some(runtime) => drop(runtime.spawn(connecting)),
        None => drop(tokio::spawn(connecting)),
    }
    let accept = derive_accept_key(ws.key.as_bytes());
    (
        StatusCode::SWITCHING_PROTOCOLS,
        [(header::CONNECTION, "upgrade"), (header::UPGRADE, "websocket"), (header::SEC_WEBSOCKET_ACCEPT, &accept), (header::SEC_WEBSOCKET_PROTOCOL, protocol)],
    )
        .into_response()
}

/// The charger's connection as a WebSocket, its large frames cut (`fragments`).
async fn websocket(io: TokioIo<hyper::upgrade::Upgraded>, limits: Limits) -> Socket {
    let config = WebSocketConfig::default()
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(Some(limits.max_message_bytes))
        .max_frame_size(Some(limits.max_message_bytes));
    let io = Cutting::new(io, Cutter::new(limits.read_buffer_bytes, limits.max_message_bytes));
    WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await
}

/// A WebSocket upgrade request (RFC 6455 section 4.2.1), refused as axum's own extractor
/// refuses one. Joule makes the WebSocket itself, so that it reads through `fragments`.
pub struct Upgrade {
    key: HeaderValue,
    on_upgrade: OnUpgrade,
}

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = (StatusCode, &'static str);

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let has = |name, wanted: &str| {
            parts.headers.get_all(name).iter().any(|v| v.to_str().is_ok_and(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(wanted))))
        };
        if parts.method != Method::GET {
            return Err((StatusCode::METHOD_NOT_ALLOWED, "Request method must be `GET`"));
        }
        if !has(header::CONNECTION, "upgrade") {
            return Err((StatusCode::BAD_REQUEST, "Connection header did not include 'upgrade'"));
        }
        if !has(header::UPGRADE, "websocket") {
            return Err((StatusCode::BAD_REQUEST, "`Upgrade` header did not include 'websocket'"));
        }
        if parts.headers.get(header::SEC_WEBSOCKET_VERSION).is_none_or(|v| v != "13") {
            return Err((StatusCode::BAD_REQUEST, "`Sec-WebSocket-Version` header did not include '13'"));
        }
        let key = parts.headers.get(header::SEC_WEBSOCKET_KEY).cloned().ok_or((StatusCode::BAD_REQUEST, "`Sec-WebSocket-Key` header missing"))?;
        let on_upgrade = parts
            .extensions
            .remove::<OnUpgrade>()
            .ok_or((StatusCode::UPGRADE_REQUIRED, "WebSocket request couldn't be upgraded since no upgrade state was present"))?;
        Ok(Upgrade { key, on_upgrade })
    }
}

/// A 503 that asks the charger to come back in a second.
fn unavailable(endpoint: &str, why: &str) -> Response {
    let mut refusal = refuse(endpoint, StatusCode::SERVICE_UNAVAILABLE, why);
    refusal.headers_mut().insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
    refusal
}

fn refused(limit: &'static str) {
    metrics::counter!("joule_charger_connections_refused_total", "limit" => limit).increment(1);
}

fn counted(result: &'static str) {
    metrics::counter!("joule_charger_logins_total", "result" => result).increment(1);
}
