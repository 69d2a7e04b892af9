//! The pricing rules: which price component prices each slice of the session, and how the
//! slices add up to a cost (grace period, FLAT, step size, tax, the minimum).

use chrono::{DateTime, Datelike, Timelike};
use chrono_tz::Tz;
use domain::rate::{ComponentType, Element, PriceComponent, Rate};
use domain::restrictions::{DayOfWeek, Restrictions};
use domain::{Currency, Timestamp};
use rust_decimal::{Decimal, RoundingStrategy};

use crate::activity::Use;
use crate::cost::{Cost, CostRow, Span};
use crate::cuts::Switches;

pub(crate) const MS_PER_HOUR: i64 = 3_600_000;
/// The longest activity the engine prices: the work of pricing grows with the days an
/// activity spans (restrictions on the wall clock cut it every local day), so it is bounded.
/// A year and a month: far beyond the longest session and the 31 days a quote may span.
pub const MAX_SPAN_DAYS: i64 = 400;
pub(crate) const MAX_SPAN_MS: i64 = MAX_SPAN_DAYS * 24 * MS_PER_HOUR;

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
pub(crate) trait Checked: Sized {
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
pub(crate) fn share(energy: Decimal, part: i64, whole: i64) -> Result<Decimal, PricingError> {
    energy.times(Decimal::from(part))?.per(Decimal::from(whole))
}

/// What pricing needs of a rate and a time zone, prepared once per session.
#[derive(Debug)]
pub(crate) struct Plan {
    pub tz: Tz,
    /// The rate's elements in evaluation order: its `elements`, then its plain
    /// `price_components` as one unrestricted element (the fallback for every dimension it
    /// prices).
    elements: Vec<Element>,
    pub switches: Switches,
    name: String,
    currency: Currency,
    minimum_amount: Option<Decimal>,
}

impl Plan {
    pub fn new(rate: &Rate, tz: Tz) -> Plan {
        let mut elements = rate.elements.clone().unwrap_or_default();
        if !rate.price_components.is_empty() {
            elements.push(Element { price_components: rate.price_components.clone(), restrictions: None });
        }
        let switches = Switches::new(elements.iter().filter_map(|e| e.restrictions.as_ref()));
        Plan { tz, elements, switches, name: rate.name.clone().unwrap_or_default(), currency: rate.currency, minimum_amount: rate.minimum_amount }
    }

    /// The component pricing `kind` in this slice: the first element that has one and whose
    /// restrictions hold.
    fn component(&self, slice: &Slice, kind: ComponentType) -> Option<(usize, &PriceComponent)> {
        self.elements.iter().enumerate().find_map(|(i, e)| {
            let c = e.price_components.iter().find(|c| c.kind == kind)?;
            e.restrictions.as_ref().is_none_or(|r| slice.holds(r)).then_some((i, c))
        })
    }
}

/// A stretch of the session within which no restriction changes.
pub(crate) struct Slice {
    pub start: i64,
    pub end: i64,
    pub usage: Use,
    pub energy_wh: Decimal,
    /// Energy delivered in the session before this slice's midpoint, kWh.
    pub energy_at_mid_kwh: Decimal,
    /// Average power of the period the slice belongs to, kW.
    pub power_kw: Decimal,
    /// Seconds from the session's start to this slice's midpoint.
    pub since_start_at_mid_s: Decimal,
    pub local_at_mid: DateTime<Tz>,
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

/// A row being added up: milliseconds for time, Wh for energy.
#[derive(Clone, Debug)]
struct Tally {
    element: usize,
    component: PriceComponent,
    start: i64,
    end: i64,
    quantity: Decimal,
}

fn add(rows: &mut Vec<Tally>, (element, component): (usize, &PriceComponent), start: i64, end: i64, quantity: Decimal) -> Result<(), PricingError> {
    if quantity <= Decimal::ZERO {
        return Ok(());
    }
    match rows.last_mut() {
        Some(row) if row.element == element => {
            row.end = end;
            row.quantity = row.quantity.plus(quantity)?;
        }
        _ => rows.push(Tally { element, component: component.clone(), start, end, quantity }),
    }
    Ok(())
}

/// The dimension's last row with the session total rounded up to the step size of its last
/// component: the extra is billed there (OCPI 2.2.1, CDR module, step_size).
fn rounded_last(rows: &[Tally], unit: Decimal) -> Result<Option<Decimal>, PricingError> {
    let Some(last) = rows.last() else { return Ok(None) };
    let step = Decimal::from(last.component.step_size).times(unit)?;
    let total = sum(rows.iter().map(|r| r.quantity))?;
    let extra = total.per(step)?.ceil().times(step)?.minus(total)?;
    last.quantity.plus(extra).map(Some)
}

/// The row of `tally`, billing `amount` (Wh or ms) of it.
fn row(rate_name: &str, kind: ComponentType, tally: &Tally, amount: Decimal) -> Result<CostRow, PricingError> {
    let c = &tally.component;
    let (quantity, unit, before_tax) = match kind {
        ComponentType::Energy => (amount.per(Decimal::ONE_THOUSAND)?, "kWh", amount.times(c.price)?.per(Decimal::ONE_THOUSAND)?),
        ComponentType::Time | ComponentType::ParkingTime => {
            let hour = Decimal::from(MS_PER_HOUR);
            (amount.per(hour)?, "hours", amount.times(c.price)?.per(hour)?)
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

/// The rows of a session priced slice by slice. Everything that depends on the whole session
/// (the step-size rounding, FLAT's end, the minimum) is applied when the cost is read, on a
/// copy, so slices can still be added afterwards.
#[derive(Clone, Debug, Default)]
pub(crate) struct Books {
    flat: Option<Tally>,
    energy: Vec<Tally>,
    time: Vec<Tally>,
    parking: Vec<Tally>,
    /// What is left of the grace period: parking within the grace period of the first
    /// parking's component is free.
    grace_left_ms: Option<i64>,
}

impl Books {
    pub fn add(&mut self, plan: &Plan, s: &Slice) -> Result<(), PricingError> {
        if self.flat.is_none()
            && let Some((element, component)) = plan.component(s, ComponentType::Flat)
        {
            self.flat = Some(Tally { element, component: component.clone(), start: s.start, end: s.start, quantity: Decimal::ONE });
        }
        if let Some(c) = plan.component(s, ComponentType::Energy) {
            add(&mut self.energy, c, s.start, s.end, s.energy_wh)?;
        }
        match s.usage {
            Use::Charging => {
                if let Some(c) = plan.component(s, ComponentType::Time) {
                    add(&mut self.time, c, s.start, s.end, Decimal::from(s.end - s.start))?;
                }
            }
            Use::Parking => {
                let c = plan.component(s, ComponentType::ParkingTime);
                let grace = self.grace_left_ms.get_or_insert_with(|| {
                    let hours = c.and_then(|(_, c)| c.grace_period).unwrap_or(Decimal::ZERO);
                    hours.checked_mul(Decimal::from(MS_PER_HOUR)).and_then(|ms| i64::try_from(ms.round()).ok()).unwrap_or(i64::MAX)
                });
                let free = (*grace).min(s.end - s.start);
                *grace -= free;
                if let Some(c) = c {
                    add(&mut self.parking, c, s.start + free, s.end, Decimal::from(s.end - s.start - free))?;
                }
            }
            Use::Neither => {}
        }
        Ok(())
    }

    /// The cost of the session so far, which ends at `end`: in time proportional to the rows.
    pub fn cost(&self, plan: &Plan, end: Option<i64>) -> Result<Cost, PricingError> {
        let energy_last = rounded_last(&self.energy, Decimal::ONE)?;
        // With parking billed, only the parking total is rounded (OCPI 2.2.1).
        let (time_last, parking_last) = if self.parking.is_empty() {
            (rounded_last(&self.time, Decimal::ONE_THOUSAND)?, None)
        } else {
            (None, rounded_last(&self.parking, Decimal::ONE_THOUSAND)?)
        };
        let mut breakdown = Vec::with_capacity(usize::from(self.flat.is_some()) + self.energy.len() + self.time.len() + self.parking.len());
        if let Some(flat) = &self.flat {
            let whole = Tally { end: end.unwrap_or(flat.start), ..flat.clone() };
            breakdown.push(row(&plan.name, ComponentType::Flat, &whole, Decimal::ONE)?);
        }
        for (kind, rows, last) in [
            (ComponentType::Energy, &self.energy, energy_last),
            (ComponentType::Time, &self.time, time_last),
            (ComponentType::ParkingTime, &self.parking, parking_last),
        ] {
            for (i, t) in rows.iter().enumerate() {
                let amount = if i + 1 == rows.len() { last.unwrap_or(t.quantity) } else { t.quantity };
                breakdown.push(row(&plan.name, kind, t, amount)?);
            }
        }
        let total = sum(breakdown.iter().map(|r| r.total_cost))?;
        let charged = plan.minimum_amount.map_or(total, |m| total.max(m));
        Ok(Cost {
            amount: charged.round_dp_with_strategy(plan.currency.exponent(), RoundingStrategy::MidpointAwayFromZero).normalize(),
            currency: plan.currency,
            breakdown,
        })
    }
}
