//! Virtual OCPP chargers, 1.6J or 2.0.1: the demo's charger, the counterpart of the central
//! system in tests, and the load generator for benchmarks. `joule sim` runs a fleet of them
//! against any OCPP server; tests and the demo drive single [`Charger`]s.
//!
//! Layout, a functional core in an imperative shell like the rest of Joule:
//! - [`station`]: one charger as a pure state machine: connectors and their statuses,
//!   transactions, meters, charging limits, the answers to every CSMS command, and the outbox of
//!   what to send (kept across disconnections for transaction messages). Every input carries
//!   the time, so its tests run without a clock or a socket. Its 2.0.1 messages are its 1.6
//!   ones translated at the edge (`station::v201`);
//! - `profiles`: which charging-profile limit applies to a connector at a given moment;
//! - [`charger`]: the driver of one charger (its WebSocket, timers, one CALL in flight,
//!   reconnection with backoff) and the [`Charger`] handle to act on it and observe it;
//! - [`connect`]: opening a connection from a chosen source address, with the charger's subprotocol,
//!   HTTP Basic credentials and small buffers (also what the benchmark's load generator opens);
//! - `fleet`: the `joule sim` command: [`SimArgs`] and [`run`].

pub mod charger;
mod fleet;
mod net;
mod profiles;
pub mod station;

pub use charger::{Charger, ChargerConfig, Stats};
pub use fleet::{SimArgs, SourceAddresses, run};
pub use net::{ConnectError, Socket, connect};
pub use station::{Connector, Millis, Protocol, Station, Transaction};
