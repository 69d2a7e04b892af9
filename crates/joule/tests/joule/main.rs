//! The binary's tests, in one test binary: `joule serve`, `joule demo` and TLS, each run as a
//! process.

mod demo;
mod serve;
mod tls;
