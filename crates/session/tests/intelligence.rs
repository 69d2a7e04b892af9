//! Session intelligence against simulated chargers: meter reports every 10 or 60 s, a stop that
//! takes effect 30 s after it is sent, constant power. Joule decides on every report and on its
//! timer; the session must end at or below what was authorized.

use domain::connector::ConnectorStatus;
use domain::rate::{Rate, RateInput};
use domain::{Id, Timestamp};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;
use session::intelligence::{Decision, StopReason, Targets, Watch, decide};
use tariff::{Activity, Outlook, Period, Tab, price};

const LATENCY_S: i64 = 30;
const START_MS: i64 = 1_795_000_000_000;

fn rate(energy_cents: u32, time_cents: u32, flat_cents: u32, step: u32) -> Rate {
    let body = json!({ "currency": "USD", "price_components": [
        { "type": "FLAT", "price": Decimal::new(i64::from(flat_cents), 2) },
        { "type": "ENERGY", "price": Decimal::new(i64::from(energy_cents), 2), "tax": 8.25, "step_size": step },
        { "type": "TIME", "price": Decimal::new(i64::from(time_cents), 2) } ] });
    serde_json::from_value::<RateInput>(body).unwrap().create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap()
}

/// Charging at `power_w` from START until stopped; returns when Joule stopped it (ms) and the
/// final cost of what was delivered up to the moment the stop took effect.
fn run(rate: &Rate, power_w: i64, interval_s: i64, authorized: Decimal, targets: Targets) -> (Option<StopReason>, Decimal) {
    let wh_at = |ms: i64| Decimal::from(power_w) * Decimal::from(ms - START_MS) / Decimal::from(3_600_000);
    let activity_until = |ms: i64| {
        let period = Period {
            start: Timestamp::from_millis(START_MS),
            end: Timestamp::from_millis(ms),
            status: ConnectorStatus::Charging,
            paused: false,
            energy_wh: wh_at(ms),
        };
        Activity::new(vec![period]).unwrap()
    };
    let outlook = Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::from(power_w) };
    let horizon_s = (interval_s + LATENCY_S) as u32;
    let (mut now, mut last_report) = (START_MS, START_MS);
    let day = START_MS + 6 * 3_600_000;
    while now < day {
        let known = Tab::from_activity(rate, chrono_tz::UTC, &activity_until(last_report));
        let watch = Watch {
            rate,
            tab: &known,
            started_at: Timestamp::from_millis(START_MS),
            now: Timestamp::from_millis(now),
            outlook,
            authorized: Some(authorized),
            horizon_s,
            targets,
            recheck_s: 5,
        };
        match decide(&watch) {
            Decision::Stop(reason) => {
                let stopped = now + LATENCY_S * 1000;
                return (Some(reason), price(rate, chrono_tz::UTC, &activity_until(stopped)).unwrap().amount);
            }
            Decision::Continue { recheck_in_s } => {
                let next_report = last_report + interval_s * 1000;
                now = (now + i64::from(recheck_in_s) * 1000).min(next_report);
                if now == next_report {
                    last_report = next_report;
                }
            }
        }
    }
    (None, price(rate, chrono_tz::UTC, &activity_until(day)).unwrap().amount)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn sessions_stop_before_the_authorization_is_passed(
        energy in 5u32..80, time in 0u32..600, flat in 0u32..200, step in prop_oneof![Just(1u32), Just(100), Just(500)],
        power_w in 1_000i64..150_000, interval in prop_oneof![Just(10i64), Just(60)], minutes in 10i64..240,
    ) {
        let rate = rate(energy, time, flat, step);
        // What `minutes` of charging would cost: the cap is reached about then.
        let full = Activity::new(vec![Period {
            start: Timestamp::from_millis(START_MS),
            end: Timestamp::from_millis(START_MS + minutes * 60_000),
            status: ConnectorStatus::Charging,
            paused: false,
            energy_wh: Decimal::from(power_w * minutes) / Decimal::from(60),
        }]).unwrap();
        let authorized = price(&rate, chrono_tz::UTC, &full).unwrap().amount;
        let (reason, cost) = run(&rate, power_w, interval, authorized, Targets::default());
        prop_assert_eq!(reason, Some(StopReason::Authorization));
        prop_assert!(cost <= authorized, "cost {} above {} authorized", cost, authorized);
    }
}

#[test]
fn targets_stop_sessions_too() {
    let rate = rate(30, 0, 0, 1);
    let (reason, _) = run(&rate, 7200, 10, Decimal::from(1000), Targets { energy_wh: Some(Decimal::from(5000)), ..Targets::default() });
    assert_eq!(reason, Some(StopReason::EnergyTarget));
    let (reason, _) = run(&rate, 7200, 10, Decimal::from(1000), Targets { duration_s: Some(3600), ..Targets::default() });
    assert_eq!(reason, Some(StopReason::TimeTarget));
    let (reason, cost) = run(&rate, 7200, 60, Decimal::from(1000), Targets { cost: Some(Decimal::from(2)), ..Targets::default() });
    assert_eq!(reason, Some(StopReason::CostTarget));
    assert!(cost <= Decimal::from(2));
}

#[test]
fn a_session_that_cannot_reach_its_cap_runs_on() {
    let rate = rate(30, 0, 0, 1);
    let known = Tab::new(&rate, chrono_tz::UTC);
    let watch = Watch {
        rate: &rate,
        tab: &known,
        started_at: Timestamp::from_millis(START_MS),
        now: Timestamp::from_millis(START_MS),
        outlook: Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::from(1000) },
        authorized: Some(Decimal::from(100)),
        horizon_s: 90,
        targets: Targets::default(),
        recheck_s: 5,
    };
    assert_eq!(decide(&watch), Decision::Continue { recheck_in_s: 5 });
}

#[test]
fn a_charging_car_that_may_park_is_stopped_before_parking_passes_the_cap() {
    let body = json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.10 }, { "type": "PARKING_TIME", "price": 60 }] });
    let rate = serde_json::from_value::<RateInput>(body).unwrap().create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap();
    // Ten minutes at 30 kW: 5 kWh, $0.50 of $1.50. Charging on costs cents a minute; parking
    // costs a dollar a minute, and the car may stop taking energy at any moment.
    let charged = Period {
        start: Timestamp::from_millis(START_MS),
        end: Timestamp::from_millis(START_MS + 600_000),
        status: ConnectorStatus::Charging,
        paused: false,
        energy_wh: Decimal::from(5000),
    };
    let known = Activity::new(vec![charged]).unwrap();
    let tab = Tab::from_activity(&rate, chrono_tz::UTC, &known);
    let watch = |outlook: Outlook| Watch {
        rate: &rate,
        tab: &tab,
        started_at: Timestamp::from_millis(START_MS),
        now: Timestamp::from_millis(START_MS + 600_000),
        outlook,
        authorized: Some(Decimal::new(150, 2)),
        horizon_s: 90,
        targets: Targets::default(),
        recheck_s: 5,
    };
    let charging = Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::from(30_000) };
    assert_eq!(decide(&watch(charging)), Decision::Stop(StopReason::Authorization));
    let parked = Outlook { status: ConnectorStatus::SuspendedEV, paused: false, power_w: Decimal::ZERO };
    assert_eq!(decide(&watch(parked)), Decision::Stop(StopReason::Authorization));
    let energy_only = serde_json::from_value::<RateInput>(json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 0.10 }] }))
        .unwrap()
        .create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0))
        .unwrap();
    let energy_tab = Tab::from_activity(&energy_only, chrono_tz::UTC, &known);
    assert!(
        matches!(decide(&Watch { rate: &energy_only, tab: &energy_tab, ..watch(charging) }), Decision::Continue { .. }),
        "no parking price, nothing to fear"
    );
}
