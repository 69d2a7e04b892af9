//! MeterValues: readings stored with their timestamps, units normalized.

use ocpp16::ErrorCode;
use ocpp16::messages::{MeterValue, MeterValuesRequest, MeterValuesResponse, ValueFormat};
use rust_decimal::Decimal;
use store::{ENERGY_REGISTER, Sample};

use super::{Failure, Link, timestamp, wire_name};
use crate::{pricing, session_watch};

/// A value in a unit Joule stores, and the factor from the unit it came in.
fn normalized_unit(unit: &str) -> (&str, Decimal) {
    match unit {
        "kWh" => ("Wh", Decimal::ONE_THOUSAND),
        "kW" => ("W", Decimal::ONE_THOUSAND),
        "kvarh" => ("varh", Decimal::ONE_THOUSAND),
        "kvar" => ("var", Decimal::ONE_THOUSAND),
        "kVA" => ("VA", Decimal::ONE_THOUSAND),
        other => (other, Decimal::ONE),
    }
}

/// The samples worth storing: plain numbers (signed data is kept by the charger), with the
/// defaults OCPP gives an absent measurand (the energy register) and unit (Wh).
pub fn samples(meter_values: &[MeterValue]) -> Vec<Sample> {
    let mut out = Vec::new();
    for mv in meter_values {
        for sv in &mv.sampled_value {
            if sv.format == Some(ValueFormat::SignedData) {
                continue;
            }
            let Ok(value) = sv.value.trim().parse::<Decimal>() else { continue };
            let measurand = sv.measurand.as_ref().map(wire_name).unwrap_or_else(|| ENERGY_REGISTER.to_string());
            let unit = sv.unit.as_ref().map(wire_name).unwrap_or_else(|| "Wh".into());
            let (unit, factor) = normalized_unit(&unit);
            out.push(Sample {
                sampled_at: timestamp(&mv.timestamp),
                measurand,
                phase: sv.phase.as_ref().map(wire_name),
                context: sv.context.as_ref().map(wire_name),
                unit: unit.to_string(),
                value: (value * factor).normalize().to_string(),
            });
        }
    }
    out
}

pub async fn handle(link: &mut Link, request: MeterValuesRequest) -> Result<MeterValuesResponse, Failure> {
    let connector_id =
        u32::try_from(request.connector_id).map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "connectorId must not be negative"))?;
    let samples = samples(&request.meter_value);
    let transaction = request.transaction_id;
    let recorded = link
        .server
        .store
        .record_meter_values(link.login.organization, link.login.chargestation, connector_id, transaction, &samples, &pricing::progress)
        .await?;
    // Session intelligence decides on every report, not only on its timer.
    if let Some(facts) = recorded.session.filter(|f| f.session.token.is_none()) {
        session_watch::check(&link.server, &facts).await?;
    }
    Ok(MeterValuesResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(json: &str) -> Vec<Sample> {
        samples(&serde_json::from_str::<Vec<MeterValue>>(json).unwrap())
    }

    #[test]
    fn units_are_normalized_and_defaults_applied() {
        let s = reading(
            r#"[{"timestamp":"2026-11-25T10:00:00Z","sampledValue":[
            {"value":"12.5","unit":"kWh","measurand":"Energy.Active.Import.Register"},
            {"value":"7.2","unit":"kW","measurand":"Power.Active.Import"},
            {"value":"1500"},
            {"value":"abc"},
            {"value":"0A1B","format":"SignedData"}]}]"#,
        );
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].unit.as_str(), s[0].value.as_str()), ("Wh", "12500"));
        assert_eq!((s[1].measurand.as_str(), s[1].unit.as_str(), s[1].value.as_str()), ("Power.Active.Import", "W", "7200"));
        assert_eq!((s[2].measurand.as_str(), s[2].unit.as_str()), (ENERGY_REGISTER, "Wh"));
    }
}
