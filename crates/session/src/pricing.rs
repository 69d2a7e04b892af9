//! A session priced from its facts with the tariff engine: the same code for the running cost,
//! the final cost and session intelligence, so that they never disagree.

use chrono_tz::Tz;
use domain::session::Metrics;
use domain::{Cents, Currency, Timestamp};
use rust_decimal::Decimal;
use serde_json::Value;
use tariff::{Activity, Cost, PricingError, Use};

use crate::clocks::{self, Reported, Span};
use crate::facts::SessionFacts;
use crate::intelligence::learn_stop_latency_s;
use crate::settlement;

/// A running session priced so far, as of its last meter report.
#[derive(Clone, Debug)]
pub struct Progress {
    pub cost: Option<Cost>,
    pub metrics: Metrics,
    /// Why the session could not be priced (it is shown without a cost), to be logged.
    pub unpriced: Option<PricingError>,
}

/// The priced end of a session: its cost object and, for a wallet session, the settlement.
#[derive(Clone, Debug)]
pub struct Bill {
    pub cost: Value,
    pub metrics: Metrics,
    /// Minor units captured from the hold; the rest of the hold is released.
    pub captured: Cents,
    pub captured_amount: Decimal,
    /// The operator's loss: what the session cost beyond its authorization.
    pub uncollected_amount: Decimal,
    /// The chargestation's stop latency learned from this end, when Joule had asked for it.
    pub stop_latency_s: Option<u32>,
    /// Why the session could not be priced (it is billed nothing), to be logged.
    pub unpriced: Option<PricingError>,
}

/// The span of Joule's own times the session is billed within (SPEC 13): from when Joule created
/// a session it starts (it sends RemoteStartTransaction right after), or from a day before it
/// received the StartTransaction of a session the charger started; to when it received the
/// StopTransaction (a stopped transaction's `updatedAt`: it never changes after), or to when the
/// facts were read while the session runs.
pub fn span(f: &SessionFacts) -> Span {
    let t = &f.transaction;
    let until = if t.stopped_at.is_some() { t.updated_at } else { f.read_at };
    if f.session.token.is_some() { Span::charger_start(t.created_at, until) } else { Span::remote_start(f.session.created_at, until) }
}

/// The session's reported facts with their times moved into its billed span.
pub fn billed(f: &SessionFacts) -> Reported {
    let t = &f.transaction;
    let reported = Reported {
        started_at: t.started_at,
        readings: f.readings.clone(),
        stop: t.stopped_at.zip(t.meter_stop).map(|(at, wh)| (at, Decimal::from(wh))),
        statuses: f.statuses.clone(),
    };
    clocks::billed(span(f), &reported)
}

/// What the session did as far as it is known: from its start to its stop, or to the last
/// reading while it runs, within its billed span; Joule's pauses marked as parking.
pub fn activity(f: &SessionFacts) -> Activity {
    let billed = billed(f);
    let pauses: Vec<_> = f.session.pauses.iter().map(|p| (p.start, p.end)).collect();
    crate::activity::of_session(billed.started_at, Decimal::from(f.transaction.meter_start), &billed.readings, billed.stop, &billed.statuses, &pauses)
}

/// The location's time zone, in which time-of-day tariffs apply; UTC without a location.
pub fn timezone(f: &SessionFacts) -> Tz {
    f.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::UTC)
}

/// The cost of the activity so far; `None` for a session without a rate. A session the tariff
/// engine cannot price (beyond its bounds: see `tariff::PricingError`) is billed nothing.
pub fn cost(f: &SessionFacts, activity: &Activity) -> Result<Option<Cost>, PricingError> {
    f.rate.as_ref().map(|rate| tariff::price(rate, timezone(f), activity)).transpose()
}

/// eDRV's metrics of the activity: energy delivered, time spent charging.
pub fn metrics(f: &SessionFacts, activity: &Activity) -> Metrics {
    let periods = activity.periods();
    Metrics {
        // Energy split where a restriction cuts a period carries 28 decimal places.
        energy_consumed_wh: periods.iter().map(|p| p.energy_wh).sum::<Decimal>().normalize(),
        energy_period_s: periods.iter().filter(|p| p.usage() == Use::Charging).map(|p| p.duration_ms()).sum::<i64>() / 1000,
        charging_start: f.transaction.started_at,
    }
}

/// A running session's cost and metrics so far, stored with each meter report.
pub fn progress(f: &SessionFacts) -> Progress {
    let activity = activity(f);
    let (cost, unpriced) = split(cost(f, &activity));
    Progress { cost, metrics: metrics(f, &activity), unpriced }
}

/// One point of a session's curve: at the end of a period of its activity, the energy
/// delivered so far (Wh), the power over that period (W) and the cost so far.
#[derive(Clone, Debug, PartialEq)]
pub struct CurvePoint {
    pub at: Timestamp,
    pub energy_wh: Decimal,
    pub power_w: Decimal,
    pub cost: Option<Decimal>,
}

/// The session's energy, power and cost over time, for a chart: at most `points` points
/// spread evenly over its activity's periods, the last at its end. Each cost is the activity
/// up to that point priced as the session is (a session that cannot be priced has none).
pub fn curve(f: &SessionFacts, points: usize) -> Vec<CurvePoint> {
    let activity = activity(f);
    let periods = activity.periods();
    if periods.is_empty() || points == 0 {
        return Vec::new();
    }
    let step = periods.len().div_ceil(points);
    let mut energy = Decimal::ZERO;
    let mut curve = Vec::new();
    for (i, period) in periods.iter().enumerate() {
        energy += period.energy_wh;
        if (i + 1) % step != 0 && i + 1 != periods.len() {
            continue;
        }
        let ms = period.duration_ms();
        let power_w = if ms > 0 { (period.energy_wh * Decimal::from(3_600_000) / Decimal::from(ms)).round_dp(0) } else { Decimal::ZERO };
        let so_far = Activity::new(periods[..=i].to_vec()).ok();
        let cost = so_far.and_then(|a| self::cost(f, &a).ok().flatten()).map(|c| c.amount);
        curve.push(CurvePoint { at: period.end, energy_wh: energy.normalize(), power_w, cost });
    }
    curve
}

fn split(priced: Result<Option<Cost>, PricingError>) -> (Option<Cost>, Option<PricingError>) {
    match priced {
        Ok(cost) => (cost, None),
        Err(e) => (None, Some(e)),
    }
}

/// Prices an ended session from its meter readings with the tariff engine (the same code as
/// quotes), settles its wallet payment (captured = min(cost, authorized)), and learns the
/// charger's stop latency when the charger reported a stop Joule had asked for. A session
/// ended without its charger is priced on the readings stored so far.
pub fn bill(end: &SessionFacts) -> Bill {
    let activity = activity(end);
    let (cost, unpriced) = split(cost(end, &activity));
    let amount = cost.as_ref().map_or(Decimal::ZERO, |c| c.amount);
    let (held, currency) = match &end.session.payment {
        Some(p) => (p.held(), Currency::parse(&p.currency).unwrap_or(Currency::USD)),
        None => (Cents::ZERO, Currency::USD),
    };
    let settled = settlement::settle(amount, held, currency);
    let stop_latency_s = end
        .session
        .stop_requested
        .as_ref()
        .zip(end.transaction.stopped_at)
        .map(|(asked, stopped_at)| learn_stop_latency_s(end.stop_latency_s, stopped_at.millis() - asked.at.millis()));
    Bill {
        cost: cost.and_then(|c| serde_json::to_value(c).ok()).unwrap_or_default(),
        metrics: metrics(end, &activity),
        captured: settled.captured,
        captured_amount: settled.captured_amount,
        uncollected_amount: settled.uncollected_amount,
        stop_latency_s,
        unpriced,
    }
}
