//! A session's running tab: the session priced period by period as it goes on.

use std::sync::Arc;

use chrono_tz::Tz;
use domain::Timestamp;
use domain::rate::Rate;
use rust_decimal::Decimal;

use crate::activity::{Activity, ActivityError, Period};
use crate::cost::Cost;
use crate::cuts::{Cursor, Stretch, utc};
use crate::engine::{Books, Checked, MAX_SPAN_MS, MS_PER_HOUR, Plan, PricingError, Slice, share};

/// A session priced so far: periods go in as they happen, each in constant time (amortized
/// over the session: a cut point of the rate's restrictions is worked out and passed once), and
/// [`Tab::cost`] reads the cost in time proportional to its rows, never to the periods.
/// The cost is `price` of the same periods, exactly; `price` is this fold.
///
/// ```
/// use domain::connector::ConnectorStatus;
/// use domain::rate::RateInput;
/// use domain::{Id, Timestamp};
/// use rust_decimal::Decimal;
/// use tariff::{Outlook, Period, Tab};
///
/// let rate: RateInput = serde_json::from_str(r#"{"currency": "USD", "price_components": [
///     {"type": "ENERGY", "price": 0.50}]}"#).unwrap();
/// let rate = rate.create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap();
/// // At the session's start.
/// let mut tab = Tab::new(&rate, chrono_tz::UTC);
/// // A meter reading every minute: 120 Wh each, 7.2 kW.
/// for minute in 0..10 {
///     let period = Period {
///         start: Timestamp::from_millis(minute * 60_000),
///         end: Timestamp::from_millis((minute + 1) * 60_000),
///         status: ConnectorStatus::Charging,
///         paused: false,
///         energy_wh: Decimal::from(120),
///     };
///     tab.push(&period).unwrap();
/// }
/// // 1.2 kWh at $0.50.
/// assert_eq!(tab.cost().unwrap().amount, Decimal::new(60, 2));
/// // Going on at 7.2 kW ($0.001 a second): $1.20 in another 10 minutes; $1.00 once rounded
/// // ($0.995) after 395 s.
/// let now = tab.end().unwrap();
/// let charging = Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::from(7200) };
/// assert_eq!(tab.project(now, 600, charging).unwrap().amount, Decimal::new(120, 2));
/// assert_eq!(tab.seconds_until(now, charging, Decimal::ONE, 3600), Ok(Some(395)));
/// ```
#[derive(Clone, Debug)]
pub struct Tab {
    /// Shared by the tab's clones (a projection prices a clone).
    plan: Arc<Plan>,
    /// The periods taken so far.
    periods: usize,
    /// The first period's start and the last one's end, ms.
    start: Option<i64>,
    end: Option<i64>,
    /// Energy delivered so far, Wh; `None` beyond exact decimals.
    energy_wh: Option<Decimal>,
    cursor: Cursor,
    books: Books,
    /// Why the periods so far cannot be priced. Pricing stops at the first error, which no
    /// later period clears (pricing a longer activity meets it too), except that the activity
    /// can still grow beyond [`MAX_SPAN_DAYS`](crate::MAX_SPAN_DAYS), which is answered first.
    error: Option<PricingError>,
}

impl Tab {
    /// An empty tab for a session priced with `rate`, times of day in `tz`.
    pub fn new(rate: &Rate, tz: Tz) -> Tab {
        Tab {
            plan: Arc::new(Plan::new(rate, tz)),
            periods: 0,
            start: None,
            end: None,
            energy_wh: Some(Decimal::ZERO),
            cursor: Cursor::default(),
            books: Books::default(),
            error: None,
        }
    }

    /// The tab of a whole activity, as when a session's tab is rebuilt from what is stored.
    pub fn from_activity(rate: &Rate, tz: Tz, activity: &Activity) -> Tab {
        let mut tab = Tab::new(rate, tz);
        for p in activity.periods() {
            tab.take(p);
        }
        tab
    }

    /// Adds the next period: it must keep an [`Activity`]'s rules after the periods so far
    /// (`index` in the error counts the periods taken); one that does not leaves the tab as it
    /// was.
    pub fn push(&mut self, period: &Period) -> Result<(), ActivityError> {
        period.check(self.periods, self.end())?;
        self.take(period);
        Ok(())
    }

    /// The cost of the periods so far: `price` of them.
    pub fn cost(&self) -> Result<Cost, PricingError> {
        match self.error {
            Some(e) => Err(e),
            None => self.books.cost(&self.plan, self.end),
        }
    }

    pub fn start(&self) -> Option<Timestamp> {
        self.start.map(Timestamp::from_millis)
    }

    pub fn end(&self) -> Option<Timestamp> {
        self.end.map(Timestamp::from_millis)
    }

    /// Energy delivered so far, Wh; `None` beyond exact decimals.
    pub fn energy_wh(&self) -> Option<Decimal> {
        self.energy_wh
    }

    /// Adds a period known to keep the rules.
    pub(crate) fn take(&mut self, period: &Period) {
        let (start, end) = (period.start.millis(), period.end.millis());
        let session_start = *self.start.get_or_insert(start);
        self.periods += 1;
        self.end = Some(end);
        let before = self.energy_wh;
        self.energy_wh = before.and_then(|e| e.checked_add(period.energy_wh));
        if end.checked_sub(session_start).is_none_or(|span| span > MAX_SPAN_MS) {
            self.error = Some(PricingError::TooLong);
        }
        if self.error.is_some() {
            return;
        }
        let priced = match (before, self.energy_wh) {
            (Some(energy_before_wh), Some(_)) => self.slice(period, Stretch { session_start, start, end, energy_before_wh, energy_wh: period.energy_wh }),
            _ => Err(PricingError::Overflow),
        };
        if let Err(e) = priced {
            self.error = Some(e);
        }
    }

    /// Cuts the period where a restriction may switch and prices each slice.
    fn slice(&mut self, period: &Period, p: Stretch) -> Result<(), PricingError> {
        let plan = &*self.plan;
        let length = p.end - p.start;
        let power_kw = if length > 0 { share(p.energy_wh, MS_PER_HOUR, length)?.per(Decimal::ONE_THOUSAND)? } else { Decimal::ZERO };
        let mut bounds = vec![p.start];
        self.cursor.cut(&plan.switches, plan.tz, &p, &mut bounds)?;
        bounds.push(p.end);
        bounds.sort_unstable();
        bounds.dedup();
        // An instant that carries energy (a start and stop, or readings, reported at one time)
        // is one slice: its energy is priced like any other.
        if bounds.len() == 1 && p.energy_wh > Decimal::ZERO {
            bounds.push(p.end);
        }
        let mut given = Decimal::ZERO;
        for (i, pair) in bounds.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let last = i == bounds.len() - 2;
            // The last slice takes what is left, so the period's energy is kept exactly.
            let energy = if last { p.energy_wh.minus(given)? } else { share(p.energy_wh, b - a, length)? };
            let mid = a + (b - a) / 2;
            let to_mid = if length > 0 { share(p.energy_wh, mid - p.start, length)? } else { Decimal::ZERO };
            let slice = Slice {
                start: a,
                end: b,
                usage: period.usage(),
                energy_wh: energy,
                energy_at_mid_kwh: p.energy_before_wh.plus(to_mid)?.per(Decimal::ONE_THOUSAND)?,
                power_kw,
                since_start_at_mid_s: Decimal::new(mid - p.session_start, 3),
                local_at_mid: utc(mid).with_timezone(&plan.tz),
            };
            self.books.add(plan, &slice)?;
            given = given.plus(energy)?;
        }
        Ok(())
    }
}

/// Prices `activity` under `rate`, with times of day in `tz`: the [`Tab`] of its periods. Every
/// step is checked: an activity beyond [`MAX_SPAN_DAYS`](crate::MAX_SPAN_DAYS) or a cost beyond
/// exact decimals is an error, never a panic.
pub fn price(rate: &Rate, tz: Tz, activity: &Activity) -> Result<Cost, PricingError> {
    Tab::from_activity(rate, tz, activity).cost()
}
