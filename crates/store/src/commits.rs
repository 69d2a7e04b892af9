//! Write transactions. On PostgreSQL each use case's is a transaction of its own. SQLite takes
//! one writer at a time and makes each commit durable with an fsync, so commits in series were
//! what limited the use cases a second (BENCHMARKS, "where a wallet start waits"). There the
//! process's use cases take turns on one connection, each in a savepoint of a transaction they
//! share, and the last of the writers waiting commits it for all (group commit): one fsync for
//! many, and each use case still answers only after the commit that made its changes durable.
//! A use case that fails is rolled back to its savepoint and changes nothing.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction};
use tokio::sync::{Mutex, OwnedMutexGuard, watch};

use crate::StoreError;

/// The use cases that share a commit, at most, and how long the first of them waits for it.
const GROUP: usize = 64;
const OPEN: Duration = Duration::from_millis(5);
/// How long a use case waits for the writers after it to commit before it commits itself: a
/// writer that was waiting for its turn may have given up.
const PATIENCE: Duration = Duration::from_millis(20);

/// The turns of a SQLite database's writers.
pub(crate) struct Turns {
    slot: Arc<Mutex<Slot>>,
    /// Writers waiting for the slot: while there are any, a use case leaves the commit to them.
    waiting: AtomicUsize,
}

#[derive(Default)]
pub(crate) struct Slot {
    conn: Option<PoolConnection<Any>>,
    group: Option<Group>,
    /// Counts the shared transactions, so that a use case knows whether its own is still open.
    groups: u64,
    /// Commits made, for tests that check that use cases share them.
    pub(crate) commits: u64,
    /// The use case that had the slot let it go without committing: its savepoint is rolled
    /// back before anything else runs.
    abandoned: bool,
}

/// A shared transaction: how many use cases it holds, and its outcome for them.
struct Group {
    number: u64,
    opened: Instant,
    members: usize,
    done: watch::Sender<Option<Result<(), String>>>,
}

/// Counts a writer waiting for the slot until it has it, or gives up.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::SeqCst);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Turns {
    pub(crate) fn new() -> Arc<Turns> {
        Arc::new(Turns { slot: Arc::new(Mutex::new(Slot::default())), waiting: AtomicUsize::new(0) })
    }

    pub(crate) async fn slot(&self) -> OwnedMutexGuard<Slot> {
        let _waiting = Waiting::new(&self.waiting);
        self.slot.clone().lock_owned().await
    }

    /// The slot for a writer that commits on a connection of its own (the readings' writer):
    /// the shared transaction is committed first, and no other writer runs until the guard is
    /// dropped.
    pub(crate) async fn alone(&self) -> Result<OwnedMutexGuard<Slot>, StoreError> {
        let mut slot = self.slot().await;
        slot.settle().await?;
        if slot.group.is_some() {
            slot.commit().await?;
        }
        Ok(slot)
    }

    /// Commits what is open and gives the connection back to its pool, which can then close.
    pub(crate) async fn close(&self) -> Result<(), StoreError> {
        let mut slot = self.alone().await?;
        slot.conn = None;
        Ok(())
    }

    /// A use case's turn, in a savepoint of the shared transaction.
    async fn member(self: &Arc<Self>, pool: &AnyPool) -> Result<Member, StoreError> {
        let mut slot = self.slot().await;
        slot.settle().await?;
        if slot.conn.is_none() {
            slot.conn = Some(pool.acquire().await?);
        }
        if slot.group.is_none() {
            slot.conn()?.execute("BEGIN IMMEDIATE").await?;
            slot.groups += 1;
            slot.group = Some(Group { number: slot.groups, opened: Instant::now(), members: 0, done: watch::channel(None).0 });
        }
        slot.conn()?.execute("SAVEPOINT member").await?;
        slot.abandoned = true;
        Ok(Member { slot: Some(slot), turns: self.clone() })
    }
}

impl Slot {
    fn conn(&mut self) -> Result<&mut AnyConnection, StoreError> {
        self.conn.as_deref_mut().ok_or_else(|| StoreError::corrupt("the writers' connection is gone"))
    }

    /// Rolls back what a use case that let the slot go left; if that fails, the whole shared
    /// transaction, whose use cases are told.
    async fn settle(&mut self) -> Result<(), StoreError> {
        if !self.abandoned {
            return Ok(());
        }
        self.abandoned = false;
        let undone = match self.conn() {
            Ok(conn) => match conn.execute("ROLLBACK TO member").await {
                Ok(_) => conn.execute("RELEASE member").await.map(|_| ()),
                Err(e) => Err(e),
            },
            Err(e) => Err(sqlx::Error::Protocol(e.to_string())),
        };
        if let Err(e) = undone {
            self.end(Err(e.to_string())).await;
            return Err(e.into());
        }
        if self.group.as_ref().is_some_and(|g| g.members == 0) {
            self.end(Err("rolled back".into())).await;
        }
        Ok(())
    }

    /// Commits the shared transaction and tells its use cases.
    async fn commit(&mut self) -> Result<(), StoreError> {
        let committed = match self.conn() {
            Ok(conn) => conn.execute("COMMIT").await.map(|_| ()).map_err(|e| e.to_string()),
            Err(e) => Err(e.to_string()),
        };
        self.commits += u64::from(committed.is_ok());
        self.end(committed.clone()).await;
        committed.map_err(|e| StoreError::Database(sqlx::Error::Protocol(e)))
    }

    /// Ends the shared transaction with `outcome`: rolled back unless it committed.
    async fn end(&mut self, outcome: Result<(), String>) {
        if outcome.is_err()
            && let Some(conn) = self.conn.as_deref_mut()
            && conn.execute("ROLLBACK").await.is_err()
        {
            // A connection that cannot roll back is not used again.
            self.conn = None;
        }
        if let Some(group) = self.group.take() {
            group.done.send_replace(Some(outcome));
        }
    }
}

/// A use case's write transaction.
pub(crate) enum Write {
    /// PostgreSQL: a transaction of its own.
    Own(Transaction<'static, Any>),
    /// SQLite: a savepoint of the shared transaction.
    Shared(Member),
}

pub(crate) struct Member {
    slot: Option<OwnedMutexGuard<Slot>>,
    turns: Arc<Turns>,
}

impl Write {
    pub(crate) async fn begin(pool: &AnyPool, turns: Option<&Arc<Turns>>, begin: &'static str) -> Result<Write, StoreError> {
        match turns {
            Some(turns) => Ok(Write::Shared(turns.member(pool).await?)),
            None => Ok(Write::Own(pool.begin_with(begin).await?)),
        }
    }

    /// Commits: answers once the changes are durable.
    pub(crate) async fn commit(self) -> Result<(), StoreError> {
        match self {
            Write::Own(tx) => Ok(tx.commit().await?),
            Write::Shared(member) => member.commit().await,
        }
    }
}

impl Member {
    async fn commit(mut self) -> Result<(), StoreError> {
        let mut slot = self.slot.take().ok_or_else(|| StoreError::corrupt("a use case committed twice"))?;
        if let Err(e) = slot.conn()?.execute("RELEASE member").await {
            // Still abandoned: the next writer rolls it back.
            return Err(e.into());
        }
        slot.abandoned = false;
        let Some(group) = slot.group.as_mut() else { return Err(StoreError::corrupt("a use case outside its transaction")) };
        group.members += 1;
        let (number, mut done) = (group.number, group.done.subscribe());
        if self.turns.waiting.load(Ordering::SeqCst) == 0 || group.members >= GROUP || group.opened.elapsed() >= OPEN {
            return slot.commit().await;
        }
        drop(slot);
        loop {
            // Owned before anything else is awaited: the borrowed outcome holds a lock.
            let waited = tokio::time::timeout(PATIENCE, done.wait_for(Option::is_some)).await.map(|told| told.map(|outcome| outcome.clone()));
            match waited {
                Ok(Ok(outcome)) => {
                    return outcome.unwrap_or(Ok(())).map_err(|e| StoreError::Database(sqlx::Error::Protocol(e)));
                }
                Ok(Err(_)) => return Err(StoreError::Database(sqlx::Error::Protocol("the shared transaction ended untold".into()))),
                Err(_) => {
                    let mut slot = self.turns.slot.clone().lock_owned().await;
                    if slot.group.as_ref().is_some_and(|g| g.number == number) {
                        slot.settle().await?;
                        if slot.group.is_some() {
                            slot.commit().await?;
                        }
                    }
                }
            }
        }
    }
}

impl Drop for Member {
    /// A use case that ends without committing: its savepoint is rolled back now, and the
    /// shared transaction committed for the others if no writer is waiting to.
    fn drop(&mut self) {
        let (Some(mut slot), Ok(runtime)) = (self.slot.take(), tokio::runtime::Handle::try_current()) else { return };
        let turns = self.turns.clone();
        runtime.spawn(async move {
            if slot.settle().await.is_ok() && slot.group.is_some() && turns.waiting.load(Ordering::SeqCst) == 0 {
                let _ = slot.commit().await;
            }
        });
    }
}

impl std::ops::Deref for Write {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Write::Own(tx) => tx,
            Write::Shared(member) => member.slot.as_ref().and_then(|s| s.conn.as_deref()).expect("a use case's connection"),
        }
    }
}

impl std::ops::DerefMut for Write {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Write::Own(tx) => tx,
            Write::Shared(member) => member.slot.as_mut().and_then(|s| s.conn.as_deref_mut()).expect("a use case's connection"),
        }
    }
}
