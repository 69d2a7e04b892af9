//! Locations: where chargestations stand, and the time zone their time-of-day tariffs use.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::invalid::text;
use crate::schema::{one_of_strings, or_null, refined, text as text_schema};
use crate::user::nullable;
use crate::{Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Location {
    #[serde(rename = "_id")]
    pub id: Id,
    pub name: String,
    pub address: Option<Map<String, Value>>,
    /// An IANA time zone name (`America/New_York`).
    pub timezone: String,
    pub coordinates: Option<Coordinates>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    #[schema(minimum = -90, maximum = 90)]
    pub latitude: f64,
    #[schema(minimum = -180, maximum = 180)]
    pub longitude: f64,
}

/// `POST /v1.1/locations` and `PATCH /v1.1/locations/{id}`.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    /// Required to create; `null` in a patch leaves it as it is.
    #[schema(schema_with = name_schema)]
    pub name: Option<String>,
    /// Address lines, each a string or `null`.
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = address_schema)]
    pub address: Option<Option<Map<String, Value>>>,
    /// An IANA time zone; UTC when a location is created without one.
    #[schema(schema_with = optional_timezone_schema)]
    pub timezone: Option<String>,
    #[serde(default, deserialize_with = "nullable")]
    pub coordinates: Option<Option<Coordinates>>,
}

fn name_schema() -> RefOr<Schema> {
    or_null(text_schema(200))
}

fn address_schema() -> RefOr<Schema> {
    let line = ObjectBuilder::new().schema_type(SchemaType::Array(vec![Type::String, Type::Null]));
    or_null(ObjectBuilder::new().schema_type(Type::Object).additional_properties(Some(line)))
}

/// The IANA time zone names [`timezone`] accepts.
pub fn timezone_schema() -> ObjectBuilder {
    one_of_strings(chrono_tz::TZ_VARIANTS.iter().map(|tz| tz.name())).examples(["America/New_York"])
}

fn optional_timezone_schema() -> RefOr<Schema> {
    or_null(timezone_schema())
}

refined! {
    /// `POST /v1.1/locations`: a location needs its `name`.
    NewLocation = LocationInput, required &["name"], keywords []
}

pub fn timezone(name: &str) -> Result<String, Invalid> {
    name.parse::<chrono_tz::Tz>()
        .map(|tz| tz.name().to_string())
        .map_err(|_| Invalid::new("timezone", format!("`{name}` is not an IANA time zone such as \"America/New_York\"")))
}

fn coordinates(c: Coordinates) -> Result<Coordinates, Invalid> {
    if !(-90.0..=90.0).contains(&c.latitude) {
        return Err(Invalid::new("coordinates.latitude", "must be between -90 and 90"));
    }
    if !(-180.0..=180.0).contains(&c.longitude) {
        return Err(Invalid::new("coordinates.longitude", "must be between -180 and 180"));
    }
    Ok(c)
}

fn address(a: Map<String, Value>) -> Result<Map<String, Value>, Invalid> {
    for (key, value) in &a {
        if !value.is_string() && !value.is_null() {
            return Err(Invalid::new(format!("address.{key}"), "must be a string"));
        }
    }
    Ok(a)
}

impl LocationInput {
    pub fn apply(self, mut location: Location, now: Timestamp) -> Result<Location, Invalid> {
        if let Some(name) = &self.name {
            location.name = text("name", name, 200)?;
        }
        if let Some(a) = self.address {
            location.address = a.map(address).transpose()?;
        }
        if let Some(tz) = &self.timezone {
            location.timezone = timezone(tz)?;
        }
        if let Some(c) = self.coordinates {
            location.coordinates = c.map(coordinates).transpose()?;
        }
        location.updated_at = now;
        Ok(location)
    }

    /// A new location needs a name; its time zone defaults to UTC.
    pub fn create(self, id: Id, now: Timestamp) -> Result<Location, Invalid> {
        if self.name.is_none() {
            return Err(Invalid::new("name", "is required"));
        }
        let blank = Location { id, name: String::new(), address: None, timezone: "UTC".into(), coordinates: None, created_at: now, updated_at: now };
        self.apply(blank, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<Location, Invalid> {
        serde_json::from_str::<LocationInput>(json).unwrap().create(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0))
    }

    #[test]
    fn validates_timezone_and_coordinates() {
        assert_eq!(create(r#"{"name":"Depot","timezone":"America/New_York"}"#).unwrap().timezone, "America/New_York");
        assert_eq!(create(r#"{"name":"Depot"}"#).unwrap().timezone, "UTC");
        assert_eq!(create(r#"{"name":"Depot","timezone":"Mars/Olympus"}"#).unwrap_err().field, "timezone");
        assert_eq!(create(r#"{"name":"D","coordinates":{"latitude":91,"longitude":0}}"#).unwrap_err().field, "coordinates.latitude");
        assert_eq!(create(r#"{"timezone":"UTC"}"#).unwrap_err().field, "name");
        assert_eq!(create(r#"{"name":"D","address":{"city":5}}"#).unwrap_err().field, "address.city");
    }
}
