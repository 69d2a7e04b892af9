//! Charger clocks are not trusted for money (SPEC 13). A charger's timestamps are kept as it
//! reports them, but a session is billed only within a span of Joule's own times: a session
//! Joule started (RemoteStartTransaction) cannot have started before Joule asked, a session the
//! charger started cannot have started more than 24 hours before Joule heard of it (a charger
//! may queue its StartTransaction while offline), and no session ends after Joule received its
//! StopTransaction, or, while it runs, after now. A time outside the span counts at its edge.
//! A reading counts no later than Joule received it (`facts::counts_at`), before this applies.

use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;

/// How long before Joule received a charger's own StartTransaction its session may have started.
pub const CHARGER_START_LEEWAY_MS: i64 = 24 * 60 * 60 * 1000;

/// The times a session's billed activity lies within.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Span {
    pub start: Timestamp,
    pub end: Timestamp,
}

impl Span {
    /// A session Joule asked the charger to start at `asked_at`, known until `until` (when Joule
    /// received its StopTransaction, or now while it runs).
    pub fn remote_start(asked_at: Timestamp, until: Timestamp) -> Span {
        Span { start: asked_at, end: until.max(asked_at) }
    }

    /// A session the charger started itself, whose StartTransaction Joule received at
    /// `received_at`, known until `until`.
    pub fn charger_start(received_at: Timestamp, until: Timestamp) -> Span {
        let start = Timestamp::from_millis(received_at.millis().saturating_sub(CHARGER_START_LEEWAY_MS));
        Span { start, end: until.max(start) }
    }

    /// `at`, or the edge of the span it falls beyond.
    pub fn clamp(self, at: Timestamp) -> Timestamp {
        at.clamp(self.start, self.end)
    }
}

/// A session's facts as the charger timed them.
#[derive(Clone, Debug, PartialEq)]
pub struct Reported {
    pub started_at: Timestamp,
    /// Energy register readings in time order, Wh.
    pub readings: Vec<(Timestamp, Decimal)>,
    /// The stop's time and meter, once stopped.
    pub stop: Option<(Timestamp, Decimal)>,
    /// Connector status reports in time order.
    pub statuses: Vec<(Timestamp, ConnectorStatus)>,
}

/// The facts moved into `span`: every time clamped to it, nothing dropped, so every reading's
/// energy still counts and the order of the reports stays as it was.
pub fn billed(span: Span, reported: &Reported) -> Reported {
    let at = |(t, v)| (span.clamp(t), v);
    Reported {
        started_at: span.clamp(reported.started_at),
        readings: reported.readings.iter().copied().map(at).collect(),
        stop: reported.stop.map(at),
        statuses: reported.statuses.iter().map(|&(t, s)| (span.clamp(t), s)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::activity::of_session;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    /// Any time a charger could stamp, from 1970 to far in the future.
    fn stamp() -> impl Strategy<Value = Timestamp> {
        prop_oneof![Just(10_000i64), 0i64..4_000_000_000_000, 1_700_000_000_000i64..1_700_000_900_000].prop_map(Timestamp::from_millis)
    }

    fn reported() -> impl Strategy<Value = Reported> {
        (stamp(), proptest::collection::vec((stamp(), 0i64..5_000), 0..8), proptest::option::of((stamp(), 0i64..5_000))).prop_map(
            |(started_at, readings, stop)| {
                let mut readings = readings;
                readings.sort_by_key(|(at, _)| *at);
                // The register rises with time, as a meter's does.
                let mut register = Decimal::ZERO;
                let readings: Vec<_> = readings
                    .into_iter()
                    .map(|(at, wh)| {
                        register += Decimal::from(wh);
                        (at, register)
                    })
                    .collect();
                let stop = stop.map(|(at, wh)| (at, register + Decimal::from(wh)));
                Reported { started_at, readings, stop, statuses: Vec::new() }
            },
        )
    }

    fn span() -> impl Strategy<Value = Span> {
        (1_700_000_000_000i64..1_700_000_600_000, 0i64..600_000, any::<bool>()).prop_map(|(start, length, remote)| {
            let (start, until) = (Timestamp::from_millis(start), Timestamp::from_millis(start + length));
            if remote { Span::remote_start(start, until) } else { Span::charger_start(start, until) }
        })
    }

    proptest! {
        /// Whatever the charger stamps, the billed activity lies within Joule's own times, and
        /// it holds all the energy the meter counted.
        #[test]
        fn the_billed_span_is_joules_and_the_energy_all_counts(span in span(), reported in reported()) {
            let billed = billed(span, &reported);
            let activity = of_session(billed.started_at, Decimal::ZERO, &billed.readings, billed.stop, &billed.statuses, &[]);
            for p in activity.periods() {
                prop_assert!(span.start <= p.start && p.end <= span.end, "{:?} outside {:?}", p, span);
            }
            let metered = reported.stop.or(reported.readings.last().copied()).map_or(Decimal::ZERO, |(_, wh)| wh);
            prop_assert_eq!(activity.periods().iter().map(|p| p.energy_wh).sum::<Decimal>(), metered);
        }
    }

    #[test]
    fn a_reset_clock_bills_from_when_joule_asked() {
        let asked = t(1_700_000_000);
        let span = Span::remote_start(asked, t(1_700_000_060));
        let reported = Reported {
            started_at: t(10),
            readings: vec![(t(20), Decimal::from(100))],
            stop: Some((t(1_700_000_060), Decimal::from(500))),
            statuses: Vec::new(),
        };
        let billed = billed(span, &reported);
        assert_eq!(billed.started_at, asked);
        assert_eq!(billed.readings, [(asked, Decimal::from(100))], "the reading counts at the span's start");
        assert_eq!(billed.stop, reported.stop, "a stop within the span stays as reported");
    }

    #[test]
    fn a_charger_started_session_may_begin_up_to_a_day_early() {
        let received = t(1_700_000_000);
        let span = Span::charger_start(received, received);
        assert_eq!(span.clamp(t(1_700_000_000 - 3600)), t(1_700_000_000 - 3600), "an hour in the offline queue");
        assert_eq!(span.clamp(t(10)), t(1_700_000_000 - 86_400));
        assert_eq!(span.clamp(t(1_800_000_000)), received, "never after Joule heard of it");
    }
}
