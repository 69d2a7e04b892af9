//! A 24-hour session with a meter value every 10 s (8,640 periods), with a plain rate and with a
//! rate of time-of-day elements: pricing it whole, and what one more reading costs a running
//! tab (push the period and read the cost; project with `seconds_until`) at the 10th period and
//! at the 8,640th. Prints the median and the fastest of each, with the cost's rows.
//!
//! `cargo bench -p tariff --bench price`

use std::hint::black_box;
use std::time::{Duration, Instant};

use domain::connector::ConnectorStatus;
use domain::rate::{Rate, RateInput};
use domain::{Id, Timestamp};
use rust_decimal::Decimal;
use tariff::{Activity, Outlook, Period, Tab, price};

const TZ: chrono_tz::Tz = chrono_tz::America::New_York;

fn rate(json: &str) -> Rate {
    serde_json::from_str::<RateInput>(json).unwrap().create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap()
}

fn day_of_meter_values() -> Activity {
    let start = 1_795_000_000_000i64;
    let periods = (0..8640)
        .map(|i| {
            // Charging for 20 hours at 7.2 kW, then parked.
            let charging = i < 7200;
            Period {
                start: Timestamp::from_millis(start + i * 10_000),
                end: Timestamp::from_millis(start + (i + 1) * 10_000),
                status: if charging { ConnectorStatus::Charging } else { ConnectorStatus::SuspendedEV },
                paused: false,
                energy_wh: if charging { Decimal::from(20) } else { Decimal::ZERO },
            }
        })
        .collect();
    Activity::new(periods).unwrap()
}

/// The median and the fastest of `runs` runs of `f`, each given what `setup` makes (not timed).
fn measure<S, T>(runs: usize, setup: impl Fn() -> S, f: impl Fn(S) -> T) -> (Duration, Duration) {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let input = setup();
            let started = Instant::now();
            black_box(f(input));
            started.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], times[0])
}

fn print(name: &str, (median, fastest): (Duration, Duration)) {
    println!("{name}: median {:.1} µs, fastest {:.1} µs", median.as_secs_f64() * 1e6, fastest.as_secs_f64() * 1e6);
}

fn bench(name: &str, rate: &Rate, activity: &Activity) {
    print(&format!("{name}: price, 8640 periods"), measure(50, || (), |()| price(black_box(rate), TZ, black_box(activity)).unwrap()));
    let periods = activity.periods();
    for n in [10, 8640] {
        let tab = Tab::from_activity(rate, TZ, &Activity::new(periods[..n - 1].to_vec()).unwrap());
        let next = &periods[n - 1];
        let pushed = measure(
            2000,
            || tab.clone(),
            |mut tab| {
                tab.push(black_box(next)).unwrap();
                tab.cost().unwrap()
            },
        );
        let mut tab = tab;
        tab.push(next).unwrap();
        // The cost is read in time proportional to its rows.
        let rows = tab.cost().unwrap().breakdown.len();
        print(&format!("{name}: push period {n} and read the cost ({rows} rows)"), pushed);
        let now = tab.end().unwrap();
        // The amount is reached within the hour whatever the rate, so the search runs its course.
        let amount = tab.cost().unwrap().amount + Decimal::ONE;
        let charging = Outlook { status: ConnectorStatus::Charging, paused: false, power_w: Decimal::from(22_000) };
        let until = measure(200, || (), |()| tab.seconds_until(now, charging, amount, 3600).unwrap().unwrap());
        print(&format!("{name}: seconds_until after period {n}"), until);
    }
}

fn main() {
    let activity = day_of_meter_values();
    let plain = rate(
        r#"{"currency":"USD","price_components":[{"type":"FLAT","price":1},{"type":"ENERGY","price":0.35,"tax":8.25,"step_size":100},
        {"type":"TIME","price":2},{"type":"PARKING_TIME","price":6,"step_size":300,"grace_period":0.5}]}"#,
    );
    let time_of_day = rate(
        r#"{"currency":"USD","elements":[
        {"price_components":[{"type":"ENERGY","price":0.15}],"restrictions":{"start_time":"22:00","end_time":"06:00"}},
        {"price_components":[{"type":"ENERGY","price":0.45}],"restrictions":{"start_time":"16:00","end_time":"21:00","day_of_week":["MONDAY","TUESDAY","WEDNESDAY","THURSDAY","FRIDAY"]}},
        {"price_components":[{"type":"TIME","price":3}],"restrictions":{"min_duration":14400}}],
        "price_components":[{"type":"ENERGY","price":0.30},{"type":"TIME","price":1},{"type":"PARKING_TIME","price":6}]}"#,
    );
    bench("plain rate", &plain, &activity);
    bench("time-of-day elements", &time_of_day, &activity);
}
