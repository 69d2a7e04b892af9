//! `boot-storm`: the whole fleet connects at once, as it does when a node comes back after an
//! outage. Each charger connects (a 503 is tried again after a second or two, as chargers do),
//! boots and reports its connector Available; it is up once both are answered and its boot was
//! Accepted. Measured: how long each charger took to be up from the storm's start (the last one
//! is the storm's length) and, throughout the storm, the latency of `GET /healthz` and of an
//! ordinary API call (`GET /v1.1/chargestations`), asked one after the other.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::watch;
use tokio::time::{Instant, MissedTickBehavior, interval};

use crate::fleet::{ChargerArgs, Fleet, Gate};
use crate::link::{Failure, Link, Wake};
use crate::prepare::{Api, Plan};
use crate::tally::{Summary, Tally, percentile};
use crate::usage::Stopwatch;

const CONNECTOR: i64 = 1;
/// How often the API is asked during the storm: each probe is a `GET /healthz` and an API call.
const PROBE_EVERY: Duration = Duration::from_millis(20);

#[derive(clap::Args, Clone, Debug)]
pub struct StormArgs {
    #[command(flatten)]
    pub chargers: ChargerArgs,
    /// Joule's HTTP base URL, asked during the storm; a server without an API (the echo) is
    /// stormed without it.
    #[arg(long, requires = "plan")]
    pub api: Option<String>,
    /// The file holding what `prepare` printed: the API key the API call is made with.
    #[arg(long, requires = "api")]
    pub plan: Option<PathBuf>,
}

/// The latencies of one kind of probe request.
#[derive(Serialize, Debug, Default, PartialEq)]
pub struct Probed {
    pub requests: usize,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Requests that failed or were answered with anything but a 200.
    pub failures: usize,
    pub last_failure: Option<String>,
}

impl Probed {
    fn of(mut latencies_us: Vec<u32>, failures: Vec<String>) -> Probed {
        latencies_us.sort_unstable();
        let ms = |us: Option<&u32>| us.map_or(0.0, |&us| f64::from(us) / 1000.0);
        Probed {
            requests: latencies_us.len(),
            p50_ms: ms(percentile(&latencies_us, 0.50)),
            p99_ms: ms(percentile(&latencies_us, 0.99)),
            max_ms: ms(latencies_us.last()),
            failures: failures.len(),
            last_failure: failures.last().cloned(),
        }
    }
}

pub async fn run(args: StormArgs) -> anyhow::Result<Summary> {
    let api = match (&args.api, &args.plan) {
        (Some(api), Some(plan)) => Some(Api::new(api, &serde_json::from_slice::<Plan>(&std::fs::read(plan)?)?.api_key)),
        _ => None,
    };
    let count = args.chargers.chargers;
    let shared = Arc::new(args.chargers.clone());
    let (storm_over, over) = watch::channel(false);
    // On a thread and runtime of its own: on the chargers' runtime, busy with thousands of
    // them, the probe measured its own wait for a turn (seconds), not the server.
    let probes = api.map(|api| {
        std::thread::spawn(move || tokio::runtime::Builder::new_current_thread().enable_all().build().map(|runtime| runtime.block_on(probe(api, over))))
    });

    let watched = args.chargers.fleet.watched();
    let storm = Stopwatch::start(&watched, watched.rss_kib());
    let start = Instant::now();
    let mut fleet = Fleet::start(count, &args.chargers.fleet, |i, gate| charger(i, start, shared.clone(), gate)).await;
    let usage = storm.stop();
    let lasted = start.elapsed();
    storm_over.send_replace(true);
    let probed = match probes {
        Some(probes) => Some(tokio::task::spawn_blocking(move || probes.join()).await?.map_err(|_| anyhow::anyhow!("the API probe panicked"))??),
        None => None,
    };
    fleet.go(Duration::ZERO);
    let ready = fleet.ready;
    let (results, _) = fleet.finish().await;
    let mut summary = Summary::new("boot-storm", count, ready, lasted, results.into_iter().collect(), &usage);
    if let Some((healthz, api_call)) = probed {
        summary.healthz = Some(healthz);
        summary.api_call = Some(api_call);
    }
    Ok(summary)
}

/// Asks the API every [`PROBE_EVERY`] until the storm is over: the health check, then a page of
/// chargestations, one after the other on one keep-alive connection, as an application's
/// client would (a client that opens a connection for each request also waits for the
/// listener's queue, which a storm fills); answers the latencies of each.
async fn probe(api: Api, mut over: watch::Receiver<bool>) -> (Probed, Probed) {
    let mut ticks = interval(PROBE_EVERY);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let (mut health, mut calls) = (Timings::default(), Timings::default());
    let mut connection = None;
    loop {
        tokio::select! {
            _ = over.changed() => break,
            _ = ticks.tick() => {}
        }
        health.time(&api, &mut connection, "/healthz", None).await;
        calls.time(&api, &mut connection, "/v1.1/chargestations?limit=20", Some(&api.token)).await;
    }
    (health.probed(), calls.probed())
}

/// The latencies of the answered requests of one kind, and why the others failed.
#[derive(Default)]
struct Timings {
    latencies_us: Vec<u32>,
    failures: Vec<String>,
}

type Connection = hyper::client::conn::http1::SendRequest<http_body_util::Empty<hyper::body::Bytes>>;

impl Timings {
    /// Sends `GET path` on the connection (opened first if there is none) and reads its whole
    /// answer; keeps its latency if it was a 200. A connection that failed is opened again for
    /// the next request.
    async fn time(&mut self, api: &Api, connection: &mut Option<Connection>, path: &str, token: Option<&str>) {
        let sent = Instant::now();
        match get(api, connection, path, token).await {
            Ok(()) => self.latencies_us.push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX)),
            Err(failure) => {
                *connection = None;
                self.failures.push(failure);
            }
        }
    }

    fn probed(self) -> Probed {
        Probed::of(self.latencies_us, self.failures)
    }
}

async fn get(api: &Api, connection: &mut Option<Connection>, path: &str, token: Option<&str>) -> Result<(), String> {
    use http_body_util::BodyExt;

    let url: hyper::Uri = format!("{}{path}", api.base).parse().map_err(|e| format!("{e}"))?;
    let authority = url.authority().ok_or("the API's URL has no host")?.clone();
    if connection.is_none() {
        let stream = tokio::net::TcpStream::connect(authority.as_str()).await.map_err(|e| e.to_string())?;
        let (sender, driver) = hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
        tokio::spawn(driver);
        *connection = Some(sender);
    }
    let sender = connection.as_mut().ok_or("no connection")?;
    let mut request = hyper::Request::get(url.path_and_query().map_or("/", |p| p.as_str())).header(hyper::header::HOST, authority.as_str());
    if let Some(token) = token {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request.body(http_body_util::Empty::new()).map_err(|e| e.to_string())?;
    sender.ready().await.map_err(|e| e.to_string())?;
    let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.into_body().collect().await.map_err(|e| e.to_string())?.to_bytes();
    if status.is_success() { Ok(()) } else { Err(format!("{status}: {}", String::from_utf8_lossy(&body))) }
}

async fn charger(i: u32, start: Instant, args: Arc<ChargerArgs>, mut gate: Gate) -> Tally {
    let mut tally = Tally::default();
    let mut link = match Link::boot(args.fleet.url(i), &args.identity(i), CONNECTOR, "Available").await {
        Ok((link, _)) => link,
        Err(f) => {
            tally.failed(&f);
            return tally;
        }
    };
    // Counted as answered whenever it comes: the storm lasts until the last charger is up.
    let now = Instant::now();
    tally.answered(start, now, now);
    if gate.ready().await.is_none() {
        return tally;
    }
    loop {
        match link.wait(&mut gate, None).await {
            Ok(Wake::Stopped) => break,
            Ok(_) => {}
            Err(f) => {
                tally.failed(&Failure::Closed(format!("after the storm: {f}")));
                break;
            }
        }
    }
    link.close(&mut tally).await;
    tally
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_are_summed_up_by_percentile_and_failures_kept() {
        let probed = Probed::of((1..=100).rev().map(|ms| ms * 1000).collect(), vec!["503: busy".into()]);
        assert_eq!((probed.requests, probed.p50_ms, probed.p99_ms, probed.max_ms), (100, 50.0, 99.0, 100.0));
        assert_eq!((probed.failures, probed.last_failure.as_deref()), (1, Some("503: busy")));
        assert_eq!(Probed::of(Vec::new(), Vec::new()), Probed::default());
    }
}
