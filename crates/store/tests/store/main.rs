//! The store's tests, in one binary: every use case on SQLite and PostgreSQL.

mod conformance;
mod ledger;
mod migrations;
mod nodes;
mod patches;
mod retention;
mod top_ups;
mod writer;
