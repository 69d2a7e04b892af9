//! Projection for session intelligence: what the session will cost if it goes on as it is.

use chrono_tz::Tz;
use domain::Timestamp;
use domain::connector::ConnectorStatus;
use domain::rate::Rate;
use rust_decimal::Decimal;

use crate::activity::{Activity, Period};
use crate::cost::Cost;
use crate::engine::PricingError;
use crate::tab::Tab;

/// How the session is going right now.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Outlook {
    pub status: ConnectorStatus,
    pub paused: bool,
    /// Charging power, W.
    pub power_w: Decimal,
}

impl Tab {
    /// The cost `seconds` after `from`, if the session goes on as `outlook` says: the periods so
    /// far and one more, from their end (or from `from`, if later). The tab itself is left as
    /// it is.
    pub fn project(&self, from: Timestamp, seconds: u32, outlook: Outlook) -> Result<Cost, PricingError> {
        let start = self.end().map_or(from, |end| end.max(from));
        let energy_wh = outlook.power_w.max(Decimal::ZERO).checked_mul(Decimal::from(seconds)).ok_or(PricingError::Overflow)? / Decimal::from(3600);
        let end = Timestamp::from_millis(start.millis().saturating_add(i64::from(seconds) * 1000));
        let mut continued = self.clone();
        continued.take(&Period { start, end, status: outlook.status, paused: outlook.paused, energy_wh });
        continued.cost()
    }

    /// The fewest whole seconds after `from`, at most `within`, after which the projected cost
    /// ([`Tab::project`]) reaches `amount`; `None` if it does not within that time. Cost never
    /// falls as a session goes on, so a binary search finds it. A session that cannot be priced
    /// is an error.
    pub fn seconds_until(&self, from: Timestamp, outlook: Outlook, amount: Decimal, within: u32) -> Result<Option<u32>, PricingError> {
        let reaches = |s: u32| self.project(from, s, outlook).map(|cost| cost.amount >= amount);
        if !reaches(within)? {
            return Ok(None);
        }
        let (mut low, mut high) = (0u32, within);
        while low < high {
            let mid = low + (high - low) / 2;
            if reaches(mid)? { high = mid } else { low = mid + 1 }
        }
        Ok(Some(low))
    }
}

/// The cost `seconds` after `from`, if the session goes on as `outlook` says: [`Tab::project`]
/// of the activity.
pub fn project(rate: &Rate, tz: Tz, activity: &Activity, from: Timestamp, seconds: u32, outlook: Outlook) -> Result<Cost, PricingError> {
    Tab::from_activity(rate, tz, activity).project(from, seconds, outlook)
}

/// The fewest whole seconds after `from`, at most `within`, after which the cost reaches
/// `amount`, if the session goes on as `outlook` says: [`Tab::seconds_until`] of the activity.
///
/// ```
/// use domain::connector::ConnectorStatus;
/// use domain::rate::RateInput;
/// use domain::{Id, Timestamp};
/// use rust_decimal::Decimal;
/// use tariff::{Activity, Outlook, seconds_until};
///
/// let rate: RateInput = serde_json::from_str(r#"{"currency": "USD", "price_components": [
///     {"type": "ENERGY", "price": 0.50}]}"#).unwrap();
/// let rate = rate.create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap();
/// let charging = Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::from(7200) };
/// // At 7.2 kW and $0.50 per kWh the cost is $0.995 after 995 s: $1.00 once rounded to cents,
/// // which is what would be charged.
/// let now = Timestamp::from_millis(0);
/// let s = seconds_until(&rate, chrono_tz::UTC, &Activity::default(), now, charging, Decimal::ONE, 3600);
/// assert_eq!(s, Ok(Some(995)));
/// ```
pub fn seconds_until(
    rate: &Rate,
    tz: Tz,
    activity: &Activity,
    from: Timestamp,
    outlook: Outlook,
    amount: Decimal,
    within: u32,
) -> Result<Option<u32>, PricingError> {
    Tab::from_activity(rate, tz, activity).seconds_until(from, outlook, amount, within)
}
