//! Types several actions share, named after OCPP 1.6's data types (specification section 7).

use chrono::{DateTime, FixedOffset};
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

/// An OCPP `dateTime`: RFC 3339 with an offset. The sender's offset is kept (a charger's local
/// offset helps reading its logs); chrono converts and compares across offsets.
pub type Timestamp = DateTime<FixedOffset>;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum AuthorizationStatus {
    Accepted,
    Blocked,
    Expired,
    Invalid,
    ConcurrentTx,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IdTagInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiry_date: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_id_tag: Option<String>,
    pub status: AuthorizationStatus,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargePointStatus {
    Available,
    Preparing,
    Charging,
    SuspendedEVSE,
    SuspendedEV,
    Finishing,
    Reserved,
    Unavailable,
    Faulted,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargePointErrorCode {
    ConnectorLockFailure,
    EVCommunicationError,
    GroundFailure,
    HighTemperature,
    InternalError,
    LocalListConflict,
    NoError,
    OtherError,
    OverCurrentFailure,
    PowerMeterFailure,
    PowerSwitchFailure,
    ReaderFailure,
    ResetFailure,
    UnderVoltage,
    OverVoltage,
    WeakSignal,
}

/// One sampling moment: the values the charger measured at `timestamp`.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MeterValue {
    pub timestamp: Timestamp,
    pub sampled_value: Vec<SampledValue>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SampledValue {
    /// The reading as sent: a decimal for `Raw` values, an opaque blob for `SignedData`.
    pub value: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context: Option<ReadingContext>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<ValueFormat>,
    /// Absent means `Energy.Active.Import.Register`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub measurand: Option<Measurand>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phase: Option<Phase>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub location: Option<Location>,
    /// Absent means `Wh`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unit: Option<UnitOfMeasure>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ReadingContext {
    #[serde(rename = "Interruption.Begin")]
    InterruptionBegin,
    #[serde(rename = "Interruption.End")]
    InterruptionEnd,
    #[serde(rename = "Sample.Clock")]
    SampleClock,
    #[serde(rename = "Sample.Periodic")]
    SamplePeriodic,
    #[serde(rename = "Transaction.Begin")]
    TransactionBegin,
    #[serde(rename = "Transaction.End")]
    TransactionEnd,
    Trigger,
    Other,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ValueFormat {
    Raw,
    SignedData,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Measurand {
    #[serde(rename = "Energy.Active.Export.Register")]
    EnergyActiveExportRegister,
    #[serde(rename = "Energy.Active.Import.Register")]
    EnergyActiveImportRegister,
    #[serde(rename = "Energy.Reactive.Export.Register")]
    EnergyReactiveExportRegister,
    #[serde(rename = "Energy.Reactive.Import.Register")]
    EnergyReactiveImportRegister,
    #[serde(rename = "Energy.Active.Export.Interval")]
    EnergyActiveExportInterval,
    #[serde(rename = "Energy.Active.Import.Interval")]
    EnergyActiveImportInterval,
    #[serde(rename = "Energy.Reactive.Export.Interval")]
    EnergyReactiveExportInterval,
    #[serde(rename = "Energy.Reactive.Import.Interval")]
    EnergyReactiveImportInterval,
    #[serde(rename = "Power.Active.Export")]
    PowerActiveExport,
    #[serde(rename = "Power.Active.Import")]
    PowerActiveImport,
    #[serde(rename = "Power.Offered")]
    PowerOffered,
    #[serde(rename = "Power.Reactive.Export")]
    PowerReactiveExport,
    #[serde(rename = "Power.Reactive.Import")]
    PowerReactiveImport,
    #[serde(rename = "Power.Factor")]
    PowerFactor,
    #[serde(rename = "Current.Import")]
    CurrentImport,
    #[serde(rename = "Current.Export")]
    CurrentExport,
    #[serde(rename = "Current.Offered")]
    CurrentOffered,
    Voltage,
    Frequency,
    Temperature,
    SoC,
    #[serde(rename = "RPM")]
    Rpm,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Phase {
    L1,
    L2,
    L3,
    N,
    #[serde(rename = "L1-N")]
    L1N,
    #[serde(rename = "L2-N")]
    L2N,
    #[serde(rename = "L3-N")]
    L3N,
    #[serde(rename = "L1-L2")]
    L1L2,
    #[serde(rename = "L2-L3")]
    L2L3,
    #[serde(rename = "L3-L1")]
    L3L1,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum Location {
    Cable,
    #[serde(rename = "EV")]
    Ev,
    Inlet,
    Outlet,
    Body,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum UnitOfMeasure {
    Wh,
    #[serde(rename = "kWh")]
    KWh,
    #[serde(rename = "varh")]
    Varh,
    #[serde(rename = "kvarh")]
    Kvarh,
    W,
    #[serde(rename = "kW")]
    KW,
    #[serde(rename = "VA")]
    Va,
    #[serde(rename = "kVA")]
    KVa,
    #[serde(rename = "var")]
    Var,
    #[serde(rename = "kvar")]
    KVar,
    A,
    V,
    K,
    /// The specification's spelling.
    Celcius,
    /// The correct spelling, which the errata ask a central system to accept as well.
    Celsius,
    Fahrenheit,
    Percent,
    /// Frequency, from the errata. The schemas allow it in MeterValues but not in
    /// StopTransaction's `transactionData`, where it fails validation.
    Hertz,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargingProfilePurpose {
    ChargePointMaxProfile,
    TxDefaultProfile,
    TxProfile,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargingProfileKind {
    Absolute,
    Recurring,
    Relative,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum RecurrencyKind {
    Daily,
    Weekly,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum ChargingRateUnit {
    #[serde(rename = "A")]
    Amperes,
    #[serde(rename = "W")]
    Watts,
}

/// A charging profile, as SetChargingProfile installs it and RemoteStartTransaction may carry.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargingProfile {
    pub charging_profile_id: i64,
    /// Only for a `TxProfile`: the transaction it limits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    pub stack_level: i64,
    pub charging_profile_purpose: ChargingProfilePurpose,
    pub charging_profile_kind: ChargingProfileKind,
    /// Only for a `Recurring` profile.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub recurrency_kind: Option<RecurrencyKind>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_from: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub valid_to: Option<Timestamp>,
    pub charging_schedule: ChargingSchedule,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargingSchedule {
    /// Seconds; absent means the schedule lasts until the transaction ends.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_schedule: Option<Timestamp>,
    pub charging_rate_unit: ChargingRateUnit,
    pub charging_schedule_period: Vec<ChargingSchedulePeriod>,
    /// In `charging_rate_unit`, a multiple of 0.1.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_charging_rate: Option<Decimal>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChargingSchedulePeriod {
    /// Seconds from the start of the schedule.
    pub start_period: i64,
    /// In the schedule's `charging_rate_unit`, a multiple of 0.1.
    pub limit: Decimal,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub number_phases: Option<i64>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::messages::testing::enum_matches_schema;
    use crate::validate::Direction::{Request, Response};

    const SAMPLED_VALUE: &str = "/properties/meterValue/items/properties/sampledValue/items/properties";
    const PROFILE: &str = "/properties/csChargingProfiles/properties";

    #[test]
    fn enums_spell_exactly_the_schema_values() {
        use AuthorizationStatus as S;
        let statuses = [S::Accepted, S::Blocked, S::Expired, S::Invalid, S::ConcurrentTx];
        enum_matches_schema(&statuses, "Authorize", Response, "/properties/idTagInfo/properties/status");
        enum_matches_schema(&statuses, "SendLocalList", Request, "/properties/localAuthorizationList/items/properties/idTagInfo/properties/status");

        use ChargePointStatus as C;
        let statuses = [C::Available, C::Preparing, C::Charging, C::SuspendedEVSE, C::SuspendedEV, C::Finishing, C::Reserved, C::Unavailable, C::Faulted];
        enum_matches_schema(&statuses, "StatusNotification", Request, "/properties/status");

        use ChargePointErrorCode as E;
        let codes = [
            E::ConnectorLockFailure,
            E::EVCommunicationError,
            E::GroundFailure,
            E::HighTemperature,
            E::InternalError,
            E::LocalListConflict,
            E::NoError,
            E::OtherError,
            E::OverCurrentFailure,
            E::PowerMeterFailure,
            E::PowerSwitchFailure,
            E::ReaderFailure,
            E::ResetFailure,
            E::UnderVoltage,
            E::OverVoltage,
            E::WeakSignal,
        ];
        enum_matches_schema(&codes, "StatusNotification", Request, "/properties/errorCode");

        use ReadingContext as R;
        let contexts =
            [R::InterruptionBegin, R::InterruptionEnd, R::SampleClock, R::SamplePeriodic, R::TransactionBegin, R::TransactionEnd, R::Trigger, R::Other];
        enum_matches_schema(&contexts, "MeterValues", Request, &format!("{SAMPLED_VALUE}/context"));
        enum_matches_schema(&[ValueFormat::Raw, ValueFormat::SignedData], "MeterValues", Request, &format!("{SAMPLED_VALUE}/format"));

        use Measurand as M;
        let measurands = [
            M::EnergyActiveExportRegister,
            M::EnergyActiveImportRegister,
            M::EnergyReactiveExportRegister,
            M::EnergyReactiveImportRegister,
            M::EnergyActiveExportInterval,
            M::EnergyActiveImportInterval,
            M::EnergyReactiveExportInterval,
            M::EnergyReactiveImportInterval,
            M::PowerActiveExport,
            M::PowerActiveImport,
            M::PowerOffered,
            M::PowerReactiveExport,
            M::PowerReactiveImport,
            M::PowerFactor,
            M::CurrentImport,
            M::CurrentExport,
            M::CurrentOffered,
            M::Voltage,
            M::Frequency,
            M::Temperature,
            M::SoC,
            M::Rpm,
        ];
        enum_matches_schema(&measurands, "MeterValues", Request, &format!("{SAMPLED_VALUE}/measurand"));

        use Phase as P;
        let phases = [P::L1, P::L2, P::L3, P::N, P::L1N, P::L2N, P::L3N, P::L1L2, P::L2L3, P::L3L1];
        enum_matches_schema(&phases, "MeterValues", Request, &format!("{SAMPLED_VALUE}/phase"));

        use Location as L;
        enum_matches_schema(&[L::Cable, L::Ev, L::Inlet, L::Outlet, L::Body], "MeterValues", Request, &format!("{SAMPLED_VALUE}/location"));

        use UnitOfMeasure as U;
        let units = [
            U::Wh,
            U::KWh,
            U::Varh,
            U::Kvarh,
            U::W,
            U::KW,
            U::Va,
            U::KVa,
            U::Var,
            U::KVar,
            U::A,
            U::V,
            U::K,
            U::Celcius,
            U::Celsius,
            U::Fahrenheit,
            U::Percent,
        ];
        let transaction_data = "/properties/transactionData/items/properties/sampledValue/items/properties/unit";
        enum_matches_schema(&units, "StopTransaction", Request, transaction_data);
        enum_matches_schema(&[&units[..], &[U::Hertz]].concat(), "MeterValues", Request, &format!("{SAMPLED_VALUE}/unit"));

        use ChargingProfilePurpose as Pp;
        let purposes = [Pp::ChargePointMaxProfile, Pp::TxDefaultProfile, Pp::TxProfile];
        enum_matches_schema(&purposes, "SetChargingProfile", Request, &format!("{PROFILE}/chargingProfilePurpose"));
        enum_matches_schema(&purposes, "RemoteStartTransaction", Request, "/properties/chargingProfile/properties/chargingProfilePurpose");
        enum_matches_schema(&purposes, "ClearChargingProfile", Request, "/properties/chargingProfilePurpose");

        use ChargingProfileKind as K;
        enum_matches_schema(&[K::Absolute, K::Recurring, K::Relative], "SetChargingProfile", Request, &format!("{PROFILE}/chargingProfileKind"));
        enum_matches_schema(&[RecurrencyKind::Daily, RecurrencyKind::Weekly], "SetChargingProfile", Request, &format!("{PROFILE}/recurrencyKind"));

        let units = [ChargingRateUnit::Amperes, ChargingRateUnit::Watts];
        enum_matches_schema(&units, "SetChargingProfile", Request, &format!("{PROFILE}/chargingSchedule/properties/chargingRateUnit"));
        enum_matches_schema(&units, "GetCompositeSchedule", Request, "/properties/chargingRateUnit");
    }
}
