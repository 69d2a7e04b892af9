//! Charging profiles (OCPP 1.6, section 3.13): the power each connector may draw at a moment.
//!
//! A connector with a transaction takes the limit of its TxProfile, or else of a TxDefaultProfile
//! for it, or else of one for the whole charger (connector 0); among profiles of one purpose the
//! highest stack level with a period in force wins. A ChargePointMaxProfile caps the charger as a
//! whole and is shared evenly by the transactions running. Amperes become watts at 230 V per
//! phase (three phases unless the period says otherwise).

use ocpp16::messages::{ChargingProfile, ChargingProfileKind, ChargingProfilePurpose, ChargingRateUnit, RecurrencyKind};
use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;

use crate::station::{Connector, Millis};

const VOLTS_PER_PHASE: i64 = 230;
const DAY_S: i64 = 24 * 3600;

/// A profile as installed on a connector (0: the whole charger).
#[derive(Clone, Debug)]
pub struct Installed {
    pub connector: u32,
    pub profile: ChargingProfile,
}

/// The power each connector may draw at `now`, in W, in connector order.
pub fn offered_w(installed: &[Installed], connectors: &[Connector], max_power_w: u32, now: Millis) -> Vec<u32> {
    use ChargingProfilePurpose::{ChargePointMaxProfile, TxDefaultProfile, TxProfile};
    let on = |connector: u32, purpose| installed.iter().filter(move |i| i.connector == connector && i.profile.charging_profile_purpose == purpose);
    let charging = connectors.iter().filter(|c| c.transaction.is_some()).count().max(1) as u32;
    let station_cap = best(on(0, ChargePointMaxProfile), None, now).map(|w| w / charging);
    connectors
        .iter()
        .map(|c| {
            let tx_limit = c.transaction.as_ref().and_then(|tx| {
                let start = Some(tx.started_at);
                let for_this_tx = |i: &&Installed| i.profile.transaction_id.is_none_or(|id| Some(id) == tx.id);
                best(on(c.id, TxProfile).filter(for_this_tx), start, now)
                    .or_else(|| best(on(c.id, TxDefaultProfile), start, now))
                    .or_else(|| best(on(0, TxDefaultProfile), start, now))
            });
            [Some(max_power_w), tx_limit, station_cap].into_iter().flatten().min().unwrap_or(max_power_w)
        })
        .collect()
}

/// The limit of the highest-stack profile among `profiles` that is in force now.
fn best<'a>(profiles: impl Iterator<Item = &'a Installed>, tx_start: Option<Millis>, now: Millis) -> Option<u32> {
    let mut candidates: Vec<&ChargingProfile> = profiles.map(|i| &i.profile).collect();
    candidates.sort_by_key(|p| std::cmp::Reverse(p.stack_level));
    candidates.into_iter().find_map(|p| limit_now(p, tx_start, now))
}

/// The profile's limit at `now` in W, or `None` when it is not in force.
pub fn limit_now(profile: &ChargingProfile, tx_start: Option<Millis>, now: Millis) -> Option<u32> {
    let from = profile.valid_from.map(|t| t.timestamp_millis());
    let to = profile.valid_to.map(|t| t.timestamp_millis());
    if from.is_some_and(|t| now < t) || to.is_some_and(|t| now >= t) {
        return None;
    }
    let schedule = &profile.charging_schedule;
    let start = match profile.charging_profile_kind {
        ChargingProfileKind::Relative => tx_start?,
        ChargingProfileKind::Absolute | ChargingProfileKind::Recurring => schedule.start_schedule.map(|t| t.timestamp_millis()).or(tx_start)?,
    };
    let mut elapsed_s = (now - start).div_euclid(1000);
    if profile.charging_profile_kind == ChargingProfileKind::Recurring {
        let period = if profile.recurrency_kind == Some(RecurrencyKind::Weekly) { 7 * DAY_S } else { DAY_S };
        elapsed_s = elapsed_s.rem_euclid(period);
    }
    if elapsed_s < 0 || schedule.duration.is_some_and(|d| elapsed_s >= d) {
        return None;
    }
    let period = schedule.charging_schedule_period.iter().filter(|p| p.start_period <= elapsed_s).max_by_key(|p| p.start_period)?;
    let watts = match schedule.charging_rate_unit {
        ChargingRateUnit::Watts => period.limit,
        ChargingRateUnit::Amperes => period.limit * Decimal::from(VOLTS_PER_PHASE * period.number_phases.unwrap_or(3)),
    };
    Some(watts.max(Decimal::ZERO).floor().to_u32().unwrap_or(u32::MAX))
}

/// Watts as amperes over three phases, to 0.1 A (the schema's step).
pub fn amperes(watts: u32) -> Decimal {
    (Decimal::from(watts) / Decimal::from(VOLTS_PER_PHASE * 3)).round_dp_with_strategy(1, rust_decimal::RoundingStrategy::ToZero)
}

#[cfg(test)]
mod tests {
    use ocpp16::messages::{ChargingSchedule, ChargingSchedulePeriod, Timestamp};

    use super::*;

    fn profile(kind: ChargingProfileKind, unit: ChargingRateUnit, periods: &[(i64, i64)]) -> ChargingProfile {
        ChargingProfile {
            charging_profile_id: 1,
            transaction_id: None,
            stack_level: 0,
            charging_profile_purpose: ChargingProfilePurpose::TxProfile,
            charging_profile_kind: kind,
            recurrency_kind: None,
            valid_from: None,
            valid_to: None,
            charging_schedule: ChargingSchedule {
                duration: None,
                start_schedule: None,
                charging_rate_unit: unit,
                charging_schedule_period: periods
                    .iter()
                    .map(|&(start_period, limit)| ChargingSchedulePeriod { start_period, limit: Decimal::from(limit), number_phases: None })
                    .collect(),
                min_charging_rate: None,
            },
        }
    }

    fn at(ms: Millis) -> Timestamp {
        chrono::DateTime::from_timestamp_millis(ms).unwrap().fixed_offset()
    }

    #[test]
    fn a_relative_schedule_counts_from_the_transaction_start() {
        let p = profile(ChargingProfileKind::Relative, ChargingRateUnit::Watts, &[(0, 11000), (60, 0), (120, 3700)]);
        assert_eq!(limit_now(&p, None, 5_000), None, "no transaction, no start");
        assert_eq!(limit_now(&p, Some(1_000), 1_000), Some(11000));
        assert_eq!(limit_now(&p, Some(1_000), 60_999), Some(11000));
        assert_eq!(limit_now(&p, Some(1_000), 61_000), Some(0));
        assert_eq!(limit_now(&p, Some(1_000), 121_000), Some(3700));
    }

    #[test]
    fn amperes_become_watts_per_phase() {
        let mut p = profile(ChargingProfileKind::Relative, ChargingRateUnit::Amperes, &[(0, 16)]);
        assert_eq!(limit_now(&p, Some(0), 0), Some(16 * 230 * 3));
        p.charging_schedule.charging_schedule_period[0].number_phases = Some(1);
        assert_eq!(limit_now(&p, Some(0), 0), Some(16 * 230));
        assert_eq!(amperes(16 * 230 * 3), Decimal::from(16));
    }

    #[test]
    fn validity_duration_and_absolute_start_bound_a_profile() {
        let mut p = profile(ChargingProfileKind::Absolute, ChargingRateUnit::Watts, &[(0, 5000)]);
        p.charging_schedule.start_schedule = Some(at(10_000));
        p.charging_schedule.duration = Some(30);
        assert_eq!(limit_now(&p, Some(0), 9_999), None, "before its start");
        assert_eq!(limit_now(&p, Some(0), 10_000), Some(5000));
        assert_eq!(limit_now(&p, Some(0), 40_000), None, "after its duration");
        p.valid_to = Some(at(20_000));
        assert_eq!(limit_now(&p, Some(0), 20_000), None, "past valid_to");
    }

    #[test]
    fn a_daily_profile_repeats() {
        let mut p = profile(ChargingProfileKind::Recurring, ChargingRateUnit::Watts, &[(0, 1000), (3600, 2000)]);
        p.charging_schedule.start_schedule = Some(at(0));
        p.recurrency_kind = Some(RecurrencyKind::Daily);
        assert_eq!(limit_now(&p, None, DAY_S * 1000 * 3 + 10_000), Some(1000));
        assert_eq!(limit_now(&p, None, DAY_S * 1000 * 3 + 3_600_000), Some(2000));
    }
}
