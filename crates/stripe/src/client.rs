//! The HTTP client: Stripe's plain API over reqwest, form-encoded, with the organization's
//! key and an `Idempotency-Key` on every request that changes something, retried with the
//! same key when the answer says a retry may help.

use std::time::Duration;

use domain::stripe::{PaymentIntent, SecretKey};
use reqwest::Method;
use serde_json::Value;

use crate::request::{StripeApiError, backoff_ms, form, should_retry};

/// The API version Joule's requests are written against.
pub const API_VERSION: &str = "2024-06-20";

/// Why a Stripe request gave no PaymentIntent.
#[derive(Debug, thiserror::Error)]
pub enum StripeError {
    /// Stripe answered with an error.
    #[error("Stripe answered {}: {}", .0.status, .0.explained())]
    Api(Box<StripeApiError>),
    /// No answer: the connection failed or timed out (after the retries).
    #[error("Stripe could not be reached: {0}")]
    Unreachable(String),
    /// An answer that is not what Stripe sends.
    #[error("Stripe's answer could not be read: {0}")]
    Unexpected(String),
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    /// `https://api.stripe.com`, or a local fake's address; `/v1/...` is appended.
    base: String,
    max_retries: u32,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").field("base", &self.base).field("max_retries", &self.max_retries).finish()
    }
}

impl Client {
    pub fn new(base: &str, timeout: Duration, max_retries: u32) -> Client {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("Joule/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client builds");
        Client { http, base: base.trim_end_matches('/').to_string(), max_retries }
    }

    /// `POST /v1/payment_intents`.
    pub async fn create_payment_intent(&self, key: &SecretKey, params: &[(String, String)], idempotency_key: &str) -> Result<PaymentIntent, StripeError> {
        self.payment_intent_call(Method::POST, "/v1/payment_intents", key, Some(form(params)), Some(idempotency_key)).await
    }

    /// `POST /v1/payment_intents/{id}/cancel`.
    pub async fn cancel_payment_intent(&self, key: &SecretKey, id: &str, idempotency_key: &str) -> Result<PaymentIntent, StripeError> {
        self.payment_intent_call(Method::POST, &format!("/v1/payment_intents/{}/cancel", path_segment(id)), key, Some(String::new()), Some(idempotency_key))
            .await
    }

    /// `GET /v1/payment_intents/{id}`.
    pub async fn payment_intent(&self, key: &SecretKey, id: &str) -> Result<PaymentIntent, StripeError> {
        self.payment_intent_call(Method::GET, &format!("/v1/payment_intents/{}", path_segment(id)), key, None, None).await
    }

    async fn payment_intent_call(
        &self,
        method: Method,
        path: &str,
        key: &SecretKey,
        body: Option<String>,
        idempotency_key: Option<&str>,
    ) -> Result<PaymentIntent, StripeError> {
        let value = self.call(method, path, key, body, idempotency_key).await?;
        PaymentIntent::from_json(&value).ok_or_else(|| StripeError::Unexpected("not a PaymentIntent".into()))
    }

    async fn call(&self, method: Method, path: &str, key: &SecretKey, body: Option<String>, idempotency_key: Option<&str>) -> Result<Value, StripeError> {
        let url = format!("{}{path}", self.base);
        let mut attempt = 0;
        loop {
            let mut request = self.http.request(method.clone(), &url).bearer_auth(key.expose()).header("Stripe-Version", API_VERSION);
            if let Some(k) = idempotency_key {
                request = request.header("Idempotency-Key", k);
            }
            if let Some(b) = &body {
                request = request.header(reqwest::header::CONTENT_TYPE, "application/x-www-form-urlencoded").body(b.clone());
            }
            let (status, retry_header, outcome) = match request.send().await {
                // Without the URL: reqwest's messages name it, and it is Joule's own setting.
                Err(e) => (None, None, Err(StripeError::Unreachable(e.without_url().to_string()))),
                Ok(response) => {
                    let status = response.status().as_u16();
                    let retry = response.headers().get("stripe-should-retry").and_then(|v| v.to_str().ok()).map(str::to_string);
                    let outcome = match response.bytes().await {
                        Err(e) => Err(StripeError::Unreachable(e.without_url().to_string())),
                        Ok(bytes) if (200..300).contains(&status) => serde_json::from_slice(&bytes).map_err(|e| StripeError::Unexpected(e.to_string())),
                        Ok(bytes) => Err(StripeError::Api(Box::new(StripeApiError::parse(status, &bytes)))),
                    };
                    (Some(status), retry, outcome)
                }
            };
            // A request that changes something is sent again only under its idempotency key.
            let retryable = outcome.is_err() && should_retry(status, retry_header.as_deref()) && (idempotency_key.is_some() || method == Method::GET);
            if outcome.is_ok() || !retryable || attempt >= self.max_retries {
                return outcome;
            }
            attempt += 1;
            tracing::warn!(path, attempt, status, "Stripe request failed; retrying with the same idempotency key");
            tokio::time::sleep(Duration::from_millis(backoff_ms(attempt))).await;
        }
    }
}

/// Stripe ids are letters, digits and `_`; anything else is encoded, never a path of its own.
fn path_segment(id: &str) -> String {
    url::form_urlencoded::byte_serialize(id.as_bytes()).collect()
}
