//! Timestamps: milliseconds since the Unix epoch, shown as ISO-8601 UTC with milliseconds.

use std::fmt;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::openapi::{KnownFormat, ObjectBuilder, RefOr, Schema, SchemaFormat, Type};

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Debug)]
pub struct Timestamp(i64);

impl Timestamp {
    pub const fn from_millis(ms: i64) -> Timestamp {
        Timestamp(ms)
    }

    pub const fn millis(self) -> i64 {
        self.0
    }

    /// Parses RFC 3339 / ISO-8601 with an offset (`2023-02-03T11:42:38.440Z`).
    pub fn parse(s: &str) -> Option<Timestamp> {
        DateTime::parse_from_rfc3339(s).ok().map(|t| Timestamp(t.timestamp_millis()))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match DateTime::<Utc>::from_timestamp_millis(self.0) {
            Some(t) => f.write_str(&t.to_rfc3339_opts(SecondsFormat::Millis, true)),
            None => write!(f, "{}", self.0),
        }
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        let s = String::deserialize(d)?;
        Timestamp::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("`{s}` is not an ISO-8601 timestamp with a time zone")))
    }
}

impl utoipa::PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .description(Some("ISO-8601; answers are UTC with milliseconds."))
            .examples(["2023-02-03T11:42:38.440Z"])
            .into()
    }
}

impl utoipa::ToSchema for Timestamp {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_utc_with_milliseconds() {
        let t = Timestamp::parse("2023-02-03T11:42:38.440Z").unwrap();
        assert_eq!(t.millis(), 1_675_424_558_440);
        assert_eq!(t.to_string(), "2023-02-03T11:42:38.440Z");
        assert_eq!(Timestamp::parse("2023-02-03T12:42:38.440+01:00"), Some(t));
        assert_eq!(Timestamp::parse("yesterday"), None);
    }
}
