//! Which chargers are connected here, and the way to send each of them a call.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use domain::{Id, Timestamp};
use serde_json::Value;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};

/// Why a call to a charger got no answer payload.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CallFailure {
    #[error("the chargestation is not connected")]
    Offline,
    #[error("the chargestation did not answer in time")]
    Timeout,
    /// A CALLERROR, or an answer that is not valid for the call; `code` as the charger's
    /// version spells it.
    #[error("the chargestation answered with an error: {code} {description}")]
    Refused { code: String, description: String },
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
    organization: Id,
    /// When the connection was made, as its `Presence::Connected` says.
    connected_at: Timestamp,
    calls: mpsc::Sender<Box<OutboundCall>>,
    close: Option<oneshot::Sender<Close>>,
}

/// Why a connection is told to close: its WebSocket close frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Close {
    pub code: u16,
    pub reason: &'static str,
}

/// A newer connection of the same charger took this one's place.
pub const REPLACED: Close = Close { code: 1000, reason: "replaced by a new connection" };
/// The server is stopping (1001, "going away").
pub const SHUTTING_DOWN: Close = Close { code: 1001, reason: "the server is shutting down" };

/// Connected chargers by chargestation id. A new connection for a chargestation replaces the
/// old one, which is told to close; so is one whose credentials changed. It also hands out
/// the seats connections hold from their handshake to their end, so that there are at most
/// `max_chargers` and a stopping server can wait for every one of them.
pub struct Registry {
    entries: Mutex<HashMap<Id, Entry>>,
    generations: AtomicU64,
    /// Counts `disconnect`s, so a handshake can tell whether credentials may have changed
    /// between its check and its registration.
    disconnects: AtomicU64,
    seats: Arc<Semaphore>,
    /// Each seat holds a receiver: the sender is closed when none is left.
    open: watch::Sender<()>,
    stopping: AtomicBool,
}

/// A connection's registration: the receiving ends its task listens on.
pub struct Registration {
    pub generation: u64,
    /// Boxed: the channel allocates its slots at once, and idle connections are many.
    pub calls: mpsc::Receiver<Box<OutboundCall>>,
    /// Says why the connection must close.
    pub close: oneshot::Receiver<Close>,
    /// Registered while the node was stopping: not among the connections `close_all` answered.
    pub after_stop: bool,
}

/// A charger connection's place on this node, from its handshake to the end of its task.
pub struct Seat {
    _slot: OwnedSemaphorePermit,
    _open: watch::Receiver<()>,
}

/// Why no seat was given.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NoSeat {
    /// `max_chargers` connections are open.
    Full,
    Stopping,
}

/// A connection's place in the order of handshakes, taken before the charger is told it is in:
/// the charger may connect again at once, and the connection whose task happens to register
/// first must not be the one that stays.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ticket(u64);

/// Calls waiting behind the one in flight, per charger.
const QUEUE: usize = 32;

impl Registry {
    pub fn new(max_chargers: usize) -> Registry {
        Registry {
            entries: Mutex::default(),
            generations: AtomicU64::default(),
            disconnects: AtomicU64::default(),
            seats: Arc::new(Semaphore::new(max_chargers.max(1))),
            open: watch::Sender::new(()),
            stopping: AtomicBool::new(false),
        }
    }

    /// A seat for a new connection, unless the node is full or stopping.
    pub fn seat(&self) -> Result<Seat, NoSeat> {
        if self.stopping.load(Ordering::SeqCst) {
            return Err(NoSeat::Stopping);
        }
        let slot = self.seats.clone().try_acquire_owned().map_err(|_| NoSeat::Full)?;
        Ok(Seat { _slot: slot, _open: self.open.subscribe() })
    }

    /// The next handshake's place in line.
    pub fn ticket(&self) -> Ticket {
        Ticket(self.generations.fetch_add(1, Ordering::SeqCst))
    }

    /// Makes the connection with `ticket` the chargestation's, telling an older one to close;
    /// a connection older than the registered one is told to close at once instead.
    pub fn register(&self, cs: Id, organization: Id, ticket: Ticket, connected_at: Timestamp) -> Registration {
        let Ticket(generation) = ticket;
        let (calls_tx, calls) = mpsc::channel(QUEUE);
        let (close_tx, close) = oneshot::channel();
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        if entries.get(&cs).is_some_and(|newer| newer.generation > generation) {
            drop(entries);
            let _ = close_tx.send(REPLACED);
            return Registration { generation, calls, close, after_stop: false };
        }
        // Checked under the lock `close_all` takes after setting it: a connection registered
        // while the node stops is told at once.
        let after_stop = self.stopping.load(Ordering::SeqCst);
        let close_tx = if after_stop {
            let _ = close_tx.send(SHUTTING_DOWN);
            None
        } else {
            Some(close_tx)
        };
        let old = entries.insert(cs, Entry { generation, organization, connected_at, calls: calls_tx, close: close_tx });
        drop(entries);
        if let Some(mut old) = old
            && let Some(tell) = old.close.take()
        {
            let _ = tell.send(REPLACED);
        }
        self.publish();
        Registration { generation, calls, close, after_stop }
    }

    /// Tells the chargestation's connection, if any, to close; it then goes offline as any
    /// closed connection does. Answers whether there was one.
    pub fn disconnect(&self, cs: Id, reason: &'static str) -> bool {
        self.disconnects.fetch_add(1, Ordering::SeqCst);
        let tell = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&cs).and_then(|e| e.close.take());
        tell.is_some_and(|tell| tell.send(Close { code: 1000, reason }).is_ok())
    }

    /// Tells the chargestation's connection to close if it was made before `than` (it connected
    /// to another node then); answers whether there was one.
    pub fn disconnect_older(&self, cs: Id, than: Timestamp, reason: &'static str) -> bool {
        let tell = self.entries.lock().unwrap_or_else(|e| e.into_inner()).get_mut(&cs).filter(|e| e.connected_at < than).and_then(|e| e.close.take());
        tell.is_some_and(|tell| tell.send(Close { code: 1000, reason }).is_ok())
    }

    /// Gives no more seats and tells every connection to close; answers the chargestations
    /// (organization, id) connected then, whose ends the stopping node records at once: a
    /// connection that ends while the node stops leaves its end to it (`stopping`).
    pub fn close_all(&self) -> Vec<(Id, Id)> {
        self.stopping.store(true, Ordering::SeqCst);
        let mut entries = self.entries.lock().unwrap_or_else(|e| e.into_inner());
        for tell in entries.values_mut().filter_map(|e| e.close.take()) {
            let _ = tell.send(SHUTTING_DOWN);
        }
        entries.iter().map(|(cs, e)| (e.organization, *cs)).collect()
    }

    /// Whether the node is stopping (`close_all`).
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Resolves once every seat is given back: every connection task has ended.
    pub async fn all_closed(&self) {
        self.open.closed().await;
    }

    /// Connection tasks still running.
    pub fn seated(&self) -> usize {
        self.open.receiver_count()
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

    /// The chargestations connected here, as (organization, id).
    pub fn held(&self) -> Vec<(Id, Id)> {
        self.entries.lock().unwrap_or_else(|e| e.into_inner()).iter().map(|(cs, e)| (e.organization, *cs)).collect()
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
        let call = Box::new(OutboundCall { action: action.to_string(), payload, timeout, reply });
        sender.try_send(call).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => CallFailure::Busy,
            mpsc::error::TrySendError::Closed(_) => CallFailure::Offline,
        })?;
        // The connection answers every call it takes (also when it closes); a dropped reply
        // means it went away first.
        answer.await.unwrap_or(Err(CallFailure::Offline))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u32) -> Id {
        Id::from_parts(1_700_000_000, [1; 5], n)
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms)
    }

    #[test]
    fn seats_are_limited_and_given_back() {
        let registry = Registry::new(2);
        let (a, b) = (registry.seat().unwrap(), registry.seat().unwrap());
        assert_eq!(registry.seat().err(), Some(NoSeat::Full));
        drop(a);
        let _c = registry.seat().expect("a seat given back is free again");
        assert_eq!(registry.seated(), 2);
        drop(b);
        assert_eq!(registry.seated(), 1);
    }

    #[tokio::test]
    async fn closing_all_tells_every_connection_and_waits_for_their_seats() {
        let registry = Registry::new(10);
        let seats = [registry.seat().unwrap(), registry.seat().unwrap()];
        let mut registrations = [registry.register(id(1), id(9), registry.ticket(), at(1)), registry.register(id(2), id(9), registry.ticket(), at(1))];
        let mut connected = registry.close_all();
        connected.sort();
        assert_eq!(connected, [(id(9), id(1)), (id(9), id(2))]);
        assert!(registry.stopping());
        for r in &mut registrations {
            assert_eq!((&mut r.close).await, Ok(SHUTTING_DOWN));
        }
        // No new connection while stopping; one registered meanwhile is told at once.
        assert_eq!(registry.seat().err(), Some(NoSeat::Stopping));
        let mut late = registry.register(id(3), id(9), registry.ticket(), at(1));
        assert_eq!((&mut late.close).await, Ok(SHUTTING_DOWN));
        assert!(late.after_stop && !registrations[0].after_stop, "the late one records its own end");

        let mut waiting = std::pin::pin!(registry.all_closed());
        assert!(futures_util::FutureExt::now_or_never(waiting.as_mut()).is_none(), "two seats are still taken");
        drop(seats);
        waiting.await;
    }

    #[tokio::test]
    async fn another_node_closes_only_a_connection_older_than_its_own() {
        let registry = Registry::new(10);
        let mut here = registry.register(id(1), id(9), registry.ticket(), at(2_000));
        assert!(!registry.disconnect_older(id(1), at(1_000), "connected to another node"), "the connection here is the newer");
        assert!(registry.disconnect_older(id(1), at(3_000), "connected to another node"));
        assert_eq!((&mut here.close).await, Ok(Close { code: 1000, reason: "connected to another node" }));
    }

    #[tokio::test]
    async fn a_replaced_connection_is_told_with_a_normal_close() {
        let registry = Registry::new(10);
        let mut first = registry.register(id(1), id(9), registry.ticket(), at(1));
        let _second = registry.register(id(1), id(9), registry.ticket(), at(1));
        assert_eq!((&mut first.close).await, Ok(REPLACED));
        assert_eq!(REPLACED.code, 1000);
    }

    #[tokio::test]
    async fn the_newer_handshake_stays_whichever_task_registers_first() {
        let registry = Registry::new(10);
        let (older, newer) = (registry.ticket(), registry.ticket());
        let stays = registry.register(id(1), id(9), newer, at(1));
        let mut late = registry.register(id(1), id(9), older, at(1));
        assert_eq!((&mut late.close).await, Ok(REPLACED));
        assert!(late.calls.recv().await.is_none(), "no call reaches the older connection");
        assert!(!registry.unregister(id(1), late.generation), "its end does not unregister the newer one");
        assert!(registry.is_connected(id(1)));
        drop(stays);
    }
}
