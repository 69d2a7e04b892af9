//! `meter`: the ingest load. Each charger boots, reports its connector Preparing, starts a
//! transaction with its own identity as idTag (`prepare` registers a token for each), reports
//! Charging, and once every charger is there sends MeterValues for its transaction in a closed
//! loop (the next one the moment the last is answered) until the window closes. A reading
//! carries the time it is sent, the energy register grown at the charger's power since the
//! transaction started (Wh) and that power (W).

use std::sync::Arc;
use tokio::time::Instant;

use crate::fleet::{ChargerArgs, Fleet, Gate};
use crate::link::{self, Failure, Link};
use crate::tally::{Summary, Tally};

const CONNECTOR: i64 = 1;

pub async fn run(args: ChargerArgs) -> Summary {
    let duration = args.duration();
    let shared = Arc::new(args.clone());
    let mut fleet = Fleet::start(args.chargers, &args.fleet, |i, gate| charger(i, shared.clone(), gate)).await;
    let window = fleet.go(duration);
    tokio::time::sleep_until(window.end).await;
    let ready = fleet.ready;
    let (results, usage) = fleet.finish().await;
    Summary::new("meter", args.chargers, ready, duration, results.into_iter().collect(), &usage)
}

/// A charger's power, W: from 3.7 to 22 kW across the fleet, as AC chargers deliver.
fn power_w(i: u32) -> u32 {
    3_700 + (i % 16) * 1_100
}

async fn charger(i: u32, args: Arc<ChargerArgs>, mut gate: Gate) -> Tally {
    let mut tally = Tally::default();
    let identity = args.identity(i);
    let power = power_w(i);
    // A register that has counted a few years of use already.
    let meter_start = 1_000_000 + u64::from(i) * 7_919;
    let setup = async {
        let (mut link, _) = Link::boot(&args.fleet.url, &identity, CONNECTOR, "Preparing").await?;
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
    loop {
        let sent = Instant::now();
        if sent >= window.end {
            break;
        }
        let register = meter_start + u64::from(power) * (sent - started_at).as_millis() as u64 / 3_600_000;
        match link.call("MeterValues", &link::meter_values(CONNECTOR, transaction, register, power)).await {
            Ok(_) => tally.answered(sent, Instant::now(), window.end),
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
