//! A running session as the node holding its charger keeps it between readings: its facts and
//! its activity priced so far ([`Tab`]), both grown by each reading, so that pricing it and
//! deciding on it take the same time at its 10th reading and at its 10,000th.
//!
//! A reading that extends the activity (counted at or after the last one: a charger's clock
//! ahead of Joule's counts when Joule received it, see [`counts_at`]) adds one stretch, priced
//! on its own; the result is the one [`pricing::progress`] gives for all the facts, because the
//! activity's periods depend only on the two meter points around them and the status reports
//! and pauses within. Anything else (a reading stamped before the last one, times the billed
//! span moves, a tab beyond its bounds) prices the whole session again, as it would be priced
//! from the database.
//!
//! Once a reading has extended the activity, the facts keep only the last few readings: the
//! memory of a session does not grow with its length. A reading that cannot extend it then
//! needs the whole history ([`Reading::NeedsHistory`]): the caller reads the session again and
//! gives the reading to that.

use domain::Timestamp;
use rust_decimal::Decimal;
use tariff::{Cost, Tab, Use};

use crate::activity;
use crate::facts::{SessionFacts, counts_at};
use crate::intelligence::{self, Decision, RECENT_READINGS};
use crate::pricing::{self, Progress};

/// What a reading did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reading {
    Taken,
    /// Below the last register reading (a meter reset or a glitch): left out.
    Dip,
    /// It cannot extend the activity and the facts no longer hold every reading: this live
    /// session is not to be used further; the session is read again (`Live::new`, which holds
    /// every stored reading) and given the reading anew.
    NeedsHistory,
}

#[derive(Clone, Debug)]
pub struct Live {
    facts: SessionFacts,
    priced: Priced,
    /// The facts hold only the last readings.
    trimmed: bool,
}

/// The session's activity so far, priced, with what growing it needs.
#[derive(Clone, Debug)]
struct Priced {
    /// `None` without a rate.
    tab: Option<Tab>,
    /// The billed start, and the activity's last meter point and the register there.
    started_at: Timestamp,
    end: Timestamp,
    register: Decimal,
    /// Some time was moved into the billed span, whose end is when the facts were read: the
    /// activity is priced again at each reading.
    moved: bool,
    /// A reading may extend the activity: the end is a meter point after the start and no
    /// time was moved.
    extendable: bool,
    energy_wh: Decimal,
    charging_ms: i64,
    /// The last billed readings, for the decision.
    recent: Vec<(Timestamp, Decimal)>,
    /// The cost of the activity so far (`None` without a rate), or why it cannot be priced.
    cost: Option<Cost>,
    unpriced: Option<tariff::PricingError>,
}

/// A tab's cost, or why there is none.
fn cost_of(tab: &Tab) -> (Option<Cost>, Option<tariff::PricingError>) {
    match tab.cost() {
        Ok(cost) => (Some(cost), None),
        Err(e) => (None, Some(e)),
    }
}

impl Priced {
    /// The facts priced whole, as of their `read_at`.
    fn whole(f: &SessionFacts) -> Priced {
        let billed = pricing::billed(f);
        let activity = pricing::activity(f);
        let tab = f.rate.as_ref().map(|rate| Tab::from_activity(rate, pricing::timezone(f), &activity));
        let (cost, unpriced) = tab.as_ref().map_or((None, None), cost_of);
        let meter_start = Decimal::from(f.transaction.meter_start);
        let (end, register, extendable) = match billed.readings.last() {
            None => (billed.started_at, meter_start, true),
            Some(&(at, _)) => {
                // As `activity::from_readings` walks its meter points: readings at or before the
                // start are none of them.
                let register = billed.readings.iter().filter(|(t, _)| *t > billed.started_at).map(|(_, wh)| *wh).fold(meter_start, Decimal::max);
                (at, register, at > billed.started_at)
            }
        };
        let moved = f.transaction.started_at > f.read_at || f.readings.iter().any(|(t, _)| *t > f.read_at) || f.statuses.iter().any(|(t, _)| *t > f.read_at);
        let periods = activity.periods();
        Priced {
            tab,
            started_at: billed.started_at,
            end,
            register,
            moved,
            extendable: extendable && !moved && f.transaction.stopped_at.is_none(),
            energy_wh: periods.iter().map(|p| p.energy_wh).sum(),
            charging_ms: periods.iter().filter(|p| p.usage() == Use::Charging).map(|p| p.duration_ms()).sum(),
            recent: billed.readings[billed.readings.len().saturating_sub(RECENT_READINGS)..].to_vec(),
            cost,
            unpriced,
        }
    }

    /// Whether a reading counted at `at` extends the activity: after its end, or at its end
    /// (one more point of that time) once the end is a reading's.
    fn extends(&self, at: Timestamp) -> bool {
        self.extendable && self.unpriced.is_none() && (at > self.end || (at == self.end && self.end > self.started_at))
    }

    /// Extends the activity to a reading counted at `at` with `wh`, if it can be extended so;
    /// answers whether it was.
    fn extend(&mut self, f: &SessionFacts, at: Timestamp, wh: Decimal) -> bool {
        if !self.extends(at) {
            return false;
        }
        let span = pricing::span(f);
        let statuses: Vec<_> = f.statuses.iter().map(|&(t, s)| (span.clamp(t), s)).collect();
        let pauses: Vec<_> = f.session.pauses.iter().map(|p| (p.start, p.end)).collect();
        let stretch = activity::of_session(self.end, self.register, &[(at, wh)], None, &statuses, &pauses);
        if let Some(tab) = &mut self.tab {
            for period in stretch.periods() {
                if tab.push(period).is_err() {
                    return false;
                }
            }
            (self.cost, self.unpriced) = cost_of(tab);
        }
        for period in stretch.periods() {
            self.energy_wh += period.energy_wh;
            if period.usage() == Use::Charging {
                self.charging_ms += period.duration_ms();
            }
        }
        self.end = at;
        self.register = self.register.max(wh);
        if self.recent.len() == RECENT_READINGS {
            self.recent.remove(0);
        }
        self.recent.push((at, wh));
        true
    }
}

impl Live {
    /// The session as read from the database (`SessionFacts` of a running session).
    pub fn new(facts: SessionFacts) -> Live {
        let priced = Priced::whole(&facts);
        Live { facts, priced, trimmed: false }
    }

    pub fn facts(&self) -> &SessionFacts {
        &self.facts
    }

    /// Takes an energy register reading stamped `stamped` by the charger, received at `now`.
    pub fn reading(&mut self, stamped: Timestamp, wh: Decimal, now: Timestamp) -> Reading {
        let at = counts_at(stamped, now);
        if self.facts.readings.last().is_some_and(|(_, last)| wh < *last) {
            self.facts.read_at = now;
            if self.priced.moved {
                self.priced = Priced::whole(&self.facts);
            }
            return Reading::Dip;
        }
        if !self.priced.extends(at) {
            if self.trimmed {
                return Reading::NeedsHistory;
            }
            self.take(at, wh, now);
            self.priced = Priced::whole(&self.facts);
            return Reading::Taken;
        }
        self.take(at, wh, now);
        if !self.priced.extend(&self.facts, at, wh) {
            // Only a tab beyond its bounds refuses a stretch: priced whole, it tells why.
            if self.trimmed {
                return Reading::NeedsHistory;
            }
            self.priced = Priced::whole(&self.facts);
            return Reading::Taken;
        }
        let keep = self.facts.readings.len().saturating_sub(RECENT_READINGS);
        if keep > 0 && self.priced.extendable {
            self.facts.readings.drain(..keep);
            self.trimmed = true;
        }
        Reading::Taken
    }

    /// Adds a reading to the facts, in their order as read from the database.
    fn take(&mut self, at: Timestamp, wh: Decimal, now: Timestamp) {
        self.facts.read_at = now;
        self.facts.add_reading(at, wh, now);
        self.facts.last_heard = self.facts.last_heard.max(now);
    }

    /// The session's cost and metrics as of its last reading.
    pub fn progress(&self) -> Progress {
        let cost = self.priced.cost.clone();
        let metrics = domain::session::Metrics {
            // Energy split where a restriction cuts a period carries 28 decimal places.
            energy_consumed_wh: self.priced.energy_wh.normalize(),
            energy_period_s: self.priced.charging_ms / 1000,
            charging_start: self.facts.transaction.started_at,
        };
        Progress { cost, metrics, unpriced: self.priced.unpriced }
    }

    /// Session intelligence's decision as of `now`.
    pub fn decide(&self, now: Timestamp) -> Decision {
        match &self.priced.tab {
            Some(tab) if self.priced.extendable => intelligence::decide_priced(&self.facts, tab, self.priced.started_at, &self.priced.recent, now),
            _ => intelligence::decide_on(&SessionFacts { read_at: now, ..self.facts.clone() }, now),
        }
    }

    /// The session's `updatedAt` as stored after this node's last write.
    pub fn stored_at(&mut self, updated_at: Timestamp) {
        self.facts.session.updated_at = updated_at;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::connector::ConnectorStatus;
    use proptest::prelude::*;

    const T0: i64 = 1_767_225_600_000;

    fn facts(rate: Option<domain::rate::Rate>, statuses: Vec<(Timestamp, ConnectorStatus)>) -> SessionFacts {
        let session: domain::session::Session = serde_json::from_value(serde_json::json!({
            "_id": "000000000000000000000001", "status": "started", "user": null, "token": null,
            "chargestation": "000000000000000000000002", "connector": null, "connector_id": 1, "rate": null, "idTag": "CARD",
            "transactionId": 1, "payment": null, "startedAt": null, "endedAt": null,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .expect("a session");
        let transaction: domain::transaction::Transaction = serde_json::from_value(serde_json::json!({
            "_id": "000000000000000000000003", "chargestation": "000000000000000000000002", "transactionId": 1, "connector_id": 1,
            "idTag": "CARD", "token": null, "session": null, "reservationId": null, "meterStart": 100, "meterStop": null,
            "startedAt": "2026-01-01T00:00:00Z", "stoppedAt": null, "stopReason": null,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z"
        }))
        .expect("a transaction");
        let t0 = transaction.created_at;
        SessionFacts {
            organization: session.chargestation,
            session,
            transaction,
            rate,
            timezone: Some("Europe/Paris".into()),
            readings: Vec::new(),
            statuses,
            stop_latency_s: None,
            last_heard: t0,
            read_at: t0,
        }
    }

    fn rate() -> impl Strategy<Value = Option<domain::rate::Rate>> {
        let components = prop_oneof![
            Just(r#"[{"type":"ENERGY","price":0.35,"step_size":100},{"type":"TIME","price":2.5},{"type":"PARKING_TIME","price":1.2,"step_size":300}]"#),
            Just(r#"[{"type":"FLAT","price":1},{"type":"ENERGY","price":0.3,"tax":20}]"#),
        ];
        let elements = prop_oneof![
            Just(""),
            Just(
                r#","elements":[{"price_components":[{"type":"ENERGY","price":0.5}],"restrictions":{"start_time":"00:10","end_time":"00:40"}},{"price_components":[{"type":"ENERGY","price":0.2}],"restrictions":{"min_kwh":1}}]"#
            ),
        ];
        proptest::option::of((components, elements).prop_map(|(components, elements)| {
            let body = format!(r#"{{"currency":"EUR","price_components":{components}{elements}}}"#);
            serde_json::from_str::<domain::rate::RateInput>(&body).unwrap().create(domain::Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap()
        }))
    }

    fn statuses() -> impl Strategy<Value = Vec<(Timestamp, ConnectorStatus)>> {
        let status = prop_oneof![Just(ConnectorStatus::Charging), Just(ConnectorStatus::SuspendedEV), Just(ConnectorStatus::SuspendedEVSE)];
        proptest::collection::vec((-60_000i64..3_600_000, status), 0..4).prop_map(|mut s| {
            s.sort_by_key(|(t, _)| *t);
            s.into_iter().map(|(t, status)| (Timestamp::from_millis(T0 + t), status)).collect()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1000))]

        /// Readings taken one by one (in order, late, tied, in the future, dipping) price the
        /// session as the whole of them priced from the database does, after every reading.
        #[test]
        fn readings_one_by_one_price_as_the_whole(
            rate in rate(),
            statuses in statuses(),
            steps in proptest::collection::vec((prop_oneof![8 => 1i64..120_000, 1 => -60_000i64..0, 1 => Just(0)], -20i64..3_000, 0i64..30_000), 1..30),
        ) {
            let mut live = Live::new(facts(rate.clone(), statuses.clone()));
            let mut whole = facts(rate, statuses);
            let (mut at, mut now, mut last) = (T0, T0, Decimal::from(100));
            for (step, delta, lateness) in steps {
                at += step;
                // Joule's clock never runs back; a charger's stamps may be ahead of it.
                now = now.max(at + lateness - 5_000);
                let wh = last + Decimal::from(delta);
                let (stamp, heard) = (Timestamp::from_millis(at), Timestamp::from_millis(now));
                let mut taken = live.reading(stamp, wh, heard);
                if taken == Reading::NeedsHistory {
                    // As the node does: the session read again from the database, which holds
                    // every reading so far.
                    live = Live::new(SessionFacts { read_at: heard, ..whole.clone() });
                    taken = live.reading(stamp, wh, heard);
                }
                let kept = taken == Reading::Taken;
                prop_assert_ne!(taken, Reading::NeedsHistory);
                prop_assert_eq!(kept, whole.readings.last().is_none_or(|(_, l)| wh >= *l));
                if kept {
                    whole.add_reading(stamp, wh, heard);
                    last = wh;
                }
                whole.read_at = heard;
                let (incremental, reference) = (live.progress(), pricing::progress(&whole));
                prop_assert_eq!(&incremental.cost, &reference.cost);
                prop_assert_eq!(incremental.metrics, reference.metrics);
                // Shown alike, without the trailing zeros of split energy.
                let shown = serde_json::to_string(&incremental.metrics).unwrap();
                prop_assert_eq!(&shown, &serde_json::to_string(&reference.metrics).unwrap());
                prop_assert_eq!(incremental.metrics.energy_consumed_wh.scale(), incremental.metrics.energy_consumed_wh.normalize().scale());
                prop_assert_eq!(live.decide(heard), intelligence::decide_on(&whole, heard));
            }
            // Only the last readings are kept once they extend the activity.
            prop_assert!(whole.readings.ends_with(&live.facts().readings));
            prop_assert!(live.facts().readings.len() <= RECENT_READINGS || !live.trimmed);
        }

        /// A session's curve ends where its progress is (energy and cost), its energy never
        /// falls, and it has at most the points asked for.
        #[test]
        fn the_curve_ends_at_the_progress(
            rate in rate(),
            statuses in statuses(),
            steps in proptest::collection::vec((1i64..120_000, 0i64..3_000), 1..40),
            points in 1usize..12,
        ) {
            let mut whole = facts(rate, statuses);
            let (mut at, mut wh) = (T0, Decimal::from(100));
            for (step, delta) in steps {
                at += step;
                wh += Decimal::from(delta);
                whole.add_reading(Timestamp::from_millis(at), wh, Timestamp::from_millis(at));
                whole.read_at = Timestamp::from_millis(at);
            }
            let curve = pricing::curve(&whole, points);
            let progress = pricing::progress(&whole);
            prop_assert!(!curve.is_empty() && curve.len() <= points);
            let last = curve.last().unwrap();
            prop_assert_eq!(last.energy_wh, progress.metrics.energy_consumed_wh);
            prop_assert_eq!(last.cost, progress.cost.map(|c| c.amount));
            prop_assert!(curve.windows(2).all(|w| w[0].energy_wh <= w[1].energy_wh && w[0].at <= w[1].at));
            prop_assert!(curve.iter().all(|p| p.power_w >= Decimal::ZERO));
        }

        /// A charger reporting in order, its clock ahead of Joule's or behind it, several
        /// readings stamped with one time: its session is never read again from the database,
        /// and it keeps only its last readings once two have extended it.
        #[test]
        fn readings_in_order_never_need_the_history(
            rate in rate(),
            ahead in prop_oneof![Just(0i64), 1i64..60_000, -600_000i64..0],
            steps in proptest::collection::vec((prop_oneof![3 => 1i64..60_000, 1 => Just(0)], 0i64..3_000), 1..60),
        ) {
            let mut live = Live::new(facts(rate.clone(), Vec::new()));
            let mut whole = facts(rate, Vec::new());
            let (mut now, mut wh) = (T0, Decimal::from(100));
            for (step, delta) in steps {
                now += step;
                wh += Decimal::from(delta);
                let (stamp, heard) = (Timestamp::from_millis(now + ahead), Timestamp::from_millis(now));
                prop_assert_eq!(live.reading(stamp, wh, heard), Reading::Taken);
                whole.add_reading(stamp, wh, heard);
                whole.read_at = heard;
            }
            prop_assert_eq!(live.progress().cost, pricing::progress(&whole).cost);
            let extending = whole.readings.iter().filter(|(t, _)| t.millis() > T0).count();
            prop_assert!(extending < 2 || live.facts().readings.len() <= RECENT_READINGS, "{} readings kept", live.facts().readings.len());
        }
    }
}
