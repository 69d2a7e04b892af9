//! A session's activity from what the charger reported: the meter at the start, its energy
//! register readings, the meter at the stop.

use domain::Timestamp;
use domain::connector::ConnectorStatus;
use rust_decimal::Decimal;
use tariff::{Activity, Period};

/// One period between each two consecutive meter points. Energy flowing is charging; none is
/// parking (the car stays plugged in but takes nothing), so PARKING_TIME applies.
/// Readings outside the transaction's time, or below the previous point, add nothing.
pub fn from_readings(started_at: Timestamp, meter_start_wh: Decimal, readings: &[(Timestamp, Decimal)], stopped_at: Timestamp, meter_stop_wh: Decimal) -> Activity {
    let mut points = vec![(started_at, meter_start_wh)];
    points.extend(readings.iter().copied().filter(|(t, _)| *t > started_at && *t < stopped_at));
    points.push((stopped_at.max(started_at), meter_stop_wh));
    points.sort_by_key(|(t, _)| *t);
    let mut periods = Vec::with_capacity(points.len());
    let mut register = meter_start_wh;
    for pair in points.windows(2) {
        let ((start, _), (end, value)) = (pair[0], pair[1]);
        let energy = (value - register).max(Decimal::ZERO);
        register = register.max(value);
        let status = if energy > Decimal::ZERO { ConnectorStatus::Charging } else { ConnectorStatus::SuspendedEV };
        periods.push(Period { start, end, status, paused: false, energy_wh: energy });
    }
    Activity::new(periods).unwrap_or_default()
}

/// The activity with the pauses Joule made marked as such (billed as parking), periods cut
/// at their edges; an open pause lasts to the end. Energy is shared out by time.
pub fn with_pauses(activity: &Activity, pauses: &[(Timestamp, Option<Timestamp>)]) -> Activity {
    if pauses.is_empty() {
        return activity.clone();
    }
    let paused_at = |t: i64| pauses.iter().any(|(s, e)| t >= s.millis() && e.is_none_or(|e| t < e.millis()));
    let mut periods = Vec::new();
    for p in activity.periods() {
        let (a, b) = (p.start.millis(), p.end.millis());
        let mut cuts: Vec<i64> = pauses.iter().flat_map(|(s, e)| [Some(s.millis()), e.map(Timestamp::millis)]).flatten().filter(|c| *c > a && *c < b).collect();
        cuts.sort_unstable();
        cuts.dedup();
        let mut bounds = vec![a];
        bounds.extend(cuts);
        bounds.push(b);
        let mut given = Decimal::ZERO;
        for (i, w) in bounds.windows(2).enumerate() {
            let last = i == bounds.len() - 2;
            let energy = if last || b == a { p.energy_wh - given } else { p.energy_wh * Decimal::from(w[1] - w[0]) / Decimal::from(b - a) };
            given += energy;
            let paused = paused_at(w[0] + (w[1] - w[0]) / 2);
            periods.push(Period { start: Timestamp::from_millis(w[0]), end: Timestamp::from_millis(w[1]), status: p.status, paused: p.paused || paused, energy_wh: energy });
        }
    }
    Activity::new(periods).unwrap_or_default()
}

/// A session's activity as far as it is known: from the transaction's start to its stop, or
/// to the last reading while it runs; Joule's pauses marked.
pub fn of_session(
    started_at: Timestamp,
    meter_start_wh: Decimal,
    readings: &[(Timestamp, Decimal)],
    stop: Option<(Timestamp, Decimal)>,
    pauses: &[(Timestamp, Option<Timestamp>)],
) -> Activity {
    let (end, end_wh) = stop.or_else(|| readings.last().copied()).unwrap_or((started_at, meter_start_wh));
    with_pauses(&from_readings(started_at, meter_start_wh, readings, end, end_wh), pauses)
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
