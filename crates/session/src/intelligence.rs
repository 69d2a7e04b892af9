//! Session intelligence: stop a session before its cost passes what was authorized, or when it
//! reaches its targets.
//!
//! Joule cannot stop energy instantly: a stop takes effect after the charger's stop latency,
//! and Joule only learns the meter after the next report. So it decides on a projection: the
//! cost at `now + horizon`, where the horizon covers the next expected meter report and the
//! stop latency, if the session goes on as it is going now.

use domain::Timestamp;
use domain::connector::ConnectorStatus;
use domain::rate::{ComponentType, Rate};
use domain::session::SessionStatus;
use rust_decimal::Decimal;
use tariff::{Outlook, Tab};

use crate::activity::reported_use;
use crate::facts::SessionFacts;
use crate::pricing;

/// eDRV's session targets; a target that is set stops the session when reached.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Targets {
    pub energy_wh: Option<Decimal>,
    pub duration_s: Option<u32>,
    pub cost: Option<Decimal>,
}

/// Everything the decision needs, as of `now`.
pub struct Watch<'a> {
    pub rate: &'a Rate,
    /// The session so far, from its start to the last meter report, priced on `rate`.
    pub tab: &'a Tab,
    pub started_at: Timestamp,
    pub now: Timestamp,
    pub outlook: Outlook,
    /// What the payment authorized, in major units; `None` without a payment.
    pub authorized: Option<Decimal>,
    /// Seconds until a stop sent now would be confirmed by a meter reading.
    pub horizon_s: u32,
    pub targets: Targets,
    /// The longest the runner waits between two decisions.
    pub recheck_s: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The projected cost reaches the authorized amount.
    Authorization,
    CostTarget,
    EnergyTarget,
    TimeTarget,
}

impl StopReason {
    pub fn as_str(self) -> &'static str {
        match self {
            StopReason::Authorization => "authorized_amount",
            StopReason::CostTarget => "target.cost",
            StopReason::EnergyTarget => "target.energy",
            StopReason::TimeTarget => "target.time",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Nothing to do; decide again within this many seconds.
    Continue {
        recheck_in_s: u32,
    },
    Stop(StopReason),
}

/// Where the energy target stands `ahead_s` from now: `None` once it is reached (or the
/// projection is beyond exact decimals, which reaches any target), else the seconds still to go
/// at this power (`u32::MAX` without power).
fn energy_target_in_s(w: &Watch, target_wh: Decimal, ahead_s: u32) -> Option<u32> {
    let per_s = w.outlook.power_w.max(Decimal::ZERO) / Decimal::from(3600);
    let projected = w.tab.energy_wh()?.checked_add(per_s.checked_mul(Decimal::from(ahead_s))?)?;
    if projected >= target_wh {
        return None;
    }
    if per_s == Decimal::ZERO {
        return Some(u32::MAX);
    }
    let s = (target_wh - projected).checked_div(per_s)?.ceil();
    Some(u32::try_from(s).unwrap_or(u32::MAX).max(1))
}

pub fn decide(w: &Watch) -> Decision {
    // The activity is known up to the last meter report; from there the session is assumed to
    // go on as it is going, through now and the horizon.
    let from = w.tab.end().unwrap_or(w.started_at).min(w.now);
    let unreported_s = u32::try_from(w.now.millis().saturating_sub(from.millis()).saturating_add(999) / 1000).unwrap_or(u32::MAX);
    let ahead_s = unreported_s.saturating_add(w.horizon_s);
    let mut recheck = w.recheck_s.max(1);
    // A charging car may stop taking energy at any moment and park: where parking is billed,
    // whichever of the two costs more decides.
    let parked = Outlook { status: ConnectorStatus::SuspendedEV, paused: false, power_w: Decimal::ZERO };
    let may_park = w.outlook.status == ConnectorStatus::Charging && !w.outlook.paused && w.rate.has_component(ComponentType::ParkingTime);
    let outlooks: &[Outlook] = if may_park { &[w.outlook, parked] } else { &[w.outlook] };
    for (cap, reason) in [(w.authorized, StopReason::Authorization), (w.targets.cost, StopReason::CostTarget)] {
        let Some(cap) = cap else { continue };
        for outlook in outlooks {
            match w.tab.seconds_until(from, *outlook, cap, ahead_s.saturating_add(w.recheck_s)) {
                Ok(Some(s)) if s <= ahead_s => return Decision::Stop(reason),
                Ok(Some(s)) => recheck = recheck.min(s - ahead_s),
                Ok(None) => {}
                // A session Joule cannot price must not go on spending.
                Err(_) => return Decision::Stop(reason),
            }
        }
    }
    if let Some(target) = w.targets.energy_wh {
        match energy_target_in_s(w, target, ahead_s) {
            None => return Decision::Stop(StopReason::EnergyTarget),
            Some(s) => recheck = recheck.min(s),
        }
    }
    if let Some(target_s) = w.targets.duration_s {
        let ends_at = w.started_at.millis().saturating_add(i64::from(target_s) * 1000);
        let left_ms = ends_at.saturating_sub(w.now.millis().saturating_add(i64::from(w.horizon_s) * 1000));
        if left_ms <= 0 {
            return Decision::Stop(StopReason::TimeTarget);
        }
        recheck = recheck.min(u32::try_from(left_ms.saturating_add(999) / 1000).unwrap_or(u32::MAX).max(1));
    }
    Decision::Continue { recheck_in_s: recheck }
}

/// Until a charger has reported twice, Joule expects its next meter report this long after the
/// last one (OCPP's usual MeterValueSampleInterval).
pub const DEFAULT_METER_INTERVAL_S: u32 = 60;
/// Until a charger has been stopped once, Joule assumes a stop takes this long to take effect.
pub const DEFAULT_STOP_LATENCY_S: u32 = 30;
/// Bounds on what is learned: a clock jump or a charger that ignored a stop for an hour must
/// not make the horizon absurd.
const MAX_LEARNED_S: u32 = 600;

/// When the next meter report is expected after the last one: the longest of the last three
/// gaps between reports, so that one quick report does not shorten the horizon.
pub fn meter_interval_s(report_times: &[Timestamp]) -> u32 {
    let gaps = report_times.windows(2).rev().take(3).map(|w| w[1].millis().saturating_sub(w[0].millis()));
    match gaps.max() {
        Some(ms) if ms > 0 => u32::try_from(ms.saturating_add(999) / 1000).unwrap_or(MAX_LEARNED_S).clamp(1, MAX_LEARNED_S),
        _ => DEFAULT_METER_INTERVAL_S,
    }
}

/// The stop latency learned from one more stop: how long the charger took between Joule's stop
/// request and the stop it reported. It rises at once to a slower observation and falls only
/// halfway to a quicker one, so one fast stop does not make Joule late for the next.
pub fn learn_stop_latency_s(previous_s: Option<u32>, observed_ms: i64) -> u32 {
    let observed = u32::try_from(observed_ms.max(0).saturating_add(999) / 1000).unwrap_or(MAX_LEARNED_S).clamp(1, MAX_LEARNED_S);
    match previous_s {
        Some(previous) if observed < previous => previous - (previous - observed) / 2,
        _ => observed,
    }
}

/// How far ahead to project: the next expected meter report plus the charger's stop latency.
pub fn horizon_s(report_times: &[Timestamp], stop_latency_s: Option<u32>) -> u32 {
    meter_interval_s(report_times) + stop_latency_s.unwrap_or(DEFAULT_STOP_LATENCY_S)
}

/// The power assumed until two meter readings tell the real one: high, so that a session is
/// never let run past its authorization for lack of data.
const UNKNOWN_POWER_W: i64 = 22_000;
/// The longest the runner waits between two decisions on a session it watches.
const RECHECK_S: u32 = 5;
/// The readings a decision looks at: the power comes from the last two, the report interval
/// from the last three gaps ([`meter_interval_s`]).
pub const RECENT_READINGS: usize = 4;

fn targets(target: Option<&domain::session::Target>) -> Targets {
    Targets {
        energy_wh: target.and_then(|t| t.energy).and_then(|kwh| kwh.checked_mul(Decimal::ONE_THOUSAND)),
        duration_s: target.and_then(|t| t.time).map(|minutes| minutes.saturating_mul(60)),
        cost: target.and_then(|t| t.cost),
    }
}

/// The decision on a running session as of `now`, from its facts: its activity so far within
/// its billed span, its power from the last two readings, what its charger last reported.
pub fn decide_on(f: &SessionFacts, now: Timestamp) -> Decision {
    let Some(rate) = &f.rate else { return Decision::Continue { recheck_in_s: 60 } };
    let tab = Tab::from_activity(rate, pricing::timezone(f), &pricing::activity(f));
    let billed = pricing::billed(f);
    decide_priced(f, &tab, billed.started_at, &billed.readings, now)
}

/// [`decide_on`] for a session whose activity is already priced in `tab`; `started_at` and
/// `readings` (at least the last four) are the session's within its billed span.
pub fn decide_priced(f: &SessionFacts, tab: &Tab, started_at: Timestamp, readings: &[(Timestamp, Decimal)], now: Timestamp) -> Decision {
    let Some(rate) = &f.rate else { return Decision::Continue { recheck_in_s: 60 } };
    if f.session.stop_requested.is_some() || !f.session.status.is_running() {
        return Decision::Continue { recheck_in_s: 60 };
    }
    // The charger's times within the billed span: a reading stamped in the future neither
    // stretches the report gaps nor the power.
    let power_w = match readings {
        [.., (t0, e0), (t1, e1)] if t1 > t0 => e1
            .checked_sub(*e0)
            .and_then(|wh| wh.checked_mul(Decimal::from(3_600_000)))
            .and_then(|x| x.checked_div(Decimal::from(t1.millis().saturating_sub(t0.millis()))))
            .unwrap_or(Decimal::from(UNKNOWN_POWER_W)),
        _ => Decimal::from(UNKNOWN_POWER_W),
    };
    let paused = f.session.status == SessionStatus::Paused;
    // As in the activity: the charger's last status where it tells, else the energy flow (a
    // car plugged in that takes no energy is parked). Energy is projected in any status.
    let reported = f.statuses.last().and_then(|(_, s)| reported_use(*s));
    let status = match (paused, reported, power_w > Decimal::ZERO) {
        (true, _, _) => ConnectorStatus::SuspendedEVSE,
        (false, Some(status), _) => status,
        (false, None, true) => ConnectorStatus::Charging,
        (false, None, false) => ConnectorStatus::SuspendedEV,
    };
    let outlook = Outlook { status, paused, power_w: if paused { Decimal::ZERO } else { power_w } };
    let recent = &readings[readings.len().saturating_sub(RECENT_READINGS)..];
    let report_times: Vec<Timestamp> = recent.iter().map(|(at, _)| *at).collect();
    decide(&Watch {
        rate,
        tab,
        started_at,
        now,
        outlook,
        authorized: f.session.payment.as_ref().map(|p| p.authorized_amount),
        horizon_s: horizon_s(&report_times, f.stop_latency_s),
        targets: targets(f.session.target.as_ref()),
        recheck_s: RECHECK_S,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(s: &[i64]) -> Vec<Timestamp> {
        s.iter().map(|s| Timestamp::from_millis(s * 1000)).collect()
    }

    #[test]
    fn the_meter_interval_is_learned_from_the_last_reports() {
        assert_eq!(meter_interval_s(&at(&[])), DEFAULT_METER_INTERVAL_S);
        assert_eq!(meter_interval_s(&at(&[100])), DEFAULT_METER_INTERVAL_S);
        assert_eq!(meter_interval_s(&at(&[0, 10, 20, 30])), 10);
        assert_eq!(meter_interval_s(&at(&[0, 60, 70, 80])), 60, "one quick report does not shorten it");
        assert_eq!(meter_interval_s(&at(&[0, 60, 70, 80, 90])), 10, "only the last three gaps count");
        assert_eq!(meter_interval_s(&at(&[0, 86_400])), MAX_LEARNED_S);
    }

    #[test]
    fn stop_latency_rises_at_once_and_falls_halfway() {
        assert_eq!(learn_stop_latency_s(None, 12_500), 13);
        assert_eq!(learn_stop_latency_s(Some(10), 40_000), 40);
        assert_eq!(learn_stop_latency_s(Some(40), 10_000), 25);
        assert_eq!(learn_stop_latency_s(Some(40), -5_000), 21, "a stop reported before the request (clock skew) counts as 1 s");
        assert_eq!(learn_stop_latency_s(None, 3_600_000), MAX_LEARNED_S);
        assert_eq!(horizon_s(&at(&[0, 10, 20]), None), 10 + DEFAULT_STOP_LATENCY_S);
    }

    proptest! {
        #[test]
        fn learned_latency_stays_between_the_previous_and_the_observation(previous in 1u32..=MAX_LEARNED_S, observed_ms in -10_000i64..1_000_000) {
            let learned = learn_stop_latency_s(Some(previous), observed_ms);
            let observed = learn_stop_latency_s(None, observed_ms);
            prop_assert!(learned >= previous.min(observed) && learned <= previous.max(observed));
            prop_assert!(learned >= observed, "never quicker than the stop just seen");
        }
    }
}
