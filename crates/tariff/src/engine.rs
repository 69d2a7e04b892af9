//! Pricing: cut the activity where a restriction may switch, pick each dimension's price
//! component per piece, add up per component, apply grace period, step size, FLAT, tax and the
//! minimum.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use domain::Timestamp;
use domain::rate::{ComponentType, PriceComponent, Rate};
use domain::restrictions::{DayOfWeek, Restrictions};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::activity::{Activity, Use};
use crate::cost::{Cost, CostRow, Span};

const MS_PER_HOUR: i64 = 3_600_000;
/// The longest activity the engine prices: the work of pricing grows with the days an
/// activity spans (restrictions on the wall clock cut it every local day), so it is bounded.
/// A year and a month: far beyond the longest session and the 31 days a quote may span.
pub const MAX_SPAN_DAYS: i64 = 400;

/// Why an activity cannot be priced. Neither happens to an activity within the bounds the
/// API and the OCPP endpoint keep; pricing answers them instead of panicking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PricingError {
    #[error("the activity spans more than {MAX_SPAN_DAYS} days")]
    TooLong,
    #[error("the cost is beyond exact decimal arithmetic")]
    Overflow,
}

/// Checked decimal arithmetic: an overflow (or a division by zero) is a `PricingError`.
trait Checked: Sized {
    fn times(self, other: Decimal) -> Result<Decimal, PricingError>;
    fn per(self, other: Decimal) -> Result<Decimal, PricingError>;
    fn plus(self, other: Decimal) -> Result<Decimal, PricingError>;
    fn minus(self, other: Decimal) -> Result<Decimal, PricingError>;
}

impl Checked for Decimal {
    fn times(self, other: Decimal) -> Result<Decimal, PricingError> {
        self.checked_mul(other).ok_or(PricingError::Overflow)
    }
    fn per(self, other: Decimal) -> Result<Decimal, PricingError> {
        self.checked_div(other).ok_or(PricingError::Overflow)
    }
    fn plus(self, other: Decimal) -> Result<Decimal, PricingError> {
        self.checked_add(other).ok_or(PricingError::Overflow)
    }
    fn minus(self, other: Decimal) -> Result<Decimal, PricingError> {
        self.checked_sub(other).ok_or(PricingError::Overflow)
    }
}

fn sum(values: impl IntoIterator<Item = Decimal>) -> Result<Decimal, PricingError> {
    values.into_iter().try_fold(Decimal::ZERO, Checked::plus)
}

/// `energy` shared out by time: what falls in `part` of `whole` milliseconds.
fn share(energy: Decimal, part: i64, whole: i64) -> Result<Decimal, PricingError> {
    energy.times(Decimal::from(part))?.per(Decimal::from(whole))
}

/// A rate's elements in evaluation order: its `elements`, then its plain `price_components`
/// as one unrestricted element (the fallback for every dimension it prices).
struct Element<'r> {
    components: &'r [PriceComponent],
    restrictions: Option<&'r Restrictions>,
}

fn elements(rate: &Rate) -> Vec<Element<'_>> {
    let mut list: Vec<Element<'_>> =
        rate.elements.iter().flatten().map(|e| Element { components: &e.price_components, restrictions: e.restrictions.as_ref() }).collect();
    if !rate.price_components.is_empty() {
        list.push(Element { components: &rate.price_components, restrictions: None });
    }
    list
}

/// A stretch of the session within which no restriction changes.
struct Slice {
    start: i64,
    end: i64,
    usage: Use,
    energy_wh: Decimal,
    /// Energy delivered in the session before this slice's midpoint, kWh.
    energy_at_mid_kwh: Decimal,
    /// Average power of the period the slice belongs to, kW.
    power_kw: Decimal,
    /// Seconds from the session's start to this slice's midpoint.
    since_start_at_mid_s: Decimal,
    local_at_mid: DateTime<Tz>,
}

impl Slice {
    fn holds(&self, r: &Restrictions) -> bool {
        let local = self.local_at_mid;
        r.time_of_day_holds((local.hour() * 60 + local.minute()) as u16)
            && r.date_holds(local.date_naive())
            && r.day_holds(DayOfWeek::of(local.weekday()))
            && r.energy_holds(self.energy_at_mid_kwh)
            && r.power_holds(self.power_kw)
            && r.duration_holds(self.since_start_at_mid_s)
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The first instant at or after local `date` `minutes` (a local time that a DST gap skips
/// becomes the end of the gap).
fn local_instant(tz: Tz, date: NaiveDate, minutes: u32) -> Option<i64> {
    let naive = date.and_time(NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?);
    (0..=180).find_map(|shift| tz.from_local_datetime(&naive.checked_add_signed(Duration::minutes(shift))?).earliest()).map(|t| t.timestamp_millis())
}

/// Instants between `start` and `end` where a restriction on the wall clock or on the
/// session's duration may switch, sorted.
fn clock_cuts(elements: &[Element<'_>], tz: Tz, start: i64, end: i64) -> Vec<i64> {
    let restrictions: Vec<&Restrictions> = elements.iter().filter_map(|e| e.restrictions).collect();
    let mut cuts: Vec<i64> =
        restrictions.iter().flat_map(|r| [r.min_duration, r.max_duration]).flatten().map(|s| start.saturating_add(i64::from(s) * 1000)).collect();
    if restrictions.iter().any(|r| r.uses_local_time()) {
        let mut minutes: Vec<u32> = vec![0];
        for r in &restrictions {
            minutes.extend(r.start_time.iter().chain(r.end_time.iter()).map(|t| u32::from(t.minutes())));
        }
        minutes.sort_unstable();
        minutes.dedup();
        let last = utc(end).with_timezone(&tz).date_naive();
        let first = utc(start).with_timezone(&tz).date_naive();
        let mut day = Some(first.pred_opt().unwrap_or(first));
        while let Some(d) = day.filter(|d| *d <= last) {
            cuts.extend(minutes.iter().filter_map(|m| local_instant(tz, d, *m)));
            day = d.succ_opt();
        }
    }
    cuts.retain(|c| *c > start && *c < end);
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Offsets into a period (of `length` ms, delivering `energy_wh` after `energy_before_wh`)
/// where the session's energy reaches a `min_kwh` or `max_kwh`, assuming even power.
fn energy_cuts(elements: &[Element<'_>], length: i64, energy_before_wh: Decimal, energy_wh: Decimal) -> Result<Vec<i64>, PricingError> {
    let mut cuts = Vec::new();
    if energy_wh <= Decimal::ZERO {
        return Ok(cuts);
    }
    for kwh in elements.iter().filter_map(|e| e.restrictions).flat_map(|r| [r.min_kwh, r.max_kwh]).flatten() {
        let to_go = kwh.times(Decimal::ONE_THOUSAND)?.minus(energy_before_wh)?;
        if to_go > Decimal::ZERO && to_go < energy_wh {
            // The first millisecond at which the threshold is reached.
            cuts.extend(i64::try_from(to_go.times(Decimal::from(length))?.per(energy_wh)?.ceil()).ok());
        }
    }
    Ok(cuts)
}

fn slices(elements: &[Element<'_>], tz: Tz, activity: &Activity) -> Result<Vec<Slice>, PricingError> {
    let (Some(session_start), Some(session_end)) = (activity.start(), activity.end()) else { return Ok(Vec::new()) };
    let session_start = session_start.millis();
    if session_end.millis().checked_sub(session_start).is_none_or(|span| span > MAX_SPAN_DAYS * 24 * MS_PER_HOUR) {
        return Err(PricingError::TooLong);
    }
    let clock = clock_cuts(elements, tz, session_start, session_end.millis());
    let mut out = Vec::new();
    let mut energy_before = Decimal::ZERO;
    for period in activity.periods() {
        let (start, end) = (period.start.millis(), period.end.millis());
        let length = end - start;
        let power_kw = if length > 0 { share(period.energy_wh, MS_PER_HOUR, length)?.per(Decimal::ONE_THOUSAND)? } else { Decimal::ZERO };
        let within = &clock[clock.partition_point(|c| *c <= start)..clock.partition_point(|c| *c < end)];
        let mut bounds = vec![start];
        bounds.extend_from_slice(within);
        bounds.extend(energy_cuts(elements, length, energy_before, period.energy_wh)?.into_iter().map(|o| start + o));
        bounds.push(end);
        bounds.sort_unstable();
        bounds.dedup();
        // An instant that carries energy (a start and stop, or readings, reported at one time)
        // is one slice: its energy is priced like any other.
        if bounds.len() == 1 && period.energy_wh > Decimal::ZERO {
            bounds.push(end);
        }
        let mut given = Decimal::ZERO;
        for (i, pair) in bounds.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let last = i == bounds.len() - 2;
            // The last slice takes what is left, so the period's energy is kept exactly.
            let energy = if last { period.energy_wh.minus(given)? } else { share(period.energy_wh, b - a, length)? };
            let mid = a + (b - a) / 2;
            let to_mid = if length > 0 { share(period.energy_wh, mid - start, length)? } else { Decimal::ZERO };
            out.push(Slice {
                start: a,
                end: b,
                usage: period.usage(),
                energy_wh: energy,
                energy_at_mid_kwh: energy_before.plus(to_mid)?.per(Decimal::ONE_THOUSAND)?,
                power_kw,
                since_start_at_mid_s: Decimal::new(mid - session_start, 3),
                local_at_mid: utc(mid).with_timezone(&tz),
            });
            given = given.plus(energy)?;
        }
        energy_before = energy_before.plus(period.energy_wh)?;
    }
    Ok(out)
}

/// The component pricing `kind` in this slice: the first element that has one and whose
/// restrictions hold.
fn component<'r>(elements: &[Element<'r>], slice: &Slice, kind: ComponentType) -> Option<(usize, &'r PriceComponent)> {
    elements.iter().enumerate().find_map(|(i, e)| {
        let c = e.components.iter().find(|c| c.kind == kind)?;
        e.restrictions.is_none_or(|r| slice.holds(r)).then_some((i, c))
    })
}

/// A row being added up: milliseconds for time, Wh for energy.
struct Tally<'r> {
    element: usize,
    component: &'r PriceComponent,
    start: i64,
    end: i64,
    quantity: Decimal,
}

fn add<'r>(rows: &mut Vec<Tally<'r>>, (element, component): (usize, &'r PriceComponent), start: i64, end: i64, quantity: Decimal) -> Result<(), PricingError> {
    if quantity <= Decimal::ZERO {
        return Ok(());
    }
    match rows.last_mut() {
        Some(row) if row.element == element => {
            row.end = end;
            row.quantity = row.quantity.plus(quantity)?;
        }
        _ => rows.push(Tally { element, component, start, end, quantity }),
    }
    Ok(())
}

/// Rounds the dimension's session total up to the step size of its last component; the extra
/// is billed in the last row (OCPI 2.2.1, CDR module, step_size).
fn round_total(rows: &mut [Tally<'_>], unit: Decimal) -> Result<(), PricingError> {
    let Some(last) = rows.last() else { return Ok(()) };
    let step = Decimal::from(last.component.step_size).times(unit)?;
    let total = sum(rows.iter().map(|r| r.quantity))?;
    let extra = total.per(step)?.ceil().times(step)?.minus(total)?;
    if let Some(last) = rows.last_mut() {
        last.quantity = last.quantity.plus(extra)?;
    }
    Ok(())
}

fn row(rate_name: &str, kind: ComponentType, tally: &Tally<'_>) -> Result<CostRow, PricingError> {
    let c = tally.component;
    let (quantity, unit, before_tax) = match kind {
        ComponentType::Energy => (tally.quantity.per(Decimal::ONE_THOUSAND)?, "kWh", tally.quantity.times(c.price)?.per(Decimal::ONE_THOUSAND)?),
        ComponentType::Time | ComponentType::ParkingTime => {
            let hour = Decimal::from(MS_PER_HOUR);
            (tally.quantity.per(hour)?, "hours", tally.quantity.times(c.price)?.per(hour)?)
        }
        ComponentType::Flat => (Decimal::ONE, "", c.price),
    };
    let total_tax = before_tax.times(c.tax)?.per(Decimal::ONE_HUNDRED)?;
    Ok(CostRow {
        kind,
        period: Span { start: Timestamp::from_millis(tally.start), end: Timestamp::from_millis(tally.end) },
        rate_name: rate_name.to_string(),
        quantity: quantity.normalize(),
        unit,
        unit_price: c.price,
        before_tax: before_tax.normalize(),
        tax: c.tax,
        total_tax: total_tax.normalize(),
        total_cost: before_tax.plus(total_tax)?.normalize(),
    })
}

/// Prices `activity` under `rate`, with times of day in `tz`. Every step is checked: an
/// activity beyond [`MAX_SPAN_DAYS`] or a cost beyond exact decimals is an error, never a panic.
pub fn price(rate: &Rate, tz: Tz, activity: &Activity) -> Result<Cost, PricingError> {
    let elements = elements(rate);
    let slices = slices(&elements, tz, activity)?;

    let mut flat: Option<Tally<'_>> = None;
    let (mut energy, mut time, mut parking) = (Vec::new(), Vec::new(), Vec::new());
    // Parking within the grace period of the first parking's component is free.
    let mut grace_left_ms: Option<i64> = None;
    for s in &slices {
        if flat.is_none()
            && let Some((element, component)) = component(&elements, s, ComponentType::Flat)
        {
            flat = Some(Tally { element, component, start: s.start, end: s.start, quantity: Decimal::ONE });
        }
        if let Some(c) = component(&elements, s, ComponentType::Energy) {
            add(&mut energy, c, s.start, s.end, s.energy_wh)?;
        }
        match s.usage {
            Use::Charging => {
                if let Some(c) = component(&elements, s, ComponentType::Time) {
                    add(&mut time, c, s.start, s.end, Decimal::from(s.end - s.start))?;
                }
            }
            Use::Parking => {
                let c = component(&elements, s, ComponentType::ParkingTime);
                let grace = grace_left_ms.get_or_insert_with(|| {
                    let hours = c.and_then(|(_, c)| c.grace_period).unwrap_or(Decimal::ZERO);
                    hours.checked_mul(Decimal::from(MS_PER_HOUR)).and_then(|ms| i64::try_from(ms.round()).ok()).unwrap_or(i64::MAX)
                });
                let free = (*grace).min(s.end - s.start);
                *grace -= free;
                if let Some(c) = c {
                    add(&mut parking, c, s.start + free, s.end, Decimal::from(s.end - s.start - free))?;
                }
            }
            Use::Neither => {}
        }
    }
    round_total(&mut energy, Decimal::ONE)?;
    // With parking billed, only the parking total is rounded (OCPI 2.2.1).
    if parking.is_empty() {
        round_total(&mut time, Decimal::ONE_THOUSAND)?;
    } else {
        round_total(&mut parking, Decimal::ONE_THOUSAND)?;
    }

    let name = rate.name.as_deref().unwrap_or("");
    let mut breakdown = Vec::new();
    if let Some(mut f) = flat {
        f.end = activity.end().map_or(f.start, Timestamp::millis);
        breakdown.push(row(name, ComponentType::Flat, &f)?);
    }
    for (kind, rows) in [(ComponentType::Energy, &energy), (ComponentType::Time, &time), (ComponentType::ParkingTime, &parking)] {
        for t in rows.iter() {
            breakdown.push(row(name, kind, t)?);
        }
    }
    let total = sum(breakdown.iter().map(|r| r.total_cost))?;
    let charged = rate.minimum_amount.map_or(total, |m| total.max(m));
    Ok(Cost {
        amount: charged.round_dp_with_strategy(rate.currency.exponent(), RoundingStrategy::MidpointAwayFromZero).normalize(),
        currency: rate.currency,
        breakdown,
    })
}
