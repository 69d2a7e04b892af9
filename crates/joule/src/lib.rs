//! Joule, assembled: `app::App` is one node (REST API, OCPP endpoint, runners, webhook
//! dispatcher) as a value that starts on any listener and stops on a signal; `serve` runs one
//! from the settings until SIGINT or SIGTERM, `demo` a wallet session end to end against one.
//! The binary (`main.rs`) only parses the command line.

pub mod app;
pub mod demo;
pub mod http;
mod retention;
pub mod serve;
pub mod settings;
mod tls;
