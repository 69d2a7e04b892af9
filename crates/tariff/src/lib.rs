//! Joule's tariff engine: prices a charging session exactly as a rate says, with OCPI 2.2.1
//! semantics and eDRV's fields (tax as a percentage, `grace_period`, `minimum_amount`).
//!
//! Pure: a [`Rate`](domain::rate::Rate), the location's time zone and the session's
//! [`Activity`] go in, a [`Cost`] comes out (or a [`PricingError`]: pricing never panics).
//! A live session keeps a [`Tab`]: it takes each new [`Period`] in constant amortized time and
//! reads the cost so far, a projection ([`Tab::project`]) and when a cost will be reached
//! ([`Tab::seconds_until`]) without going back over the session. A session's final cost and the
//! quote API call [`price`]; [`project`] and [`seconds_until`] do the same for a whole activity.
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
//! Layout: `activity` (the input, validated), `cuts` (where a restriction may switch, found as
//! the session goes on), `engine` (the pricing rules: which component prices a slice, how slices
//! add up to a cost), `tab` (a session priced period by period, and `price`), `project`
//! (projection), `cost` (the output).
//!
//! There is one pricing: [`price`] is the fold of a [`Tab`] over the activity, so a quote, a
//! final cost and a live session's running cost cannot drift apart, and a change to a rule is
//! made once. What is particular to pricing period by period is finding the cut points as the
//! session goes on instead of listing them for the whole session first: a unit test in `cuts`
//! checks that walk against the whole session's list, in every time zone. The rules themselves
//! are pinned by `tests/rules.rs` (OCPI's examples) and `tests/properties.rs`, which also checks
//! that a tab read after every period (and projected from there) answers what [`price`],
//! [`project`] and [`seconds_until`] make of the periods so far, and that a period an activity
//! refuses leaves the tab as it was.

mod activity;
mod cost;
mod cuts;
mod engine;
mod project;
mod tab;

pub use activity::{Activity, ActivityError, Period, Use};
pub use cost::{Cost, CostRow, Span};
pub use engine::{MAX_SPAN_DAYS, PricingError};
pub use project::{Outlook, project, seconds_until};
pub use tab::{Tab, price};
