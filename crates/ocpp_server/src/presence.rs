//! What connections say about their chargestations, written in batches: that they connected
//! and disconnected, their boots and their status notifications. A fleet that comes back after
//! an outage connects, boots and reports its status all at once, and one that loses its network
//! disconnects all at once; one transaction each kept the database busy for a minute while the
//! API waited. Connections hand their changes to one task, which writes whatever has gathered
//! in one go (`Store::record_presence`) while the next batch gathers. A connection waits for
//! its change's outcome (a boot's is the registration to answer), except for its end, which
//! nobody waits for.

use domain::{Id, Timestamp};
use store::{Applied, Presence, PresenceChange, Store, StoreError};
use tokio::sync::{mpsc, oneshot};

/// Changes written in one go at most.
const BATCH: usize = 500;

type Reply = oneshot::Sender<Result<Applied, StoreError>>;

enum Work {
    /// A change, and who waits for its outcome.
    Change(PresenceChange, Option<Reply>),
    /// Answered once every change handed over before it is written.
    Flush(oneshot::Sender<()>),
}

/// The handle connections hand their changes to.
#[derive(Clone)]
pub struct Recorder {
    work: mpsc::UnboundedSender<Work>,
    /// This node: the connections that end are its own.
    node: Id,
}

impl Recorder {
    /// Starts the writing task; it ends when every handle is dropped.
    pub fn spawn(store: Store) -> Recorder {
        let node = store.node();
        let (work, mut queue) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let (mut changes, mut replies, mut flushes) = (Vec::with_capacity(BATCH), Vec::with_capacity(BATCH), Vec::new());
            while queue.recv_many(&mut batch, BATCH).await > 0 {
                for work in batch.drain(..) {
                    match work {
                        Work::Change(change, reply) => {
                            changes.push(change);
                            replies.push(reply);
                        }
                        Work::Flush(done) => flushes.push(done),
                    }
                }
                if !changes.is_empty() {
                    for (reply, answer) in replies.drain(..).zip(write(&store, &changes).await) {
                        match (reply, answer) {
                            (Some(reply), answer) => drop(reply.send(answer)),
                            // A chargestation deleted while connected has no end to record.
                            (None, Ok(_) | Err(StoreError::NotFound(_))) => {}
                            (None, Err(e)) => tracing::error!(error = %e, "could not record the end of a charger connection; the next start does"),
                        }
                    }
                    changes.clear();
                }
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
        });
        Recorder { work, node }
    }

    /// Writes the change with the next batch and answers its outcome.
    pub async fn record(&self, organization: Id, chargestation: Id, change: Presence) -> Result<Applied, StoreError> {
        let (reply, outcome) = oneshot::channel();
        let change = PresenceChange { organization, chargestation, change };
        self.work.send(Work::Change(change, Some(reply))).map_err(|_| StoreError::closed())?;
        outcome.await.map_err(|_| StoreError::closed())?
    }

    /// Hands over the end of the organization's chargestation's connection, at `at`.
    pub fn ended(&self, organization: Id, chargestation: Id, at: Timestamp) {
        let _ = self.work.send(Work::Change(PresenceChange { organization, chargestation, change: Presence::Disconnected { at, node: self.node } }, None));
    }

    /// Waits until every change handed over so far is written.
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.work.send(Work::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}

/// Writes a batch; if it fails as a whole, each change alone, so that one bad change fails
/// alone.
async fn write(store: &Store, changes: &[PresenceChange]) -> Vec<Result<Applied, StoreError>> {
    match store.record_presence(changes).await {
        Ok(answers) => answers,
        Err(e) if changes.len() > 1 => {
            tracing::warn!(error = %e, changes = changes.len(), "a batch of chargestation changes failed; writing them one by one");
            let mut answers = Vec::with_capacity(changes.len());
            for c in changes {
                answers.push(store.record_change(c.organization, c.chargestation, c.change.clone()).await);
            }
            answers
        }
        Err(e) => vec![Err(e)],
    }
}
