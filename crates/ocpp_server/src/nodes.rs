//! This node among the others sharing the database (SPEC 11). Its runner keeps the node's
//! lease, buries nodes whose lease ran out (their chargers go offline, unless they connected
//! elsewhere), and does what other nodes tell it: close a connection another node took over,
//! send a call routed here. A call for a charger another node holds is routed to that node
//! (`Store::route_call`), and its answer comes back as a local call's would: the same failures,
//! so the API answers 409, 502 and 504 as on one node.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use domain::Id;
use serde_json::{Value, json};
use store::{Inbox, Message, RoutedCall};
use tokio::sync::{oneshot, watch};

use crate::{CallFailure, OcppServer};

/// A connection another node took over is closed with this reason.
pub const TAKEN_OVER: &str = "connected to another node";

/// The calls this node routed that wait for their answer, by call id.
#[derive(Default)]
pub struct Routes {
    waiting: Mutex<HashMap<Id, oneshot::Sender<()>>>,
    /// Whether other nodes can be told anything (PostgreSQL, and the runner listening).
    listening: std::sync::atomic::AtomicBool,
}

impl Routes {
    fn waiting(&self) -> std::sync::MutexGuard<'_, HashMap<Id, oneshot::Sender<()>>> {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn listening(&self) -> bool {
        self.listening.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// A call's outcome as it travels between nodes.
fn encode(outcome: &Result<Value, CallFailure>) -> String {
    let encoded = match outcome {
        Ok(answer) => json!({ "ok": answer }),
        Err(CallFailure::Offline) => json!({ "failure": "offline" }),
        Err(CallFailure::Timeout) => json!({ "failure": "timeout" }),
        Err(CallFailure::Busy) => json!({ "failure": "busy" }),
        Err(CallFailure::Refused { code, description }) => json!({ "failure": "refused", "code": code, "description": description }),
    };
    encoded.to_string()
}

fn decode(text: &str) -> Result<Value, CallFailure> {
    let mut encoded: Value = serde_json::from_str(text).map_err(|_| CallFailure::Offline)?;
    if let Some(answer) = encoded.get_mut("ok") {
        return Ok(answer.take());
    }
    Err(match encoded["failure"].as_str() {
        Some("timeout") => CallFailure::Timeout,
        Some("busy") => CallFailure::Busy,
        Some("refused") => CallFailure::Refused {
            code: encoded["code"].as_str().unwrap_or("GenericError").to_string(),
            description: encoded["description"].as_str().unwrap_or_default().to_string(),
        },
        _ => CallFailure::Offline,
    })
}

impl OcppServer {
    /// Sends a call to the live node that holds the charger, if that is another one, and waits
    /// for its answer (the caller bounds the wait). `Offline` when no other node holds it.
    pub(crate) async fn route(&self, cs: Id, action: &str, payload: Value, timeout: Duration) -> Result<Value, CallFailure> {
        if !self.routes.listening() {
            return Err(CallFailure::Offline);
        }
        let store = &self.store;
        let node = match store.holder_of(cs).await {
            Ok(Some(node)) if node != store.node() => node,
            Ok(_) => return Err(CallFailure::Offline),
            Err(e) => {
                tracing::error!(error = %e, %cs, "could not read which node holds a charger");
                return Err(CallFailure::Offline);
            }
        };
        let id = store.new_id();
        let (wake, woken) = oneshot::channel();
        self.routes.waiting().insert(id, wake);
        // Forgets the call however the wait ends (the caller's deadline drops this future).
        let _forget = Forget { server: self.clone(), id };
        if let Err(e) = store.route_call(id, node, cs, action, &payload.to_string(), timeout).await {
            tracing::error!(error = %e, %cs, "could not route a call to the node holding its charger");
            return Err(CallFailure::Offline);
        }
        woken.await.map_err(|_| CallFailure::Timeout)?;
        match store.collect_answer(id).await {
            Ok(Some(answer)) => decode(&answer),
            Ok(None) => Err(CallFailure::Timeout),
            Err(e) => {
                tracing::error!(error = %e, "could not read a routed call's answer");
                Err(CallFailure::Timeout)
            }
        }
    }

    /// Tells the connection of a charger to close, here with `reason` or on the node that holds
    /// it (which closes it as one taken over: the charger only needs to connect again).
    pub async fn disconnect(&self, cs: Id, reason: &'static str) {
        if self.registry.disconnect(cs, reason) || !self.routes.listening() {
            return;
        }
        match self.store.holder_of(cs).await {
            Ok(Some(node)) if node != self.store.node() => {
                if let Err(e) = self.store.tell_node(node, Message::Close(cs, self.store.now())).await {
                    tracing::error!(error = %e, %cs, "could not tell the node holding a charger to close its connection");
                }
            }
            Ok(_) => {}
            Err(e) => tracing::error!(error = %e, %cs, "could not read which node holds a charger"),
        }
    }
}

/// Drops a routed call's waiting entry and its row once its caller stops waiting.
struct Forget {
    server: OcppServer,
    id: Id,
}

impl Drop for Forget {
    fn drop(&mut self) {
        if self.server.routes.waiting().remove(&self.id).is_some() {
            // Not woken: the row is still there (an answer may yet come, for nobody).
            let (store, id) = (self.server.store.clone(), self.id);
            tokio::spawn(async move {
                if let Err(e) = store.collect_answer(id).await {
                    tracing::warn!(error = %e, "could not forget a routed call nobody waits for");
                }
            });
        }
    }
}

/// Runs this node's part among the nodes until `stop` turns true: renews the lease and buries
/// dead nodes every third of `node_lease`, and does what other nodes tell it.
pub fn spawn(server: OcppServer, mut stop: watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
    let lease = server.config.node_lease;
    tokio::spawn(async move {
        let mut inbox = listen(&server).await;
        let mut timer = tokio::time::interval(lease / 3);
        timer.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                () = stopped(&mut stop) => return,
                _ = timer.tick() => {
                    keep_lease(&server, lease).await;
                    if inbox.is_none() {
                        inbox = listen(&server).await;
                    }
                }
                heard = next(&mut inbox) => match heard {
                    Ok(Some(message)) => take(&server, message),
                    Ok(None) => tracing::warn!("lost the connection other nodes' messages come on; what they sent meanwhile is lost"),
                    Err(e) => {
                        tracing::error!(error = %e, "could not hear other nodes; listening again at the next lease renewal");
                        inbox = None;
                    }
                },
            }
        }
    })
}

/// Resolves once `stop` turns true, or its sender is gone.
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|&stopped| stopped).await;
}

async fn listen(server: &OcppServer) -> Option<Inbox> {
    match server.store.inbox().await {
        Ok(inbox) => {
            server.routes.listening.store(inbox.is_some(), std::sync::atomic::Ordering::SeqCst);
            inbox
        }
        Err(e) => {
            tracing::error!(error = %e, "could not listen for other nodes; trying again at the next lease renewal");
            None
        }
    }
}

async fn next(inbox: &mut Option<Inbox>) -> Result<Option<Message>, store::StoreError> {
    match inbox {
        Some(inbox) => inbox.next().await,
        None => std::future::pending().await,
    }
}

async fn keep_lease(server: &OcppServer, lease: Duration) {
    let store = &server.store;
    match store.renew_lease(lease).await {
        Ok(true) => {}
        Ok(false) => {
            // Other nodes took this one for dead and marked its chargers offline: they are
            // still connected here, and said so again.
            tracing::warn!("this node's lease had run out; its chargers are marked online again");
            for (org, cs) in server.registry.held() {
                let change = store::Presence::Connected { at: store.now(), node: store.node() };
                if let Err(e) = server.presence.record(org, cs, change).await {
                    tracing::error!(error = %e, %cs, "could not mark a charger online again");
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "could not renew this node's lease"),
    }
    match store.bury_dead_nodes().await {
        Ok(0) => {}
        Ok(offline) => tracing::info!(chargestations = offline, "marked offline the chargers of nodes whose lease ran out"),
        Err(e) => tracing::error!(error = %e, "could not bury nodes whose lease ran out"),
    }
}

fn take(server: &OcppServer, message: Message) {
    match message {
        Message::Close(cs, connected_elsewhere) => {
            server.registry.disconnect_older(cs, connected_elsewhere, TAKEN_OVER);
        }
        Message::Answer(id) => {
            if let Some(wake) = server.routes.waiting().remove(&id) {
                let _ = wake.send(());
            }
        }
        Message::Call(id) => {
            let server = server.clone();
            tokio::spawn(async move {
                let call = match server.store.take_call(id).await {
                    Ok(Some(call)) => call,
                    Ok(None) => return,
                    Err(e) => return tracing::error!(error = %e, "could not take a call routed here"),
                };
                let outcome = send_here(&server, &call).await;
                if let Err(e) = server.store.answer_call(id, call.from, &encode(&outcome)).await {
                    tracing::error!(error = %e, "could not answer a call routed here");
                }
            });
        }
    }
}

/// Sends a routed call to the charger connected here, never on to another node.
async fn send_here(server: &OcppServer, call: &RoutedCall) -> Result<Value, CallFailure> {
    let payload = serde_json::from_str(&call.payload).map_err(|_| CallFailure::Offline)?;
    let deadline = call.timeout;
    tokio::time::timeout(deadline, server.registry.call(call.chargestation, &call.action, payload, deadline)).await.unwrap_or(Err(CallFailure::Timeout))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcome_travels_between_nodes_unchanged() {
        let outcomes = [
            Ok(json!({ "status": "Accepted", "large": "x".repeat(10_000) })),
            Err(CallFailure::Offline),
            Err(CallFailure::Timeout),
            Err(CallFailure::Busy),
            Err(CallFailure::Refused { code: "NotSupported".into(), description: "no \"such\" thing".into() }),
        ];
        for outcome in outcomes {
            assert_eq!(decode(&encode(&outcome)), outcome);
        }
    }
}
