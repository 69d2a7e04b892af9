//! `wallet-start`: wallet sessions started through the API, open loop. The chargers `prepare
//! --wallets` registered connect, boot and report Available; then `POST /v1.1/sessions` goes out
//! at a fixed rate, one start per connector, whatever the answers before it did. Each charger
//! accepts the RemoteStartTransaction that follows and sends StartTransaction with the idTag it
//! was given.
//!
//! What the latency measures is the HTTP request alone, from when it was due (so a generator or
//! server that falls behind shows up as latency instead of a slower rate) to its whole answer:
//! Joule answers before it asks the charger to start (SPEC section 12 leaves the charger's
//! round trip out). The chargers' side still loads the server meanwhile; `started` counts the
//! StartTransactions the server accepted.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::{Instant, interval_at};

use crate::fleet::{Fleet, FleetArgs, Gate};
use crate::link::{self, CALL_TIMEOUT, Failure, Link, RemoteStart, Wake};
use crate::prepare::{Api, Plan};
use crate::tally::{Summary, Tally};

const CONNECTOR: i64 = 1;
const METER_START_WH: u64 = 1_000_000;

#[derive(clap::Args, Clone, Debug)]
pub struct WalletArgs {
    #[command(flatten)]
    pub fleet: FleetArgs,
    /// Joule's HTTP base URL.
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    pub api: String,
    /// The file holding what `prepare --wallets` printed.
    #[arg(long)]
    pub plan: PathBuf,
    /// Session starts per second.
    #[arg(long, default_value_t = 200, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub rate: u32,
    /// How long starts go out, seconds; at most one per charger in the plan.
    #[arg(long, default_value_t = 10.0)]
    pub duration: f64,
}

pub async fn run(args: WalletArgs) -> anyhow::Result<Summary> {
    let plan: Plan = serde_json::from_slice(&std::fs::read(&args.plan)?)?;
    anyhow::ensure!(plan.chargers.iter().all(|c| c.user.is_some()), "the plan has no drivers: run `prepare --wallets`");
    let count = plan.chargers.len() as u32;
    let duration = Duration::from_secs_f64(args.duration);
    let starts = (count as usize).min((f64::from(args.rate) * args.duration).round() as usize);
    let (started_tx, mut started) = watch::channel(0u64);
    let started_tx = Arc::new(started_tx);
    let endpoints: Arc<Vec<String>> = Arc::new(plan.chargers.iter().map(|c| c.endpoint.clone()).collect());
    let mut fleet =
        Fleet::start(count, &args.fleet, |i, gate| charger(args.fleet.url(i).to_string(), endpoints[i as usize].clone(), started_tx.clone(), gate)).await;

    let api = Api::new(&args.api, &plan.api_key);
    let window = fleet.go(duration);
    let mut due = interval_at(window.start, Duration::from_secs(1) / args.rate);
    let mut requests = JoinSet::new();
    for registered in plan.chargers.iter().take(starts) {
        let at = due.tick().await;
        let request = api.post_request("/v1.1/sessions", &json!({ "type": "wallet", "connector": registered.connector, "user": registered.user }));
        requests.spawn(async move {
            let outcome = start(request).await;
            (at, Instant::now(), outcome)
        });
    }
    let mut tally = Tally::default();
    let mut accepted = 0;
    while let Some(done) = requests.join_next().await {
        match done {
            Ok((at, answered, Ok(()))) => {
                tally.answered(at, answered, window.end);
                accepted += 1;
            }
            Ok((_, _, Err(f))) => tally.failed(&f),
            Err(e) => tally.failed(&Failure::Closed(format!("a request's task failed: {e}"))),
        }
    }
    // The chargers' StartTransactions are not measured, but every accepted start should
    // become one before the chargers go.
    let _ = tokio::time::timeout(CALL_TIMEOUT, started.wait_for(|&n| n >= accepted)).await;
    let ready = fleet.ready;
    let (results, usage) = fleet.finish().await;
    tally.merge(results.into_iter().collect());
    tally.started = *started.borrow();
    Ok(Summary::new("wallet-start", count, ready, duration, tally, &usage))
}

/// One `POST /v1.1/sessions`, read to its end; anything but a 200 is a refusal.
async fn start(request: reqwest::RequestBuilder) -> Result<(), Failure> {
    let lost = |e: reqwest::Error| if e.is_timeout() { Failure::Timeout } else { Failure::Closed(e.to_string()) };
    let response = request.send().await.map_err(lost)?;
    let status = response.status();
    let body = response.text().await.map_err(lost)?;
    if status.is_success() { Ok(()) } else { Err(Failure::Refused(format!("POST /v1.1/sessions {status}: {body}"))) }
}

async fn charger(url: String, identity: String, started: Arc<watch::Sender<u64>>, mut gate: Gate) -> Tally {
    let mut tally = Tally::default();
    let (mut link, _) = match Link::boot(&url, &identity, CONNECTOR, "Available").await {
        Ok(booted) => booted,
        Err(f) => {
            tally.failed(&f);
            return tally;
        }
    };
    if gate.ready().await.is_none() {
        return tally;
    }
    loop {
        while let Some(remote) = link.remote_starts.pop_front() {
            match start_transaction(&mut link, remote).await {
                Ok(()) => started.send_modify(|n| *n += 1),
                Err(f @ (Failure::CallError { .. } | Failure::Refused(_))) => tally.failed(&f),
                Err(f) => {
                    tally.failed(&f);
                    link.close(&mut tally).await;
                    return tally;
                }
            }
        }
        match link.wait(&mut gate, None).await {
            Ok(Wake::Stopped) => break,
            Ok(_) => {}
            Err(f) => {
                tally.failed(&f);
                break;
            }
        }
    }
    link.close(&mut tally).await;
    tally
}

/// What a charger does once it accepted a remote start: StartTransaction with the idTag it was
/// given.
async fn start_transaction(link: &mut Link, remote: RemoteStart) -> Result<(), Failure> {
    let answer = link.call("StartTransaction", &link::start_transaction(remote.connector_id, &remote.id_tag, METER_START_WH)).await?;
    link::started(&answer, 0).map(drop)
}
