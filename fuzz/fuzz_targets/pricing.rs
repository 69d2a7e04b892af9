//! Rates and activities built from arbitrary input through the domain parsers, priced: within
//! the bounds a quote keeps (31 days, energy per period at most 10^9 Wh) pricing never fails,
//! never panics, and the amount is the rounded maximum of the minimum and the rows' sum.

#![no_main]

use arbitrary::Arbitrary;
use domain::connector::ConnectorStatus;
use domain::rate::RateInput;
use domain::{Id, Timestamp};
use libfuzzer_sys::fuzz_target;
use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::{Map, Value, json};
use tariff::{Activity, Period, price};

#[derive(Arbitrary, Debug, Clone, Copy)]
struct Number {
    mantissa: i64,
    scale: u8,
}

impl Number {
    fn decimal(self) -> Decimal {
        Decimal::try_new(self.mantissa, u32::from(self.scale % 29)).unwrap_or_default()
    }

    fn json(self) -> Value {
        serde_json::to_value(self.decimal()).unwrap_or(Value::Null)
    }
}

#[derive(Arbitrary, Debug)]
struct Component {
    kind: u8,
    price: Number,
    tax: Option<Number>,
    step_size: Option<i64>,
    grace_period: Option<Number>,
}

#[derive(Arbitrary, Debug)]
struct Element {
    components: Vec<Component>,
    times: Option<(u16, u16)>,
    dates: Option<(u16, u16)>,
    kwh: (Option<Number>, Option<Number>),
    power: (Option<Number>, Option<Number>),
    duration: (Option<u32>, Option<u32>),
    days: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct Step {
    gap_ms: u32,
    length_ms: u32,
    status: u8,
    paused: bool,
    energy: Number,
}

#[derive(Arbitrary, Debug)]
struct Input {
    currency: u8,
    components: Vec<Component>,
    minimum_amount: Option<Number>,
    elements: Vec<Element>,
    zone: u8,
    start_s: u32,
    steps: Vec<Step>,
}

const CURRENCIES: [&str; 4] = ["USD", "EUR", "JPY", "KWD"];
const KINDS: [&str; 4] = ["FLAT", "ENERGY", "TIME", "PARKING_TIME"];
const DAYS: [&str; 7] = ["MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"];
const ZONES: [chrono_tz::Tz; 5] =
    [chrono_tz::UTC, chrono_tz::America::New_York, chrono_tz::Europe::Amsterdam, chrono_tz::Australia::Lord_Howe, chrono_tz::Asia::Kathmandu];
/// The quote API's bounds.
const MAX_SPAN_MS: i64 = 31 * 86_400_000;
const MAX_ENERGY_WH: i64 = 1_000_000_000;

fn component(c: &Component) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), json!(KINDS[usize::from(c.kind) % KINDS.len()]));
    o.insert("price".into(), c.price.json());
    if let Some(t) = c.tax {
        o.insert("tax".into(), t.json());
    }
    if let Some(s) = c.step_size {
        o.insert("step_size".into(), json!(s));
    }
    if let Some(g) = c.grace_period {
        o.insert("grace_period".into(), g.json());
    }
    Value::Object(o)
}

fn element(e: &Element) -> Value {
    let mut r = Map::new();
    let mut set = |name: &str, value: Option<Value>| {
        if let Some(v) = value {
            r.insert(name.into(), v);
        }
    };
    let time = |m: u16| format!("{:02}:{:02}", (m / 60) % 24, m % 60);
    let date = |d: u16| format!("{}", chrono::NaiveDate::from_num_days_from_ce_opt(738_000 + i32::from(d % 2000)).unwrap_or_default().format("%Y-%m-%d"));
    set("start_time", e.times.map(|(a, _)| json!(time(a))));
    set("end_time", e.times.map(|(_, b)| json!(time(b))));
    set("start_date", e.dates.map(|(a, _)| json!(date(a))));
    set("end_date", e.dates.map(|(_, b)| json!(date(b))));
    set("min_kwh", e.kwh.0.map(Number::json));
    set("max_kwh", e.kwh.1.map(Number::json));
    set("min_power", e.power.0.map(Number::json));
    set("max_power", e.power.1.map(Number::json));
    set("min_duration", e.duration.0.map(|s| json!(s)));
    set("max_duration", e.duration.1.map(|s| json!(s)));
    set("day_of_week", e.days.map(|mask| json!(DAYS.iter().enumerate().filter(|(i, _)| mask & (1 << i) != 0).map(|(_, d)| *d).collect::<Vec<_>>())));
    json!({ "price_components": e.components.iter().map(component).collect::<Vec<_>>(), "restrictions": Value::Object(r) })
}

fuzz_target!(|input: Input| {
    let mut body = json!({
        "currency": CURRENCIES[usize::from(input.currency) % CURRENCIES.len()],
        "price_components": input.components.iter().map(component).collect::<Vec<_>>(),
        "elements": input.elements.iter().map(element).collect::<Vec<_>>(),
    });
    if let Some(m) = input.minimum_amount {
        body["minimum_amount"] = m.json();
    }
    let Ok(parsed) = serde_json::from_value::<RateInput>(body) else { return };
    let Ok(rate) = parsed.create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)) else { return };

    let start = 1_767_225_600_000 + i64::from(input.start_s) * 1000;
    let mut at = start;
    let mut periods = Vec::new();
    for s in &input.steps {
        at += i64::from(s.gap_ms);
        let end = at + i64::from(s.length_ms);
        let energy = s.energy.decimal();
        if end - start > MAX_SPAN_MS || energy > Decimal::from(MAX_ENERGY_WH) || periods.len() == 10_000 {
            break;
        }
        let status = ConnectorStatus::ALL[usize::from(s.status) % ConnectorStatus::ALL.len()];
        periods.push(Period { start: Timestamp::from_millis(at), end: Timestamp::from_millis(end), status, paused: s.paused, energy_wh: energy });
        at = end;
    }
    let Ok(activity) = Activity::new(periods) else { return };
    let tz = ZONES[usize::from(input.zone) % ZONES.len()];

    let cost = price(&rate, tz, &activity).expect("an activity within the quote bounds is priced");
    let exponent = rate.currency.exponent();
    let round = |d: Decimal| d.round_dp_with_strategy(exponent, RoundingStrategy::MidpointAwayFromZero).normalize();
    let rows: Decimal = cost.breakdown.iter().map(|r| r.total_cost).sum();
    let minimum = rate.minimum_amount.unwrap_or_default();
    assert!(cost.amount >= Decimal::ZERO, "a cost is never negative: {cost:?}");
    assert!(cost.amount >= round(minimum), "the amount is never below the minimum: {cost:?}");
    assert_eq!(cost.amount, round(rows.max(minimum)), "the amount is the rounded larger of the minimum and the rows");
    assert!(cost.breakdown.iter().all(|r| r.quantity >= Decimal::ZERO && r.total_cost >= r.before_tax), "{cost:?}");
});
