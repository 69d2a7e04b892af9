//! What Joule does about a session by itself, on its timer or when the charger speaks: re-send
//! a stop it decided until the charger reports the end, give up on a session its charger has
//! gone silent about, and tell webhooks of a running session's progress without flooding them.
//! Times are Joule's own clock, never the charger's.

use domain::Timestamp;

/// Why the runner is looking at a session with a stop pending.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Occasion {
    /// The charger sent a report about the session (MeterValues).
    Report,
    /// The charger (re)connected.
    Reconnect,
    /// The runner's timer.
    Timer,
}

/// Whether a stop Joule asked for at `asked_at`, last sent at `last_sent` (unknown after a
/// restart), goes to the charger again now: on each report and reconnect after it was asked,
/// and otherwise once `retry_s` passed since the last send, whatever the charger answered.
pub fn stop_due(asked_at: Timestamp, last_sent: Option<Timestamp>, now: Timestamp, retry_s: u32, occasion: Occasion) -> bool {
    match occasion {
        Occasion::Report | Occasion::Reconnect => now >= asked_at,
        Occasion::Timer => last_sent.is_none_or(|sent| elapsed_ms(sent, now) >= seconds_ms(retry_s)),
    }
}

/// Whether the charger has said nothing about a running session for `stale_after_s` since
/// `last_heard`: Joule then ends it from what it has.
pub fn is_stale(last_heard: Timestamp, now: Timestamp, stale_after_s: u32) -> bool {
    elapsed_ms(last_heard, now) >= seconds_ms(stale_after_s)
}

/// Whether a reading announces the session (`session.updated`): the first one, then at most
/// once every `interval_s` since the last announcement.
pub fn update_due(last_announced: Option<Timestamp>, now: Timestamp, interval_s: u32) -> bool {
    last_announced.is_none_or(|at| elapsed_ms(at, now) >= seconds_ms(interval_s))
}

fn elapsed_ms(from: Timestamp, to: Timestamp) -> i64 {
    to.millis().saturating_sub(from.millis())
}

fn seconds_ms(s: u32) -> i64 {
    i64::from(s) * 1000
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    #[test]
    fn a_stop_is_sent_again_on_reports_reconnects_and_every_retry_interval() {
        let asked = t(100);
        assert!(stop_due(asked, Some(t(100)), t(101), 30, Occasion::Report), "each report after the stop was asked");
        assert!(stop_due(asked, Some(t(100)), t(101), 30, Occasion::Reconnect));
        assert!(!stop_due(asked, Some(t(100)), t(129), 30, Occasion::Timer), "not before the retry interval");
        assert!(stop_due(asked, Some(t(100)), t(130), 30, Occasion::Timer));
        assert!(stop_due(asked, None, t(101), 30, Occasion::Timer), "after a restart Joule does not know when it last sent");
        assert!(!stop_due(asked, Some(t(100)), t(99), 30, Occasion::Report), "a report from before the stop was asked");
    }

    #[test]
    fn staleness_and_announcements_as_a_table() {
        assert!(!is_stale(t(0), t(86_399), 86_400));
        assert!(is_stale(t(0), t(86_400), 86_400));
        assert!(!is_stale(t(10), t(0), 1), "a clock that went back is not silence");
        assert!(update_due(None, t(0), 30), "the first reading");
        assert!(!update_due(Some(t(0)), t(29), 30));
        assert!(update_due(Some(t(0)), t(30), 30));
        assert!(update_due(Some(t(0)), t(0), 0), "an interval of 0 announces every reading");
    }

    proptest! {
        /// Readings at any times announce the first one, and then never two within the interval,
        /// and never leave a whole interval of readings unannounced.
        #[test]
        fn announcements_are_spaced_by_the_interval(gaps in proptest::collection::vec(0i64..20_000, 1..60), interval_s in 1u32..40) {
            let mut now = 0i64;
            let mut last: Option<Timestamp> = None;
            let mut announced = Vec::new();
            for gap in gaps {
                now += gap;
                let at = Timestamp::from_millis(now);
                if update_due(last, at, interval_s) {
                    last = Some(at);
                    announced.push(now);
                }
                prop_assert!(now - last.unwrap().millis() < i64::from(interval_s) * 1000 || last.unwrap().millis() == now);
            }
            prop_assert!(!announced.is_empty());
            for pair in announced.windows(2) {
                prop_assert!(pair[1] - pair[0] >= i64::from(interval_s) * 1000);
            }
        }

        /// On its timer, Joule re-sends a stop exactly when the retry interval has passed.
        #[test]
        fn the_timer_resends_once_the_interval_passed(sent in 0i64..1_000_000, later in 0i64..1_000_000, retry_s in 1u32..600) {
            let due = stop_due(Timestamp::from_millis(0), Some(Timestamp::from_millis(sent)), Timestamp::from_millis(sent + later), retry_s, Occasion::Timer);
            prop_assert_eq!(due, later >= i64::from(retry_s) * 1000);
        }
    }
}
