//! Pricing rules as tables: OCPI 2.2.1's worked examples (tariffs module and the CDR module's
//! step_size section) and SPEC section 6. Amounts are tax included, as Joule bills them.

use chrono::{NaiveDate, TimeZone};
use chrono_tz::Tz;
use domain::connector::ConnectorStatus::{self, Charging, Finishing, SuspendedEV, SuspendedEVSE};
use domain::rate::{ComponentType, Rate, RateInput};
use domain::{Id, Timestamp};
use rust_decimal::Decimal;
use tariff::{Activity, Cost, Period, price};

fn rate(json: &str) -> Rate {
    serde_json::from_str::<RateInput>(json).unwrap().create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap()
}

fn d(s: &str) -> Decimal {
    s.parse().unwrap()
}

/// A session built period by period from a local start time: (minutes, status, Wh).
struct Session {
    tz: Tz,
    at: i64,
    periods: Vec<Period>,
}

impl Session {
    fn starting(tz: Tz, y: i32, m: u32, day: u32, h: u32, min: u32) -> Session {
        let at = tz.with_ymd_and_hms(y, m, day, h, min, 0).earliest().unwrap().timestamp_millis();
        Session { tz, at, periods: Vec::new() }
    }

    /// A Monday in UTC, at `h:min`.
    fn at(h: u32, min: u32) -> Session {
        Session::starting(chrono_tz::UTC, 2026, 11, 23, h, min)
    }

    fn then(mut self, minutes: f64, status: ConnectorStatus, wh: &str) -> Session {
        let end = self.at + (minutes * 60_000.0) as i64;
        self.periods.push(Period { start: Timestamp::from_millis(self.at), end: Timestamp::from_millis(end), status, paused: false, energy_wh: d(wh) });
        self.at = end;
        self
    }

    fn paused(mut self, minutes: f64) -> Session {
        self = self.then(minutes, SuspendedEVSE, "0");
        self.periods.last_mut().unwrap().paused = true;
        self
    }

    fn cost(&self, rate: &Rate) -> Cost {
        price(rate, self.tz, &Activity::new(self.periods.clone()).unwrap()).unwrap()
    }
}

fn before_tax(cost: &Cost, kind: ComponentType) -> Decimal {
    cost.breakdown.iter().filter(|r| r.kind == kind).map(|r| r.before_tax).sum()
}

fn quantity(cost: &Cost, kind: ComponentType) -> Decimal {
    cost.breakdown.iter().filter(|r| r.kind == kind).map(|r| r.quantity).sum()
}

/// Billed minutes of a time dimension (hours do not divide exactly in decimals).
fn minutes(cost: &Cost, kind: ComponentType) -> Decimal {
    (quantity(cost, kind) * Decimal::from(60)).round_dp(9).normalize()
}

#[test]
fn ocpi_tariff_module_examples() {
    let cases: Vec<(&str, &str, Session, &str)> = vec![
        (
            "E1 simple energy",
            r#"{"currency":"EUR","price_components":[{"type":"ENERGY","price":0.25,"tax":10}]}"#,
            Session::at(10, 0).then(120.0, Charging, "20000"),
            "5.50",
        ),
        (
            "E2 energy and start fee",
            r#"{"currency":"EUR","price_components":[{"type":"FLAT","price":0.50,"tax":20},{"type":"ENERGY","price":0.25,"tax":10}]}"#,
            Session::at(10, 0).then(120.0, Charging, "20000"),
            "6.10",
        ),
        (
            "E4 parking billed per 15 minutes",
            r#"{"currency":"EUR","price_components":[{"type":"FLAT","price":0.50,"tax":20},{"type":"ENERGY","price":0.25,"tax":10},{"type":"PARKING_TIME","price":2.00,"tax":20,"step_size":900}]}"#,
            Session::at(10, 0).then(120.0, Charging, "20000").then(40.0, SuspendedEV, "0"),
            "7.90",
        ),
        (
            "E6 charging time",
            r#"{"currency":"EUR","price_components":[{"type":"TIME","price":2.00,"tax":10,"step_size":60}]}"#,
            Session::at(10, 0).then(150.0, Charging, "30000").then(30.0, Finishing, "0"),
            "5.50",
        ),
        (
            "E7 charging and parking time",
            r#"{"currency":"EUR","price_components":[{"type":"TIME","price":3.00,"tax":10,"step_size":60},{"type":"PARKING_TIME","price":5.00,"tax":20,"step_size":300}]}"#,
            Session::at(10, 0).then(150.0, Charging, "30000").then(42.0, SuspendedEV, "0"),
            "12.75",
        ),
        (
            "E8 ad hoc 1.90/h + 5.2%",
            r#"{"currency":"EUR","price_components":[{"type":"TIME","price":1.90,"tax":5.2,"step_size":300}]}"#,
            Session::at(10, 0).then(150.0, Charging, "1"),
            "5.00",
        ),
        (
            "E10 energy in 100 Wh steps",
            r#"{"currency":"EUR","price_components":[{"type":"FLAT","price":0.50,"tax":20},{"type":"ENERGY","price":0.25,"tax":10,"step_size":100}]}"#,
            Session::at(10, 0).then(60.0, Charging, "20450"),
            "6.24",
        ),
        ("E12 free of charge", r#"{"currency":"EUR","price_components":[{"type":"FLAT","price":0}]}"#, Session::at(10, 0).then(60.0, Charging, "20000"), "0"),
        (
            "E13 first kWh free",
            r#"{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0}],"restrictions":{"max_kwh":1}},{"price_components":[{"type":"ENERGY","price":0.20}],"restrictions":{"min_kwh":1}}]}"#,
            Session::at(10, 0).then(120.0, Charging, "20000"),
            "3.80",
        ),
        (
            "E19 max_power",
            r#"{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.20,"tax":20}],"restrictions":{"max_power":16}},
                {"price_components":[{"type":"ENERGY","price":0.35,"tax":20}],"restrictions":{"max_power":32}},{"price_components":[{"type":"ENERGY","price":0.50,"tax":20}]}]}"#,
            Session::at(10, 0).then(10.0, Charging, "1000").then(50.0, Charging, "40000").then(7.5, Charging, "500"),
            "24.36",
        ),
        (
            "E20 max_duration",
            r#"{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0}],"restrictions":{"max_duration":1800}},
                {"price_components":[{"type":"ENERGY","price":0.25}],"restrictions":{"max_duration":3600}},{"price_components":[{"type":"ENERGY","price":0.40}]}]}"#,
            Session::at(10, 0).then(30.0, Charging, "5000").then(10.0, Charging, "1200"),
            "0.30",
        ),
    ];
    for (name, json, session, expected) in cases {
        let cost = session.cost(&rate(json));
        assert_eq!(cost.amount, d(expected), "{name}: {cost:#?}");
    }
}

#[test]
fn ocpi_step_size_note_examples() {
    // 115.2 Wh at 0.25 €/kWh: billed 116, 125 and 500 Wh.
    for (step, billed_wh, before) in [(1, "116", "0.029"), (25, "125", "0.03125"), (500, "500", "0.125")] {
        let json = format!(r#"{{"currency":"EUR","price_components":[{{"type":"ENERGY","price":0.25,"step_size":{step}}}]}}"#);
        let cost = Session::at(10, 0).then(5.0, Charging, "115.2").cost(&rate(&json));
        assert_eq!(quantity(&cost, ComponentType::Energy) * Decimal::ONE_THOUSAND, d(billed_wh), "step {step}");
        assert_eq!(before_tax(&cost, ComponentType::Energy), d(before), "step {step}");
    }
}

/// The CDR module's step_size rules: once per session, on the total, with the last
/// component's step; with parking billed, only parking is rounded.
#[test]
fn ocpi_cdr_step_size_examples() {
    let c1 = rate(r#"{"currency":"EUR","price_components":[{"type":"TIME","price":1,"step_size":300},{"type":"PARKING_TIME","price":1,"step_size":300}]}"#);
    let cost = Session::at(10, 0).then(21.0, Charging, "1").then(7.0, SuspendedEV, "0").cost(&c1);
    assert_eq!(minutes(&cost, ComponentType::Time), d("21"), "C1: charging is not rounded");
    assert_eq!(minutes(&cost, ComponentType::ParkingTime), d("10"), "C1: parking is");

    let c2 = rate(
        r#"{"currency":"EUR","elements":[{"price_components":[{"type":"ENERGY","price":0.20,"step_size":500}],"restrictions":{"end_time":"17:00"}},
        {"price_components":[{"type":"ENERGY","price":0.27,"step_size":500}],"restrictions":{"start_time":"17:00"}}]}"#,
    );
    let cost = Session::at(16, 0).then(60.0, Charging, "4300").then(60.0, Charging, "1100").cost(&c2);
    let after = cost.breakdown.iter().find(|r| r.unit_price == d("0.27")).unwrap();
    assert_eq!(after.quantity, d("1.2"), "C2: the total 5.4 kWh becomes 5.5, not 1.1 after 17:00 becoming 1.5");
    assert_eq!(before_tax(&cost, ComponentType::Energy), d("1.184"));

    let c3 = rate(
        r#"{"currency":"EUR","elements":[{"price_components":[{"type":"TIME","price":5,"step_size":600}],"restrictions":{"end_time":"17:00"}},
        {"price_components":[{"type":"TIME","price":7,"step_size":600}],"restrictions":{"start_time":"17:00"}}]}"#,
    );
    let cost = Session::at(16, 54).then(28.0, Charging, "1").cost(&c3);
    assert_eq!(minutes(&cost, ComponentType::Time), d("30"), "C3: 28 minutes become 30 in all");
    assert_eq!(before_tax(&cost, ComponentType::Time), d("3.3"));

    let c4 = rate(r#"{"currency":"EUR","price_components":[{"type":"TIME","price":1,"step_size":600},{"type":"PARKING_TIME","price":2,"step_size":600}]}"#);
    let cost = Session::at(10, 0).then(21.0, Charging, "1").then(16.0, SuspendedEV, "0").cost(&c4);
    assert_eq!(minutes(&cost, ComponentType::Time) + minutes(&cost, ComponentType::ParkingTime), d("41"), "C4: 21 + 20 minutes");
    assert_eq!(cost.amount, d("1.02"));
}

/// OCPI's example of step_size across elements (tariff 14), with the CDR rule's results.
#[test]
fn ocpi_step_size_across_elements() {
    let tariff = rate(
        r#"{"currency":"EUR","elements":[
        {"price_components":[{"type":"TIME","price":1.20,"step_size":1800},{"type":"PARKING_TIME","price":1.00,"step_size":900}],"restrictions":{"start_time":"00:00","end_time":"17:00"}},
        {"price_components":[{"type":"TIME","price":2.40,"step_size":900},{"type":"PARKING_TIME","price":1.00,"step_size":900}],"restrictions":{"start_time":"17:00","end_time":"20:00"}},
        {"price_components":[{"type":"TIME","price":2.40,"step_size":900}],"restrictions":{"start_time":"20:00","end_time":"00:00"}}]}"#,
    );
    for (name, session, expected) in [
        ("#1 16:55, 10 min charging, 2 min parking", Session::at(16, 55).then(10.0, Charging, "1").then(2.0, SuspendedEV, "0"), "0.55"),
        ("#2 16:35, 35 min charging", Session::at(16, 35).then(35.0, Charging, "1"), "1.30"),
        ("#3 19:40, 12 min charging, 20 min parking, free after 20:00", Session::at(19, 40).then(12.0, Charging, "1").then(20.0, SuspendedEV, "0"), "0.73"),
    ] {
        assert_eq!(session.cost(&tariff).amount, d(expected), "{name}");
    }
}

/// OCPI's complex tariff (tariff 4), with power in kW standing for its 32 A threshold.
#[test]
fn ocpi_complex_tariff() {
    let tariff = rate(
        r#"{"currency":"EUR","elements":[
        {"price_components":[{"type":"FLAT","price":2.50,"tax":15}]},
        {"price_components":[{"type":"TIME","price":1.00,"tax":20,"step_size":900}],"restrictions":{"max_power":32}},
        {"price_components":[{"type":"TIME","price":2.00,"tax":20,"step_size":600}],"restrictions":{"min_power":32,"day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
        {"price_components":[{"type":"TIME","price":1.25,"tax":20,"step_size":600}],"restrictions":{"min_power":32,"day_of_week":["SATURDAY","SUNDAY"]}},
        {"price_components":[{"type":"PARKING_TIME","price":5.00,"tax":10,"step_size":300}],"restrictions":{"start_time":"09:00","end_time":"18:00","day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
        {"price_components":[{"type":"PARKING_TIME","price":6.00,"tax":10,"step_size":300}],"restrictions":{"start_time":"10:00","end_time":"17:00","day_of_week":["SATURDAY"]}}]}"#,
    );
    // Monday 09:30: 165 minutes at 11 kW, 42 minutes parked.
    let monday = Session::starting(chrono_tz::Europe::Amsterdam, 2026, 11, 23, 9, 30).then(165.0, Charging, "30250").then(42.0, SuspendedEV, "0");
    let cost = monday.cost(&tariff);
    assert_eq!(before_tax(&cost, ComponentType::Time), d("2.75"));
    assert_eq!(before_tax(&cost, ComponentType::ParkingTime), d("3.75"));
    assert_eq!(cost.amount, d("10.30"));
    // Saturday 13:30: 114 minutes at 50 kW, 71 minutes parked.
    let saturday = Session::starting(chrono_tz::Europe::Amsterdam, 2026, 11, 28, 13, 30).then(114.0, Charging, "95000").then(71.0, SuspendedEV, "0");
    let cost = saturday.cost(&tariff);
    let excl: Decimal = cost.breakdown.iter().map(|r| r.before_tax).sum();
    assert_eq!(excl, d("12.375"));
    assert_eq!(cost.amount, d("13.98"), "13.975 rounded half up");
}

#[test]
fn spec_what_counts_as_parking() {
    let tariff = rate(r#"{"currency":"USD","price_components":[{"type":"TIME","price":6},{"type":"PARKING_TIME","price":60}]}"#);
    let cost = Session::at(10, 0)
        .then(10.0, Charging, "1000")
        .then(10.0, SuspendedEVSE, "0")
        .paused(10.0)
        .then(10.0, SuspendedEV, "0")
        .then(10.0, Finishing, "0")
        .then(10.0, ConnectorStatus::Preparing, "0")
        .cost(&tariff);
    assert_eq!(minutes(&cost, ComponentType::Time), d("10"), "only Charging is charging time");
    assert_eq!(minutes(&cost, ComponentType::ParkingTime), d("30"), "paused, SuspendedEV and Finishing are parking; load management is neither");
    assert_eq!(cost.amount, d("31.00"));
}

#[test]
fn spec_grace_period_then_step_size() {
    let tariff = rate(r#"{"currency":"USD","price_components":[{"type":"PARKING_TIME","price":3,"step_size":300,"grace_period":0.5}]}"#);
    for (parked, billed_minutes) in [(20.0, "0"), (30.0, "0"), (31.0, "5"), (50.0, "20"), (51.0, "25")] {
        let cost = Session::at(10, 0).then(60.0, Charging, "10000").then(parked, SuspendedEV, "0").cost(&tariff);
        assert_eq!(minutes(&cost, ComponentType::ParkingTime), d(billed_minutes), "{parked} minutes parked");
    }
    // The grace period counts the session's parking from its first minute, across interruptions.
    let cost = Session::at(10, 0).then(20.0, SuspendedEV, "0").then(10.0, Charging, "100").then(20.0, SuspendedEV, "0").cost(&tariff);
    assert_eq!(minutes(&cost, ComponentType::ParkingTime), d("10"));
}

#[test]
fn spec_minimum_amount_and_currency_rounding() {
    let tariff = rate(r#"{"currency":"USD","price_components":[{"type":"ENERGY","price":0.30,"tax":10}],"minimum_amount":2.5}"#);
    assert_eq!(Session::at(10, 0).then(10.0, Charging, "1000").cost(&tariff).amount, d("2.5"), "below the minimum");
    assert_eq!(Session::at(10, 0).then(60.0, Charging, "10000").cost(&tariff).amount, d("3.30"), "above it");
    let yen = rate(r#"{"currency":"JPY","price_components":[{"type":"ENERGY","price":45.5}]}"#);
    assert_eq!(Session::at(10, 0).then(60.0, Charging, "1010").cost(&yen).amount, d("46"), "45.955 yen");
    let dinar = rate(r#"{"currency":"KWD","price_components":[{"type":"ENERGY","price":0.0333}]}"#);
    assert_eq!(Session::at(10, 0).then(60.0, Charging, "15000").cost(&dinar).amount, d("0.5"), "0.4995 dinar");
    let half = rate(r#"{"currency":"USD","price_components":[{"type":"FLAT","price":0.125}]}"#);
    assert_eq!(Session::at(10, 0).then(1.0, Charging, "1").cost(&half).amount, d("0.13"), "half up");
}

#[test]
fn spec_flat_once_per_session() {
    let tariff = rate(r#"{"currency":"USD","price_components":[{"type":"FLAT","price":1.5}]}"#);
    let cost = Session::at(10, 0).then(10.0, Charging, "100").then(10.0, SuspendedEV, "0").then(10.0, Charging, "100").cost(&tariff);
    assert_eq!(cost.breakdown.len(), 1);
    assert_eq!(cost.amount, d("1.5"));
    assert_eq!(Activity::new(vec![]).map(|a| price(&tariff, chrono_tz::UTC, &a).unwrap().amount).unwrap(), Decimal::ZERO, "no activity, no session fee");
}

#[test]
fn time_of_day_wraps_past_midnight_in_local_time() {
    let night = r#"{"currency":"USD","elements":[{"price_components":[{"type":"ENERGY","price":0.10}],"restrictions":{"start_time":"23:00","end_time":"06:00"}}],
        "price_components":[{"type":"ENERGY","price":0.30}]}"#;
    // 22:30 to 23:30 New York time, 10 kWh evenly: 5 kWh at day price, 5 at night price.
    let cost = Session::starting(chrono_tz::America::New_York, 2026, 7, 1, 22, 30).then(60.0, Charging, "10000").cost(&rate(night));
    assert_eq!(cost.amount, d("2.00"));
    assert_eq!(cost.breakdown.len(), 2);
    // 05:00 to 07:00: one hour of night.
    let cost = Session::starting(chrono_tz::America::New_York, 2026, 7, 1, 5, 0).then(120.0, Charging, "20000").cost(&rate(night));
    assert_eq!(cost.amount, d("4.00"));
}

#[test]
fn local_time_follows_daylight_saving() {
    let window = |start: &str, end: &str| {
        rate(&format!(
            r#"{{"currency":"USD","elements":[{{"price_components":[{{"type":"TIME","price":10}}],"restrictions":{{"start_time":"{start}","end_time":"{end}"}}}}],
            "price_components":[{{"type":"TIME","price":1}}]}}"#
        ))
    };
    let ny = chrono_tz::America::New_York;
    // 1 November 2026: 01:00 to 02:00 happens twice. 00:30 EDT to 03:30 EST is four hours.
    let fall = Session::starting(ny, 2026, 11, 1, 0, 30).then(240.0, Charging, "1");
    assert_eq!(fall.cost(&window("01:00", "02:00")).amount, d("22"), "both 01:00-02:00 hours at 10");
    // 8 March 2026: 02:00 to 03:00 does not exist; a window from 02:30 opens at 03:00.
    let spring = Session::starting(ny, 2026, 3, 8, 1, 0).then(180.0, Charging, "1");
    assert_eq!(spring.cost(&window("02:30", "04:00")).amount, d("12"));
}

#[test]
fn days_and_dates_are_local() {
    let tariff = rate(
        r#"{"currency":"EUR","elements":[
        {"price_components":[{"type":"FLAT","price":5}],"restrictions":{"start_date":"2026-12-24","end_date":"2026-12-27"}},
        {"price_components":[{"type":"FLAT","price":2}],"restrictions":{"day_of_week":["SATURDAY","SUNDAY"]}},
        {"price_components":[{"type":"FLAT","price":1}]}]}"#,
    );
    let tokyo = chrono_tz::Asia::Tokyo;
    let on = |y, m, day, h| Session::starting(tokyo, y, m, day, h, 0).then(30.0, Charging, "1").cost(&tariff).amount;
    assert_eq!(on(2026, 12, 24, 0), d("5"), "start date inclusive, local midnight");
    assert_eq!(on(2026, 12, 26, 23), d("5"));
    assert_eq!(on(2026, 12, 27, 10), d("2"), "end date exclusive: 27 December 2026 is a Sunday");
    assert_eq!(on(2026, 11, 28, 10), d("2"), "Saturday");
    assert_eq!(on(2026, 11, 30, 10), d("1"), "Monday");
    let date = NaiveDate::from_ymd_opt(2026, 12, 27).unwrap();
    assert_eq!(chrono::Datelike::weekday(&date), chrono::Weekday::Sun);
}

#[test]
fn energy_reported_at_one_instant_is_priced() {
    let r = rate(r#"{"currency":"USD","price_components":[{"type":"ENERGY","price":0.35},{"type":"TIME","price":2}]}"#);
    let cost = Session::at(10, 0).then(0.0, Charging, "4000").cost(&r);
    assert_eq!((cost.amount, quantity(&cost, ComponentType::Energy), quantity(&cost, ComponentType::Time)), (d("1.40"), d("4"), d("0")));
}
