//! A session's activity from what the charger reported: the meter at the start, its energy
//! register readings, the meter at the stop.

use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;
use tariff::{Activity, Period};

/// One period between each two consecutive meter points. Energy flowing is charging; none is
/// parking (the car stays plugged in but takes nothing), so PARKING_TIME applies.
/// Readings outside the transaction's time, or below the previous point, add nothing. Points
/// of one time follow each other in the order given (the stop last): each reading is a period
/// of its own wherever it lies, so that a session priced as it grows and priced whole agree.
pub fn from_readings(
    started_at: Timestamp,
    meter_start_wh: Decimal,
    readings: &[(Timestamp, Decimal)],
    stopped_at: Timestamp,
    meter_stop_wh: Decimal,
) -> Activity {
    let mut points = vec![(started_at, meter_start_wh)];
    points.extend(readings.iter().copied().filter(|(t, _)| *t > started_at && *t <= stopped_at));
    points.push((stopped_at.max(started_at), meter_stop_wh));
    points.sort_by_key(|(t, _)| *t);
    let mut periods = Vec::with_capacity(points.len());
    let mut register = meter_start_wh;
    for pair in points.windows(2) {
        let ((start, _), (end, value)) = (pair[0], pair[1]);
        // A reading too far from the register to subtract (beyond exact decimals) adds nothing.
        let energy = value.checked_sub(register).unwrap_or(Decimal::ZERO).max(Decimal::ZERO);
        register = register.max(value);
        let status = if energy > Decimal::ZERO { ConnectorStatus::Charging } else { ConnectorStatus::SuspendedEV };
        periods.push(Period { start, end, status, paused: false, energy_wh: energy });
    }
    Activity::new(periods).unwrap_or_default()
}

/// The activity cut at `cuts` (milliseconds), each piece relabelled by `label` from the
/// original period and the piece's midpoint. Energy is shared out by time.
fn cut(activity: &Activity, cuts: &[i64], label: impl Fn(&Period, i64) -> (ConnectorStatus, bool)) -> Activity {
    let mut periods = Vec::new();
    for p in activity.periods() {
        let (a, b) = (p.start.millis(), p.end.millis());
        if b <= a {
            // An instant (two reports at one time) keeps its energy.
            let (status, paused) = label(p, a);
            periods.push(Period { status, paused, ..p.clone() });
            continue;
        }
        let mut bounds = vec![a];
        bounds.extend(cuts.iter().copied().filter(|c| *c > a && *c < b));
        bounds.push(b);
        bounds.sort_unstable();
        bounds.dedup();
        let mut given = Decimal::ZERO;
        for (i, w) in bounds.windows(2).enumerate() {
            let last = i == bounds.len() - 2;
            // Checked: a share beyond exact decimals is left to the last piece, which takes the rest.
            let energy = if last {
                p.energy_wh.checked_sub(given).unwrap_or(Decimal::ZERO)
            } else {
                let (piece, whole) = (Decimal::from(w[1]) - Decimal::from(w[0]), Decimal::from(b) - Decimal::from(a));
                p.energy_wh.checked_mul(piece).and_then(|e| e.checked_div(whole)).unwrap_or(Decimal::ZERO)
            };
            given = given.checked_add(energy).unwrap_or(p.energy_wh);
            let (status, paused) = label(p, i64::midpoint(w[0], w[1]));
            periods.push(Period { start: Timestamp::from_millis(w[0]), end: Timestamp::from_millis(w[1]), status, paused, energy_wh: energy });
        }
    }
    Activity::new(periods).unwrap_or_default()
}

/// The activity with the pauses Joule made marked as such (billed as parking), periods cut
/// at their edges; an open pause lasts to the end.
pub fn with_pauses(activity: &Activity, pauses: &[(Timestamp, Option<Timestamp>)]) -> Activity {
    if pauses.is_empty() {
        return activity.clone();
    }
    let paused_at = |t: i64| pauses.iter().any(|(s, e)| t >= s.millis() && e.is_none_or(|e| t < e.millis()));
    let cuts: Vec<i64> = pauses.iter().flat_map(|(s, e)| [Some(s.millis()), e.map(Timestamp::millis)]).flatten().collect();
    cut(activity, &cuts, |p, mid| (p.status, p.paused || paused_at(mid)))
}

/// What a reported connector status says about the time it covers: charging, parking
/// (SuspendedEV, Finishing) or neither (SuspendedEVSE: the operator holding the power back).
/// Other statuses say nothing; the energy flow decides.
pub fn reported_use(status: ConnectorStatus) -> Option<ConnectorStatus> {
    match status {
        ConnectorStatus::Charging | ConnectorStatus::SuspendedEV | ConnectorStatus::Finishing | ConnectorStatus::SuspendedEVSE => Some(status),
        _ => None,
    }
}

/// The activity labelled by the charger's status reports (in time order): each stretch takes
/// the status last reported before it, where that status tells charging from parking;
/// elsewhere the energy flow decides, as in [`from_readings`].
pub fn with_statuses(activity: &Activity, statuses: &[(Timestamp, ConnectorStatus)]) -> Activity {
    if statuses.is_empty() {
        return activity.clone();
    }
    let reported_at = |t: i64| statuses.iter().rev().find(|(at, _)| at.millis() <= t).and_then(|(_, s)| reported_use(*s));
    let cuts: Vec<i64> = statuses.iter().map(|(at, _)| at.millis()).collect();
    cut(activity, &cuts, |p, mid| (reported_at(mid).unwrap_or(p.status), p.paused))
}

/// A session's activity as far as it is known: from the transaction's start to its stop, or
/// to the last reading while it runs; labelled by the connector's status reports, Joule's
/// pauses marked.
pub fn of_session(
    started_at: Timestamp,
    meter_start_wh: Decimal,
    readings: &[(Timestamp, Decimal)],
    stop: Option<(Timestamp, Decimal)>,
    statuses: &[(Timestamp, ConnectorStatus)],
    pauses: &[(Timestamp, Option<Timestamp>)],
) -> Activity {
    // While it runs, its last reading is its end.
    let (readings, (end, end_wh)) = match (stop, readings.split_last()) {
        (Some(stop), _) => (readings, stop),
        (None, Some((last, earlier))) => (earlier, *last),
        (None, None) => (readings, (started_at, meter_start_wh)),
    };
    with_pauses(&with_statuses(&from_readings(started_at, meter_start_wh, readings, end, end_wh), statuses), pauses)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pauses_are_parking_and_keep_the_energy() {
        let d = Decimal::from;
        let a = from_readings(t(0), d(0), &[(t(600), d(1000))], t(1200), d(1000));
        let p = with_pauses(&a, &[(t(300), Some(t(900)))]);
        assert_eq!(p.periods().iter().map(|x| x.energy_wh).sum::<Decimal>(), d(1000));
        let paused: i64 = p.periods().iter().filter(|x| x.paused).map(|x| x.duration_ms()).sum();
        assert_eq!(paused, 600_000);
        assert!(p.periods().iter().filter(|x| x.paused).all(|x| x.usage() == tariff::Use::Parking));
    }

    fn t(s: i64) -> Timestamp {
        Timestamp::from_millis(s * 1000)
    }

    #[test]
    fn reported_statuses_tell_charging_parking_and_neither() {
        let d = Decimal::from;
        // 0–10 min 2 kWh; 10–20 and 20–30 min nothing more.
        let a = from_readings(t(0), d(0), &[(t(600), d(2000)), (t(1200), d(2000))], t(1800), d(2000));
        let statuses = [
            (t(-60), ConnectorStatus::Preparing),
            (t(30), ConnectorStatus::Charging),
            (t(600), ConnectorStatus::SuspendedEVSE),
            (t(1500), ConnectorStatus::SuspendedEV),
        ];
        let s = with_statuses(&a, &statuses);
        let usage = |u: tariff::Use| s.periods().iter().filter(|p| p.usage() == u).map(|p| p.duration_ms() / 1000).sum::<i64>();
        assert_eq!(usage(tariff::Use::Charging), 600, "30 s of Preparing say nothing: the energy flowed, so it is charging");
        assert_eq!(usage(tariff::Use::Neither), 900, "SuspendedEVSE: the operator held the power back");
        assert_eq!(usage(tariff::Use::Parking), 300, "SuspendedEV from 25 min");
        assert_eq!(s.periods().iter().map(|p| p.energy_wh).sum::<Decimal>(), d(2000));
        assert_eq!(with_statuses(&a, &[]), a, "without reports the energy flow decides");
    }

    #[test]
    fn periods_run_between_meter_points() {
        let d = Decimal::from;
        let a = from_readings(t(0), d(1000), &[(t(60), d(1500)), (t(120), d(1500)), (t(180), d(2000))], t(240), d(2100));
        let p = a.periods();
        assert_eq!(p.len(), 4);
        assert_eq!(p.iter().map(|x| x.energy_wh).sum::<Decimal>(), d(1100));
        assert_eq!(p[1].status, ConnectorStatus::SuspendedEV, "no energy: parked");
        assert_eq!((p[3].start, p[3].end), (t(180), t(240)));
        let dipped = from_readings(t(0), d(1000), &[(t(60), d(900)), (t(999), d(5000))], t(120), d(1200));
        assert_eq!(dipped.periods().iter().map(|x| x.energy_wh).sum::<Decimal>(), d(200), "a dip and a reading after the stop add nothing");
    }
}
