//! Joule's Stripe integration: a small client for Stripe's plain HTTP API (no SDK) and the
//! top-up flows that use it. The rules themselves (the top-up state machine, signatures,
//! Stripe's events) are pure, in `domain::top_up` and `domain::stripe`.
//!
//! - `request`: Stripe's wire format, pure: form encoding with nested keys, the PaymentIntent
//!   a top-up asks for, Stripe's error JSON, when a retry may help.
//! - `client`: the HTTP calls over reqwest, each with the organization's key and, when it
//!   changes something, an `Idempotency-Key` derived from the top-up.
//! - `top_ups`: creating a top-up, Stripe's webhook deliveries, and the expiry runner.

mod client;
mod request;
mod top_ups;

use std::time::Duration;

pub use client::{API_VERSION, Client, StripeError};
pub use request::StripeApiError;
pub use top_ups::{Receipt, TopUpError, TopUps};

/// How Joule reaches Stripe and how long top-ups wait.
#[derive(Clone, Debug)]
pub struct StripeConfig {
    /// Stripe's API (`https://api.stripe.com`), or a local fake such as localstripe; Joule
    /// appends `/v1/...`.
    pub api_base: String,
    /// How long a top-up may wait for its payment before it expires.
    pub top_up_lifetime: Duration,
    /// How long Stripe has to answer one request.
    pub timeout: Duration,
    /// Retries of a request that got no answer (or a 409, 429 or 5xx), with the same key.
    pub max_retries: u32,
}

impl Default for StripeConfig {
    fn default() -> Self {
        StripeConfig {
            api_base: "https://api.stripe.com".into(),
            top_up_lifetime: Duration::from_millis(domain::top_up::DEFAULT_LIFETIME_MS as u64),
            timeout: Duration::from_secs(30),
            max_retries: 2,
        }
    }
}

impl StripeConfig {
    pub fn client(&self) -> Client {
        Client::new(&self.api_base, self.timeout, self.max_retries)
    }

    /// How often the expiry runner looks: every minute, or more often for short lifetimes.
    pub fn expiry_interval(&self) -> Duration {
        (self.top_up_lifetime / 4).clamp(Duration::from_secs(1), Duration::from_secs(60))
    }
}
