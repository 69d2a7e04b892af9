//! OCPI 2.2.1 TariffRestrictions: when a tariff element applies, as typed values.
//!
//! Bounds follow OCPI: `start_*`/`min_*` are inclusive, `end_*`/`max_*` exclusive; times of
//! day and dates are local to the location; an `end_time` before the `start_time` wraps past
//! midnight (`23:00`–`06:00`), and `end_time` `00:00` means until midnight.

use std::fmt;

use chrono::{NaiveDate, Weekday};
use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::ToSchema;

use crate::Invalid;

/// A wall-clock time of day, `HH:MM`, as minutes after midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TimeOfDay(u16);

impl TimeOfDay {
    pub fn parse(s: &str) -> Option<TimeOfDay> {
        let (h, m) = s.split_once(':')?;
        if h.len() != 2 || m.len() != 2 {
            return None;
        }
        let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
        (h < 24 && m < 60).then_some(TimeOfDay(h * 60 + m))
    }

    pub fn from_minutes(minutes: u16) -> Option<TimeOfDay> {
        (minutes < 24 * 60).then_some(TimeOfDay(minutes))
    }

    pub fn minutes(self) -> u16 {
        self.0
    }
}

impl fmt::Display for TimeOfDay {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:02}:{:02}", self.0 / 60, self.0 % 60)
    }
}

impl Serialize for TimeOfDay {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimeOfDay {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<TimeOfDay, D::Error> {
        let s = String::deserialize(d)?;
        TimeOfDay::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not a time of day in HH:MM (00:00 to 23:59)")))
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "UPPERCASE")]
pub enum DayOfWeek {
    Monday,
    Tuesday,
    Wednesday,
    Thursday,
    Friday,
    Saturday,
    Sunday,
}

impl DayOfWeek {
    pub fn of(weekday: Weekday) -> DayOfWeek {
        match weekday {
            Weekday::Mon => DayOfWeek::Monday,
            Weekday::Tue => DayOfWeek::Tuesday,
            Weekday::Wed => DayOfWeek::Wednesday,
            Weekday::Thu => DayOfWeek::Thursday,
            Weekday::Fri => DayOfWeek::Friday,
            Weekday::Sat => DayOfWeek::Saturday,
            Weekday::Sun => DayOfWeek::Sunday,
        }
    }
}

/// Dates travel as `YYYY-MM-DD`.
mod date {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.collect_str(&d.format("%Y-%m-%d")),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        match Option::<String>::deserialize(d)? {
            None => Ok(None),
            Some(s) => NaiveDate::parse_from_str(&s, "%Y-%m-%d").map(Some).map_err(|_| serde::de::Error::custom(format!("`{s}` is not a date in YYYY-MM-DD"))),
        }
    }
}

/// When an element applies; every restriction that is set must hold (a logical AND). A
/// maximum must be above its minimum, `end_date` after `start_date` and `end_time` differ from
/// `start_time`, or the element never applies and the rate is refused.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Restrictions {
    /// Local time of day `HH:MM` from which the element applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub start_time: Option<TimeOfDay>,
    /// Local time of day `HH:MM` until which (exclusive) the element applies.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, pattern = "^([01][0-9]|2[0-3]):[0-5][0-9]$")]
    pub end_time: Option<TimeOfDay>,
    /// Local date `YYYY-MM-DD` from which (inclusive) the element applies.
    #[serde(default, with = "date", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub start_date: Option<NaiveDate>,
    /// Local date `YYYY-MM-DD` until which (exclusive) the element applies.
    #[serde(default, with = "date", skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<String>, format = Date)]
    pub end_date: Option<NaiveDate>,
    /// Energy delivered so far in the session, kWh.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 10000)]
    pub min_kwh: Option<Decimal>,
    /// Exclusive, so above 0 and above `min_kwh`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1e-28, maximum = 10000)]
    pub max_kwh: Option<Decimal>,
    /// Charging power, kW.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 10000)]
    pub min_power: Option<Decimal>,
    /// Exclusive, so above 0 and above `min_power`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1e-28, maximum = 10000)]
    pub max_power: Option<Decimal>,
    /// Seconds since the session started.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 0, maximum = 2678400)]
    pub min_duration: Option<u32>,
    /// Exclusive, so above 0 and above `min_duration`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 2678400)]
    pub max_duration: Option<u32>,
    /// The days the element applies on; at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(min_items = 1, max_items = 7)]
    pub day_of_week: Option<Vec<DayOfWeek>>,
}

fn ordered<T: PartialOrd>(min: Option<T>, max: Option<T>, max_name: &str, what: &str) -> Result<(), Invalid> {
    match (min, max) {
        (Some(min), Some(max)) if min >= max => Err(Invalid::new(max_name, format!("must be greater than the minimum {what}, or the element never applies"))),
        _ => Ok(()),
    }
}

/// The largest energy threshold, kWh: the largest session energy target.
const MAX_KWH: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// The largest power threshold, kW: ten times the most powerful chargers.
const MAX_POWER_KW: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// The longest duration threshold, seconds: 31 days, the longest quote.
const MAX_DURATION_S: u32 = 31 * 24 * 3600;

fn within(value: Option<Decimal>, max: Decimal, name: &str) -> Result<(), Invalid> {
    match value {
        Some(v) if v < Decimal::ZERO || v > max => Err(Invalid::new(name, format!("must be from 0 to {max}"))),
        _ => Ok(()),
    }
}

impl Restrictions {
    /// Refuses restrictions that can never hold together.
    pub fn check(&self) -> Result<(), Invalid> {
        for (value, max, name) in [
            (self.min_kwh, MAX_KWH, "min_kwh"),
            (self.max_kwh, MAX_KWH, "max_kwh"),
            (self.min_power, MAX_POWER_KW, "min_power"),
            (self.max_power, MAX_POWER_KW, "max_power"),
        ] {
            within(value, max, name)?;
        }
        for (value, name) in [(self.min_duration, "min_duration"), (self.max_duration, "max_duration")] {
            if value.is_some_and(|s| s > MAX_DURATION_S) {
                return Err(Invalid::new(name, format!("must be at most {MAX_DURATION_S} seconds (31 days)")));
            }
        }
        if self.day_of_week.as_ref().is_some_and(|days| days.iter().enumerate().any(|(i, d)| days[..i].contains(d))) {
            return Err(Invalid::new("day_of_week", "must name each day at most once"));
        }
        ordered(self.min_kwh, self.max_kwh, "max_kwh", "energy")?;
        ordered(self.min_power, self.max_power, "max_power", "power")?;
        ordered(self.min_duration, self.max_duration, "max_duration", "duration")?;
        ordered(self.start_date, self.end_date, "end_date", "date")?;
        if let (Some(start), Some(end)) = (self.start_time, self.end_time)
            && start == end
        {
            return Err(Invalid::new("end_time", "must differ from start_time, or the element never applies"));
        }
        if matches!(&self.day_of_week, Some(days) if days.is_empty()) {
            return Err(Invalid::new("day_of_week", "must name at least one day, or the element never applies"));
        }
        if self.max_kwh == Some(Decimal::ZERO) || self.max_power == Some(Decimal::ZERO) || self.max_duration == Some(0) {
            let name = if self.max_kwh == Some(Decimal::ZERO) {
                "max_kwh"
            } else if self.max_power == Some(Decimal::ZERO) {
                "max_power"
            } else {
                "max_duration"
            };
            return Err(Invalid::new(name, "must be above 0 (it is exclusive), or the element never applies"));
        }
        Ok(())
    }

    /// Whether a local time of day falls in `[start_time, end_time)`, wrapping past midnight.
    pub fn time_of_day_holds(&self, minutes: u16) -> bool {
        let start = self.start_time.map_or(0, TimeOfDay::minutes);
        // `end_time` 00:00 (or none) is the end of the day.
        let end = self.end_time.map(TimeOfDay::minutes).filter(|m| *m != 0).unwrap_or(24 * 60);
        if start < end { (start..end).contains(&minutes) } else { minutes >= start || minutes < end }
    }

    pub fn date_holds(&self, date: NaiveDate) -> bool {
        self.start_date.is_none_or(|s| date >= s) && self.end_date.is_none_or(|e| date < e)
    }

    pub fn day_holds(&self, day: DayOfWeek) -> bool {
        self.day_of_week.as_ref().is_none_or(|days| days.contains(&day))
    }

    pub fn energy_holds(&self, kwh: Decimal) -> bool {
        self.min_kwh.is_none_or(|m| kwh >= m) && self.max_kwh.is_none_or(|m| kwh < m)
    }

    pub fn power_holds(&self, kw: Decimal) -> bool {
        self.min_power.is_none_or(|m| kw >= m) && self.max_power.is_none_or(|m| kw < m)
    }

    pub fn duration_holds(&self, seconds_since_start: Decimal) -> bool {
        self.min_duration.is_none_or(|m| seconds_since_start >= Decimal::from(m)) && self.max_duration.is_none_or(|m| seconds_since_start < Decimal::from(m))
    }

    /// Whether any restriction depends on the wall clock.
    pub fn uses_local_time(&self) -> bool {
        self.start_time.is_some() || self.end_time.is_some() || self.start_date.is_some() || self.end_date.is_some() || self.day_of_week.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(json: &str) -> Restrictions {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn times_of_day_are_half_open_and_wrap() {
        let night = r(r#"{"start_time":"23:00","end_time":"06:00"}"#);
        let hour = |h: u16| h * 60;
        assert!(night.time_of_day_holds(hour(23)) && night.time_of_day_holds(hour(2)) && night.time_of_day_holds(hour(6) - 1));
        assert!(!night.time_of_day_holds(hour(6)) && !night.time_of_day_holds(hour(22) + 59));
        let evening = r(r#"{"start_time":"20:00","end_time":"00:00"}"#);
        assert!(evening.time_of_day_holds(hour(23) + 59) && !evening.time_of_day_holds(0));
        let day = r(r#"{"start_time":"09:00","end_time":"17:00"}"#);
        assert!(day.time_of_day_holds(hour(9)) && !day.time_of_day_holds(hour(17)));
        assert!(Restrictions::default().time_of_day_holds(0));
    }

    #[test]
    fn bounds_are_inclusive_then_exclusive() {
        let x = r(
            r#"{"min_kwh":1,"max_kwh":50,"min_power":0,"max_power":16,"min_duration":60,"max_duration":3600,"start_date":"2026-01-01","end_date":"2026-02-01"}"#,
        );
        assert!(x.energy_holds(Decimal::ONE) && !x.energy_holds(Decimal::from(50)));
        assert!(x.power_holds(Decimal::ZERO) && !x.power_holds(Decimal::from(16)));
        assert!(x.duration_holds(Decimal::from(60)) && !x.duration_holds(Decimal::from(3600)));
        assert!(x.date_holds(NaiveDate::from_ymd_opt(2026, 1, 1).unwrap()) && !x.date_holds(NaiveDate::from_ymd_opt(2026, 2, 1).unwrap()));
    }

    #[test]
    fn restrictions_that_never_hold_are_refused() {
        for (json, field) in [
            (r#"{"min_kwh":5,"max_kwh":5}"#, "max_kwh"),
            (r#"{"min_power":10,"max_power":2}"#, "max_power"),
            (r#"{"min_duration":100,"max_duration":10}"#, "max_duration"),
            (r#"{"start_date":"2026-02-01","end_date":"2026-01-01"}"#, "end_date"),
            (r#"{"start_time":"10:00","end_time":"10:00"}"#, "end_time"),
            (r#"{"day_of_week":[]}"#, "day_of_week"),
            (r#"{"max_duration":0}"#, "max_duration"),
            (r#"{"min_kwh":-1}"#, "min_kwh"),
            (r#"{"max_kwh":1e20}"#, "max_kwh"),
            (r#"{"min_power":10000.5}"#, "min_power"),
            (r#"{"max_duration":2678401}"#, "max_duration"),
            (r#"{"day_of_week":["MONDAY","FRIDAY","MONDAY"]}"#, "day_of_week"),
        ] {
            assert_eq!(r(json).check().unwrap_err().field, field, "{json}");
        }
        assert!(serde_json::from_str::<Restrictions>(r#"{"start_time":"24:00"}"#).is_err());
        assert!(serde_json::from_str::<Restrictions>(r#"{"max_current":32}"#).is_err());
        assert!(r(r#"{"start_time":"23:00","end_time":"06:00","day_of_week":["SATURDAY"]}"#).check().is_ok());
    }
}
