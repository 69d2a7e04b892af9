//! Black-box tests of the HTTP API: a real server on a random port, a real HTTP client, on
//! SQLite and on PostgreSQL. All API tests link into this one binary.

mod app;
mod bounds;
mod charger;
mod errors;
mod idempotency;
mod operations;
mod quote;
mod resources;
mod sessions;
mod tenancy;
mod top_ups;
mod wallet_sessions;
mod wallets;
mod webhooks;
