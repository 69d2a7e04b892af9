//! Group commit for the readings of running sessions: one task writes the readings of many
//! connections in one database transaction and answers each only once that transaction has
//! committed. A durable commit (an fsync with SQLite's `synchronous = FULL`) is then shared by
//! every reading that arrived while the previous one was being made, so the rate of readings
//! is no longer the rate of commits.
//!
//! A batch that fails is written again one job per transaction, so that one bad job fails
//! alone. The work per reading is constant: its samples are inserted (many rows per statement),
//! its session's running cost and metrics are set in place, without reading the session's
//! history, and its chargestation's last message time is moved on (once per batch).

use domain::event::NewEvent;
use domain::session::{Metrics, Session};
use domain::{Id, Timestamp};
use serde_json::Value;
use sqlx::{AnyConnection, AssertSqlSafe};
use tokio::sync::{mpsc, oneshot};

use crate::charger::Sample;
use crate::documents;
use crate::{Store, StoreError};

/// Jobs written in one transaction at most: a full batch still commits within milliseconds.
const MAX_BATCH: usize = 1024;
/// Jobs waiting for the writer at most; a connection that finds the queue full waits.
const QUEUE: usize = 4096;
/// Sample rows per INSERT statement (12 parameters each, well within both backends' limits).
const ROWS_PER_INSERT: usize = 256;

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
    /// Writes the jobs in one transaction.
    async fn write_readings(&self, jobs: &[&Readings]) -> Result<Vec<Written>, StoreError> {
        let mut tx = self.write().await?;
        let now = self.now();
        let rows: Vec<(&Readings, &Sample)> = jobs.iter().flat_map(|j| j.samples.iter().map(move |s| (*j, s))).collect();
        for chunk in rows.chunks(ROWS_PER_INSERT) {
            self.insert_rows(&mut tx, chunk, now).await?;
        }
        let mut written = Vec::with_capacity(jobs.len());
        for job in jobs {
            written.push(self.set_progress(&mut tx, job, now).await?);
        }
        let mut heard: Vec<Id> = jobs.iter().map(|j| j.chargestation).collect();
        heard.sort_unstable();
        heard.dedup();
        for cs in heard {
            sqlx::query("UPDATE chargestations SET last_message_at = $2 WHERE id = $1 AND (last_message_at IS NULL OR last_message_at < $2)")
                .bind(cs.to_string())
                .bind(now.millis())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(written)
    }

    async fn insert_rows(&self, conn: &mut AnyConnection, rows: &[(&Readings, &Sample)], now: Timestamp) -> Result<(), StoreError> {
        let values: Vec<String> = (0..rows.len())
            .map(|r| {
                let p: Vec<String> = (1..=12).map(|c| format!("${}", r * 12 + c)).collect();
                format!("({})", p.join(", "))
            })
            .collect();
        let sql = format!(
            "INSERT INTO meter_values (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, measurand, phase, context, unit, value, created_at) VALUES {}",
            values.join(", ")
        );
        let mut q = sqlx::query(AssertSqlSafe(sql));
        for (job, s) in rows {
            q = q
                .bind(self.new_id().to_string())
                .bind(job.organization.to_string())
                .bind(job.chargestation.to_string())
                .bind(i64::from(job.connector_id))
                .bind(job.transaction_id)
                .bind(s.sampled_at.millis())
                .bind(s.measurand.clone())
                .bind(s.phase.clone())
                .bind(s.context.clone())
                .bind(s.unit.clone())
                .bind(s.value.clone())
                .bind(now.millis());
        }
        q.execute(conn).await?;
        Ok(())
    }

    /// Sets the session's cost, metrics and `updatedAt` in its stored JSON, if it still runs
    /// (an end or a pause committed meanwhile is never overwritten: only those fields change).
    async fn set_progress(&self, conn: &mut AnyConnection, job: &Readings, now: Timestamp) -> Result<Written, StoreError> {
        let p = &job.progress;
        let stored: Option<i64> = sqlx::query_scalar("SELECT updated_at FROM sessions WHERE id = $1 AND organization_id = $2")
            .bind(p.session.to_string())
            .bind(job.organization.to_string())
            .fetch_optional(&mut *conn)
            .await?;
        let changed_elsewhere = stored != Some(p.known_updated_at.millis());
        let cost = p.cost.as_ref().map_or_else(|| "null".to_string(), Value::to_string);
        let metrics = serde_json::to_string(&p.metrics).map_err(StoreError::corrupt)?;
        let updated = sqlx::query(AssertSqlSafe(self.backend.set_session_progress()))
            .bind(p.session.to_string())
            .bind(job.organization.to_string())
            .bind(cost)
            .bind(metrics)
            .bind(now.to_string())
            .bind(now.millis())
            .execute(&mut *conn)
            .await?;
        let session_running = updated.rows_affected() == 1;
        if session_running && p.announce {
            let session: Session = documents::fetch(conn, job.organization, p.session).await?;
            self.record(conn, job.organization, vec![NewEvent::of("session", "updated", &session).for_chargestation(job.chargestation)]).await?;
        }
        let updated_at = if session_running { now } else { Timestamp::from_millis(stored.unwrap_or_default()) };
        Ok(Written { session_running, changed_elsewhere, updated_at })
    }
}
