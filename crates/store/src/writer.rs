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

use std::collections::{HashMap, HashSet};

use domain::event::NewEvent;
use domain::session::{Metrics, Session};
use domain::{Id, Timestamp};
use serde_json::Value;
use sqlx::{AnyConnection, AssertSqlSafe, Row};
use tokio::sync::{mpsc, oneshot};

use crate::charger::{MeterRow, Sample, placeholders};
use crate::documents;
use crate::{Store, StoreError};

/// Jobs written in one transaction at most: a full batch still commits within milliseconds.
const MAX_BATCH: usize = 1024;
/// Jobs waiting for the writer at most; a connection that finds the queue full waits.
const QUEUE: usize = 4096;
/// Sessions or chargestations per statement (5 parameters each at most): small, as the sample
/// rows per INSERT are (`charger::ROWS_PER_INSERT`).
const JOBS_PER_STATEMENT: usize = 64;

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
    pub cost: Option<Value>,
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
    while queue.recv_many(&mut batch, MAX_BATCH).await > 0 {
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
        self.insert_meter_rows(&mut tx, &rows, now).await?;
        let mut written = Vec::with_capacity(jobs.len());
        for chunk in jobs.chunks(JOBS_PER_STATEMENT) {
            written.extend(self.set_progress(&mut tx, chunk, now).await?);
        }
        let mut heard: Vec<String> = jobs.iter().map(|j| j.chargestation.to_string()).collect();
        heard.sort_unstable();
        heard.dedup();
        for chunk in heard.chunks(JOBS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE chargestations SET last_message_at = $1 WHERE id IN ({}) AND (last_message_at IS NULL OR last_message_at < $1)",
                placeholders(2, chunk.len())
            );
            let mut q = sqlx::query(AssertSqlSafe(sql)).bind(now.millis());
            for cs in chunk {
                q = q.bind(cs.clone());
            }
            q.execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    /// Sets each session's cost, metrics and `updatedAt` in its stored JSON, if it still runs
    /// (an end or a pause committed meanwhile is never overwritten: only those fields change),
    /// and records the announcements asked for.
    async fn set_progress(&self, conn: &mut AnyConnection, jobs: &[&Readings], now: Timestamp) -> Result<Vec<Written>, StoreError> {
        let ids: Vec<String> = jobs.iter().map(|j| j.progress.session.to_string()).collect();
        let sql = format!("SELECT id, updated_at FROM sessions WHERE id IN ({})", placeholders(1, ids.len()));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for id in &ids {
            q = q.bind(id.clone());
        }
        let mut stored = HashMap::with_capacity(ids.len());
        for row in q.fetch_all(&mut *conn).await? {
            stored.insert(row.try_get::<String, _>("id")?, row.try_get::<i64, _>("updated_at")?);
        }

        let rows: Vec<String> = (0..jobs.len()).map(|r| format!("({})", placeholders(r * 5 + 1, 5))).collect();
        let sql = self.backend.set_sessions_progress(&rows.join(", "));
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for job in jobs {
            let p = &job.progress;
            q = q
                .bind(p.session.to_string())
                .bind(job.organization.to_string())
                .bind(p.cost.as_ref().map_or_else(|| "null".to_string(), Value::to_string))
                .bind(serde_json::to_string(&p.metrics).map_err(StoreError::corrupt)?)
                .bind(now.to_string());
        }
        let mut running = HashSet::with_capacity(jobs.len());
        for row in q.bind(now.millis()).fetch_all(&mut *conn).await? {
            running.insert(row.try_get::<String, _>("id")?);
        }

        let mut written = Vec::with_capacity(jobs.len());
        let mut announced = Vec::new();
        for (job, id) in jobs.iter().zip(&ids) {
            let p = &job.progress;
            let before = stored.get(id).copied();
            let session_running = running.contains(id);
            if session_running && p.announce {
                announced.push(*job);
            }
            let updated_at = if session_running { now } else { Timestamp::from_millis(before.unwrap_or_default()) };
            written.push(Written { session_running, changed_elsewhere: before != Some(p.known_updated_at.millis()), updated_at });
        }
        for job in announced {
            let session: Session = documents::fetch(conn, job.organization, job.progress.session).await?;
            self.record(conn, job.organization, vec![NewEvent::of("session", "updated", &session).for_chargestation(job.chargestation)]).await?;
        }
        Ok(written)
    }
}
