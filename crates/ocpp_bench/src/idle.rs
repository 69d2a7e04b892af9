//! `idle`: connected chargers that do nothing but heartbeat. Each boots and reports its
//! connector Available; then, for the window, each sends a Heartbeat every interval (spread over
//! the interval across the fleet, not all at once) and answers what the server asks. With
//! `--watch-pid`, the server's resident memory is read before the first charger connects and at
//! the end of the window, every charger still connected: the memory an idle connection costs
//! (`--first-message-bytes`: after one large message each).

use std::sync::Arc;
use std::time::Duration;

use tokio::time::Instant;

use crate::fleet::{ChargerArgs, Fleet, Gate};
use crate::link::{Link, Wake};
use crate::tally::{Summary, Tally};

const CONNECTOR: i64 = 1;
/// The interval when neither `--heartbeat` nor the server gives one.
const DEFAULT_HEARTBEAT_S: u64 = 300;

#[derive(clap::Args, Clone, Debug)]
pub struct IdleArgs {
    #[command(flatten)]
    pub chargers: ChargerArgs,
    /// Heartbeat interval, seconds, instead of the one BootNotification gives.
    #[arg(long, value_parser = clap::value_parser!(u64).range(1..))]
    pub heartbeat: Option<u64>,
    /// Each charger, once booted, sends one DataTransfer this large (bytes of its `data`)
    /// before it idles: what a server keeps of a connection's largest message.
    #[arg(long, default_value_t = 0)]
    pub first_message_bytes: usize,
}

pub async fn run(args: IdleArgs) -> Summary {
    let duration = args.chargers.duration();
    let shared = Arc::new(args.clone());
    let mut fleet = Fleet::start(args.chargers.chargers, &args.chargers.fleet, |i, gate| charger(i, shared.clone(), gate)).await;
    let window = fleet.go(duration);
    tokio::time::sleep_until(window.end).await;
    let ready = fleet.ready;
    let (results, usage) = fleet.finish().await;
    Summary::new("idle", args.chargers.chargers, ready, duration, results.into_iter().collect(), &usage)
}

async fn charger(i: u32, args: Arc<IdleArgs>, mut gate: Gate) -> Tally {
    let mut tally = Tally::default();
    let (mut link, given) = match Link::boot(args.chargers.fleet.url(i), &args.chargers.identity(i), CONNECTOR, "Available").await {
        Ok(booted) => booted,
        Err(f) => {
            tally.failed(&f);
            return tally;
        }
    };
    if args.first_message_bytes > 0 {
        let payload = serde_json::json!({"vendorId": "bench", "data": "x".repeat(args.first_message_bytes)}).to_string();
        if let Err(f) = link.call("DataTransfer", &payload).await {
            tally.failed(&f);
            return tally;
        }
    }
    let Some(window) = gate.ready().await else { return tally };
    let every = Duration::from_secs(args.heartbeat.or(given).unwrap_or(DEFAULT_HEARTBEAT_S));
    // Charger i's first heartbeat falls i/N of the way into the interval.
    let mut due = window.start + every.mul_f64(f64::from(i) / f64::from(args.chargers.chargers));
    loop {
        let outcome = match link.wait(&mut gate, Some(due)).await {
            Ok(Wake::Due) => {
                due += every;
                let sent = Instant::now();
                link.call("Heartbeat", "{}").await.map(|_| {
                    tally.answered(sent, Instant::now(), window.end);
                })
            }
            Ok(Wake::Served) => Ok(()),
            Ok(Wake::Stopped) => break,
            Err(f) => Err(f),
        };
        if let Err(f) = outcome {
            tally.failed(&f);
            break;
        }
    }
    link.close(&mut tally).await;
    tally
}
