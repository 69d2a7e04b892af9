//! Where a restriction may switch: the instants a period is cut at, found as the session goes
//! on. Each cut point is worked out once per session and passed once, so cutting a period
//! costs the same however long the session already is.

use std::collections::VecDeque;

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use chrono_tz::Tz;
use domain::restrictions::Restrictions;
use rust_decimal::Decimal;

use crate::engine::{Checked, PricingError};

pub(crate) fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn local_date(tz: Tz, ms: i64) -> NaiveDate {
    utc(ms).with_timezone(&tz).date_naive()
}

/// The first instant at or after local `date` `minutes` (a local time that a DST gap skips
/// becomes the end of the gap).
fn local_instant(tz: Tz, date: NaiveDate, minutes: u32) -> Option<i64> {
    let naive = date.and_time(NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?);
    (0..=180).find_map(|shift| tz.from_local_datetime(&naive.checked_add_signed(Duration::minutes(shift))?).earliest()).map(|t| t.timestamp_millis())
}

/// The switches a rate's restrictions set, fixed per rate.
#[derive(Debug)]
pub(crate) struct Switches {
    /// Local times of day, minutes after midnight, sorted, midnight first; empty if no
    /// restriction reads the wall clock.
    minutes: Vec<u32>,
    /// `min/max_duration` as offsets from the session's start, ms, sorted.
    durations_ms: Vec<i64>,
    /// `min/max_kwh` as the session's energy, Wh, sorted. A threshold beyond exact decimals is
    /// beyond any energy, so it is never reached and left out.
    energies_wh: Vec<Decimal>,
}

impl Switches {
    pub fn new<'r>(restrictions: impl Iterator<Item = &'r Restrictions> + Clone) -> Switches {
        let mut minutes = Vec::new();
        if restrictions.clone().any(Restrictions::uses_local_time) {
            minutes.push(0);
            minutes.extend(restrictions.clone().flat_map(|r| r.start_time.iter().chain(r.end_time.iter())).map(|t| u32::from(t.minutes())));
        }
        minutes.sort_unstable();
        minutes.dedup();
        let mut durations_ms: Vec<i64> = restrictions.clone().flat_map(|r| [r.min_duration, r.max_duration]).flatten().map(|s| i64::from(s) * 1000).collect();
        durations_ms.sort_unstable();
        durations_ms.dedup();
        let mut energies_wh: Vec<Decimal> =
            restrictions.flat_map(|r| [r.min_kwh, r.max_kwh]).flatten().filter_map(|kwh| kwh.checked_mul(Decimal::ONE_THOUSAND)).collect();
        energies_wh.sort_unstable();
        energies_wh.dedup();
        Switches { minutes, durations_ms, energies_wh }
    }
}

/// How far a session's cut points have been walked.
#[derive(Clone, Debug)]
pub(crate) struct Cursor {
    /// The last local day whose wall-clock cut points are in `upcoming`.
    through: Option<NaiveDate>,
    /// The first wall-clock cut point of the day after `through`: every cut point before it has
    /// been worked out, so a period ending by then needs no local dates.
    known_until: i64,
    /// Wall-clock cut points worked out and not yet passed, in order: a day or two's worth.
    upcoming: VecDeque<i64>,
    /// The first of `Switches::durations_ms` not yet passed.
    duration: usize,
    /// The first of `Switches::energies_wh` not yet passed.
    energy: usize,
}

/// A period of a session as the cursor sees it.
pub(crate) struct Stretch {
    pub session_start: i64,
    pub start: i64,
    pub end: i64,
    /// Energy delivered in the session before the period, and within it, Wh.
    pub energy_before_wh: Decimal,
    pub energy_wh: Decimal,
}

impl Default for Cursor {
    fn default() -> Cursor {
        Cursor { through: None, known_until: i64::MIN, upcoming: VecDeque::new(), duration: 0, energy: 0 }
    }
}

impl Cursor {
    /// Appends to `cuts` the instants strictly inside the period where a restriction on the wall
    /// clock, the session's duration or its energy may switch (unsorted, possibly repeated),
    /// and moves past them. Periods come in time order.
    pub fn cut(&mut self, switches: &Switches, tz: Tz, p: &Stretch, cuts: &mut Vec<i64>) -> Result<(), PricingError> {
        if !switches.minutes.is_empty() {
            if p.end > self.known_until {
                self.work_out_days(switches, tz, p);
            }
            while self.upcoming.front().is_some_and(|c| *c <= p.start) {
                self.upcoming.pop_front();
            }
            while let Some(c) = self.upcoming.front().copied().filter(|c| *c < p.end) {
                cuts.push(c);
                self.upcoming.pop_front();
            }
        }
        let durations = &switches.durations_ms;
        let at = |i: usize| durations.get(i).map(|ms| p.session_start.saturating_add(*ms));
        while at(self.duration).is_some_and(|c| c <= p.start) {
            self.duration += 1;
        }
        while let Some(c) = at(self.duration).filter(|c| *c < p.end) {
            cuts.push(c);
            self.duration += 1;
        }
        let energies = &switches.energies_wh;
        while energies.get(self.energy).is_some_and(|wh| *wh <= p.energy_before_wh) {
            self.energy += 1;
        }
        // The first millisecond at which the threshold is reached, assuming even power.
        let length = Decimal::from(p.end - p.start);
        for wh in &energies[self.energy.min(energies.len())..] {
            let to_go = wh.minus(p.energy_before_wh)?;
            if to_go >= p.energy_wh {
                break;
            }
            let offset = i64::try_from(to_go.times(length)?.per(p.energy_wh)?.ceil()).ok();
            cuts.extend(offset.map(|o| p.start.saturating_add(o)).filter(|c| *c > p.start && *c < p.end));
        }
        Ok(())
    }

    /// Works out the wall-clock cut points of the local days up to the period's end.
    fn work_out_days(&mut self, switches: &Switches, tz: Tz, p: &Stretch) {
        // A day's cut points can fall on the next day (a time a DST gap skips moves to the end
        // of the gap), so they are worked out from the day before the period's.
        let first = local_date(tz, p.start);
        let from = first.pred_opt().unwrap_or(first);
        let last = local_date(tz, p.end);
        let mut day = match self.through {
            Some(through) if through >= from => through.succ_opt(),
            _ => Some(from),
        };
        while let Some(d) = day.filter(|d| *d <= last) {
            for instant in switches.minutes.iter().filter_map(|m| local_instant(tz, d, *m)) {
                let at = self.upcoming.partition_point(|c| *c < instant);
                self.upcoming.insert(at, instant);
            }
            self.through = Some(d);
            day = d.succ_opt();
        }
        // Local times come in order, so no cut point of a later day is before its midnight (the
        // first of `minutes`).
        let next = self.through.and_then(|d| d.succ_opt()).zip(switches.minutes.first());
        self.known_until = next.and_then(|(d, m)| local_instant(tz, d, *m)).unwrap_or(i64::MIN);
    }
}

#[cfg(test)]
mod tests {
    use chrono::Days;
    use domain::restrictions::TimeOfDay;
    use proptest::prelude::*;

    use super::*;

    fn restrictions() -> impl Strategy<Value = Restrictions> {
        let minutes = proptest::option::of(0u16..1440).prop_map(|m| m.and_then(TimeOfDay::from_minutes));
        let kwh = proptest::option::of((0i64..400_000).prop_map(|wh| Decimal::new(wh, 3)));
        let seconds = proptest::option::of(0u32..200_000);
        let wall_clock = proptest::bool::weighted(0.2).prop_map(|on| on.then(|| vec![domain::restrictions::DayOfWeek::Monday]));
        (minutes.clone(), minutes, kwh.clone(), kwh, seconds.clone(), seconds, wall_clock).prop_map(
            |(start_time, end_time, min_kwh, max_kwh, min_duration, max_duration, day_of_week)| Restrictions {
                start_time,
                end_time,
                min_kwh,
                max_kwh,
                min_duration,
                max_duration,
                day_of_week,
                ..Restrictions::default()
            },
        )
    }

    /// Periods as (gap, length, Wh), in seconds from a start in 2020 to 2030.
    fn session() -> impl Strategy<Value = (i64, Vec<(i64, i64, i64)>)> {
        let period = (prop_oneof![Just(0i64), 0i64..7200, 0i64..(5 * 86_400)], prop_oneof![Just(0i64), 0i64..3600, 0i64..(3 * 86_400)], 0i64..100_000);
        (1_577_836_800i64..1_893_456_000, proptest::collection::vec(period, 1..12))
    }

    /// The cut points of one period by their definition, from the whole session: every wall-clock
    /// time of every local day around it, every duration, every energy threshold reached within.
    fn whole(switches: &Switches, tz: Tz, p: &Stretch) -> Vec<i64> {
        let mut cuts = Vec::new();
        if !switches.minutes.is_empty() {
            let (first, last) = (local_date(tz, p.start) - Days::new(2), local_date(tz, p.end) + Days::new(2));
            for day in first.iter_days().take_while(|d| *d <= last) {
                cuts.extend(switches.minutes.iter().filter_map(|m| local_instant(tz, day, *m)));
            }
        }
        cuts.extend(switches.durations_ms.iter().map(|ms| p.session_start + ms));
        for wh in &switches.energies_wh {
            let to_go = *wh - p.energy_before_wh;
            if to_go > Decimal::ZERO && to_go < p.energy_wh {
                cuts.push(p.start + i64::try_from((to_go * Decimal::from(p.end - p.start) / p.energy_wh).ceil()).unwrap());
            }
        }
        cuts.retain(|c| *c > p.start && *c < p.end);
        cuts.sort_unstable();
        cuts.dedup();
        cuts
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 5000, ..ProptestConfig::default() })]

        /// Walked period by period, the cursor finds each period's cut points as the whole
        /// session's enumeration does, in every time zone.
        #[test]
        fn the_cursor_cuts_each_period_where_the_whole_session_is_cut(
            restrictions in proptest::collection::vec(restrictions(), 0..4),
            tz in proptest::sample::select(chrono_tz::TZ_VARIANTS.to_vec()),
            (start_s, periods) in session(),
        ) {
            let switches = Switches::new(restrictions.iter());
            let mut cursor = Cursor::default();
            let (mut at, mut energy_before_wh, mut session_start) = (start_s * 1000, Decimal::ZERO, None);
            for (gap_s, length_s, wh) in periods {
                let start = at + gap_s * 1000;
                let p = Stretch { session_start: *session_start.get_or_insert(start), start, end: start + length_s * 1000, energy_before_wh, energy_wh: Decimal::from(wh) };
                let mut cuts = Vec::new();
                cursor.cut(&switches, tz, &p, &mut cuts).unwrap();
                cuts.sort_unstable();
                cuts.dedup();
                prop_assert_eq!(&cuts, &whole(&switches, tz, &p), "{} to {} in {}", utc(p.start), utc(p.end), tz);
                prop_assert!(cursor.upcoming.len() <= 3 * switches.minutes.len(), "a day or two ahead, not more");
                (at, energy_before_wh) = (p.end, energy_before_wh + p.energy_wh);
            }
        }
    }
}
