//! Connectors: the plugs of a chargestation, numbered as OCPP numbers them, each with a rate.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::schema::{or_null, text};
use crate::user::nullable;
use crate::{Id, Invalid, Timestamp};

/// OCPP 1.6 ChargePointStatus, as the charger last reported it.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum ConnectorStatus {
    Available,
    Preparing,
    Charging,
    SuspendedEV,
    SuspendedEVSE,
    Finishing,
    Reserved,
    Unavailable,
    Faulted,
}

impl ConnectorStatus {
    pub const ALL: [ConnectorStatus; 9] = [
        ConnectorStatus::Available,
        ConnectorStatus::Preparing,
        ConnectorStatus::Charging,
        ConnectorStatus::SuspendedEV,
        ConnectorStatus::SuspendedEVSE,
        ConnectorStatus::Finishing,
        ConnectorStatus::Reserved,
        ConnectorStatus::Unavailable,
        ConnectorStatus::Faulted,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorStatus::Available => "Available",
            ConnectorStatus::Preparing => "Preparing",
            ConnectorStatus::Charging => "Charging",
            ConnectorStatus::SuspendedEV => "SuspendedEV",
            ConnectorStatus::SuspendedEVSE => "SuspendedEVSE",
            ConnectorStatus::Finishing => "Finishing",
            ConnectorStatus::Reserved => "Reserved",
            ConnectorStatus::Unavailable => "Unavailable",
            ConnectorStatus::Faulted => "Faulted",
        }
    }

    pub fn parse(s: &str) -> Option<ConnectorStatus> {
        ConnectorStatus::ALL.into_iter().find(|c| c.as_str() == s)
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum ConnectorFormat {
    #[serde(rename = "SOCKET")]
    Socket,
    #[serde(rename = "CABLE")]
    Cable,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum PowerType {
    #[serde(rename = "AC_1_PHASE")]
    Ac1Phase,
    #[serde(rename = "AC_3_PHASE")]
    Ac3Phase,
    #[serde(rename = "DC")]
    Dc,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Connector {
    #[serde(rename = "_id")]
    pub id: Id,
    pub chargestation: Id,
    /// The OCPP connectorId, from 1.
    pub connector_id: u32,
    pub rate: Option<Id>,
    pub status: ConnectorStatus,
    /// The plug standard, free text as eDRV has it (`IEC_62196_T2`, `CCS1`...).
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub format: Option<ConnectorFormat>,
    pub power_type: Option<PowerType>,
    /// Maximum power in kW.
    pub power: Option<Decimal>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

impl Connector {
    /// A connector a charger reports and nobody registered: no rate, nothing known of its plug.
    pub fn reported(id: Id, chargestation: Id, connector_id: u32, status: ConnectorStatus, now: Timestamp) -> Connector {
        Connector {
            id,
            chargestation,
            connector_id,
            rate: None,
            status,
            kind: None,
            format: None,
            power_type: None,
            power: None,
            created_at: now,
            updated_at: now,
        }
    }
}

/// `POST /v1.1/connectors`.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorInput {
    pub chargestation: Id,
    /// The OCPP connectorId.
    #[schema(minimum = 1, maximum = 1000)]
    pub connector_id: i64,
    pub rate: Option<Id>,
    /// The plug standard, free text.
    #[serde(rename = "type")]
    #[schema(schema_with = kind_schema)]
    pub kind: Option<String>,
    pub format: Option<ConnectorFormat>,
    pub power_type: Option<PowerType>,
    /// Maximum power in kW.
    #[schema(minimum = 1e-28, maximum = 10000)]
    pub power: Option<Decimal>,
}

/// `PATCH /v1.1/connectors/{id}`: `rate: null` detaches the rate.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorPatch {
    #[serde(default, deserialize_with = "nullable")]
    pub rate: Option<Option<Id>>,
    #[serde(rename = "type", default, deserialize_with = "nullable")]
    #[schema(schema_with = kind_schema)]
    pub kind: Option<Option<String>>,
    #[serde(default, deserialize_with = "nullable")]
    pub format: Option<Option<ConnectorFormat>>,
    #[serde(default, deserialize_with = "nullable")]
    pub power_type: Option<Option<PowerType>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(minimum = 1e-28, maximum = 10000)]
    pub power: Option<Option<Decimal>>,
}

/// OCPP 1.6 connector ids are positive integers; 0 is the chargestation itself.
fn connector_id(n: i64) -> Result<u32, Invalid> {
    u32::try_from(n).ok().filter(|n| (1..=1000).contains(n)).ok_or_else(|| Invalid::new("connector_id", "must be an integer from 1 to 1000"))
}

fn kind_schema() -> RefOr<Schema> {
    or_null(text(64))
}

fn kind(value: Option<&str>) -> Result<Option<String>, Invalid> {
    crate::invalid::optional_text("type", value, 64)
}

fn power(value: Option<Decimal>) -> Result<Option<Decimal>, Invalid> {
    match value {
        Some(p) if p <= Decimal::ZERO || p > Decimal::from(10_000) => Err(Invalid::new("power", "must be a number of kW above 0 and at most 10000")),
        other => Ok(other),
    }
}

impl ConnectorInput {
    /// A connector for a chargestation, created before the charger reports on it.
    pub fn create(self, id: Id, now: Timestamp) -> Result<Connector, Invalid> {
        Ok(Connector {
            id,
            chargestation: self.chargestation,
            connector_id: connector_id(self.connector_id)?,
            rate: self.rate,
            status: ConnectorStatus::Available,
            kind: kind(self.kind.as_deref())?,
            format: self.format,
            power_type: self.power_type,
            power: power(self.power)?,
            created_at: now,
            updated_at: now,
        })
    }
}

impl ConnectorPatch {
    pub fn apply(self, mut connector: Connector, now: Timestamp) -> Result<Connector, Invalid> {
        if let Some(rate) = self.rate {
            connector.rate = rate;
        }
        if let Some(k) = self.kind {
            connector.kind = kind(k.as_deref())?;
        }
        if let Some(f) = self.format {
            connector.format = f;
        }
        if let Some(p) = self.power_type {
            connector.power_type = p;
        }
        if let Some(p) = self.power {
            connector.power = power(p)?;
        }
        connector.updated_at = now;
        Ok(connector)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connector_ids_start_at_one() {
        let make = |n: i64| {
            let json = format!(r#"{{"chargestation":"63dcf32e7d291b1b005284ac","connector_id":{n}}}"#);
            serde_json::from_str::<ConnectorInput>(&json).unwrap().create(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0))
        };
        assert_eq!(make(1).unwrap().connector_id, 1);
        assert_eq!(make(0).unwrap_err().field, "connector_id");
        assert_eq!(make(-3).unwrap_err().field, "connector_id");
    }

    #[test]
    fn statuses_round_trip() {
        for s in ConnectorStatus::ALL {
            assert_eq!(ConnectorStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(ConnectorStatus::parse("Occupied"), None);
    }
}
