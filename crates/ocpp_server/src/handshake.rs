//! The WebSocket handshake at `/ocpp/{endpoint}`: subprotocol `ocpp1.6`, a known endpoint, and
//! for `basic` security the chargestation's password (OCPP security profiles 1 and 2).

use axum::extract::{Path, State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use domain::chargestation::SecurityType;

use crate::OcppServer;
use crate::connection;
use crate::passwords::verify_password;

pub const SUBPROTOCOL: &str = "ocpp1.6";

fn refuse(status: StatusCode, why: &str) -> Response {
    tracing::info!(%status, why, "refused a charger's handshake");
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

pub async fn upgrade(State(server): State<OcppServer>, Path(endpoint): Path<String>, headers: HeaderMap, ws: WebSocketUpgrade) -> Response {
    let offers_ocpp16 = ws.requested_protocols().any(|p| p.as_bytes().eq_ignore_ascii_case(SUBPROTOCOL.as_bytes()));
    if !offers_ocpp16 {
        return refuse(StatusCode::BAD_REQUEST, "the WebSocket subprotocol ocpp1.6 is required");
    }
    let login = match server.store.charger_login(&endpoint).await {
        Ok(Some(login)) => login,
        Ok(None) => return refuse(StatusCode::NOT_FOUND, "unknown chargestation"),
        Err(e) => {
            tracing::error!(error = %e, "charger login failed");
            return refuse(StatusCode::SERVICE_UNAVAILABLE, "temporarily unavailable");
        }
    };
    if login.security == SecurityType::Basic {
        let valid = match (basic_credentials(&headers), &login.password_hash) {
            (Some((user, password)), Some(hash)) => user == endpoint && verify_password(&password, hash),
            _ => false,
        };
        if !valid {
            return refuse(StatusCode::UNAUTHORIZED, "wrong or missing credentials");
        }
    }
    let limits = server.config.limits;
    ws.protocols([SUBPROTOCOL])
        .read_buffer_size(limits.read_buffer_bytes)
        .write_buffer_size(limits.write_buffer_bytes)
        .max_message_size(limits.max_message_bytes)
        .max_frame_size(limits.max_message_bytes)
        .on_upgrade(move |socket| connection::run(server, login, socket))
}
