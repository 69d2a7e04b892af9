//! Joule's storage: one layer over SQLite and PostgreSQL.
//!
//! Every public method is one use case and one database transaction (on SQLite a savepoint of
//! a transaction several use cases share, see `commits`): a state change and the events it
//! causes commit together or not at all, and no transaction type leaves this crate.
//! Both databases run the same SQL through sqlx's `Any` driver (ids TEXT, money BIGINT cents,
//! times BIGINT milliseconds); what really differs between them lives in [`dialect`].
//!
//! - [`Store`]: connecting, migrating, the clock and id source.
//! - `commits`: write transactions; on SQLite several use cases share a commit.
//! - `documents`: resources stored as their API JSON plus indexed columns (users, locations,
//!   rates, connectors, organizations).
//! - `organizations`, `wallets`, `chargestations`, `events`, `idempotency`: the use cases.
//! - `ledger`: the only code that changes a wallet's balances, checked against the pure
//!   ledger rules.
//! - `top_ups`: Stripe top-ups, whose completion credits the wallet in the same transaction.
//! - `webhooks`: endpoints, the fan-out of events into deliveries, the dispatcher's claims.
//! - `retention`: deleting old meter values, events and delivery attempts in batches.
//! - `nodes`: the `joule serve` processes sharing a PostgreSQL database, their leases, which
//!   holds which charger, and calls routed from one to another.

mod cards;
mod charger;
mod chargestations;
mod commits;
pub mod dialect;
mod documents;
mod error;
mod events;
pub mod idempotency;
mod ledger;
mod local_lists;
mod nodes;
mod organizations;
mod presence;
mod progress;
mod readings;
mod resources;
mod retention;
mod sessions;
mod sign_ins;
#[cfg(feature = "testing")]
pub mod testing;
mod top_ups;
mod wallets;
mod webhooks;
mod writer;

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use commits::{Turns, Write};
use domain::{Id, Timestamp};
use sqlx::AnyPool;
use sqlx::any::AnyPoolOptions;

pub use charger::{ChargerLogin, ENERGY_REGISTER, Recorded, Sample, StartedTransaction, Stopped, TransactionStart, TransactionStop};
pub use chargestations::{ChargestationRecord, ChargestationUpdate, StoredSecurity};
pub use dialect::Backend;
pub use documents::Filter;
pub use error::StoreError;
pub use idempotency::{IdempotencyClaim, IdempotencyStart, current_claim, with_claim};
pub use nodes::{Inbox, Message, RoutedCall};
pub use organizations::ApiKeyRecord;
pub use presence::{Applied, Presence, PresenceChange};
pub use retention::{Purged, Retention};
pub use sign_ins::SignIn;
pub use top_ups::{ExpiringTopUp, PaymentFacts, Settled};
pub use webhooks::{ClaimedDelivery, FinishedAttempt};
pub use writer::{Readings, SessionProgress, Writer, Written};

/// This process's claim to be the only server on a SQLite database (`Store::claim_sole_server`),
/// given up when dropped.
#[derive(Debug)]
pub struct SoleServer {
    _lock: std::fs::File,
}

/// Where "now" comes from, so that tests can move time.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0);
        Timestamp::from_millis(ms)
    }
}

/// Makes ObjectId-style ids: this process's random 5 bytes and a counter from a random start.
struct IdSource {
    process: [u8; 5],
    counter: AtomicU32,
}

#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    clock: Arc<dyn Clock>,
    ids: Arc<IdSource>,
    /// The writers' turns on a database that takes one writer at a time (`Backend::one_writer`).
    turns: Option<Arc<Turns>>,
    /// This process among the nodes sharing the database (`nodes`): the holder of the
    /// chargers connected to it.
    node: Id,
}

/// How pools are made on `backend`: every connection prepared by `Backend::prepare_connection`.
fn pool_options(backend: Backend, connections: u32) -> AnyPoolOptions {
    AnyPoolOptions::new()
        .max_connections(connections)
        .test_before_acquire(backend.test_before_acquire())
        .after_connect(move |conn, _| Box::pin(async move { backend.prepare_connection(conn).await }))
}

impl Store {
    /// Connects to `url` (`sqlite://...` or `postgres://...`), creating a SQLite file if it is
    /// missing, and brings the schema up to date.
    pub async fn connect(url: &str, clock: Arc<dyn Clock>) -> Result<Store, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = Backend::from_url(url).ok_or_else(|| StoreError::Config(format!("unsupported database URL scheme in `{}`", dialect::redact(url))))?;
        let pool = pool_options(backend, backend.max_connections()).connect(&backend.connect_url(url)).await?;
        sqlx::migrate!("./migrations").run(&pool).await.map_err(|e| StoreError::Config(format!("migration failed: {e}")))?;
        let process: [u8; 5] = rand::random();
        let ids = Arc::new(IdSource { process, counter: AtomicU32::new(rand::random::<u32>() & 0xff_ffff) });
        let turns = backend.one_writer().then(Turns::new);
        let mut store = Store { pool, backend, clock, ids, turns, node: Id::from_parts(0, [0; 5], 0) };
        store.node = store.new_id();
        Ok(store)
    }

    /// The same store over a pool of its own of `connections`, opened on the current runtime:
    /// a task on a runtime of its own then waits on connections that runtime drives, and work
    /// that comes in floods (a fleet's connections) does not queue the API behind it. They are
    /// not checked before each use: a broken one fails its transaction, and is replaced.
    pub async fn with_own_pool(&self, connections: u32) -> Result<Store, StoreError> {
        let options = (*self.pool.connect_options()).clone();
        let pool = pool_options(self.backend, connections).test_before_acquire(false).connect_with(options).await?;
        Ok(Store { pool, ..self.clone() })
    }

    /// Makes this process the only server on a SQLite database, for as long as the answer is
    /// kept: SQLite is one node by design (SPEC 11), and a second server on the same file would
    /// take its chargers' registrations and timer work as its own. The lock is the operating
    /// system's (`flock`) on a file beside the database, so it goes with the process, however
    /// it ends. Nothing to hold on PostgreSQL or for a database in memory.
    pub fn claim_sole_server(&self) -> Result<Option<SoleServer>, StoreError> {
        let Some(database) = self.backend.direct_file(&self.pool.connect_options()) else { return Ok(None) };
        let mut name = database.clone().into_os_string();
        name.push(".lock");
        let lock = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&name)
            .map_err(|e| StoreError::Config(format!("could not open {}: {e}", std::path::Path::new(&name).display())))?;
        match lock.try_lock() {
            Ok(()) => Ok(Some(SoleServer { _lock: lock })),
            Err(std::fs::TryLockError::WouldBlock) => Err(StoreError::Config(format!(
                "another joule serve is running on the SQLite database {}: SQLite is one node; run several nodes on PostgreSQL",
                database.display()
            ))),
            Err(std::fs::TryLockError::Error(e)) => Err(StoreError::Config(format!("could not lock {}: {e}", std::path::Path::new(&name).display()))),
        }
    }

    /// How many connections a pool of this store has.
    pub fn connections(&self) -> u32 {
        self.backend.max_connections()
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// This process's identity among the nodes sharing the database, new at every start.
    pub fn node(&self) -> Id {
        self.node
    }

    pub fn now(&self) -> Timestamp {
        self.clock.now()
    }

    /// A fresh id, ordered after the ids this process made before it.
    pub fn new_id(&self) -> Id {
        let seconds = (self.now().millis() / 1000).clamp(0, i64::from(u32::MAX)) as u32;
        let counter = self.ids.counter.fetch_add(1, Ordering::Relaxed) & 0xff_ffff;
        Id::from_parts(seconds, self.ids.process, counter)
    }

    pub async fn close(&self) {
        if let Some(turns) = &self.turns
            && let Err(e) = turns.close().await
        {
            tracing::error!(error = %e, "the last writes could not be committed");
        }
        self.pool.close().await;
    }

    /// Starts a transaction that will write (see `commits`).
    async fn write(&self) -> Result<Write, StoreError> {
        Write::begin(&self.pool, self.turns.as_ref(), self.backend.begin_write()).await
    }

    /// The writers' turn for a writer that commits on a connection of its own, held until the
    /// guard is dropped (`None` on a database that takes several writers at once).
    pub(crate) async fn alone(&self) -> Result<Option<tokio::sync::OwnedMutexGuard<commits::Slot>>, StoreError> {
        match &self.turns {
            Some(turns) => Ok(Some(turns.alone().await?)),
            None => Ok(None),
        }
    }
}
