//! A session priced from its facts with the tariff engine: the same code for the running cost,
//! the final cost and session intelligence, so that they never disagree.

use chrono_tz::Tz;
use rust_decimal::Decimal;
use store::SessionFacts;
use tariff::{Activity, Cost};

/// What the session did as far as it is known: from its start to its stop, or to the last
/// reading while it runs; Joule's pauses marked as parking.
pub fn activity(f: &SessionFacts) -> Activity {
    let t = &f.transaction;
    let stop = t.stopped_at.zip(t.meter_stop).map(|(at, wh)| (at, Decimal::from(wh)));
    let pauses: Vec<_> = f.session.pauses.iter().map(|p| (p.start, p.end)).collect();
    session::activity::of_session(t.started_at, Decimal::from(t.meter_start), &f.readings, stop, &pauses)
}

/// The location's time zone, in which time-of-day tariffs apply; UTC without a location.
pub fn timezone(f: &SessionFacts) -> Tz {
    f.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(chrono_tz::UTC)
}

/// The cost of the activity so far, or `None` for a session without a rate.
pub fn cost(f: &SessionFacts, activity: &Activity) -> Option<Cost> {
    f.rate.as_ref().map(|rate| tariff::price(rate, timezone(f), activity))
}

/// The cost as the session's JSON shows it.
pub fn cost_json(f: &SessionFacts) -> Option<serde_json::Value> {
    cost(f, &activity(f)).and_then(|c| serde_json::to_value(c).ok())
}
