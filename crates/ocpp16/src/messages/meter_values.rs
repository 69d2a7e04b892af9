//! MeterValues: the charger sends measurements, during a transaction or on its clock.

use serde::{Deserialize, Serialize};

use super::{MeterValue, action};

action! {
    /// Charger → CSMS.
    MeterValues: MeterValuesRequest => MeterValuesResponse
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeterValuesRequest {
    /// 0 means the main meter of the charger.
    pub connector_id: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    /// At least one.
    pub meter_value: Vec<MeterValue>,
}

#[derive(Clone, PartialEq, Eq, Debug, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MeterValuesResponse {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::{round_trip, ts};
    use crate::messages::{Location, Measurand, Phase, ReadingContext, SampledValue, UnitOfMeasure, ValueFormat};

    #[test]
    fn typical_messages_match_the_schemas() {
        let energy = SampledValue {
            value: "12345.678".into(),
            context: Some(ReadingContext::SamplePeriodic),
            format: Some(ValueFormat::Raw),
            measurand: Some(Measurand::EnergyActiveImportRegister),
            phase: None,
            location: Some(Location::Outlet),
            unit: Some(UnitOfMeasure::KWh),
        };
        let current = SampledValue {
            value: "15.9".into(),
            context: Some(ReadingContext::SamplePeriodic),
            format: Some(ValueFormat::Raw),
            measurand: Some(Measurand::CurrentImport),
            phase: Some(Phase::L1),
            location: Some(Location::Outlet),
            unit: Some(UnitOfMeasure::A),
        };
        let frequency = SampledValue {
            value: "50.01".into(),
            context: None,
            format: None,
            measurand: Some(Measurand::Frequency),
            phase: None,
            location: None,
            unit: Some(UnitOfMeasure::Hertz),
        };
        let bare = SampledValue { value: "1200".into(), context: None, format: None, measurand: None, phase: None, location: None, unit: None };
        let request = MeterValuesRequest {
            connector_id: 1,
            transaction_id: Some(170_123),
            meter_value: vec![
                MeterValue { timestamp: ts("2024-05-01T10:15:00+02:00"), sampled_value: vec![energy, current, frequency] },
                MeterValue { timestamp: ts("2024-05-01T10:30:00.5+02:00"), sampled_value: vec![bare] },
            ],
        };
        round_trip::<MeterValues>(&request, &MeterValuesResponse {});
    }
}
