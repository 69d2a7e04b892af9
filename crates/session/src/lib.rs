//! The rules of a charging session, with no I/O: values in, decisions out.
//!
//! - [`facts`]: what Joule knows about a started session, read together.
//! - [`activity`]: the priced activity of a session from its meter readings.
//! - [`pricing`]: a session's running cost and metrics, and its bill at the end.
//! - [`clocks`]: the span of Joule's own times a session is billed within, whatever the
//!   charger's clock says.
//! - [`lifecycle`]: which status a session moves to on each thing that happens to it.
//! - [`live`]: a running session kept between readings by the node holding its charger.
//! - [`settlement`]: what a wallet pays at the end: the captured amount, never above the
//!   authorization, and the operator's loss beyond it.
//! - [`intelligence`]: when Joule must stop a session itself so that its cost stays within the
//!   authorization, given the tariff, the session so far and how fast it is going
//!   ([`intelligence::decide_on`] from a session's facts).
//! - [`start`]: whether a wallet may pay for a session (SPEC 5's checks, shared by API and card
//!   starts), and what a card's start at a charger comes to.
//! - [`upkeep`]: when a decided stop is sent again, when a silent session is given up, when a
//!   running session's progress is announced.

pub mod activity;
pub mod clocks;
pub mod facts;
pub mod intelligence;
pub mod lifecycle;
pub mod live;
pub mod pricing;
pub mod settlement;
pub mod start;
pub mod upkeep;
