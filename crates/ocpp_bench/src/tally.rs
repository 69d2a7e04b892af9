//! What each charger counts, merged into the one [`Summary`] a run prints: the answered calls
//! of the measured kind, every latency (exact percentiles, no histogram buckets), and each kind
//! of error.

use std::time::Duration;

use serde::Serialize;
use tokio::time::Instant;

use crate::link::Failure;
use crate::storm::Probed;
use crate::usage::Usage;

/// Each kind of error, counted.
#[derive(Default, Debug, Clone, Serialize)]
pub struct Errors {
    pub call_errors: u64,
    pub refused: u64,
    pub timeouts: u64,
    pub disconnects: u64,
    pub connect_failures: u64,
}

impl Errors {
    pub fn total(&self) -> u64 {
        self.call_errors + self.refused + self.timeouts + self.disconnects + self.connect_failures
    }

    fn add(&mut self, other: &Errors) {
        self.call_errors += other.call_errors;
        self.refused += other.refused;
        self.timeouts += other.timeouts;
        self.disconnects += other.disconnects;
        self.connect_failures += other.connect_failures;
    }
}

#[derive(Default, Debug)]
pub struct Tally {
    /// The latency of every measured call that was answered, microseconds.
    pub latencies_us: Vec<u32>,
    /// Measured calls answered before the window closed: what the rate counts.
    pub in_window: u64,
    pub errors: Errors,
    pub server_calls: u64,
    /// Wallet sessions whose StartTransaction the server accepted.
    pub started: u64,
    pub last_error: Option<String>,
}

impl Tally {
    /// A measured call sent at `sent` was answered at `answered`; whether within the window.
    pub fn answered(&mut self, sent: Instant, answered: Instant, window_end: Instant) -> bool {
        self.latencies_us.push(u32::try_from((answered - sent).as_micros()).unwrap_or(u32::MAX));
        let within = answered <= window_end;
        self.in_window += u64::from(within);
        within
    }

    pub fn failed(&mut self, failure: &Failure) {
        let e = &mut self.errors;
        let counter = match failure {
            Failure::Connect(_) => &mut e.connect_failures,
            Failure::Closed(_) => &mut e.disconnects,
            Failure::Timeout => &mut e.timeouts,
            Failure::CallError { .. } => &mut e.call_errors,
            Failure::Refused(_) => &mut e.refused,
        };
        *counter += 1;
        self.last_error = Some(failure.to_string());
    }

    pub fn merge(&mut self, other: Tally) {
        self.latencies_us.extend(other.latencies_us);
        self.in_window += other.in_window;
        self.errors.add(&other.errors);
        self.server_calls += other.server_calls;
        self.started += other.started;
        self.last_error = other.last_error.or(self.last_error.take());
    }
}

impl FromIterator<Tally> for Tally {
    fn from_iter<I: IntoIterator<Item = Tally>>(tallies: I) -> Tally {
        let mut sum = Tally::default();
        for tally in tallies {
            sum.merge(tally);
        }
        sum
    }
}

/// One run, as `ocpp-load` prints it (one JSON line on stdout).
#[derive(Serialize, Debug)]
pub struct Summary {
    pub mode: &'static str,
    pub chargers: u32,
    /// Chargers that were set up and took part in the measured window.
    pub ready: u32,
    pub seconds: f64,
    /// Measured calls answered within the window, and per second.
    pub calls: u64,
    pub rate: f64,
    /// The rate over each whole 10 s of the window (meter mode).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub step_rates: Vec<f64>,
    pub p50_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    /// Every error, and by kind.
    pub errors: u64,
    #[serde(flatten)]
    pub kinds: Errors,
    pub server_calls: u64,
    pub started: u64,
    pub last_error: Option<String>,
    /// CPU time the generator itself used in the measured part of the run, and that time as a
    /// share of the wall clock (1.0 is one core busy throughout).
    pub cpu_seconds: f64,
    pub cpu_cores: f64,
    /// The same for the watched server process (`--watch-pid`), and its resident memory before
    /// the chargers connected and at the end of the measured part.
    pub server_cpu_cores: Option<f64>,
    /// The same for the watched database's processes (`--watch-database`).
    pub database_cpu_cores: Option<f64>,
    /// The servers' and the database's CPU time in the measured part, seconds.
    pub server_cpu_seconds: Option<f64>,
    pub database_cpu_seconds: Option<f64>,
    pub rss_before_kib: Option<u64>,
    pub rss_after_kib: Option<u64>,
    /// The API asked during a boot storm: `GET /healthz`, and an ordinary API call.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub healthz: Option<Probed>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub api_call: Option<Probed>,
}

impl Summary {
    pub fn new(mode: &'static str, chargers: u32, ready: u32, window: Duration, mut tally: Tally, usage: &Usage) -> Summary {
        let cores = |cpu: Duration| cpu.as_secs_f64() / usage.wall.as_secs_f64().max(1e-9);
        tally.latencies_us.sort_unstable();
        let seconds = window.as_secs_f64();
        let ms = |us: Option<&u32>| us.map_or(0.0, |&us| f64::from(us) / 1000.0);
        Summary {
            mode,
            chargers,
            ready,
            seconds,
            calls: tally.in_window,
            rate: if seconds > 0.0 { tally.in_window as f64 / seconds } else { 0.0 },
            step_rates: Vec::new(),
            p50_ms: ms(percentile(&tally.latencies_us, 0.50)),
            p99_ms: ms(percentile(&tally.latencies_us, 0.99)),
            max_ms: ms(tally.latencies_us.last()),
            errors: tally.errors.total(),
            kinds: tally.errors,
            server_calls: tally.server_calls,
            started: tally.started,
            last_error: tally.last_error,
            cpu_seconds: usage.cpu.as_secs_f64(),
            cpu_cores: cores(usage.cpu),
            server_cpu_cores: usage.server_cpu.map(cores),
            database_cpu_cores: usage.database_cpu.map(cores),
            server_cpu_seconds: usage.server_cpu.map(|cpu| cpu.as_secs_f64()),
            database_cpu_seconds: usage.database_cpu.map(|cpu| cpu.as_secs_f64()),
            rss_before_kib: usage.rss_before_kib,
            rss_after_kib: usage.rss_after_kib,
            healthz: None,
            api_call: None,
        }
    }

    /// One line for people, on stderr beside the JSON.
    pub fn line(&self) -> String {
        let probed = |name: &str, p: &Option<Probed>| {
            p.as_ref()
                .map(|p| format!("; {name} p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, {} failed", p.p50_ms, p.p99_ms, p.max_ms, p.failures))
                .unwrap_or_default()
        };
        format!(
            "{}: {}/{} chargers ready, {} calls in {:.1}s = {:.0}/s, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms, errors {} \
             (CALLERROR {}, refused {}, timeouts {}, disconnects {}, connect failures {}){}; generator CPU {:.1}s ({:.2} cores){}{}",
            self.mode,
            self.ready,
            self.chargers,
            self.calls,
            self.seconds,
            self.rate,
            self.p50_ms,
            self.p99_ms,
            self.max_ms,
            self.errors,
            self.kinds.call_errors,
            self.kinds.refused,
            self.kinds.timeouts,
            self.kinds.disconnects,
            self.kinds.connect_failures,
            self.last_error.as_ref().map(|e| format!(", last: {e}")).unwrap_or_default(),
            self.cpu_seconds,
            self.cpu_cores,
            probed("healthz", &self.healthz),
            probed("API call", &self.api_call),
        )
    }
}

/// The nearest-rank percentile of sorted values: the smallest value at least `q` of them are
/// at or below.
pub fn percentile(sorted: &[u32], q: f64) -> Option<&u32> {
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.clamp(1, sorted.len().max(1)) - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let values: Vec<u32> = (1..=200).collect();
        assert_eq!(percentile(&values, 0.50), Some(&100));
        assert_eq!(percentile(&values, 0.99), Some(&198));
        assert_eq!(percentile(&values, 1.0), Some(&200));
        assert_eq!(percentile(&[7], 0.99), Some(&7));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn only_answers_within_the_window_count_towards_the_rate() {
        let start = Instant::now();
        let end = start + Duration::from_secs(1);
        let mut tally = Tally::default();
        assert!(tally.answered(start, start + Duration::from_millis(3), end));
        assert!(!tally.answered(end - Duration::from_millis(1), end + Duration::from_millis(4), end));
        tally.failed(&Failure::Timeout);
        let usage = Usage { wall: Duration::from_secs(2), cpu: Duration::from_secs(1), ..Usage::default() };
        let summary = Summary::new("meter", 1, 1, Duration::from_secs(1), tally, &usage);
        assert_eq!((summary.calls, summary.rate), (1, 1.0));
        assert_eq!((summary.p50_ms, summary.max_ms), (3.0, 5.0));
        assert_eq!((summary.errors, summary.kinds.timeouts), (1, 1));
        assert_eq!((summary.cpu_cores, summary.server_cpu_cores), (0.5, None));
    }
}
