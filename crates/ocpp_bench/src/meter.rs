//! `meter`: the ingest load. Each charger boots, reports its connector Preparing, starts a
//! transaction with its own identity as idTag (`prepare` registers a token for each), reports
//! Charging, and once every charger is there sends MeterValues for its transaction in a closed
//! loop (the next one the moment the last is answered) until the window closes. A reading
//! carries the time it is sent, the energy register grown at the charger's power since the
//! transaction started (Wh) and that power (W). The rate of every whole 10 s of the window is
//! kept too, so that a long run shows whether the server slows down as sessions grow.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep_until};

use crate::fleet::{ChargerArgs, Fleet, Gate, Window};
use crate::link::{self, Failure, Link};
use crate::tally::{Summary, Tally};

const CONNECTOR: i64 = 1;
const STEP: Duration = Duration::from_secs(10);

pub async fn run(args: ChargerArgs) -> Summary {
    let duration = args.duration();
    let shared = Arc::new(args.clone());
    let answered = Arc::new(AtomicU64::new(0));
    let mut fleet = Fleet::start(args.chargers, &args.fleet, |i, gate| charger(i, shared.clone(), answered.clone(), gate)).await;
    let window = fleet.go(duration);
    let step_rates = step_rates(&answered, window).await;
    let ready = fleet.ready;
    let (results, usage) = fleet.finish().await;
    let mut summary = Summary::new("meter", args.chargers, ready, duration, results.into_iter().collect(), &usage);
    summary.step_rates = step_rates;
    summary
}

/// The rate of each whole [`STEP`] of the window, shown as it goes; returns at the window's end.
async fn step_rates(answered: &AtomicU64, window: Window) -> Vec<f64> {
    let (mut rates, mut before, mut at) = (Vec::new(), 0, window.start + STEP);
    while at <= window.end {
        sleep_until(at).await;
        let now = answered.load(Ordering::Relaxed);
        rates.push((now - before) as f64 / STEP.as_secs_f64());
        eprintln!("[{:>4.0}s] {:.0} MeterValues/s", (at - window.start).as_secs_f64(), rates[rates.len() - 1]);
        (before, at) = (now, at + STEP);
    }
    sleep_until(window.end).await;
    rates
}

/// A charger's power, W: from 3.7 to 22 kW across the fleet, as AC chargers deliver.
fn power_w(i: u32) -> u32 {
    3_700 + (i % 16) * 1_100
}

async fn charger(i: u32, args: Arc<ChargerArgs>, answered: Arc<AtomicU64>, mut gate: Gate) -> Tally {
    let mut tally = Tally::default();
    let identity = args.identity(i);
    let power = power_w(i);
    // A register that has counted a few years of use already.
    let meter_start = 1_000_000 + u64::from(i) * 7_919;
    let v201 = args.protocol == "ocpp2.0.1";
    let setup = async {
        if v201 {
            // The charger names the transaction; the reading in Started is its meter start.
            let mut link = Link::boot_201(args.fleet.url(i), &identity, "Occupied").await?;
            let started_at = Instant::now();
            link.call("TransactionEvent", &link::transaction_event_201("Started", &identity, 0, meter_start, power)).await?;
            return Ok::<_, Failure>((link, 0, started_at));
        }
        let (mut link, _) = Link::boot(args.fleet.url(i), &identity, CONNECTOR, "Preparing").await?;
        let started_at = Instant::now();
        let answer = link.call("StartTransaction", &link::start_transaction(CONNECTOR, &identity, meter_start)).await?;
        let transaction = link::started(&answer, i64::from(i) + 1)?;
        link.call("StatusNotification", &link::status_notification(CONNECTOR, "Charging")).await?;
        Ok::<_, Failure>((link, transaction, started_at))
    };
    let (mut link, transaction, started_at) = match setup.await {
        Ok(started) => started,
        Err(f) => {
            tally.failed(&f);
            return tally;
        }
    };
    let Some(window) = gate.ready().await else { return tally };
    let mut seq_no = 0;
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            break;
        }
        let register = meter_start + u64::from(power) * (sent - started_at).as_millis() as u64 / 3_600_000;
        let call = if v201 {
            seq_no += 1;
            link.call("TransactionEvent", &link::transaction_event_201("Updated", &identity, seq_no, register, power)).await
        } else {
            link.call("MeterValues", &link::meter_values(CONNECTOR, transaction, register, power)).await
        };
        match call {
            Ok(_) => {
                if tally.answered(sent, Instant::now(), window.end) {
                    answered.fetch_add(1, Ordering::Relaxed);
                }
            }
            // A CALLERROR is an answer: the charger goes on.
            Err(f @ Failure::CallError { .. }) => tally.failed(&f),
            Err(f) => {
                tally.failed(&f);
                break;
            }
        }
    }
    link.close(&mut tally).await;
    tally
}
