//! The top-up flows: the shell around `domain::top_up` and `domain::stripe`.
//!
//! - [`TopUps::create`]: the rules (`top_up::check`), the top-up stored, then the PaymentIntent
//!   asked of Stripe under the top-up's idempotency key; an off-session confirmation's outcome
//!   is applied at once.
//! - [`TopUps::receive`]: a Stripe webhook delivery: signature, then the event applied to the
//!   top-up it names, in this organization only.
//! - [`TopUps::expire_due`]: top-ups past their time, claimed with a lease (safe on several
//!   nodes): the PaymentIntent cancelled at Stripe, then the top-up expired, or completed if
//!   it was paid meanwhile.

use std::time::Duration;

use domain::stripe::{self as rules, Event, Outcome, SignatureError};
use domain::top_up::{self, NewTopUp, Refusal, TopUpView, Transition};
use domain::{Id, Invalid};
use serde::Serialize;
use store::{ExpiringTopUp, PaymentFacts, Store, StoreError};

use crate::client::{Client, StripeError};
use crate::request::{self, StripeApiError};

/// How long a node holds an expiring top-up: longer than its Stripe calls can take.
const EXPIRY_LEASE_MS: i64 = 5 * 60 * 1000;
const EXPIRY_BATCH: i64 = 50;

/// Why a top-up request or a Stripe delivery was refused. `api::error` turns each into its
/// status; no message carries a key.
#[derive(Debug, thiserror::Error)]
pub enum TopUpError {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A business rule (405).
    #[error("{0}")]
    Refused(#[from] Refusal),
    /// Stripe declined the card (402), with Stripe's message and codes.
    #[error("Stripe declined the payment: {0}")]
    Declined(String),
    /// Stripe refused the request as invalid (400), with its message and codes.
    #[error("Stripe refused the request: {0}")]
    StripeRefused(String),
    /// Stripe refused the currency (405).
    #[error("Stripe does not accept payments in {0}: {1}")]
    Currency(String, String),
    /// Stripe refused the organization's secret key (405).
    #[error("Stripe refused the organization's secret key; set a valid one with PATCH /v1.1/organization")]
    KeyRefused,
    /// Stripe asks to slow down (503).
    #[error("Stripe is rate limiting requests; try again shortly")]
    Busy,
    /// No usable answer from Stripe (502). The top-up stays `created`: if Stripe did take the
    /// request, its event still completes it; otherwise it expires.
    #[error("Stripe could not be reached; try again")]
    Unreachable,
    /// A delivery whose `Stripe-Signature` does not hold (400).
    #[error("Invalid Stripe-Signature: {0}")]
    Signature(#[from] SignatureError),
}

/// What a webhook delivery did.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Receipt {
    /// Stripe's event id.
    pub event: String,
    #[serde(rename = "type")]
    pub kind: String,
    /// Whether it changed a top-up: false for other event types, other organizations' or
    /// unknown PaymentIntents, and events already applied.
    pub applied: bool,
}

/// Joule's side of Stripe top-ups.
#[derive(Clone)]
pub struct TopUps {
    store: Store,
    client: Client,
    /// How long a new top-up may wait for its payment.
    lifetime_ms: i64,
}

impl TopUps {
    pub fn new(store: Store, client: Client, lifetime: Duration) -> TopUps {
        TopUps { store, client, lifetime_ms: i64::try_from(lifetime.as_millis()).unwrap_or(i64::MAX) }
    }

    /// Creates a top-up and its PaymentIntent. For `manual` the answer carries the
    /// `client_secret` the driver's app confirms with; `manual_with_payment_method` is
    /// confirmed off-session at once and answers completed (or 402 if the card is declined).
    pub async fn create(&self, org: Id, new: NewTopUp) -> Result<TopUpView, TopUpError> {
        let organization = self.store.organization(org).await?;
        let wallet = self.store.wallet(org, new.wallet).await?;
        let keys = self.store.stripe_keys(org).await?;
        top_up::check(&organization, &keys, &wallet, new.wallet_amount)?;
        let key = keys.secret_key.ok_or(Refusal::StripeNotConfigured)?;
        let t = new.create(self.store.new_id(), &wallet, self.store.now(), self.lifetime_ms);
        self.store.create_top_up(org, &t).await?;
        let params = request::payment_intent(&t, org, new.customer.as_deref());
        match self.client.create_payment_intent(&key, &params, &t.idempotency_key()).await {
            Ok(pi) => {
                let view = self.store.attach_payment_intent(org, t.id, &pi.id, pi.client_secret.as_deref()).await?;
                let Some(transition) = top_up::on_confirmation(&pi) else { return Ok(view) };
                let (failure_code, failure_message) = pi.last_payment_error.as_ref().map(top_up::failure).unwrap_or_default();
                let facts = PaymentFacts { payment_intent: Some(pi.id.clone()), failure_code, failure_message };
                Ok(self.store.settle_top_up(org, t.id, transition, &facts).await?.top_up)
            }
            // A definite refusal: nothing was charged, or the card was declined.
            Err(StripeError::Api(e)) if e.status < 500 && !matches!(e.status, 409 | 429) => {
                let (failure_code, failure_message) = top_up::failure(&e.error);
                let facts = PaymentFacts { payment_intent: e.payment_intent.as_ref().map(|pi| pi.id.clone()), failure_code, failure_message };
                self.store.settle_top_up(org, t.id, Transition::Fail, &facts).await?;
                Err(refusal(&e, &t.currency))
            }
            Err(e) => {
                tracing::warn!(top_up = %t.id, error = %e, "Stripe did not answer the creation of a top-up");
                Err(match e {
                    StripeError::Api(e) if e.status == 429 => TopUpError::Busy,
                    _ => TopUpError::Unreachable,
                })
            }
        }
    }

    /// Handles one delivery to `/v1.1/integrations/stripe/{org}/webhook`: the exact body is
    /// checked against its `Stripe-Signature` with the organization's webhook secret, then
    /// `payment_intent.succeeded` completes (and credits) the top-up it pays and
    /// `payment_intent.payment_failed` fails it. Other events, and events about another
    /// organization's or an unknown PaymentIntent, are acknowledged and change nothing.
    pub async fn receive(&self, org: Id, signature: Option<&str>, body: &[u8]) -> Result<Receipt, TopUpError> {
        let secret = self.store.stripe_keys(org).await?.webhook_secret.ok_or(Refusal::StripeNotConfigured)?;
        rules::verify(signature, body, &secret, self.store.now())?;
        let event = Event::parse(body)?;
        let applied = match event.outcome() {
            None => false,
            Some((pi, outcome)) => {
                let named = pi.top_up.as_deref().and_then(|id| id.parse::<Id>().ok());
                match self.store.top_up_paid_by(org, named, &pi.id).await? {
                    Some(t) if t.paid_by(pi) => {
                        let (transition, facts) = match outcome {
                            Outcome::Succeeded => (Transition::Complete, PaymentFacts { payment_intent: Some(pi.id.clone()), ..PaymentFacts::default() }),
                            Outcome::Failed(error) => {
                                let (failure_code, failure_message) = top_up::failure(&error);
                                (Transition::Fail, PaymentFacts { payment_intent: Some(pi.id.clone()), failure_code, failure_message })
                            }
                        };
                        self.store.settle_top_up(org, t.id, transition, &facts).await?.changed
                    }
                    Some(t) => {
                        tracing::warn!(top_up = %t.id, payment_intent = %pi.id, "a Stripe event's PaymentIntent does not match its top-up; ignored");
                        false
                    }
                    None => false,
                }
            }
        };
        Ok(Receipt { event: event.id, kind: event.kind, applied })
    }

    /// Expires the top-ups past their time that this node can claim; answers how many it
    /// settled.
    pub async fn expire_due(&self) -> Result<usize, StoreError> {
        let mut settled = 0;
        for claimed in self.store.claim_expired_top_ups(EXPIRY_LEASE_MS, EXPIRY_BATCH).await? {
            match self.expire(&claimed).await {
                Ok(true) => settled += 1,
                Ok(false) => {}
                // Left to a later round: the lease ends and the top-up is claimed again.
                Err(e) => tracing::warn!(top_up = %claimed.top_up.id, error = %e, "could not expire a top-up yet"),
            }
        }
        Ok(settled)
    }

    async fn expire(&self, c: &ExpiringTopUp) -> Result<bool, TopUpError> {
        let transition = match (&c.top_up.payment_intent, &c.secret_key) {
            // No PaymentIntent known, or no key left to cancel it with.
            (None, _) | (_, None) => Some(Transition::Expire),
            (Some(pi), Some(key)) => match self.client.cancel_payment_intent(key, pi, &c.top_up.cancel_idempotency_key()).await {
                Ok(cancelled) => top_up::on_expiry(&cancelled.status),
                Err(StripeError::Api(e)) if e.is_key_refused() => Some(Transition::Expire),
                // Stripe would not cancel it: see where it stands (paid meanwhile?).
                Err(StripeError::Api(e)) if e.status < 500 => {
                    let found = self.client.payment_intent(key, pi).await.map_err(|_| TopUpError::Unreachable)?;
                    top_up::on_expiry(&found.status)
                }
                Err(_) => return Err(TopUpError::Unreachable),
            },
        };
        let Some(transition) = transition else { return Ok(false) };
        let facts = PaymentFacts { payment_intent: c.top_up.payment_intent.clone(), ..PaymentFacts::default() };
        Ok(self.store.settle_top_up(c.organization, c.top_up.id, transition, &facts).await?.changed)
    }

    /// Runs [`TopUps::expire_due`] every `every` until the task is aborted.
    pub fn spawn_expiry(self, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
                if let Err(e) = self.expire_due().await {
                    tracing::warn!(error = %e, "the top-up expiry round failed");
                }
            }
        })
    }
}

/// What a definite Stripe refusal of a new top-up means for the caller.
fn refusal(e: &StripeApiError, currency: &str) -> TopUpError {
    if e.is_card_error() {
        TopUpError::Declined(e.explained())
    } else if e.is_key_refused() {
        TopUpError::KeyRefused
    } else if e.param.as_deref() == Some("currency") {
        TopUpError::Currency(currency.to_ascii_uppercase(), e.explained())
    } else {
        TopUpError::StripeRefused(e.explained())
    }
}
