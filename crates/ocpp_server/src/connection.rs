//! One charger's connection: frames in, handlers, answers out; calls to the charger one at a
//! time from its queue, each with a deadline; pings to find a dead peer. The same for every
//! OCPP version: what differs (its error codes, its handlers, the schemas of its answers) is
//! the connection's [`Dialect`].

use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::{FutureExt, SinkExt, StreamExt};
use ocppj::{Codes, Violation};
use serde_json::Value;
use store::{ChargerLogin, Presence};
use tokio::sync::oneshot;
use tokio::time::{Instant, MissedTickBehavior, interval, sleep_until};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tracing::Instrument;

use crate::OcppServer;
use crate::fragments::Cutting;
use crate::handlers::{self, Link};
use crate::registry::{CallFailure, Close, OutboundCall, REPLACED, Seat, Ticket};

/// What a connection needs of the OCPP version it speaks.
pub trait Dialect: Send + Sync + 'static {
    /// Its CALLERROR codes.
    type Code: Codes;

    /// Answers a CALL from the charger.
    fn dispatch(link: &mut Link, action: &str, payload: Value) -> impl Future<Output = Result<Value, handlers::Failure<Self::Code>>> + Send;

    /// Checks the charger's answer to a call of `action`.
    fn check_answer(action: &str, payload: &Value) -> Result<(), Violation<Self::Code>>;
}

type Frame<D> = ocppj::Frame<<D as Dialect>::Code>;

/// A charger's WebSocket, read through `fragments`.
pub type Socket = WebSocketStream<Cutting<hyper_util::rt::TokioIo<hyper::upgrade::Upgraded>>>;

/// The call this side sent and waits an answer for.
struct InFlight {
    id: String,
    action: String,
    reply: oneshot::Sender<Result<Value, CallFailure>>,
    deadline: Instant,
}

fn message_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}

/// Which credentials a connection was let in with, and when they were read.
pub struct Checked {
    pub endpoint: String,
    /// `Registry::disconnects` before the credentials were read.
    pub disconnects: u64,
    /// When the handshake let it in.
    pub ticket: Ticket,
}

/// The chargestation's security or password changed after the handshake read them.
pub const SECURITY_CHANGED: &str = "the chargestation's security changed";

/// Runs a charger's connection to its end; `_seat` is given back once its end is handed over.
///
/// Its task lives as long as the connection, idle most of the time, and a future is as large
/// as the largest state it can be in: the work on a message and the database calls are boxed,
/// so that an idle connection's task holds only the loop's state (about 3 KiB instead of 20;
/// BENCHMARKS.md, "Idle connections at 19,000 chargers").
pub async fn run<D: Dialect>(server: OcppServer, login: ChargerLogin, mut socket: Socket, checked: Checked, _seat: Seat) {
    let cs = login.chargestation;
    let connected_at = server.store.now();
    let mut registration = server.registry.register(cs, login.organization, checked.ticket, connected_at);
    // A change of credentials committed between the handshake's check and this registration
    // found no connection to close: this one then closes itself.
    if server.registry.disconnects() != checked.disconnects && !Box::pin(credentials_unchanged(&server, &checked.endpoint, &login)).await {
        server.registry.disconnect(cs, SECURITY_CHANGED);
    }
    if let Err(e) = Box::pin(server.presence.record(login.organization, cs, Presence::Connected { at: connected_at, node: server.store.node() })).await {
        tracing::error!(error = %e, "could not record the connection");
    }
    if login.keeps_local_list {
        tokio::spawn(crate::local_list::on_connect(server.clone(), login.organization, cs));
    }
    let mut link = Link::new(server.clone(), login.clone());
    if login.running_sessions {
        // A stop Joule asked for while the charger was away goes out again now.
        tokio::spawn(crate::session_watch::on_connect(server.clone(), login.organization, cs));
        Box::pin(link.load_live()).await;
    }
    let mut in_flight: Option<InFlight> = None;
    let mut last_heard = Instant::now();
    let mut pings = interval(server.config.ping_interval);
    pings.set_missed_tick_behavior(MissedTickBehavior::Delay);
    pings.tick().await;

    loop {
        let deadline = in_flight.as_ref().map(|f| f.deadline);
        let look = link.next_look();
        tokio::select! {
            // Replacement is signalled before the old call queue closes; check it first.
            biased;
            close = &mut registration.close => {
                let close = close.unwrap_or(REPLACED);
                let _ = socket.send(close_frame(close)).await;
                break;
            }
            received = socket.next() => match received {
                Some(Ok(Message::Text(text))) => {
                    last_heard = Instant::now();
                    if let Some(answer) = Box::pin(on_text::<D>(&mut link, &mut in_flight, text.as_str())).await
                        && socket.send(Message::Text(answer.to_text().into())).await.is_err() {
                            break;
                        }
                }
                Some(Ok(Message::Binary(_))) => {
                    last_heard = Instant::now();
                    tracing::debug!("ignored a binary frame: OCPP-J is text");
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_) | Message::Frame(_))) => last_heard = Instant::now(),
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
            },
            call = registration.calls.recv(), if in_flight.is_none() => {
                // The queue closes only when a newer connection took this one's place.
                let Some(call) = call else {
                    let _ = socket.send(close_frame(REPLACED)).await;
                    break;
                };
                if let Some(sent) = send_call::<D>(&mut socket, *call).await {
                    in_flight = Some(sent);
                }
            }
            _ = sleep_until(deadline.unwrap_or_else(Instant::now)), if deadline.is_some() => {
                if let Some(f) = in_flight.take() {
                    tracing::info!(id = %f.id, action = %f.action, "a call timed out");
                    let _ = f.reply.send(Err(CallFailure::Timeout));
                }
            }
            _ = sleep_until(look.unwrap_or_else(Instant::now)), if look.is_some() => Box::pin(link.look_after_live()).await,
            _ = pings.tick() => {
                if last_heard.elapsed() > server.config.ping_interval + server.config.ping_timeout {
                    tracing::info!("no answer to pings; closing");
                    break;
                }
                if socket.send(Message::Ping(Vec::new().into())).await.is_err() {
                    break;
                }
            }
        }
    }

    if let Some(f) = in_flight.take() {
        let _ = f.reply.send(Err(CallFailure::Offline));
    }
    registration.calls.close();
    while let Ok(call) = registration.calls.try_recv() {
        let _ = call.reply.send(Err(CallFailure::Offline));
    }
    // Recorded with other connections' ends; a stopping node records at once the ends of those
    // it told to close (one registered after that is not among them).
    if server.registry.unregister(cs, registration.generation) && (registration.after_stop || !server.registry.stopping()) {
        server.presence.ended(login.organization, cs, server.store.now());
    }
}

async fn credentials_unchanged(server: &OcppServer, endpoint: &str, login: &ChargerLogin) -> bool {
    match server.store.charger_login(endpoint).await {
        Ok(Some(now)) => (now.chargestation, now.security, &now.password_hash) == (login.chargestation, login.security, &login.password_hash),
        Ok(None) => false,
        Err(e) => {
            tracing::error!(error = %e, "could not read the chargestation's credentials again");
            false
        }
    }
}

fn close_frame(close: Close) -> Message {
    Message::Close(Some(CloseFrame { code: close.code.into(), reason: close.reason.into() }))
}

/// Sends a queued call unless its caller stopped waiting.
async fn send_call<D: Dialect>(socket: &mut Socket, call: OutboundCall) -> Option<InFlight> {
    if call.reply.is_closed() {
        return None;
    }
    let id = message_id();
    let frame = Frame::<D>::Call { id: id.clone(), action: call.action.clone(), payload: call.payload };
    if socket.send(Message::Text(frame.to_text().into())).await.is_err() {
        let _ = call.reply.send(Err(CallFailure::Offline));
        return None;
    }
    Some(InFlight { id, action: call.action, reply: call.reply, deadline: Instant::now() + call.timeout })
}

/// Handles one text frame; answers what to send back, if anything.
async fn on_text<D: Dialect>(link: &mut Link, in_flight: &mut Option<InFlight>, text: &str) -> Option<Frame<D>> {
    let max = link.server.config.limits.max_ocpp_frame_bytes;
    let frame = match Frame::<D>::parse(text) {
        Ok(frame) => frame,
        Err(e) => {
            tracing::info!(id = e.id.as_deref(), code = ?e.code, description = %e.description, "a bad frame");
            return e.id.map(|id| Frame::<D>::call_error(id, e.code, e.description));
        }
    };
    match frame {
        ocppj::Frame::Call { id, .. } if text.len() > max => Some(Frame::<D>::call_error(id, D::Code::FORMAT, format!("frames are limited to {max} bytes"))),
        ocppj::Frame::Call { id, action, payload } => {
            let span = tracing::info_span!("call", %id, %action);
            let answer = answer_call(id, D::dispatch(link, &action, payload)).instrument(span.clone()).await;
            Some(answer.unwrap_or_else(|answer| {
                span.in_scope(|| tracing::error!("a charger's message made its handler panic"));
                answer
            }))
        }
        ocppj::Frame::CallResult { id, payload } => {
            match in_flight.take_if(|f| f.id == id) {
                Some(f) => {
                    let answer = D::check_answer(&f.action, &payload)
                        .map(|()| payload)
                        .map_err(|v| CallFailure::Refused { code: v.code.to_string(), description: format!("invalid {} answer: {}", f.action, v.description) });
                    let _ = f.reply.send(answer);
                }
                None => tracing::info!(%id, "a CALLRESULT for no call in flight"),
            }
            None
        }
        ocppj::Frame::CallError { id, code, description, .. } => {
            match in_flight.take_if(|f| f.id == id) {
                Some(f) => {
                    let _ = f.reply.send(Err(CallFailure::Refused { code: code.to_string(), description }));
                }
                None => tracing::info!(%id, "a CALLERROR for no call in flight"),
            }
            None
        }
    }
}

/// How long and how large: the knobs of a connection.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// Chunk read from the socket at a time; small, since most frames are small.
    pub read_buffer_bytes: usize,
    /// Bytes buffered before a write goes out; 0 writes each frame at once.
    pub write_buffer_bytes: usize,
    /// A WebSocket message above this closes the connection.
    pub max_message_bytes: usize,
    /// An OCPP CALL above this gets a CALLERROR and the connection stays up.
    pub max_ocpp_frame_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { read_buffer_bytes: 4096, write_buffer_bytes: 0, max_message_bytes: 1024 * 1024, max_ocpp_frame_bytes: 64 * 1024 }
    }
}

pub const DEFAULT_CALL_TIMEOUT: Duration = Duration::from_secs(30);

/// The answer to a CALL from its handler. A handler that panics on some input rolls back its
/// transaction (dropped) and is answered like a storage failure (`Err`); the connection, and
/// its offline mark when it closes, go on.
async fn answer_call<C: Codes>(id: String, handling: impl Future<Output = Result<Value, handlers::Failure<C>>>) -> Result<ocppj::Frame<C>, ocppj::Frame<C>> {
    match AssertUnwindSafe(handling).catch_unwind().await {
        Ok(Ok(answer)) => Ok(ocppj::Frame::CallResult { id, payload: answer }),
        Ok(Err(failure)) => Ok(ocppj::Frame::call_error(id, failure.code, failure.description)),
        Err(_) => Err(ocppj::Frame::call_error(id, C::INTERNAL_ERROR, handlers::RETRY_LATER)),
    }
}

#[cfg(test)]
mod tests {
    use ocpp16::{ErrorCode, Frame};

    use super::*;

    #[tokio::test]
    async fn a_handler_that_panics_is_answered_with_an_internal_error() {
        let panicking = async { panic!("a handler's bug") };
        let Err(Frame::CallError { id, code, .. }) = answer_call::<ErrorCode>("m1".into(), panicking).await else { panic!("not a CALLERROR") };
        assert_eq!((id.as_str(), code), ("m1", ErrorCode::InternalError));

        let answered = answer_call("m2".into(), async { Ok(serde_json::json!({ "currentTime": "x" })) }).await;
        assert!(matches!(answered, Ok(Frame::CallResult { id, .. }) if id == "m2"));
        let refused = answer_call("m3".into(), async { Err(handlers::Failure { code: ErrorCode::NotImplemented, description: "no".into() }) }).await;
        assert!(matches!(refused, Ok(Frame::CallError { code: ErrorCode::NotImplemented, .. })));
    }
}
