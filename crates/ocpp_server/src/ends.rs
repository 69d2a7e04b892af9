//! Connection ends, recorded in batches. A fleet that loses its network drops thousands of
//! connections at once; each recording its end (`chargestation.offline`) in a transaction of
//! its own queued them on the database for seconds. Connections hand their end to one task,
//! which records whatever has gathered in one go (`Store::connections_ended`).

use domain::{Id, Timestamp};
use store::Store;
use tokio::sync::{mpsc, oneshot};

/// Ends recorded in one go at most.
const BATCH: usize = 500;

enum Work {
    End(Id, Id, Timestamp),
    /// Answered once every end handed over before it is recorded.
    Flush(oneshot::Sender<()>),
}

/// The handle connections hand their ends to.
#[derive(Clone)]
pub struct Ends {
    work: mpsc::UnboundedSender<Work>,
}

impl Ends {
    /// Starts the recording task; it ends when every handle is dropped.
    pub fn spawn(store: Store) -> Ends {
        let (work, mut queue) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            let mut ends = Vec::with_capacity(BATCH);
            let mut flushes = Vec::new();
            while queue.recv_many(&mut batch, BATCH).await > 0 {
                for work in batch.drain(..) {
                    match work {
                        Work::End(org, cs, at) => ends.push((org, cs, at)),
                        Work::Flush(done) => flushes.push(done),
                    }
                }
                if !ends.is_empty()
                    && let Err(e) = store.connections_ended(&ends).await
                {
                    tracing::error!(error = %e, chargers = ends.len(), "could not record the ends of charger connections; the next start does");
                }
                ends.clear();
                for done in flushes.drain(..) {
                    let _ = done.send(());
                }
            }
        });
        Ends { work }
    }

    /// Hands over the end of the organization's chargestation's connection, at `at`.
    pub fn record(&self, org: Id, cs: Id, at: Timestamp) {
        let _ = self.work.send(Work::End(org, cs, at));
    }

    /// Waits until every end handed over so far is recorded.
    pub async fn flush(&self) {
        let (done, flushed) = oneshot::channel();
        if self.work.send(Work::Flush(done)).is_ok() {
            let _ = flushed.await;
        }
    }
}
