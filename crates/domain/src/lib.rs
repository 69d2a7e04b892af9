//! Joule's pure domain: what the system is made of and the rules it keeps, with no I/O.
//!
//! Nothing here reads a clock, a socket, a database or a random source: time (`Timestamp`) and
//! fresh ids (`Id`) are arguments. Raw input becomes domain values in exactly one place, the
//! `parse` functions of each resource module, which answer with an [`Invalid`] naming the field.
//!
//! - [`id`], [`time`], [`money`], [`country`]: typed scalars.
//! - [`organization`], [`user`], [`wallet`], [`location`], [`chargestation`], [`connector`],
//!   [`rate`] (with [`restrictions`]): the resources of the REST API and the rules on their fields.
//! - [`token`], [`transaction`], [`session`]: what chargers authorize with and report, and the
//!   sessions the API shows for it; [`local_list`] the tokens a charger keeps for when it is
//!   offline (SendLocalList's versions and updates).
//! - [`presence`]: how connections, boots and status notifications change a chargestation,
//!   also when they arrive out of order.
//! - [`ledger`]: the wallet ledger rules (balances, holds, entries).
//! - [`event`]: the outbox record every state change produces.
//! - [`top_up`], [`stripe`]: wallet top-ups through Stripe (the state machine that credits
//!   once, the amounts) and Stripe's rules (keys, `Stripe-Signature`, events, currencies).
//! - [`webhook`], [`webhook_delivery`]: endpoints (event patterns, URL rules, secrets) and the
//!   delivery rules (retry schedule, what an answer means, signatures); [`destination`] which
//!   addresses a webhook may reach.
//! - [`page`]: list pagination.
//! - [`schema`]: the JSON Schema of request fields whose rules the derives cannot state.

pub mod chargestation;
pub mod connector;
pub mod country;
pub mod destination;
pub mod event;
pub mod id;
pub mod invalid;
pub mod ledger;
pub mod local_list;
pub mod location;
pub mod money;
pub mod organization;
pub mod page;
pub mod payment;
pub mod presence;
pub mod rate;
pub mod restrictions;
pub mod schema;
pub mod session;
pub mod stripe;
pub mod time;
pub mod token;
pub mod top_up;
pub mod transaction;
pub mod user;
pub mod wallet;
pub mod webhook;
pub mod webhook_delivery;

pub use id::Id;
pub use invalid::Invalid;
pub use money::{Cents, Currency};
pub use time::Timestamp;
