//! The WebSocket handshake at `/ocpp/{endpoint}`: subprotocol `ocpp1.6`, a known endpoint, and
//! for `basic` security the chargestation's password (OCPP security profiles 1 and 2), checked
//! through `auth`'s gate.

use std::net::SocketAddr;

use axum::Extension;
use axum::extract::{ConnectInfo, Path, State, WebSocketUpgrade};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use domain::chargestation::SecurityType;
use tracing::Instrument;

use crate::OcppServer;
use crate::auth::Busy;
use crate::connection::{self, Checked};
use crate::registry::NoSeat;

pub const SUBPROTOCOL: &str = "ocpp1.6";

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
    ws: WebSocketUpgrade,
) -> Response {
    let offers_ocpp16 = ws.requested_protocols().any(|p| p.as_bytes().eq_ignore_ascii_case(SUBPROTOCOL.as_bytes()));
    if !offers_ocpp16 {
        return refuse(&endpoint, StatusCode::BAD_REQUEST, "the WebSocket subprotocol ocpp1.6 is required");
    }
    // The node's limits, before any database work.
    let Ok(_handshake) = server.handshakes.clone().try_acquire_owned() else {
        refused("handshakes");
        return unavailable(&endpoint, "too many charger handshakes in progress; try again later");
    };
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
    let limits = server.config.limits;
    let ticket = server.registry.ticket();
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| async move {
            // Every line the connection logs names the charger: its endpoint (the identity it
            // connects with), chargestation and organization.
            let span = tracing::info_span!("charger", endpoint = %endpoint, cs = %login.chargestation, org = %login.organization);
            let elsewhere = server.connections.clone();
            let running = connection::run(server, login, socket, Checked { endpoint, disconnects, ticket }, seat).instrument(span);
            match elsewhere {
                Some(runtime) => drop(runtime.spawn(running)),
                None => running.await,
            }
        })
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
