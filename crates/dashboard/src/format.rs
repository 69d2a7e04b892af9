//! How the pages write numbers and times: money with its currency's sign, energy in kWh, times
//! in the zone of the location they happened at. Pure, tested below.

use chrono::DateTime;
use chrono_tz::Tz;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

/// `$12.50`, `€3.00`, `£1.20`; other currencies as `12.50 CHF`.
pub fn money(amount: Decimal, currency: &str) -> String {
    let rounded = amount.round_dp_with_strategy(2, RoundingStrategy::MidpointAwayFromZero);
    let sign = if rounded.is_sign_negative() && !rounded.is_zero() { "−" } else { "" };
    let digits = format!("{:.2}", rounded.abs());
    match currency.to_ascii_uppercase().as_str() {
        "USD" => format!("{sign}${digits}"),
        "EUR" => format!("{sign}€{digits}"),
        "GBP" => format!("{sign}£{digits}"),
        other => format!("{sign}{digits} {other}"),
    }
}

/// Integer cents, as wallets keep them.
pub fn cents(cents: i64, currency: &str) -> String {
    money(Decimal::new(cents, 2), currency)
}

/// Cents with their sign always shown: `+$5.00`, `−$1.25`.
pub fn signed_cents(amount: i64, currency: &str) -> String {
    let shown = cents(amount, currency);
    if amount >= 0 { format!("+{shown}") } else { shown }
}

/// Wh as kWh to the Wh: `12.345 kWh`.
pub fn kwh(wh: Decimal) -> String {
    format!("{:.3} kWh", wh / Decimal::from(1000))
}

/// W as kW to the tenth: `7.2 kW`.
pub fn kw(w: Decimal) -> String {
    format!("{:.1} kW", w / Decimal::from(1000))
}

/// An API timestamp in `zone`: `2026-12-07 17:31 EST`; what is not a timestamp as it is.
pub fn time(iso: &str, zone: Tz) -> String {
    match DateTime::parse_from_rfc3339(iso) {
        Ok(t) => t.with_timezone(&zone).format("%Y-%m-%d %H:%M %Z").to_string(),
        Err(_) => iso.to_string(),
    }
}

/// An exact decimal from a JSON number or string (the API writes money as numbers).
pub fn decimal(value: &Value) -> Decimal {
    match value {
        Value::Number(n) => n.to_string().parse().unwrap_or_default(),
        Value::String(s) => s.parse().unwrap_or_default(),
        _ => Decimal::ZERO,
    }
}

/// A form's amount of money in major units (`12.50`, `-3`) as cents; `None` when it is not one.
pub fn parse_cents(text: &str) -> Option<i64> {
    let amount: Decimal = text.trim().trim_start_matches('$').parse().ok()?;
    (amount.scale() <= 2 || amount == amount.round_dp(2)).then_some(())?;
    i64::try_from(amount * Decimal::from(100)).ok()
}

/// Seconds as `1 h 05 min`, `4 min 10 s`.
pub fn duration(seconds: i64) -> String {
    let (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
    if h > 0 { format!("{h} h {m:02} min") } else { format!("{m} min {s:02} s") }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn money_has_its_currency_and_two_decimals() {
        assert_eq!(money(Decimal::new(1250, 2), "usd"), "$12.50");
        assert_eq!(money(Decimal::new(-3, 0), "EUR"), "−€3.00");
        assert_eq!(money(Decimal::new(12345, 3), "USD"), "$12.35");
        assert_eq!(money(Decimal::new(-4, 3), "USD"), "$0.00");
        assert_eq!(money(Decimal::new(5, 1), "chf"), "0.50 CHF");
        assert_eq!(cents(2500, "usd"), "$25.00");
        assert_eq!(signed_cents(500, "usd"), "+$5.00");
        assert_eq!(signed_cents(-125, "usd"), "−$1.25");
    }

    #[test]
    fn times_are_shown_in_the_zone_of_their_place() {
        let new_york: Tz = "America/New_York".parse().unwrap();
        assert_eq!(time("2026-12-07T22:31:00.000Z", new_york), "2026-12-07 17:31 EST");
        assert_eq!(time("2026-07-01T12:00:00.000Z", new_york), "2026-07-01 08:00 EDT");
        assert_eq!(time("2026-12-07T22:31:00.000Z", Tz::UTC), "2026-12-07 22:31 UTC");
        assert_eq!(time("not a time", Tz::UTC), "not a time");
    }

    #[test]
    fn amounts_typed_in_a_form_become_cents_or_nothing() {
        assert_eq!(parse_cents("12.50"), Some(1250));
        assert_eq!(parse_cents(" $7 "), Some(700));
        assert_eq!(parse_cents("-3.1"), Some(-310));
        assert_eq!(parse_cents("1.005"), None);
        assert_eq!(parse_cents("ten"), None);
        assert_eq!(parse_cents(""), None);
    }

    #[test]
    fn numbers_read_exactly_and_read_out_plainly() {
        assert_eq!(decimal(&json!(0.1)), Decimal::new(1, 1));
        assert_eq!(decimal(&json!("2.50")), Decimal::new(250, 2));
        assert_eq!(decimal(&Value::Null), Decimal::ZERO);
        assert_eq!(kwh(Decimal::new(12345, 0)), "12.345 kWh");
        assert_eq!(kw(Decimal::new(7200, 0)), "7.2 kW");
        assert_eq!(duration(3900), "1 h 05 min");
        assert_eq!(duration(250), "4 min 10 s");
    }
}
