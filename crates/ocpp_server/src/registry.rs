//! Which chargers are connected here, and the way to send each of them a call.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use domain::Id;
use ocpp16::ErrorCode;
use serde_json::Value;
use tokio::sync::{mpsc, oneshot};

/// Why a call to a charger got no answer payload.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallFailure {
    #[error("the chargestation is not connected")]
    Offline,
    #[error("the chargestation did not answer in time")]
    Timeout,
    #[error("the chargestation answered with an error: {code:?} {description}")]
    Refused { code: ErrorCode, description: String },
    #[error("the chargestation's call queue is full")]
    Busy,
}

/// A call waiting to be sent: the connection sends one at a time and answers through `reply`.
pub struct OutboundCall {
    pub action: String,
    pub payload: Value,
    pub timeout: Duration,
    pub reply: oneshot::Sender<Result<Value, CallFailure>>,
}

/// What the registry keeps of a live connection.
struct Entry {
    generation: u64,
    calls: mpsc::Sender<OutboundCall>,
    close: Option<oneshot::Sender<&'static str>>,
}

/// Why a connection is told to close when a newer one takes its place.
pub const REPLACED: &str = "replaced by a new connection";

/// Connected chargers by chargestation id. A new connection for a chargestation replaces the
/// old one, which is told to close; so is one whose credentials changed.
#[derive(Default)]
pub struct Registry {
    entries: Mutex<HashMap<Id, Entry>>,
    generations: AtomicU64,
    /// Counts `disconnect`s, so a handshake can tell whether credentials may have changed
    /// between its check and its registration.
    disconnects: AtomicU64,
}

/// A connection's registration: the receiving ends its task listens on.
pub struct Registration {
    pub generation: u64,
    pub calls: mpsc::Receiver<OutboundCall>,
    /// Says why the connection must close.
    pub close: oneshot::Receiver<&'static str>,
}

/// Calls waiting behind the one in flight, per charger.
const QUEUE: usize = 32;

impl Registry {
    pub fn register(&self, cs: Id) -> Registration {
        let generation = self.generations.fetch_add(1, Ordering::Relaxed);
        let (calls_tx, calls) = mpsc::channel(QUEUE);
        let (close_tx, close) = oneshot::channel();
        let entry = Entry { generation, calls: calls_tx, close: Some(close_tx) };
        let old = self.entries.lock().unwrap_or_else(|e| e.into_inner()).insert(cs, entry);
        if let Some(mut old) = old
            && let Some(tell) = old.close.take()
        {
            let _ = tell.send(REPLACED);
        }
        self.publish();
        Registration { generation, calls, close }
    }

    /// Tells the chargestation's connection, if any, to close; it then goes offline as any
    /// closed connection does. Answers whether there was one.
    pub fn disconnect(&self, cs: Id, reason: &'static str) -> bool {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
        let tell = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&cs).and_then(|e| e.close.take());
        tell.is_some_and(|tell| tell.send(reason).is_ok())
    }

    /// Removes the connection if it is still the registered one; tells whether it was.
    pub fn unregister(&self, cs: Id, generation: u64) -> bool {
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        let current = entries.get(&cs).is_some_and(|e| e.generation == generation);
        if current {
            entries.remove(&cs);
        }
        drop(entries);
        self.publish();
        current
    }

    pub fn disconnects(&self) -> u64 {
        self.disconnects.load(Ordering::SeqCst)
    }

    pub fn is_connected(&self, cs: Id) -> bool {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).contains_key(&cs)
    }

    pub fn connected(&self) -> usize {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    fn publish(&self) {
        metrics::gauge!("joule_connected_chargers").set(self.connected() as f64);
    }

    /// Sends `action` to the charger and waits for its answer, behind calls already queued.
    pub async fn call(&self, cs: Id, action: &str, payload: Value, timeout: Duration) -> Result<Value, CallFailure> {
        let sender = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get(&cs).map(|e| e.calls.clone()).ok_or(CallFailure::Offline)?;
        let (reply, answer) = oneshot::channel();
        let call = OutboundCall { action: action.to_string(), payload, timeout, reply };
        sender.try_send(call).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CallFailure::Busy,
            mpsc::error::TrySendError::Closed(_) => CallFailure::Offline,
        })?;
        // The connection answers every call it takes (also when it closes); a dropped reply
        // means it went away first.
        answer.await.unwrap_or(Err(CallFailure::Offline))
    }
}
