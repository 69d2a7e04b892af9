//! Joule's tariff engine: prices a charging session exactly as a rate says, with OCPI 2.2.1
//! semantics and eDRV's fields (tax as a percentage, `grace_period`, `minimum_amount`).
//!
//! Pure: a [`Rate`](domain::rate::Rate), the location's time zone and the session's
//! [`Activity`] go in, a [`Cost`] comes out (or a [`PricingError`]: pricing never panics). The running cost of a session, its final cost and
//! the quote API all call [`price`]; session intelligence calls [`project`] and
//! [`seconds_until`], which price the same way.
//!
//! ```
//! use domain::connector::ConnectorStatus;
//! use domain::rate::RateInput;
//! use domain::{Id, Timestamp};
//! use rust_decimal::Decimal;
//! use tariff::{Activity, Period, price};
//!
//! let rate: RateInput = serde_json::from_str(r#"{"currency": "USD", "price_components": [
//!     {"type": "ENERGY", "price": 0.35, "tax": 10},
//!     {"type": "TIME", "price": 2.00}]}"#).unwrap();
//! let rate = rate.create(Id::from_parts(0, [0; 5], 0), Timestamp::from_millis(0)).unwrap();
//! let hour = 3_600_000;
//! let activity = Activity::new(vec![Period {
//!     start: Timestamp::from_millis(0),
//!     end: Timestamp::from_millis(hour),
//!     status: ConnectorStatus::Charging,
//!     paused: false,
//!     energy_wh: Decimal::from(10_000),
//! }]).unwrap();
//! let cost = price(&rate, chrono_tz::UTC, &activity).unwrap();
//! // 10 kWh at $0.35 plus 10% tax, and one hour at $2.00.
//! assert_eq!(cost.amount, Decimal::new(585, 2));
//! ```
//!
//! Layout: `activity` (the input, validated), `engine` (pricing), `project` (projection),
//! `cost` (the output).

mod activity;
mod cost;
mod engine;
mod project;

pub use activity::{Activity, ActivityError, Period, Use};
pub use cost::{Cost, CostRow, Span};
pub use engine::{MAX_SPAN_DAYS, PricingError, price};
pub use project::{Outlook, project, seconds_until};
