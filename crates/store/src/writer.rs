//! Group commit for the readings of running sessions: one task writes the readings of many
//! connections in one database transaction and answers each only once that transaction has
//! committed. A durable commit (an fsync with SQLite's `synchronous = FULL`) is then shared by
//! every reading that arrived while the previous one was being made, so the rate of readings
//! is no longer the rate of commits.
//!
//! A batch that fails is written again one job per transaction, so that one bad job fails
//! alone. The work per reading is constant: it is inserted as one row, its session's running
//! cost and metrics are set in place, without reading the session's history, and its
//! chargestation's last message time is moved on. The writer runs on a thread of its own with
//! connections of its own, and is the one stage every reading waits for, so it takes as few
//! round trips as it can:
//! - on SQLite it runs prepared statements itself, on a connection of its own opened with
//!   rusqlite (`Direct`): through sqlx every statement would be a round trip to the thread sqlx
//!   runs the connection on (measured: 2.2 to 2.7 times the batches a second);
//! - on PostgreSQL the batch is three statements, their rows bound as JSON, sent together and
//!   committed in one round trip (`Backend::committed_together`) whatever its size.
//!
//! A batch that announces a session (`session.updated`) records the event with the session
//! as it is, in the same transaction, through the statements both databases share.

use std::borrow::Cow;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

use domain::event::NewEvent;
use domain::session::{Metrics, Session};
use domain::{Id, Timestamp};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AssertSqlSafe, Connection};
use tariff::Cost;
use tokio::sync::{mpsc, oneshot};

use crate::charger::Sample;
use crate::dialect::SETTLE_SHARES;
use crate::documents;
use crate::readings::{self, Place, ReadingRow};
use crate::{Store, StoreError, dialect, progress};

/// Jobs written in one transaction at most: a full batch still commits within milliseconds.
const MAX_BATCH: usize = 1024;
/// A chargestation's last message time is kept to the second: moved by a message a second or
/// more after it, so that a charger sending many messages a second has its row written once a
/// second, not in every commit.
const LAST_MESSAGE_TO_MS: i64 = 1000;
/// Jobs waiting for the writer at most; a connection that finds the queue full waits.
const QUEUE: usize = 4096;
/// Rows left in `recent_readings` before the writer moves them into `readings`: enough for many
/// readings per charger in each move, few enough to read past quickly. They are moved one of
/// `SETTLE_SHARES` shares of the chargestations at a time, a share after every
/// `SETTLE_AFTER_ROWS / SETTLE_SHARES` rows, so each share is still moved about every
/// `SETTLE_AFTER_ROWS`; a reading waits for one share's move, not for all of them (which was the
/// p99 of the readings).
const SETTLE_AFTER_ROWS: usize = 4096;

/// Readings of a running session on a connector, already checked against what the session
/// has (dips left out), with the session's progress as priced on them.
#[derive(Clone, Debug)]
pub struct Readings {
    pub organization: Id,
    pub chargestation: Id,
    pub connector_id: u32,
    pub transaction_id: i64,
    pub samples: Vec<Sample>,
    /// When Joule received them, as the live session counted them.
    pub received_at: Timestamp,
    pub progress: SessionProgress,
}

/// A running session's cost and metrics as of a reading.
#[derive(Clone, Debug)]
pub struct SessionProgress {
    pub session: Id,
    pub cost: Option<Cost>,
    pub metrics: Metrics,
    /// Told with `session.updated` (they are coalesced by the caller).
    pub announce: bool,
    /// The session's `updatedAt` as the caller last read or wrote it: another value stored
    /// means something else changed the session since.
    pub known_updated_at: Timestamp,
}

/// What the writer needs of a job, its rows already made by the caller's task, so that the
/// connections do that work side by side and the one writer only stores them.
struct Job {
    place: Place,
    session: Id,
    announce: bool,
    known: Timestamp,
    what: What,
    done: oneshot::Sender<Result<Written, StoreError>>,
}

/// What a job stores, in the form its writer takes.
enum What {
    /// For `Direct`: the readings as rows, the session's cost and metrics as `progress::texts`.
    Rows { rows: Vec<ReadingRow>, cost: String, metrics: String },
    /// For the statements both databases share: made by the caller where the writer takes
    /// them for every batch (PostgreSQL).
    Shared(Shared),
}

/// A job's readings, `readings::elements`, and its session's progress, a `progress::element`.
#[derive(Clone)]
struct Shared {
    readings: String,
    count: usize,
    progress: String,
}

impl Job {
    fn shared(&self) -> Result<Cow<'_, Shared>, StoreError> {
        match &self.what {
            What::Shared(shared) => Ok(Cow::Borrowed(shared)),
            What::Rows { rows, cost, metrics } => Ok(Cow::Owned(Shared {
                readings: readings::elements(&self.place, rows)?,
                count: rows.len(),
                progress: progress::element(self.session, self.place.organization, cost, metrics, self.known)?,
            })),
        }
    }

    /// Its rows and its session's cost and metrics, if it has them as rows.
    fn rows(&self) -> Option<(&[ReadingRow], &str, &str)> {
        match &self.what {
            What::Rows { rows, cost, metrics } => Some((rows, cost, metrics)),
            What::Shared(_) => None,
        }
    }

    /// How many readings it has.
    fn readings(&self) -> usize {
        match &self.what {
            What::Rows { rows, .. } => rows.len(),
            What::Shared(shared) => shared.count,
        }
    }
}

/// What a job changed once committed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Written {
    /// The session was running: its progress was stored (and announced, if asked).
    pub session_running: bool,
    /// The session had been changed by something else since `known_updated_at`.
    pub changed_elsewhere: bool,
    /// The session's `updatedAt` now.
    pub updated_at: Timestamp,
}

/// The handle connections write through; cloning it shares the one writer task.
#[derive(Clone)]
pub struct Writer {
    jobs: mpsc::Sender<Work>,
    store: Store,
    /// The file the writer runs its statements on itself (`Backend::direct_file`).
    direct: Option<PathBuf>,
}

/// What the writer is given.
enum Work {
    Readings(Job),
    /// A message from this chargestation: its last message time is moved on with the next
    /// batch, or alone if there is none.
    Heard(Id),
}

impl Writer {
    /// Starts the writer on a thread of its own, with a connection of its own: among the tasks
    /// of every charger connection, the one that all of them wait for would wait its turn to
    /// run after each statement. It ends when every handle is dropped.
    pub fn spawn(store: Store) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        let direct = store.backend.direct_file(&store.pool.connect_options());
        let writer = Writer { jobs, store: store.clone(), direct: direct.clone() };
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build();
        let thread = runtime.and_then(|runtime| {
            std::thread::Builder::new().name("readings-writer".into()).spawn(move || {
                runtime.block_on(async move {
                    let direct = direct.map(|file| Direct::open(&file)).transpose();
                    match (store.with_own_pool(1).await, direct) {
                        (Ok(store), Ok(direct)) => run(Line { store, conn: None, direct }, queue).await,
                        (Err(e), _) => tracing::error!(error = %e, "the readings' writer could not connect; readings are refused"),
                        (_, Err(e)) => tracing::error!(error = %e, "the readings' writer could not open its database; readings are refused"),
                    }
                })
            })
        });
        if let Err(e) = thread {
            tracing::error!(error = %e, "the readings' writer could not start; readings are refused");
        }
        writer
    }

    /// Writes `readings` and answers once they are committed.
    pub async fn write(&self, readings: Readings) -> Result<Written, StoreError> {
        let r = &readings;
        let p = &r.progress;
        let (cost, metrics) = progress::texts(&p.cost, &p.metrics)?;
        let (done, answer) = oneshot::channel();
        let mut job = Job {
            place: Place { organization: r.organization, chargestation: r.chargestation, connector_id: r.connector_id, transaction_id: Some(r.transaction_id) },
            session: p.session,
            announce: p.announce,
            known: p.known_updated_at,
            what: What::Rows { rows: self.store.reading_rows(&r.samples, r.received_at)?, cost, metrics },
            done,
        };
        if self.direct.is_none() {
            job.what = What::Shared(job.shared()?.into_owned());
        }
        // The writer stops only when the process does, with the pool it writes to.
        self.jobs.send(Work::Readings(job)).await.map_err(|_| StoreError::closed())?;
        answer.await.map_err(|_| StoreError::closed())?
    }

    /// Notes that a message arrived from `cs`, without waiting: its last message time is
    /// written with the readings (a transaction and an fsync of its own for each message took
    /// a third of the commits of a wallet start). Dropped when the writer's queue is full: it
    /// is only the time the charger was last heard.
    pub fn heard(&self, cs: Id) {
        let _ = self.jobs.try_send(Work::Heard(cs));
    }
}

async fn run(mut line: Line, mut queue: mpsc::Receiver<Work>) {
    let mut work = Vec::with_capacity(MAX_BATCH);
    let mut batch = Vec::with_capacity(MAX_BATCH);
    let mut heard = Vec::new();
    // What an earlier run left is moved after the first batch; then the writer counts its own.
    let mut unsettled = SETTLE_AFTER_ROWS;
    let mut share = None;
    while queue.recv_many(&mut work, MAX_BATCH).await > 0 {
        for w in work.drain(..) {
            match w {
                Work::Readings(job) => batch.push(job),
                Work::Heard(cs) => heard.push(cs),
            }
        }
        unsettled += batch.iter().map(Job::readings).sum::<usize>();
        let jobs: Vec<&Job> = batch.iter().collect();
        match line.write(&jobs, &heard).await {
            Ok(written) => {
                for (job, written) in batch.drain(..).zip(written) {
                    let _ = job.done.send(Ok(written));
                }
            }
            Err(e) if batch.len() <= 1 => match batch.pop() {
                Some(job) => {
                    let _ = job.done.send(Err(e));
                }
                None => tracing::warn!(error = %e, "the last message times of chargestations could not be written"),
            },
            Err(_) => {
                for job in batch.drain(..) {
                    let written = line.write(&[&job], &[]).await.map(|w| w[0]);
                    let _ = job.done.send(written);
                }
            }
        }
        heard.clear();
        // After the answers: the batch that fills the table does not wait for the move.
        if unsettled >= SETTLE_AFTER_ROWS / SETTLE_SHARES as usize {
            // Tried again after as many rows more, not at every batch.
            if let Err(e) = line.settle(share).await {
                tracing::error!(error = %e, "recent readings could not be moved; they stay readable where they are");
            }
            share = Some(share.map_or(0, |s| (s + 1) % SETTLE_SHARES));
            unsettled = 0;
        }
    }
}

/// The writer's connections: from its own pool, taken once and kept (taking one from the pool
/// for each batch is a wait of its own), and on SQLite the one it runs statements on itself.
struct Line {
    store: Store,
    conn: Option<PoolConnection<Any>>,
    direct: Option<Direct>,
}

impl Line {
    /// The kept connection, or a new one.
    async fn take(&mut self) -> Result<PoolConnection<Any>, StoreError> {
        match self.conn.take() {
            Some(conn) => Ok(conn),
            None => Ok(self.store.pool.acquire().await?),
        }
    }

    async fn write(&mut self, jobs: &[&Job], heard: &[Id]) -> Result<Vec<Written>, StoreError> {
        let _alone = self.store.alone().await?;
        let now = self.store.now();
        let mut heard: Vec<Id> = jobs.iter().map(|j| j.place.chargestation).chain(heard.iter().copied()).collect();
        heard.sort_unstable();
        heard.dedup();
        let set = match &mut self.direct {
            Some(direct) if jobs.iter().all(|j| !j.announce && j.rows().is_some()) => direct.write(self.store.backend.readings_table(), now, jobs, &heard)?,
            _ => {
                let mut conn = self.take().await?;
                match self.store.write_readings(&mut conn, now, jobs, &heard).await {
                    Ok(set) => {
                        self.conn = Some(conn);
                        set
                    }
                    Err(e) => {
                        // Closed, not given back: a batch can fail with its transaction still open.
                        let _ = conn.close().await;
                        return Err(e);
                    }
                }
            }
        };
        let mut written = vec![Written { session_running: true, changed_elsewhere: false, updated_at: now }; jobs.len()];
        for (i, job) in jobs.iter().enumerate().filter(|(_, j)| !set.contains(&j.session)) {
            let mut conn = self.take().await?;
            written[i] = self.store.look_again(&mut conn, job).await?;
            self.conn = Some(conn);
        }
        Ok(written)
    }

    /// Moves the recent readings of a share of the chargestations (all for `None`) into `readings`
    /// (where they are not already).
    async fn settle(&mut self, share: Option<u32>) -> Result<(), StoreError> {
        let statements = self.store.backend.settle_readings(share);
        if statements.is_empty() {
            return Ok(());
        }
        let _alone = self.store.alone().await?;
        if let Some(direct) = &mut self.direct {
            return direct.run(&statements);
        }
        let mut conn = self.take().await?;
        let mut tx = conn.begin_with(self.store.backend.begin_write()).await?;
        for statement in statements {
            sqlx::query(AssertSqlSafe(statement)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.conn = Some(conn);
        Ok(())
    }
}

/// The writer's own connection to a SQLite file (`Backend::direct_file`), on which it runs a
/// batch as prepared statements, a row at a time, without a round trip between threads.
struct Direct {
    conn: rusqlite::Connection,
}

impl Direct {
    fn open(file: &Path) -> Result<Direct, rusqlite::Error> {
        Ok(Direct { conn: dialect::open_direct(file)? })
    }

    /// Runs `statements` (without parameters) in one transaction.
    fn run(&mut self, statements: &[String]) -> Result<(), StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        for statement in statements {
            tx.execute(statement, [])?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Writes the jobs in one transaction, their readings into `table`; answers the sessions
    /// whose progress was set (those still running that nothing else changed since their
    /// writer knew them).
    fn write(&mut self, table: &str, now: Timestamp, jobs: &[&Job], heard: &[Id]) -> Result<HashSet<Id>, StoreError> {
        let tx = self.conn.transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        let mut set = HashSet::with_capacity(jobs.len());
        {
            let mut insert = tx.prepare_cached(&readings::insert_one_sql(table))?;
            for job in jobs {
                let (Some((rows, _, _)), p) = (job.rows(), &job.place) else { continue };
                let (organization, chargestation) = (p.organization.to_string(), p.chargestation.to_string());
                for r in rows {
                    insert.execute(rusqlite::params![
                        r.id.to_string(),
                        organization,
                        chargestation,
                        p.connector_id,
                        p.transaction_id,
                        r.sampled_at,
                        r.register_wh,
                        r.samples,
                        r.received_at
                    ])?;
                }
            }
            let mut last_message = tx.prepare_cached(&format!(
                "UPDATE chargestations SET last_message_at = ?1 WHERE id = ?2 AND (last_message_at IS NULL OR last_message_at <= ?1 - {LAST_MESSAGE_TO_MS})"
            ))?;
            for cs in heard {
                last_message.execute(rusqlite::params![now.millis(), cs.to_string()])?;
            }
            let mut progress = tx.prepare_cached(progress::SET_ONE_SQL)?;
            for job in jobs {
                let Some((_, cost, metrics)) = job.rows() else { continue };
                let params = rusqlite::params![job.session.to_string(), job.place.organization.to_string(), cost, metrics, job.known.millis(), now.millis()];
                if progress.execute(params)? == 1 {
                    set.insert(job.session);
                }
            }
        }
        tx.commit()?;
        Ok(set)
    }
}

impl Store {
    /// Writes the jobs in one transaction, with one statement whatever their number: in one
    /// round trip, unless a job asks for its session's progress to be announced. The
    /// chargestations `heard` from get their last message time too. Answers the sessions
    /// whose progress was set.
    async fn write_readings(&self, conn: &mut AnyConnection, now: Timestamp, jobs: &[&Job], heard: &[Id]) -> Result<HashSet<Id>, StoreError> {
        let heard: Vec<(Id,)> = heard.iter().map(|cs| (*cs,)).collect();
        let statements = [
            self.insert_readings_sql(self.backend.readings_table(), 2),
            format!(
                "UPDATE chargestations SET last_message_at = $1 WHERE id {} AND (last_message_at IS NULL OR last_message_at <= $1 - {LAST_MESSAGE_TO_MS})",
                self.backend.in_json_keys(3)
            ),
            progress::set_sql(self.backend, 1, 4, true),
        ];
        let announcing = jobs.iter().any(|j| j.announce);
        let sql = if announcing { self.backend.together(&statements) } else { self.backend.committed_together(&statements) };
        let shared = jobs.iter().map(|j| j.shared()).collect::<Result<Vec<_>, _>>()?;
        let query = sqlx::query(AssertSqlSafe(sql))
            .bind(now.millis())
            .bind(array(shared.iter().map(|s| s.readings.as_str())))
            .bind(serde_json::to_string(&heard).map_err(StoreError::corrupt)?)
            .bind(array(shared.iter().map(|s| s.progress.as_str())));
        if !announcing {
            return Ok(progress::sessions_set(&query.fetch_all(&mut *conn).await?)?.into_iter().collect());
        }
        let mut tx = conn.begin_with(self.backend.begin_write()).await?;
        let set: HashSet<Id> = progress::sessions_set(&query.fetch_all(&mut *tx).await?)?.into_iter().collect();
        for job in jobs.iter().filter(|j| j.announce && set.contains(&j.session)) {
            self.announce(&mut tx, job).await?;
        }
        tx.commit().await?;
        Ok(set)
    }

    /// Records `session.updated` for the job's session, as it now is.
    async fn announce(&self, conn: &mut AnyConnection, job: &Job) -> Result<(), StoreError> {
        let (org, cs) = (job.place.organization, job.place.chargestation);
        let session: Session = documents::fetch(conn, org, job.session).await?;
        self.record(conn, org, vec![NewEvent::of("session", "updated", &session).for_chargestation(cs)]).await
    }

    /// A job whose session's progress was not set with the others: changed by something else
    /// since its writer last knew it (rare), or no longer running. Its progress is set if it
    /// still runs, and announced if asked, in a transaction of its own.
    async fn look_again(&self, conn: &mut AnyConnection, job: &Job) -> Result<Written, StoreError> {
        let mut tx = conn.begin_with(self.backend.begin_write()).await?;
        let now = self.now();
        let changed_at = progress::changed_at(&mut tx, job.session).await?;
        let session_running = progress::set_one(&mut tx, self.backend, &job.shared()?.progress, now).await?;
        if session_running && job.announce {
            self.announce(&mut tx, job).await?;
        }
        tx.commit().await?;
        Ok(Written {
            session_running,
            changed_elsewhere: progress::changed_since(changed_at, job.known),
            updated_at: if session_running { now } else { changed_at.unwrap_or(job.known) },
        })
    }
}

/// A JSON array of the (non-empty) element lists.
fn array<'a>(elements: impl Iterator<Item = &'a str>) -> String {
    let mut array = String::from("[");
    for e in elements.filter(|e| !e.is_empty()) {
        if array.len() > 1 {
            array.push(',');
        }
        array.push_str(e);
    }
    array.push(']');
    array
}
