//! Rates: eDRV tariffs with OCPI 2.2.1 meaning. This module validates them; pricing a session
//! is the tariff engine's job.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::schema::ArrayBuilder;
use utoipa::openapi::{Ref, RefOr, Schema};

use crate::invalid::optional_text;
use crate::restrictions::Restrictions;
use crate::schema::{refine, refined};
use crate::{Currency, Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, ToSchema)]
pub enum ComponentType {
    #[serde(rename = "FLAT")]
    Flat,
    #[serde(rename = "ENERGY")]
    Energy,
    #[serde(rename = "TIME")]
    Time,
    #[serde(rename = "PARKING_TIME")]
    ParkingTime,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct PriceComponent {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    /// Price per unit (kWh, hour, or once for FLAT), excluding tax.
    pub price: Decimal,
    /// Percentage added on top of `price`.
    pub tax: Decimal,
    /// ENERGY in Wh, TIME and PARKING_TIME in seconds.
    pub step_size: u32,
    /// PARKING_TIME only: hours of free parking.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grace_period: Option<Decimal>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Rate {
    #[serde(rename = "_id")]
    pub id: Id,
    pub name: Option<String>,
    pub currency: Currency,
    pub price_components: Vec<PriceComponent>,
    pub minimum_amount: Option<Decimal>,
    /// OCPI tariff elements, evaluated in order before `price_components`.
    pub elements: Option<Vec<Element>>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// An OCPI TariffElement: price components that apply while all its restrictions hold.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Element {
    pub price_components: Vec<PriceComponent>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restrictions: Option<Restrictions>,
}

impl Rate {
    /// Whether any price component of the rate, in any element, is of this type.
    pub fn has_component(&self, kind: ComponentType) -> bool {
        self.price_components.iter().chain(self.elements.iter().flatten().flat_map(|e| &e.price_components)).any(|c| c.kind == kind)
    }
}

#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PriceComponentInput {
    #[serde(rename = "type")]
    pub kind: ComponentType,
    #[schema(minimum = 0, maximum = 1000000)]
    pub price: Decimal,
    /// A percentage.
    #[schema(minimum = 0, maximum = 100)]
    pub tax: Option<Decimal>,
    /// ENERGY in Wh, TIME and PARKING_TIME in seconds; default 1.
    #[schema(minimum = 1, maximum = 1000000)]
    pub step_size: Option<i64>,
    /// PARKING_TIME only: hours of free parking.
    #[schema(minimum = 0, maximum = 168)]
    pub grace_period: Option<Decimal>,
}

/// The fields of `POST /v1.1/rates`; [`NewRate`] is the whole rule.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RateInput {
    #[schema(min_length = 1, max_length = 200, pattern = r"\S")]
    pub name: Option<String>,
    #[schema(value_type = Currency)]
    pub currency: String,
    #[serde(default)]
    #[schema(schema_with = price_components_schema)]
    pub price_components: Vec<PriceComponentInput>,
    /// The least a session at this rate costs, in major units.
    #[schema(minimum = 0, maximum = 1000000)]
    pub minimum_amount: Option<Decimal>,
    #[schema(max_items = 32)]
    pub elements: Option<Vec<ElementInput>>,
}

refined! {
    /// `POST /v1.1/rates`: a rate prices something, with `price_components` or `elements`.
    NewRate = RateInput, required &[], keywords [("anyOf", json!([
        { "required": ["price_components"], "properties": { "price_components": { "minItems": 1 } } },
        { "required": ["elements"], "properties": { "elements": { "type": "array", "minItems": 1 } } }
    ]))], also PriceComponentInput
}

#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ElementInput {
    #[schema(schema_with = element_components_schema)]
    pub price_components: Vec<PriceComponentInput>,
    pub restrictions: Option<Restrictions>,
}

/// A price component as [`component`] reads it: `grace_period` only on PARKING_TIME.
fn price_component_schema() -> RefOr<Schema> {
    let parking_only =
        [("if", json!({ "properties": { "type": { "const": "PARKING_TIME" } } })), ("else", json!({ "properties": { "grace_period": { "type": "null" } } }))];
    refine(Ref::from_schema_name(PriceComponentInput::name()).into(), &[], parking_only)
}

/// A list of price components, at most one of each type.
fn components_schema(min_items: usize) -> RefOr<Schema> {
    let one_each: Vec<_> = ["FLAT", "ENERGY", "TIME", "PARKING_TIME"]
        .iter()
        .map(|kind| json!({ "contains": { "properties": { "type": { "const": kind } } }, "minContains": 0, "maxContains": 1 }))
        .collect();
    ArrayBuilder::new()
        .items(price_component_schema())
        .min_items(Some(min_items))
        .max_items(Some(one_each.len()))
        .extensions(Some(Extensions::from_iter([("allOf", Value::Array(one_each))])))
        .into()
}

fn price_components_schema() -> RefOr<Schema> {
    components_schema(0)
}

fn element_components_schema() -> RefOr<Schema> {
    components_schema(1)
}

/// Prices above this are refused: no charging tariff comes near it, and it keeps every
/// product of price, energy and time far inside exact decimal range.
const MAX_PRICE: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);
/// The largest step: 1 MWh for ENERGY, over 11 days for TIME and PARKING_TIME.
const MAX_STEP_SIZE: u32 = 1_000_000;
/// The longest grace period, hours: a week, the longest time target of a session.
const MAX_GRACE_PERIOD_HOURS: Decimal = Decimal::from_parts(168, 0, 0, false, 0);
/// The most elements a rate holds: each is evaluated for every piece of a session, and 32 is
/// more than any real tariff needs (OCPI's examples use fewer than 10).
pub const MAX_ELEMENTS: usize = 32;

fn component(input: PriceComponentInput) -> Result<PriceComponent, Invalid> {
    if input.price < Decimal::ZERO || input.price > MAX_PRICE {
        return Err(Invalid::new("price", format!("must be from 0 to {MAX_PRICE}")));
    }
    let tax = input.tax.unwrap_or(Decimal::ZERO);
    if tax < Decimal::ZERO || tax > Decimal::ONE_HUNDRED {
        return Err(Invalid::new("tax", "must be a percentage from 0 to 100"));
    }
    let step_size = match input.step_size {
        None => 1,
        Some(n) => u32::try_from(n)
            .ok()
            .filter(|n| (1..=MAX_STEP_SIZE).contains(n))
            .ok_or_else(|| Invalid::new("step_size", format!("must be an integer from 1 to {MAX_STEP_SIZE}")))?,
    };
    let grace_period = match (input.kind, input.grace_period) {
        (_, None) => None,
        (ComponentType::ParkingTime, Some(g)) if g >= Decimal::ZERO && g <= MAX_GRACE_PERIOD_HOURS => Some(g),
        (ComponentType::ParkingTime, Some(_)) => {
            return Err(Invalid::new("grace_period", format!("must be a number of hours from 0 to {MAX_GRACE_PERIOD_HOURS}")));
        }
        (_, Some(_)) => return Err(Invalid::new("grace_period", "is only allowed on a PARKING_TIME component")),
    };
    Ok(PriceComponent { kind: input.kind, price: input.price, tax, step_size, grace_period })
}

/// A list of components, at most one of each type; `path` names the list in messages.
fn components(inputs: Vec<PriceComponentInput>, path: &str) -> Result<Vec<PriceComponent>, Invalid> {
    let mut components: Vec<PriceComponent> = Vec::with_capacity(inputs.len());
    for (i, input) in inputs.into_iter().enumerate() {
        let c = component(input).map_err(|e| e.within(&format!("{path}[{i}]")))?;
        if components.iter().any(|seen| seen.kind == c.kind) {
            return Err(Invalid::new(format!("{path}[{i}].type"), "at most one component of each type is allowed"));
        }
        components.push(c);
    }
    Ok(components)
}

fn element(input: ElementInput, path: &str) -> Result<Element, Invalid> {
    let price_components = components(input.price_components, &format!("{path}.price_components"))?;
    if price_components.is_empty() {
        return Err(Invalid::new(format!("{path}.price_components"), "must hold at least one component"));
    }
    if let Some(r) = &input.restrictions {
        r.check().map_err(|e| e.within(&format!("{path}.restrictions")))?;
    }
    Ok(Element { price_components, restrictions: input.restrictions })
}

impl RateInput {
    pub fn create(self, id: Id, now: Timestamp) -> Result<Rate, Invalid> {
        let currency = Currency::parse(&self.currency).ok_or_else(|| Invalid::new("currency", "must be an ISO 4217 currency code such as \"USD\""))?;
        let price_components = components(self.price_components, "price_components")?;
        let elements = match self.elements {
            Some(list) if list.len() > MAX_ELEMENTS => return Err(Invalid::new("elements", format!("must hold at most {MAX_ELEMENTS} elements"))),
            Some(list) if !list.is_empty() => {
                Some(list.into_iter().enumerate().map(|(i, e)| element(e, &format!("elements[{i}]"))).collect::<Result<Vec<_>, _>>()?)
            }
            _ => None,
        };
        if price_components.is_empty() && elements.is_none() {
            return Err(Invalid::new("price_components", "must hold at least one component (or `elements` must), or the rate prices nothing"));
        }
        if let Some(m) = self.minimum_amount
            && (m < Decimal::ZERO || m > MAX_PRICE)
        {
            return Err(Invalid::new("minimum_amount", format!("must be from 0 to {MAX_PRICE}")));
        }
        Ok(Rate {
            id,
            name: optional_text("name", self.name.as_deref(), 200)?,
            currency,
            price_components,
            minimum_amount: self.minimum_amount,
            elements,
            created_at: now,
            updated_at: now,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn create(json: &str) -> Result<Rate, Invalid> {
        serde_json::from_str::<RateInput>(json).unwrap().create(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0))
    }

    #[test]
    fn accepts_a_full_rate_with_defaults() {
        let rate = create(
            r#"{"name":"Standard","currency":"usd","price_components":[
            {"type":"ENERGY","price":0.35,"tax":8.25},
            {"type":"PARKING_TIME","price":3,"step_size":300,"grace_period":0.5},
            {"type":"FLAT","price":1}],"minimum_amount":2}"#,
        )
        .unwrap();
        assert_eq!(rate.currency, Currency::USD);
        assert_eq!(rate.price_components[0].price.to_string(), "0.35");
        assert_eq!(rate.price_components[0].step_size, 1);
        assert_eq!(rate.price_components[2].tax, Decimal::ZERO);
        assert!(rate.has_component(ComponentType::ParkingTime));
    }

    #[test]
    fn elements_are_typed_and_count_as_components() {
        let rate = create(r#"{"currency":"EUR","elements":[
            {"price_components":[{"type":"PARKING_TIME","price":5,"step_size":300}],"restrictions":{"start_time":"09:00","end_time":"18:00","day_of_week":["MONDAY","FRIDAY"]}},
            {"price_components":[{"type":"TIME","price":1}]}]}"#)
        .unwrap();
        let elements = rate.elements.as_ref().unwrap();
        assert_eq!(elements[0].restrictions.as_ref().unwrap().start_time.unwrap().minutes(), 9 * 60);
        assert!(rate.has_component(ComponentType::ParkingTime) && !rate.has_component(ComponentType::Energy));
        let shown = serde_json::to_value(&rate).unwrap();
        assert_eq!(shown["elements"][0]["restrictions"]["end_time"], "18:00");
        assert_eq!(shown["elements"][0]["restrictions"]["day_of_week"][1], "FRIDAY");
    }

    #[test]
    fn names_the_bad_field() {
        for (json, field) in [
            (r#"{"currency":"XYZ","price_components":[{"type":"FLAT","price":1}]}"#, "currency"),
            (r#"{"currency":"USD","price_components":[]}"#, "price_components"),
            (r#"{"currency":"USD","price_components":[{"type":"FLAT","price":-1}]}"#, "price_components[0].price"),
            (r#"{"currency":"USD","price_components":[{"type":"FLAT","price":1},{"type":"TIME","price":1,"tax":101}]}"#, "price_components[1].tax"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1,"step_size":0}]}"#, "price_components[0].step_size"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1,"grace_period":1}]}"#, "price_components[0].grace_period"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1},{"type":"TIME","price":2}]}"#, "price_components[1].type"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1}],"minimum_amount":-1}"#, "minimum_amount"),
            (r#"{"currency":"USD","price_components":[{"type":"FLAT","price":1000001}]}"#, "price_components[0].price"),
            (r#"{"currency":"USD","elements":[{"price_components":[]}]}"#, "elements[0].price_components"),
            (r#"{"currency":"USD","elements":[{"price_components":[{"type":"TIME","price":1,"tax":-1}]}]}"#, "elements[0].price_components[0].tax"),
            (
                r#"{"currency":"USD","elements":[{"price_components":[{"type":"TIME","price":1}],"restrictions":{"min_kwh":5,"max_kwh":1}}]}"#,
                "elements[0].restrictions.max_kwh",
            ),
            (r#"{"currency":"USD","elements":[]}"#, "price_components"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1,"step_size":1000001}]}"#, "price_components[0].step_size"),
            (r#"{"currency":"USD","price_components":[{"type":"PARKING_TIME","price":1,"grace_period":168.01}]}"#, "price_components[0].grace_period"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1}],"minimum_amount":1e20}"#, "minimum_amount"),
            (r#"{"currency":"USD","price_components":[{"type":"TIME","price":1e20}]}"#, "price_components[0].price"),
        ] {
            assert_eq!(create(json).unwrap_err().field, field, "{json}");
        }
    }

    #[test]
    fn a_rate_holds_at_most_32_elements() {
        let rate = |n: usize| format!(r#"{{"currency":"USD","elements":[{}]}}"#, vec![r#"{"price_components":[{"type":"TIME","price":1}]}"#; n].join(","));
        assert_eq!(create(&rate(MAX_ELEMENTS)).unwrap().elements.unwrap().len(), MAX_ELEMENTS);
        assert_eq!(create(&rate(MAX_ELEMENTS + 1)).unwrap_err().field, "elements");
    }
}

#[cfg(test)]
mod json_tests {
    use super::*;

    /// Prices travel as JSON numbers and come back with exactly the digits they were given.
    #[test]
    fn decimals_are_exact_json_numbers() {
        let input: PriceComponentInput = serde_json::from_str(r#"{"type":"ENERGY","price":12345.123456789012345678}"#).unwrap();
        assert_eq!(input.price.to_string(), "12345.123456789012345678");
        let c = component(input).unwrap();
        let shown = serde_json::to_string(&c).unwrap();
        assert!(shown.contains(r#""price":12345.123456789012345678"#), "{shown}");
        assert!(serde_json::from_str::<PriceComponentInput>(r#"{"type":"ENERGY","price":true}"#).is_err());
    }
}
