//! The binary's tests, in one test binary: `joule serve`, `joule demo` and TLS, each run as a
//! process, and nodes started as `App`s in this one.

mod demo;
mod nodes;
mod serve;
mod tls;
