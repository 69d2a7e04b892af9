//! Money: integer minor units for wallets, ISO 4217 currencies, exact decimals for prices.

use std::fmt;

use rust_decimal::Decimal;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::{RefOr, Schema};

/// An amount in a currency's minor unit (cents for USD). Signed: ledger entries are debits or
/// credits. Arithmetic is checked; an overflow is an error, never a wrap.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(transparent)]
pub struct Cents(pub i64);

impl Cents {
    pub const ZERO: Cents = Cents(0);

    pub fn checked_add(self, other: Cents) -> Option<Cents> {
        self.0.checked_add(other.0).map(Cents)
    }

    pub fn checked_sub(self, other: Cents) -> Option<Cents> {
        self.0.checked_sub(other.0).map(Cents)
    }

    /// The same amount in major units (`16072` cents of USD is `160.72`).
    pub fn to_major(self, currency: Currency) -> Decimal {
        Decimal::new(self.0, currency.exponent())
    }
}

impl fmt::Display for Cents {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// An ISO 4217 currency that has a minor unit (so not gold or SDRs).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Currency(iso_currency::Currency);

impl Currency {
    pub const USD: Currency = Currency(iso_currency::Currency::USD);

    /// Case-insensitive: eDRV writes wallet currencies as `usd` and rate currencies as `USD`.
    pub fn parse(code: &str) -> Option<Currency> {
        let upper = code.to_ascii_uppercase();
        let currency = iso_currency::Currency::from_code(&upper)?;
        currency.exponent()?;
        Some(Currency(currency))
    }

    /// The ISO code, upper case (`USD`).
    pub fn code(self) -> &'static str {
        self.0.code()
    }

    /// Digits after the decimal point of the minor unit: 2 for USD, 0 for JPY, 3 for KWD.
    pub fn exponent(self) -> u32 {
        u32::from(self.0.exponent().unwrap_or(0))
    }

    pub fn lowercase(self) -> String {
        self.code().to_ascii_lowercase()
    }
}

impl Serialize for Currency {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.code())
    }
}

impl<'de> Deserialize<'de> for Currency {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Currency, D::Error> {
        let s = String::deserialize(d)?;
        Currency::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not an ISO 4217 currency code")))
    }
}

impl Currency {
    /// Every code [`Currency::parse`] accepts, upper case.
    pub fn all_codes() -> impl Iterator<Item = &'static str> {
        let letters = || b'A'..=b'Z';
        letters()
            .flat_map(move |a| letters().flat_map(move |b| letters().map(move |c| [a, b, c])))
            .filter_map(|code| Currency::parse(std::str::from_utf8(&code).ok()?))
            .map(Currency::code)
    }
}

impl utoipa::PartialSchema for Currency {
    fn schema() -> RefOr<Schema> {
        crate::schema::one_of_strings(Currency::all_codes().flat_map(|code| [code.to_string(), code.to_ascii_lowercase()]))
            .description(Some("An ISO 4217 currency code with a minor unit, read in any case; wallets show it lower case, rates upper case."))
            .examples(["USD"])
            .into()
    }
}

impl utoipa::ToSchema for Currency {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn currencies_parse_case_insensitively_with_their_exponent() {
        for (code, exponent) in [("usd", 2), ("USD", 2), ("EUR", 2), ("jpy", 0), ("KWD", 3)] {
            let c = Currency::parse(code).unwrap();
            assert_eq!(c.exponent(), exponent, "{code}");
            assert_eq!(c.code(), code.to_ascii_uppercase());
        }
        for bad in ["", "US", "USDX", "AAA", "XAU"] {
            assert_eq!(Currency::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn cents_become_major_units_exactly() {
        assert_eq!(Cents(16072).to_major(Currency::USD).to_string(), "160.72");
        assert_eq!(Cents(5).to_major(Currency::parse("KWD").unwrap()).to_string(), "0.005");
        assert_eq!(Cents(1200).to_major(Currency::parse("JPY").unwrap()).to_string(), "1200");
        assert_eq!(Cents(i64::MAX).checked_add(Cents(1)), None);
    }
}
