//! Session intelligence over a fleet of simulated wallet sessions (SPEC section 12): how many
//! end above their authorization (never allowed) and how many cost more than was authorized
//! (the operator's loss; at most 1% allowed).
//!
//! Each charger reports its meter every 30 s and stops `latency` seconds after Joule asks
//! (5–60 s, its own, unknown to Joule until its first stop). Wallets hold what 10 to 90
//! minutes at the car's peak power would cost. Cars charge unevenly: power ramps up over the
//! first minutes, then at a random moment drops to half or rises up to double, as a car's
//! battery management does. Joule sees only the reports: it estimates power from the last two, learns
//! each charger's report interval and stop latency, and decides on every report and every 5 s,
//! as `ocpp_server::session_watch` does.
//!
//! `cargo bench -p session --bench fleet` (add a session count to change the default 10,000).

use domain::connector::ConnectorStatus;
use domain::rate::{Rate, RateInput};
use domain::{Id, Timestamp};
use rust_decimal::Decimal;
use serde_json::json;
use session::intelligence::{Decision, Targets, Watch, decide, horizon_s, learn_stop_latency_s};
use session::settlement::settle;
use tariff::{Activity, Outlook, Period, Tab, price};

const START_MS: i64 = 1_795_000_000_000;
const INTERVAL_S: i64 = 30;
const CHARGERS: usize = 500;

/// A small deterministic generator (xorshift64*), so that every run simulates the same fleet.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn between(&mut self, low: i64, high: i64) -> i64 {
        low + (self.next() % (high - low + 1) as u64) as i64
    }
}

fn rate(rng: &mut Rng) -> Rate {
    let cents = |c: i64| Decimal::new(c, 2);
    let step = [1, 100, 500][rng.between(0, 2) as usize];
    let mut components = vec![json!({ "type": "ENERGY", "price": cents(rng.between(10, 80)), "tax": 8.25, "step_size": step })];
    if rng.between(0, 1) == 1 {
        components.push(json!({ "type": "TIME", "price": cents(rng.between(50, 600)), "step_size": 60 }));
    }
    if rng.between(0, 2) == 0 {
        components.push(json!({ "type": "FLAT", "price": cents(rng.between(50, 300)) }));
    }
    let body = json!({ "currency": "USD", "price_components": components });
    serde_json::from_value::<RateInput>(body).unwrap().create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap()
}

/// A car's charging power over time: a ramp to `peak` over `ramp_s`, then a change to
/// `after` at `change_s`.
struct Car {
    peak: i64,
    ramp_s: i64,
    change_s: i64,
    after: i64,
}

impl Car {
    fn power_w(&self, s: i64) -> i64 {
        let ramped = if s < self.ramp_s { self.peak * s / self.ramp_s.max(1) } else { self.peak };
        if s >= self.change_s { self.after } else { ramped }
    }

    /// Wh delivered from the start to `s` seconds, integrated second by second.
    fn energy_wh(&self, cumulative: &mut Vec<i64>, s: i64) -> Decimal {
        while (cumulative.len() as i64) <= s {
            let t = cumulative.len() as i64;
            let before = cumulative.last().copied().unwrap_or(0);
            cumulative.push(before + self.power_w(t));
        }
        Decimal::from(cumulative[s as usize]) / Decimal::from(3600)
    }
}

fn activity(readings: &[(i64, Decimal)]) -> Activity {
    let periods = readings
        .windows(2)
        .map(|w| {
            let energy = w[1].1 - w[0].1;
            let status = if energy > Decimal::ZERO { ConnectorStatus::Charging } else { ConnectorStatus::SuspendedEV };
            Period { start: ms(w[0].0), end: ms(w[1].0), status, paused: false, energy_wh: energy }
        })
        .collect();
    Activity::new(periods).unwrap()
}

fn ms(s: i64) -> Timestamp {
    Timestamp::from_millis(START_MS + s * 1000)
}

struct Outcome {
    over_authorization: bool,
    loss: bool,
    stopped_by_joule: bool,
}

/// One session on a charger whose stop latency Joule has learned as `learned` so far;
/// returns the outcome and the latency observed when Joule stopped it.
fn session(rng: &mut Rng, latency_s: i64, learned: Option<u32>) -> (Outcome, Option<i64>) {
    let rate = rate(rng);
    let peak = rng.between(3_000, 150_000);
    let car = Car { peak, ramp_s: rng.between(0, 300), change_s: rng.between(60, 2 * 3600), after: peak * rng.between(50, 200) / 100 };
    // What 10 to 90 minutes at the car's peak would cost: the wallet runs out about then.
    let minutes = rng.between(10, 90);
    let at_peak = Period {
        start: ms(0),
        end: ms(minutes * 60),
        status: ConnectorStatus::Charging,
        paused: false,
        energy_wh: Decimal::from(peak * minutes) / Decimal::from(60),
    };
    let authorized = price(&rate, chrono_tz::UTC, &Activity::new(vec![at_peak]).unwrap()).unwrap().amount.max(Decimal::ONE);
    let mut cumulative = Vec::new();
    let mut readings = vec![(0, Decimal::ZERO)];
    let (mut now, end) = (0i64, 12 * 3600);
    let mut stop_at = None;
    while now < end && stop_at.is_none() {
        let last = readings.last().unwrap().0;
        if now >= last + INTERVAL_S {
            let at = last + INTERVAL_S;
            readings.push((at, car.energy_wh(&mut cumulative, at)));
        }
        let power_w = match readings.as_slice() {
            [.., (t0, e0), (t1, e1)] => (*e1 - *e0) * Decimal::from(3600) / Decimal::from(t1 - t0),
            _ => Decimal::from(22_000),
        };
        let known = activity(&readings);
        let times: Vec<Timestamp> = readings.iter().map(|(s, _)| ms(*s)).collect();
        let tab = Tab::from_activity(&rate, chrono_tz::UTC, &known);
        let watch = Watch {
            rate: &rate,
            tab: &tab,
            started_at: ms(0),
            now: ms(now),
            outlook: Outlook { status: ConnectorStatus::Charging, paused: false, power_w },
            authorized: Some(authorized),
            horizon_s: horizon_s(&times, learned),
            targets: Targets::default(),
            recheck_s: 5,
        };
        match decide(&watch) {
            Decision::Stop(_) => stop_at = Some(now),
            // The runner looks again within 5 s, and at the next report.
            Decision::Continue { recheck_in_s } => {
                let next_report = readings.last().unwrap().0 + INTERVAL_S;
                now = (now + i64::from(recheck_in_s.min(5))).min(next_report);
            }
        }
    }
    let stopped = stop_at.map_or(end, |at| at + latency_s);
    let mut delivered = readings.clone();
    delivered.retain(|(s, _)| *s < stopped);
    delivered.push((stopped, car.energy_wh(&mut cumulative, stopped)));
    let cost = price(&rate, chrono_tz::UTC, &activity(&delivered)).unwrap().amount;
    let held = domain::Cents((authorized * Decimal::from(100)).trunc().try_into().unwrap());
    let settled = settle(cost, held, domain::Currency::USD);
    let outcome = Outcome {
        over_authorization: settled.captured_amount > authorized,
        loss: settled.uncollected_amount > Decimal::ZERO,
        stopped_by_joule: stop_at.is_some(),
    };
    (outcome, stop_at.map(|_| latency_s * 1000))
}

fn main() {
    let sessions: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(10_000);
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let latencies: Vec<i64> = (0..CHARGERS).map(|_| rng.between(5, 60)).collect();
    let mut learned: Vec<Option<u32>> = vec![None; CHARGERS];
    let (mut over, mut losses, mut stopped) = (0, 0, 0);
    let started = std::time::Instant::now();
    for i in 0..sessions {
        let charger = i % CHARGERS;
        let (outcome, observed_ms) = session(&mut rng, latencies[charger], learned[charger]);
        if let Some(observed) = observed_ms {
            learned[charger] = Some(learn_stop_latency_s(learned[charger], observed));
        }
        over += usize::from(outcome.over_authorization);
        losses += usize::from(outcome.loss);
        stopped += usize::from(outcome.stopped_by_joule);
    }
    let pct = |n: usize| 100.0 * n as f64 / sessions as f64;
    for (label, value) in [
        ("sessions", sessions.to_string()),
        ("stopped by session intelligence", format!("{stopped} ({:.2}%)", pct(stopped))),
        ("captured above authorization", over.to_string()),
        ("with operator loss", format!("{losses} ({:.2}%)", pct(losses))),
        ("without loss", format!("{:.2}%", 100.0 - pct(losses))),
        ("simulated in", format!("{:.1} s", started.elapsed().as_secs_f64())),
    ] {
        println!("{label:<32}{value}");
    }
    assert_eq!(over, 0, "a captured amount above its authorization");
}
