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
    /// Energy delivered in the session before this slice's midpoint, Wh.
    energy_at_mid_wh: Decimal,
    /// Average power of the period the slice belongs to, kW.
    power_kw: Decimal,
    /// Milliseconds from the session's start to this slice's midpoint.
    since_start_at_mid: i64,
    local_at_mid: DateTime<Tz>,
}

impl Slice {
    fn holds(&self, r: &Restrictions) -> bool {
        let local = self.local_at_mid;
        r.time_of_day_holds((local.hour() * 60 + local.minute()) as u16)
            && r.date_holds(local.date_naive())
            && r.day_holds(DayOfWeek::of(local.weekday()))
            && r.energy_holds(self.energy_at_mid_wh / Decimal::ONE_THOUSAND)
            && r.power_holds(self.power_kw)
            && r.duration_holds(Decimal::from(self.since_start_at_mid) / Decimal::ONE_THOUSAND)
    }
}

fn utc(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// The first instant at or after local `date` `minutes` (a local time that a DST gap skips
/// becomes the end of the gap).
fn local_instant(tz: Tz, date: NaiveDate, minutes: u32) -> Option<i64> {
    let naive = date.and_time(NaiveTime::from_hms_opt(minutes / 60, minutes % 60, 0)?);
    (0..=180).find_map(|shift| tz.from_local_datetime(&(naive + Duration::minutes(shift))).earliest()).map(|t| t.timestamp_millis())
}

/// Instants between `start` and `end` where a restriction on the wall clock or on the
/// session's duration may switch, sorted.
fn clock_cuts(elements: &[Element<'_>], tz: Tz, start: i64, end: i64) -> Vec<i64> {
    let restrictions: Vec<&Restrictions> = elements.iter().filter_map(|e| e.restrictions).collect();
    let mut cuts: Vec<i64> = restrictions.iter().flat_map(|r| [r.min_duration, r.max_duration]).flatten().map(|s| start + i64::from(s) * 1000).collect();
    if restrictions.iter().any(|r| r.uses_local_time()) {
        let mut minutes: Vec<u32> = vec![0];
        for r in &restrictions {
            minutes.extend(r.start_time.iter().chain(r.end_time.iter()).map(|t| u32::from(t.minutes())));
        }
        minutes.sort_unstable();
        minutes.dedup();
        let last = utc(end).with_timezone(&tz).date_naive();
        let mut day = utc(start).with_timezone(&tz).date_naive() - Duration::days(1);
        while day <= last {
            cuts.extend(minutes.iter().filter_map(|m| local_instant(tz, day, *m)));
            day = day.succ_opt().unwrap_or(last + Duration::days(1));
        }
    }
    cuts.retain(|c| *c > start && *c < end);
    cuts.sort_unstable();
    cuts.dedup();
    cuts
}

/// Offsets into a period (of `length` ms, delivering `energy_wh` after `energy_before_wh`)
/// where the session's energy reaches a `min_kwh` or `max_kwh`, assuming even power.
fn energy_cuts(elements: &[Element<'_>], length: i64, energy_before_wh: Decimal, energy_wh: Decimal) -> Vec<i64> {
    if energy_wh <= Decimal::ZERO {
        return Vec::new();
    }
    let thresholds = elements.iter().filter_map(|e| e.restrictions).flat_map(|r| [r.min_kwh, r.max_kwh]).flatten();
    thresholds
        .filter_map(|kwh| {
            let to_go = kwh * Decimal::ONE_THOUSAND - energy_before_wh;
            // The first millisecond at which the threshold is reached.
            (to_go > Decimal::ZERO && to_go < energy_wh).then(|| i64::try_from((to_go * Decimal::from(length) / energy_wh).ceil()).ok()).flatten()
        })
        .collect()
}

fn slices(elements: &[Element<'_>], tz: Tz, activity: &Activity) -> Vec<Slice> {
    let (Some(session_start), Some(session_end)) = (activity.start(), activity.end()) else { return Vec::new() };
    let session_start = session_start.millis();
    let clock = clock_cuts(elements, tz, session_start, session_end.millis());
    let mut out = Vec::new();
    let mut energy_before = Decimal::ZERO;
    for period in activity.periods() {
        let (start, end) = (period.start.millis(), period.end.millis());
        let length = end - start;
        let power_kw = if length > 0 { period.energy_wh * Decimal::from(MS_PER_HOUR) / Decimal::from(length) / Decimal::ONE_THOUSAND } else { Decimal::ZERO };
        let within = &clock[clock.partition_point(|c| *c <= start)..clock.partition_point(|c| *c < end)];
        let mut bounds = vec![start];
        bounds.extend_from_slice(within);
        bounds.extend(energy_cuts(elements, length, energy_before, period.energy_wh).into_iter().map(|o| start + o));
        bounds.push(end);
        bounds.sort_unstable();
        bounds.dedup();
        let mut given = Decimal::ZERO;
        for (i, pair) in bounds.windows(2).enumerate() {
            let (a, b) = (pair[0], pair[1]);
            let last = i == bounds.len() - 2;
            // The last slice takes what is left, so the period's energy is kept exactly.
            let energy = if last { period.energy_wh - given } else { period.energy_wh * Decimal::from(b - a) / Decimal::from(length) };
            let mid = a + (b - a) / 2;
            let to_mid = if length > 0 { period.energy_wh * Decimal::from(mid - start) / Decimal::from(length) } else { Decimal::ZERO };
            out.push(Slice {
                start: a,
                end: b,
                usage: period.usage(),
                energy_wh: energy,
                energy_at_mid_wh: energy_before + to_mid,
                power_kw,
                since_start_at_mid: mid - session_start,
                local_at_mid: utc(mid).with_timezone(&tz),
            });
            given += energy;
        }
        energy_before += period.energy_wh;
    }
    out
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

fn add<'r>(rows: &mut Vec<Tally<'r>>, (element, component): (usize, &'r PriceComponent), start: i64, end: i64, quantity: Decimal) {
    if quantity <= Decimal::ZERO {
        return;
    }
    match rows.last_mut() {
        Some(row) if row.element == element => {
            row.end = end;
            row.quantity += quantity;
        }
        _ => rows.push(Tally { element, component, start, end, quantity }),
    }
}

/// Rounds the dimension's session total up to the step size of its last component; the extra
/// is billed in the last row (OCPI 2.2.1, CDR module, step_size).
fn round_total(rows: &mut [Tally<'_>], unit: Decimal) {
    let Some(last) = rows.last() else { return };
    let step = Decimal::from(last.component.step_size) * unit;
    let total: Decimal = rows.iter().map(|r| r.quantity).sum();
    let rounded = (total / step).ceil() * step;
    if let Some(last) = rows.last_mut() {
        last.quantity += rounded - total;
    }
}

fn row(rate_name: &str, kind: ComponentType, tally: &Tally<'_>) -> CostRow {
    let c = tally.component;
    let (quantity, unit, before_tax) = match kind {
        ComponentType::Energy => (tally.quantity / Decimal::ONE_THOUSAND, "kWh", tally.quantity * c.price / Decimal::ONE_THOUSAND),
        ComponentType::Time | ComponentType::ParkingTime => {
            (tally.quantity / Decimal::from(MS_PER_HOUR), "hours", tally.quantity * c.price / Decimal::from(MS_PER_HOUR))
        }
        ComponentType::Flat => (Decimal::ONE, "", c.price),
    };
    let total_tax = before_tax * c.tax / Decimal::ONE_HUNDRED;
    CostRow {
        kind,
        period: Span { start: Timestamp::from_millis(tally.start), end: Timestamp::from_millis(tally.end) },
        rate_name: rate_name.to_string(),
        quantity: quantity.normalize(),
        unit,
        unit_price: c.price,
        before_tax: before_tax.normalize(),
        tax: c.tax,
        total_tax: total_tax.normalize(),
        total_cost: (before_tax + total_tax).normalize(),
    }
}

/// Prices `activity` under `rate`, with times of day in `tz`.
pub fn price(rate: &Rate, tz: Tz, activity: &Activity) -> Cost {
    let elements = elements(rate);
    let slices = slices(&elements, tz, activity);

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
            add(&mut energy, c, s.start, s.end, s.energy_wh);
        }
        match s.usage {
            Use::Charging => {
                if let Some(c) = component(&elements, s, ComponentType::Time) {
                    add(&mut time, c, s.start, s.end, Decimal::from(s.end - s.start));
                }
            }
            Use::Parking => {
                let c = component(&elements, s, ComponentType::ParkingTime);
                let grace = grace_left_ms.get_or_insert_with(|| {
                    let hours = c.and_then(|(_, c)| c.grace_period).unwrap_or(Decimal::ZERO);
                    i64::try_from((hours * Decimal::from(MS_PER_HOUR)).round()).unwrap_or(i64::MAX)
                });
                let free = (*grace).min(s.end - s.start);
                *grace -= free;
                if let Some(c) = c {
                    add(&mut parking, c, s.start + free, s.end, Decimal::from(s.end - s.start - free));
                }
            }
            Use::Neither => {}
        }
    }
    round_total(&mut energy, Decimal::ONE);
    // With parking billed, only the parking total is rounded (OCPI 2.2.1).
    if parking.is_empty() {
        round_total(&mut time, Decimal::ONE_THOUSAND);
    } else {
        round_total(&mut parking, Decimal::ONE_THOUSAND);
    }

    let name = rate.name.as_deref().unwrap_or("");
    let mut breakdown = Vec::new();
    if let Some(mut f) = flat {
        f.end = activity.end().map_or(f.start, Timestamp::millis);
        breakdown.push(row(name, ComponentType::Flat, &f));
    }
    for (kind, rows) in [(ComponentType::Energy, &energy), (ComponentType::Time, &time), (ComponentType::ParkingTime, &parking)] {
        breakdown.extend(rows.iter().map(|t| row(name, kind, t)));
    }
    let total: Decimal = breakdown.iter().map(|r| r.total_cost).sum();
    let charged = rate.minimum_amount.map_or(total, |m| total.max(m));
    Cost {
        amount: charged.round_dp_with_strategy(rate.currency.exponent(), RoundingStrategy::MidpointAwayFromZero).normalize(),
        currency: rate.currency,
        breakdown,
    }
}
