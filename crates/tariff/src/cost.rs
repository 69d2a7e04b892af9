//! The cost object of a priced session (SPEC section 6).

use domain::rate::ComponentType;
use domain::{Currency, Timestamp};
use rust_decimal::Decimal;
use serde::Serialize;
use utoipa::ToSchema;

#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Cost {
    /// `max(minimum_amount, Σ totalCost)`, rounded half-up to the currency's minor unit.
    pub amount: Decimal,
    pub currency: Currency,
    pub breakdown: Vec<CostRow>,
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub struct Span {
    #[serde(rename = "startTime")]
    pub start: Timestamp,
    #[serde(rename = "endTime")]
    pub end: Timestamp,
}

/// One price component applied over a stretch of the session. Values are exact; only
/// `Cost::amount` is rounded.
#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct CostRow {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    pub period: Span,
    #[serde(rename = "rateName")]
    pub rate_name: String,
    /// kWh for ENERGY, hours for TIME and PARKING_TIME, 1 for FLAT.
    pub quantity: Decimal,
    /// `kWh`, `hours`, or empty for FLAT.
    #[schema(value_type = String)]
    pub unit: &'static str,
    #[serde(rename = "unitPrice")]
    pub unit_price: Decimal,
    #[serde(rename = "beforeTax")]
    pub before_tax: Decimal,
    /// The tax percentage of the component.
    pub tax: Decimal,
    #[serde(rename = "totalTax")]
    pub total_tax: Decimal,
    #[serde(rename = "totalCost")]
    pub total_cost: Decimal,
}
