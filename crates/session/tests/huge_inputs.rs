//! Whatever a charger reports and a session targets, the session's activity and Joule's
//! decision come out without a panic: impossible numbers add nothing or stop the session.

use domain::connector::ConnectorStatus;
use domain::rate::RateInput;
use domain::{Id, Timestamp};
use proptest::prelude::*;
use rust_decimal::Decimal;
use serde_json::json;
use session::activity::of_session;
use session::intelligence::{Decision, StopReason, Targets, Watch, decide};
use tariff::{Outlook, Tab};

fn huge() -> impl Strategy<Value = Decimal> {
    prop_oneof![
        Just(Decimal::MAX),
        Just(Decimal::MIN),
        (0u32..29, any::<bool>()).prop_map(|(digits, negative)| {
            let value = Decimal::from_i128_with_scale(10i128.pow(digits), 0);
            if negative { -value } else { value }
        }),
    ]
}

fn millis() -> impl Strategy<Value = i64> {
    prop_oneof![Just(i64::MIN), Just(i64::MAX), 1_700_000_000_000i64..1_700_100_000_000, any::<i64>()]
}

proptest! {
    #[test]
    fn huge_readings_and_targets_decide_without_a_panic(
        start in millis(),
        meter_start in huge(),
        readings in proptest::collection::vec((millis(), huge()), 0..6),
        stop in proptest::option::of((millis(), huge())),
        pauses in proptest::collection::vec((millis(), proptest::option::of(millis())), 0..3),
        power in huge(),
        energy_target in proptest::option::of(huge()),
        cost_target in proptest::option::of(huge()),
        duration_s in proptest::option::of(any::<u32>()),
        now in millis(),
    ) {
        let t = Timestamp::from_millis;
        let mut readings: Vec<(Timestamp, Decimal)> = readings.into_iter().map(|(at, wh)| (t(at), wh)).collect();
        readings.sort_by_key(|(at, _)| *at);
        let pauses: Vec<_> = pauses.into_iter().map(|(s, e)| (t(s), e.map(t))).collect();
        let statuses = [(t(start), ConnectorStatus::Charging)];
        let activity = of_session(t(start), meter_start, &readings, stop.map(|(at, wh)| (t(at), wh)), &statuses, &pauses);
        prop_assert!(activity.periods().iter().all(|p| p.energy_wh >= Decimal::ZERO));

        let rate = serde_json::from_value::<RateInput>(json!({ "currency": "USD", "price_components": [
            { "type": "ENERGY", "price": 1000000 }, { "type": "PARKING_TIME", "price": 1000000 }] }))
            .unwrap()
            .create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0))
            .unwrap();
        let tab = Tab::from_activity(&rate, chrono_tz::UTC, &activity);
        let watch = Watch {
            rate: &rate,
            tab: &tab,
            started_at: t(start),
            now: t(now),
            outlook: Outlook { status: ConnectorStatus::Charging, paused: false, power_w: power },
            authorized: Some(Decimal::from(50)),
            horizon_s: 90,
            targets: Targets { energy_wh: energy_target, duration_s, cost: cost_target },
            recheck_s: 5,
        };
        // A session whose projection cannot be priced stops; one that can, may go on.
        match decide(&watch) {
            Decision::Stop(reason) => prop_assert!(matches!(reason, StopReason::Authorization | StopReason::CostTarget | StopReason::EnergyTarget | StopReason::TimeTarget)),
            Decision::Continue { recheck_in_s } => prop_assert!((1..=5).contains(&recheck_in_s)),
        }
    }
}

#[test]
fn an_unpriceable_session_is_stopped() {
    let rate = serde_json::from_value::<RateInput>(json!({ "currency": "USD", "price_components": [{ "type": "ENERGY", "price": 1 }] }))
        .unwrap()
        .create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0))
        .unwrap();
    let t = Timestamp::from_millis;
    let activity = of_session(t(0), Decimal::ZERO, &[(t(60_000), Decimal::MAX)], None, &[], &[]);
    let tab = Tab::from_activity(&rate, chrono_tz::UTC, &activity);
    let watch = Watch {
        rate: &rate,
        tab: &tab,
        started_at: t(0),
        now: t(60_000),
        outlook: Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::ONE },
        authorized: Some(Decimal::from(50)),
        horizon_s: 90,
        targets: Targets::default(),
        recheck_s: 5,
    };
    assert_eq!(decide(&watch), Decision::Stop(StopReason::Authorization));
}
