//! N chargers, each a task, connected at a bounded rate and set up (boot, status, a
//! transaction...) before anything is measured; then released together into the measured
//! window, and stopped together at the end.

use std::future::Future;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior, interval, interval_at};

use crate::usage::{Stopwatch, Usage, Watched};

/// How long chargers have to connect and set up before the window opens without the late ones.
const SETUP_TIMEOUT: Duration = Duration::from_secs(300);
const PROGRESS_EVERY: Duration = Duration::from_secs(5);

/// Where and how fast the chargers connect.
#[derive(clap::Args, Clone, Debug)]
pub struct FleetArgs {
    /// The server's OCPP base URL; charger i connects to {url}/{prefix}{i}. Several, separated
    /// by commas (one per node): charger i connects to the (i mod n)th.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ocpp", value_delimiter = ',')]
    pub url: Vec<String>,
    /// New connections per second, so that the server's accept queue keeps up.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub connect_rate: u32,
    /// The server's process id (several, separated by commas: one per node): its CPU time and
    /// resident memory are reported too.
    #[arg(long, value_delimiter = ',')]
    pub watch_pid: Vec<u32>,
    /// The database's processes' name (`postgres`): their CPU time is reported too.
    #[arg(long)]
    pub watch_database: Option<String>,
}

impl FleetArgs {
    /// Where charger `i` connects.
    pub fn url(&self, i: u32) -> &str {
        &self.url[i as usize % self.url.len()]
    }

    pub fn watched(&self) -> Watched {
        Watched { servers: self.watch_pid.clone(), database: self.watch_database.clone() }
    }
}

/// The chargers of a run that registers them by name: `meter` and `idle`.
#[derive(clap::Args, Clone, Debug)]
pub struct ChargerArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// How many chargers.
    #[arg(long, default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub chargers: u32,
    /// Chargers are {prefix}1, {prefix}2, …, and so are their idTags.
    #[arg(long, default_value = "CS-")]
    pub prefix: String,
    /// Length of the measured window, seconds.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
    /// The OCPP version the chargers speak (`meter` mode): `ocpp1.6` or `ocpp2.0.1`.
    #[arg(long, default_value = "ocpp1.6", value_parser = ["ocpp1.6", "ocpp2.0.1"])]
    pub protocol: String,
}

impl ChargerArgs {
    /// Charger `i`'s identity (from 0; identities count from 1).
    pub fn identity(&self, i: u32) -> String {
        format!("{}{}", self.prefix, i + 1)
    }

    pub fn duration(&self) -> Duration {
        Duration::from_secs_f64(self.duration)
    }
}

/// The measured window: from when every charger was set up, for the run's duration.
#[derive(Clone, Copy, Debug)]
pub struct Window {
    pub start: Instant,
    pub end: Instant,
}

/// A charger's side of the fleet: it says when it is set up, waits for the window, and hears
/// when the run is over. A charger that fails before it is ready is counted out when its gate
/// is dropped.
pub struct Gate {
    ready: mpsc::UnboundedSender<bool>,
    go: watch::Receiver<Option<Window>>,
    stop: watch::Receiver<bool>,
    reported: bool,
}

impl Gate {
    /// This charger is set up: waits for the window (`None` if the run ended first).
    pub async fn ready(&mut self) -> Option<Window> {
        self.reported = true;
        let _ = self.ready.send(true);
        tokio::select! {
            // The window is opened before the run can end: a charger that sees both takes part.
            biased;
            window = self.go.wait_for(Option::is_some) => window.ok().and_then(|w| *w),
            _ = self.stop.wait_for(|&stop| stop) => None,
        }
    }

    /// Resolves when the run is over.
    pub async fn stopped(&mut self) {
        let _ = self.stop.wait_for(|&stop| stop).await;
    }
}

impl Drop for Gate {
    fn drop(&mut self) {
        if !self.reported {
            let _ = self.ready.send(false);
        }
    }
}

pub struct Fleet<R> {
    chargers: Vec<JoinHandle<R>>,
    go: watch::Sender<Option<Window>>,
    stop: watch::Sender<bool>,
    pub ready: u32,
    watched: Watched,
    rss_before_kib: Option<u64>,
    stopwatch: Option<Stopwatch>,
}

impl<R: Send + 'static> Fleet<R> {
    /// Starts `count` chargers, `charger(i, gate)` for i in 0..count, at `args.connect_rate` a
    /// second, and returns once each is set up or has failed.
    pub async fn start<F, Fut>(count: u32, args: &FleetArgs, charger: F) -> Fleet<R>
    where
        F: Fn(u32, Gate) -> Fut,
        Fut: Future<Output = R> + Send + 'static,
    {
        let watched = args.watched();
        let rss_before_kib = watched.rss_kib();
        let (ready_tx, mut ready_rx) = mpsc::unbounded_channel();
        let (go, go_rx) = watch::channel(None);
        let (stop, stop_rx) = watch::channel(false);
        let mut pace = interval(Duration::from_secs(1) / args.connect_rate);
        pace.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut chargers = Vec::with_capacity(count as usize);
        let (mut ready, mut reported) = (0, 0);
        let deadline = tokio::time::sleep(SETUP_TIMEOUT);
        tokio::pin!(deadline);
        let mut progress = interval_at(Instant::now() + PROGRESS_EVERY, PROGRESS_EVERY);
        while reported < count {
            tokio::select! {
                _ = pace.tick(), if chargers.len() < count as usize => {
                    let gate = Gate { ready: ready_tx.clone(), go: go_rx.clone(), stop: stop_rx.clone(), reported: false };
                    chargers.push(tokio::spawn(charger(chargers.len() as u32, gate)));
                }
                Some(ok) = ready_rx.recv() => {
                    reported += 1;
                    ready += u32::from(ok);
                }
                _ = progress.tick() => eprintln!("setting up: {} started, {ready} ready, {} failed", chargers.len(), reported - ready),
                _ = &mut deadline => {
                    eprintln!("setup timed out after {}s: {ready} of {count} ready", SETUP_TIMEOUT.as_secs());
                    break;
                }
            }
        }
        eprintln!("{ready} of {count} chargers ready");
        Fleet { chargers, go, stop, ready, watched, rss_before_kib, stopwatch: None }
    }

    /// Opens the measured window for `duration`, from now; what the run costs is measured from
    /// here.
    pub fn go(&mut self, duration: Duration) -> Window {
        self.stopwatch = Some(Stopwatch::start(&self.watched, self.rss_before_kib));
        let start = Instant::now();
        let window = Window { start, end: start + duration };
        self.go.send_replace(Some(window));
        window
    }

    /// Ends the measured part of the run (what it cost is read now, every charger still
    /// connected), then the run, and waits for every charger's result.
    pub async fn finish(self) -> (Vec<R>, Usage) {
        let usage = self.stopwatch.as_ref().map(Stopwatch::stop).unwrap_or_default();
        self.stop.send_replace(true);
        let mut results = Vec::with_capacity(self.chargers.len());
        for charger in self.chargers {
            match charger.await {
                Ok(result) => results.push(result),
                Err(e) => eprintln!("a charger task failed: {e}"),
            }
        }
        (results, usage)
    }
}
