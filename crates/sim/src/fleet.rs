//! `joule sim`: a fleet of virtual chargers against one OCPP server (1.6J or 2.0.1), started at a bounded
//! rate, with a summary line every few seconds and at the end.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use ocpp16::messages::ChargePointStatus;
use tokio::time::{Instant, Interval, interval, interval_at, sleep};

use crate::charger::{Charger, ChargerConfig, Stats};

const REPORT_EVERY: Duration = Duration::from_secs(5);
/// The most source addresses a range may name.
const MAX_SOURCES: u32 = 65_536;

/// Virtual OCPP chargers, for demos and load.
#[derive(clap::Args, Clone, Debug)]
pub struct SimArgs {
    /// The OCPP version the chargers speak (the WebSocket subprotocol they offer).
    #[arg(long, default_value = "ocpp1.6", value_parser = ["ocpp1.6", "ocpp2.0.1"])]
    pub protocol: String,
    /// The server's OCPP base URL; charger i connects to {url}/{prefix}{i}.
    #[arg(long, default_value = "ws://127.0.0.1:8080/ocpp")]
    pub url: String,
    /// How many chargers.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub chargers: u32,
    /// Connectors per charger.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..))]
    pub connectors: u32,
    /// Chargers are {prefix}1, {prefix}2, …
    #[arg(long, default_value = "SIM-")]
    pub prefix: String,
    /// HTTP Basic password of every charger (OCPP security profile 1).
    #[arg(long, env = "JOULE_SIM_PASSWORD")]
    pub password: Option<String>,
    /// Seconds between MeterValues during a transaction (fractions allowed; 0: none).
    #[arg(long, value_name = "SECS", default_value = "10", value_parser = seconds)]
    pub meter_interval: Duration,
    /// Power each connector delivers, W.
    #[arg(long, value_name = "W", default_value_t = 7200)]
    pub power: u32,
    /// Heartbeat interval instead of the one the server gives.
    #[arg(long, value_name = "SECS")]
    pub heartbeat: Option<u32>,
    /// Local addresses to connect from, in turn: a range (127.0.0.1-127.0.0.8) or a list.
    /// Each address has its own ephemeral ports, about 28,000 connections' worth on Linux.
    #[arg(long, value_name = "ADDRESSES", value_parser = source_addresses)]
    pub source_addresses: Option<SourceAddresses>,
    /// Every connector starts charging at once with this idTag, as if a card were presented.
    #[arg(long)]
    pub id_tag: Option<String>,
    /// Stop after this long (default: at Ctrl-C).
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub duration: Option<Duration>,
    /// Every SECS, all chargers go offline (queueing transaction messages) or come back.
    #[arg(long, value_name = "SECS", value_parser = seconds)]
    pub flap_every: Option<Duration>,
    /// New connections per second, so the server's accept queue keeps up.
    #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub connect_rate: u32,
}

#[derive(Clone, Debug)]
pub struct SourceAddresses(pub Vec<IpAddr>);

fn seconds(text: &str) -> Result<Duration, String> {
    let s: f64 = text.parse().map_err(|_| format!("`{text}` is not a number of seconds"))?;
    Duration::try_from_secs_f64(s).map_err(|_| format!("`{text}` is not a duration"))
}

/// `127.0.0.1-127.0.0.8` (IPv4 only) or `127.0.0.1,127.0.0.2,::1`.
fn source_addresses(text: &str) -> Result<SourceAddresses, String> {
    let parse = |a: &str| a.trim().parse::<IpAddr>().map_err(|_| format!("`{a}` is not an IP address"));
    if let Some((first, last)) = text.split_once('-') {
        let (IpAddr::V4(first), IpAddr::V4(last)) = (parse(first)?, parse(last)?) else {
            return Err("a range is of IPv4 addresses; list IPv6 addresses with commas".into());
        };
        let (first, last) = (u32::from(first), u32::from(last));
        if last < first || last - first >= MAX_SOURCES {
            return Err(format!("a range goes upwards and names at most {MAX_SOURCES} addresses"));
        }
        return Ok(SourceAddresses((first..=last).map(|a| IpAddr::V4(Ipv4Addr::from(a))).collect()));
    }
    text.split(',').map(parse).collect::<Result<_, _>>().map(SourceAddresses)
}

/// Runs the fleet until `--duration` passes or Ctrl-C.
pub async fn run(args: SimArgs) -> std::io::Result<()> {
    let stats = Arc::new(Stats::default());
    let sources = args.source_addresses.clone().map(|s| s.0).unwrap_or_default();
    let mut chargers: Vec<Charger> = Vec::with_capacity(args.chargers as usize);
    let started = Instant::now();
    let end = async {
        match args.duration {
            Some(duration) => sleep(duration).await,
            None => std::future::pending().await,
        }
    };
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(end, interrupted);
    let mut pace = interval(Duration::from_secs(1) / args.connect_rate);
    let mut reports = interval_at(started + REPORT_EVERY, REPORT_EVERY);
    let mut flaps = args.flap_every.filter(|d| !d.is_zero()).map(|every| interval_at(started + every, every));
    let mut online = true;
    let mut report = Report::new(&stats);
    println!("{} chargers × {} connectors ({}) → {}", args.chargers, args.connectors, args.protocol, args.url);

    loop {
        tokio::select! {
            _ = &mut end => break,
            signal = &mut interrupted => {
                signal?;
                break;
            }
            _ = pace.tick(), if chargers.len() < args.chargers as usize => {
                let i = chargers.len();
                let charger = Charger::spawn(config(&args, i, sources.get(i % sources.len().max(1)).copied()), stats.clone());
                if let Some(id_tag) = &args.id_tag {
                    for connector in 1..=args.connectors {
                        charger.present_card(connector, id_tag);
                    }
                }
                chargers.push(charger);
            }
            _ = reports.tick() => println!("{}", report.line(&chargers, started)),
            _ = tick(&mut flaps) => {
                online = !online;
                for charger in &chargers {
                    if online { charger.go_online() } else { charger.go_offline() }
                }
            }
        }
    }
    let summary = report.total(&chargers, started);
    futures_util::future::join_all(chargers.into_iter().map(Charger::stop)).await;
    println!("{summary}");
    Ok(())
}

/// The next tick of an interval that may not exist.
async fn tick(interval: &mut Option<Interval>) {
    match interval {
        Some(interval) => {
            interval.tick().await;
        }
        None => std::future::pending().await,
    }
}

fn config(args: &SimArgs, i: usize, source_address: Option<IpAddr>) -> ChargerConfig {
    ChargerConfig {
        password: args.password.clone(),
        source_address,
        connectors: args.connectors,
        power_w: args.power,
        meter_interval: args.meter_interval,
        heartbeat_interval_s: args.heartbeat,
        subprotocol: if args.protocol == "ocpp2.0.1" { "ocpp2.0.1" } else { "ocpp1.6" },
        ..ChargerConfig::new(&args.url, format!("{}{}", args.prefix, i + 1))
    }
}

/// Rates since the last line, from the shared counters.
struct Report {
    stats: Arc<Stats>,
    last: (Instant, u64, u64),
}

impl Report {
    fn new(stats: &Arc<Stats>) -> Report {
        Report { stats: stats.clone(), last: (Instant::now(), 0, 0) }
    }

    fn line(&mut self, chargers: &[Charger], started: Instant) -> String {
        let s = &self.stats;
        let (sent, received) = (s.sent.load(Ordering::Relaxed), s.received.load(Ordering::Relaxed));
        let seconds = self.last.0.elapsed().as_secs_f64().max(1e-3);
        let rate = |now: u64, before: u64| (now - before) as f64 / seconds;
        let line = format!(
            "[{:>6.0}s] connected {}/{}  charging {}  queued {}  sent {:.0}/s  received {:.0}/s  errors {}  connect failures {}{}",
            started.elapsed().as_secs_f64(),
            s.connected.load(Ordering::Relaxed),
            chargers.len(),
            chargers.iter().map(|c| c.state().connectors().iter().filter(|c| c.status == ChargePointStatus::Charging).count()).sum::<usize>(),
            chargers.iter().map(|c| c.state().queued()).sum::<usize>(),
            rate(sent, self.last.1),
            rate(received, self.last.2),
            s.errors.load(Ordering::Relaxed),
            s.connect_failures.load(Ordering::Relaxed),
            s.last_error().map(|e| format!("  last error: {e}")).unwrap_or_default(),
        );
        self.last = (Instant::now(), sent, received);
        line
    }

    fn total(&self, chargers: &[Charger], started: Instant) -> String {
        let s = &self.stats;
        let seconds = started.elapsed().as_secs_f64();
        let (sent, received) = (s.sent.load(Ordering::Relaxed), s.received.load(Ordering::Relaxed));
        format!(
            "done after {seconds:.1}s: connected {}/{} at the end, sent {sent} ({:.0}/s), received {received} ({:.0}/s), errors {}, connect failures {}",
            s.connected.load(Ordering::Relaxed),
            chargers.len(),
            sent as f64 / seconds,
            received as f64 / seconds,
            s.errors.load(Ordering::Relaxed),
            s.connect_failures.load(Ordering::Relaxed),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_addresses_are_ranges_or_lists() {
        let range = source_addresses("127.0.0.1-127.0.0.3").unwrap().0;
        assert_eq!(range, ["127.0.0.1", "127.0.0.2", "127.0.0.3"].map(|a| a.parse::<IpAddr>().unwrap()));
        let list = source_addresses("127.0.0.9, ::1").unwrap().0;
        assert_eq!(list, ["127.0.0.9", "::1"].map(|a| a.parse::<IpAddr>().unwrap()));
        assert!(source_addresses("127.0.0.3-127.0.0.1").is_err());
        assert!(source_addresses("10.0.0.0-10.255.255.255").is_err());
        assert!(source_addresses("localhost").is_err());
    }

    #[test]
    fn seconds_take_fractions() {
        assert_eq!(seconds("0.25"), Ok(Duration::from_millis(250)));
        assert!(seconds("-1").is_err());
        assert!(seconds("soon").is_err());
    }
}
