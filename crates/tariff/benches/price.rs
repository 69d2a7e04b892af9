//! Pricing a 24-hour session with a meter value every 10 s (8,640 periods), with a plain rate
//! and with a rate of time-of-day elements. Prints the median and the fastest of 50 runs.
//!
//! `cargo bench -p tariff --bench price`

use std::hint::black_box;
use std::time::{Duration, Instant};

use domain::connector::ConnectorStatus;
use domain::rate::{Rate, RateInput};
use domain::{Id, Timestamp};
use rust_decimal::Decimal;
use tariff::{Activity, Period, price};

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

fn measure(name: &str, rate: &Rate, activity: &Activity) {
    let mut times: Vec<Duration> = (0..50)
        .map(|_| {
            let started = Instant::now();
            black_box(price(black_box(rate), chrono_tz::America::New_York, black_box(activity)).unwrap());
            started.elapsed()
        })
        .collect();
    times.sort();
    println!("{name}: median {:.3} ms, fastest {:.3} ms", times[25].as_secs_f64() * 1e3, times[0].as_secs_f64() * 1e3);
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
    measure("plain rate, 8640 periods", &plain, &activity);
    measure("time-of-day elements, 8640 periods", &time_of_day, &activity);
}
