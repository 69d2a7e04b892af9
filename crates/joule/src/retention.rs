//! The retention runner: deletes expired rows (`Store::purge_expired`) in bounded batches, one
//! transaction each, so that it never holds the database for long.

use std::time::Duration;

use store::{Retention, Store};
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Rows of one kind deleted per transaction.
const BATCH: u32 = 1000;
/// How often to look for expired rows.
const INTERVAL: Duration = Duration::from_secs(3600);

/// Starts the runner; it ends once `stop` turns true, after the batch in progress.
pub fn spawn(store: Store, retention: Retention, mut stop: watch::Receiver<bool>) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            while !*stop.borrow() {
                match store.purge_expired(&retention, BATCH).await {
                    Ok(purged) if purged.full(BATCH) => {
                        tracing::debug!(?purged, "deleted expired rows; more are due");
                        // Let the other writers in between batches.
                        tokio::task::yield_now().await;
                    }
                    Ok(purged) => {
                        tracing::debug!(?purged, "deleted expired rows");
                        break;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "could not delete expired rows; trying again later");
                        break;
                    }
                }
            }
            tokio::select! {
                () = tokio::time::sleep(INTERVAL) => {}
                _ = stop.wait_for(|&stopped| stopped) => return,
            }
        }
    })
}
