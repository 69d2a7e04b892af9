//! Group commit for the readings of running sessions: one task writes the readings of many
//! connections in one database transaction and answers each only once that transaction has
//! committed. A durable commit (an fsync with SQLite's `synchronous = FULL`) is then shared by
//! every reading that arrived while the previous one was being made, so the rate of readings
//! is no longer the rate of commits.
//!
//! A batch that fails is written again one job per transaction, so that one bad job fails
//! alone. The work per reading is constant: its samples are inserted, its session's running
//! cost and metrics are set in place, without reading the session's history, and its
//! chargestation's last message time is moved on; each of those is one statement for the whole
//! batch (a few for a very large one), so a batch costs a handful of round trips to the
//! database whatever its size.

use std::collections::HashSet;

use domain::event::NewEvent;
use domain::session::{Metrics, Session};
use domain::{Id, Timestamp};
use sqlx::{AnyConnection, AssertSqlSafe};
use tariff::Cost;
use tokio::sync::{mpsc, oneshot};

use crate::charger::{MeterRow, Sample, in_shapes};
use crate::documents;
use crate::{Store, StoreError, progress};

/// Jobs written in one transaction at most: a full batch still commits within milliseconds.
const MAX_BATCH: usize = 1024;
/// Jobs waiting for the writer at most; a connection that finds the queue full waits.
const QUEUE: usize = 4096;
/// Rows left in `recent_meter_values` before the writer moves them into `meter_values`: enough
/// for many readings per charger in each move, few enough to read past quickly.
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

struct Job {
    readings: Readings,
    done: oneshot::Sender<Result<Written, StoreError>>,
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
    jobs: mpsc::Sender<Job>,
}

impl Writer {
    /// Starts the writer task on the current runtime; it ends when every handle is dropped.
    pub fn spawn(store: Store) -> Writer {
        let (jobs, queue) = mpsc::channel(QUEUE);
        tokio::spawn(run(store, queue));
        Writer { jobs }
    }

    /// Writes `readings` and answers once they are committed.
    pub async fn write(&self, readings: Readings) -> Result<Written, StoreError> {
        let (done, answer) = oneshot::channel();
        // The writer stops only when the process does, with the pool it writes to.
        self.jobs.send(Job { readings, done }).await.map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?;
        answer.await.map_err(|_| StoreError::Database(sqlx::Error::PoolClosed))?
    }
}

async fn run(store: Store, mut queue: mpsc::Receiver<Job>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    // What an earlier run left is moved after the first batch; then the writer counts its own.
    let mut unsettled = SETTLE_AFTER_ROWS;
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
        unsettled += batch.iter().map(|j| j.readings.samples.len()).sum::<usize>();
        let jobs: Vec<&Readings> = batch.iter().map(|j| &j.readings).collect();
        match store.write_readings(&jobs).await {
            Ok(written) => {
                for (job, written) in batch.drain(..).zip(written) {
                    let _ = job.done.send(Ok(written));
                }
            }
            Err(e) if batch.len() == 1 => {
                let _ = batch.remove(0).done.send(Err(e));
            }
            Err(_) => {
                for job in batch.drain(..) {
                    let written = store.write_readings(&[&job.readings]).await.map(|w| w[0]);
                    let _ = job.done.send(written);
                }
            }
        }
        // After the answers: the batch that fills the table does not wait for the move.
        if unsettled >= SETTLE_AFTER_ROWS {
            // Tried again after as many rows more, not at every batch.
            if let Err(e) = store.settle_readings().await {
                tracing::error!(error = %e, "recent readings could not be moved; they stay readable where they are");
            }
            unsettled = 0;
        }
    }
}

impl Store {
    /// Writes the jobs in one transaction, with a handful of statements whatever their number.
    async fn write_readings(&self, jobs: &[&Readings]) -> Result<Vec<Written>, StoreError> {
        let mut tx = self.write().await?;
        let now = self.now();
        let rows: Vec<MeterRow> = jobs
            .iter()
            .flat_map(|j| {
                j.samples.iter().map(move |sample| MeterRow {
                    organization: j.organization,
                    chargestation: j.chargestation,
                    connector_id: j.connector_id,
                    transaction_id: Some(j.transaction_id),
                    sample,
                })
            })
            .collect();
        self.insert_meter_rows(&mut tx, self.backend.readings_table(), &rows, now).await?;
        let written = self.set_progress(&mut tx, jobs, now).await?;
        let mut heard: Vec<Id> = jobs.iter().map(|j| j.chargestation).collect();
        heard.sort_unstable();
        heard.dedup();
        for chunk in in_shapes(&heard) {
            let sql = format!(
                "UPDATE chargestations SET last_message_at = {} WHERE id IN ({}) AND (last_message_at IS NULL OR last_message_at < {})",
                self.backend.params(1, 1),
                self.backend.params(2, chunk.len()),
                self.backend.params(chunk.len() + 2, 1),
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now.millis());
            for cs in chunk {
                q = q.bind(cs.to_string());
            }
            q.bind(now.millis()).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Moves the readings written so far into `meter_values` (where they are not already).
    async fn settle_readings(&self) -> Result<(), StoreError> {
        if self.backend.settle_readings().is_empty() {
            return Ok(());
        }
        let mut tx = self.write().await?;
        for statement in self.backend.settle_readings() {
            sqlx::query(*statement).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Sets each session's cost and metrics (`store::progress`), if it still runs (an end or a
    /// pause committed meanwhile is never overwritten), and records the announcements asked
    /// for. A session changed by something else since its writer last knew it is told so:
    /// those (few) are looked at once more, one by one.
    async fn set_progress(&self, conn: &mut AnyConnection, jobs: &[&Readings], now: Timestamp) -> Result<Vec<Written>, StoreError> {
        let mut sets = Vec::with_capacity(jobs.len());
        for job in jobs {
            let p = &job.progress;
            sets.push(progress::Set {
                session: p.session,
                organization: job.organization,
                cost: serde_json::to_string(&p.cost).map_err(StoreError::corrupt)?,
                metrics: serde_json::to_string(&p.metrics).map_err(StoreError::corrupt)?,
                known: p.known_updated_at,
            });
        }
        let mut set = HashSet::with_capacity(jobs.len());
        for chunk in in_shapes(&sets) {
            set.extend(progress::set(conn, self.backend, chunk, now, true).await?);
        }
        let mut written = vec![Written { session_running: true, changed_elsewhere: false, updated_at: now }; jobs.len()];
        for (i, job) in sets.iter().enumerate().filter(|(_, s)| !set.contains(&s.session)) {
            let changed_at = progress::changed_at(conn, job.session).await?;
            let session_running = !progress::set(conn, self.backend, std::slice::from_ref(job), now, false).await?.is_empty();
            written[i] = Written {
                session_running,
                changed_elsewhere: progress::changed_since(changed_at, job.known),
                updated_at: if session_running { now } else { changed_at.unwrap_or(job.known) },
            };
        }
        for (job, written) in jobs.iter().zip(&written) {
            if written.session_running && job.progress.announce {
                let session: Session = documents::fetch(conn, job.organization, job.progress.session).await?;
                self.record(conn, job.organization, vec![NewEvent::of("session", "updated", &session).for_chargestation(job.chargestation)]).await?;
            }
        }
        Ok(written)
    }
}
