//! ISO 3166-1 alpha-2 country codes.

use std::fmt;

use isocountry::CountryCode;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::{RefOr, Schema};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Country(CountryCode);

impl Country {
    pub const US: Country = Country(CountryCode::USA);

    pub fn parse(code: &str) -> Option<Country> {
        if code.len() != 2 {
            return None;
        }
        CountryCode::for_alpha2_caseless(code).ok().map(Country)
    }

    pub fn alpha2(self) -> &'static str {
        self.0.alpha2()
    }
}

impl fmt::Display for Country {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.alpha2())
    }
}

impl Serialize for Country {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.alpha2())
    }
}

impl<'de> Deserialize<'de> for Country {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Country, D::Error> {
        let s = String::deserialize(d)?;
        Country::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not an ISO 3166-1 alpha-2 country code")))
    }
}

impl utoipa::PartialSchema for Country {
    fn schema() -> RefOr<Schema> {
        let codes = CountryCode::iter_alpha2().map(|c| c.alpha2()).flat_map(|code| [code.to_string(), code.to_ascii_lowercase()]);
        crate::schema::one_of_strings(codes).description(Some("An ISO 3166-1 alpha-2 country code, read in any case.")).examples(["US"]).into()
    }
}

impl utoipa::ToSchema for Country {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_alpha2_only() {
        assert_eq!(Country::parse("us"), Some(Country::US));
        assert_eq!(Country::parse("DE").unwrap().alpha2(), "DE");
        assert_eq!(Country::parse("USA"), None);
        assert_eq!(Country::parse("XX"), None);
    }
}
