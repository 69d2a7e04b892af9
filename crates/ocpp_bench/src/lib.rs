//! The OCPP ingest benchmark (SPEC section 12): `ocpp-load`, a load generator of the project's
//! own, and `ocpp-echo`, the bare WebSocket server that answers every CALL at once and so shows
//! the ceiling of the machine. `scripts/bench-ocpp` runs both, the peers in `peers/` and
//! `joule serve` in one go and prints one table.
//!
//! Why a crate of its own rather than more of `joule sim`: `sim` plays realistic chargers (a
//! state machine per charger, timers, a watch channel that tests look into, reconnection with
//! backoff), which is what the demo and the tests need. A benchmark needs the opposite: each
//! charger sends its next message the moment the last one is answered, the latency of every call
//! is kept, and the generator does as little as it can per message, so that what is measured is
//! the server. It also keeps benchmark-only commands out of the `joule` binary operators run. It
//! opens its connections with `sim`'s [`sim::connect`] (subprotocol `ocpp1.6`, small buffers).
//!
//! Layout:
//! - [`link`]: one charger's WebSocket: a CALL and its answer, the server's CALLs answered;
//! - [`fleet`]: N chargers connected at a bounded rate, set up, then released together into
//!   the measured window;
//! - [`tally`]: what each charger counted, merged into the [`tally::Summary`] a run prints;
//!   [`usage`]: the CPU time of the generator and of the server, the server's memory;
//! - [`meter`], [`idle`], [`wallet`], [`storm`]: the modes; [`prepare`]: registering the chargers,
//!   tokens and wallets through Joule's API;
//! - [`echo`]: the ceiling server.

pub mod echo;
pub mod fleet;
pub mod idle;
pub mod link;
pub mod meter;
pub mod prepare;
pub mod storm;
pub mod tally;
pub mod usage;
pub mod wallet;
