//! MeterValues: readings stored with their timestamps, units normalized.

use domain::transaction::{MAX_METER_VALUE, meter_value};
use ocpp16::ErrorCode;
use ocpp16::messages::{MeterValue, MeterValuesRequest, MeterValuesResponse, ValueFormat};
use rust_decimal::Decimal;
use session::upkeep::Occasion;
use store::{ENERGY_REGISTER, Sample};

use super::{Failure, Link, timestamp, wire_name};
use crate::session_watch;

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

fn out_of_bounds(what: &str) -> Failure {
    Failure::new(ErrorCode::PropertyConstraintViolation, format!("{what} is beyond {MAX_METER_VALUE} Wh or W"))
}

/// A meter register (StartTransaction's meterStart, StopTransaction's meterStop) in Wh,
/// refused beyond the bound like any sample.
pub fn register(value: i64, what: &str) -> Result<i64, Failure> {
    meter_value(Decimal::from(value), Decimal::ONE).map(|_| value).ok_or_else(|| out_of_bounds(what))
}

/// The samples worth storing: plain numbers (signed data is kept by the charger), with the
/// defaults OCPP gives an absent measurand (the energy register) and unit (Wh). A value beyond
/// the bound once in Joule's unit refuses the whole message.
pub fn samples(meter_values: &[MeterValue]) -> Result<Vec<Sample>, Failure> {
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
            let value = meter_value(value, factor).ok_or_else(|| out_of_bounds(&format!("the sampled value `{}` {unit}", sv.value.trim())))?;
            out.push(Sample {
                sampled_at: timestamp(&mv.timestamp),
                measurand,
                phase: sv.phase.as_ref().map(wire_name),
                context: sv.context.as_ref().map(wire_name),
                unit: unit.to_string(),
                value: value.normalize().to_string(),
            });
        }
    }
    Ok(out)
}

pub async fn handle(link: &mut Link, request: MeterValuesRequest) -> Result<MeterValuesResponse, Failure> {
    let connector_id =
        u32::try_from(request.connector_id).map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "connectorId must not be negative"))?;
    let samples = samples(&request.meter_value)?;
    let transaction = request.transaction_id;
    let server = &link.server;
    let now = server.store.now();
    // Every reading is priced and stored; webhooks hear of the session's progress coalesced.
    let announce = |session| server.memory.update_due(session, now, server.config.session_update_interval);
    let recorded = server.store.record_meter_values(link.login.organization, link.login.chargestation, connector_id, transaction, &samples, &announce).await?;
    // Session intelligence decides on every report, not only on its timer; a stop it asked
    // for goes out again.
    if let Some(facts) = recorded.session {
        if recorded.announced {
            server.memory.announced(facts.session.id, now, server.config.session_update_interval);
        }
        session_watch::check(server, &facts, Occasion::Report).await?;
    }
    Ok(MeterValuesResponse {})
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(json: &str) -> Result<Vec<Sample>, Failure> {
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
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].unit.as_str(), s[0].value.as_str()), ("Wh", "12500"));
        assert_eq!((s[1].measurand.as_str(), s[1].unit.as_str(), s[1].value.as_str()), ("Power.Active.Import", "W", "7200"));
        assert_eq!((s[2].measurand.as_str(), s[2].unit.as_str()), (ENERGY_REGISTER, "Wh"));
    }

    #[test]
    fn values_beyond_the_bound_refuse_the_message() {
        for (value, unit) in [("100000000000000000000000000", "kWh"), ("1000000000.5", "kW"), ("1000000000001", "Wh")] {
            let json = format!(r#"[{{"timestamp":"2026-11-25T10:00:00Z","sampledValue":[{{"value":"1"}},{{"value":"{value}","unit":"{unit}"}}]}}]"#);
            assert_eq!(reading(&json).unwrap_err().code, ErrorCode::PropertyConstraintViolation, "{value} {unit}");
        }
        assert_eq!(register(1_000_000_000_001, "meterStop").unwrap_err().code, ErrorCode::PropertyConstraintViolation);
        assert_eq!(register(1_000_000_000_000, "meterStop").unwrap(), 1_000_000_000_000);
    }
}
