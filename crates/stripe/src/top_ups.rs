//! The top-up flows: the shell around `domain::top_up` and `domain::stripe`.
//!
//! - [`TopUps::create`]: the rules (`top_up::check`), the top-up stored, then the PaymentIntent
//!   asked of Stripe under the top-up's idempotency key; an off-session confirmation's outcome
//!   is applied at once. A retry with the request's `Idempotency-Key` continues the top-up that
//!   request made (asking Stripe again under the same key) rather than making another.
//! - [`TopUps::receive`]: a Stripe webhook delivery: signature, then the event applied to the
//!   top-up it names, in this organization only.
//! - [`TopUps::expire_due`]: top-ups past their time, claimed with a lease (safe on several
//!   nodes): Stripe asked where the PaymentIntent stands, a paid one completed (credited), an
//!   open one cancelled at Stripe and the top-up expired.

use std::time::Duration;

use domain::stripe::SecretKey;
use domain::stripe::{self as rules, Event, Outcome, SignatureError};
use domain::top_up::{self, NewTopUp, Refusal, TopUp, TopUpKind, TopUpStatus, TopUpView, Transition};
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
    /// The request's `Idempotency-Key` made a top-up for another request (409).
    #[error("This Idempotency-Key was already used with a different request")]
    KeyReused,
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
        if let Some(claim) = store::current_claim()
            && let Some((made, request)) = self.store.top_up_of_request(org, &claim.key).await?
        {
            if request.as_deref() != Some(claim.request_sha256.as_str()) {
                return Err(TopUpError::KeyReused);
            }
            return self.continue_top_up(org, made, new.customer.as_deref()).await;
        }
        let organization = self.store.organization(org).await?;
        let wallet = self.store.wallet(org, new.wallet).await?;
        let keys = self.store.stripe_keys(org).await?;
        top_up::check(&organization, &keys, &wallet, new.wallet_amount)?;
        let key = keys.secret_key.ok_or(Refusal::StripeNotConfigured)?;
        let t = new.create(self.store.new_id(), &wallet, self.store.now(), self.lifetime_ms);
        self.store.create_top_up(org, &t).await?;
        self.ask_for_payment_intent(org, &t, &key, new.customer.as_deref()).await
    }

    /// A retried request's top-up: as it is, or, if Stripe never answered for it, asked for
    /// again under the same Stripe idempotency key, so Stripe makes (and charges) one at most.
    async fn continue_top_up(&self, org: Id, made: TopUpView, customer: Option<&str>) -> Result<TopUpView, TopUpError> {
        if made.top_up.payment_intent.is_some() || made.top_up.status != TopUpStatus::Created {
            return Ok(made);
        }
        let key = self.store.stripe_keys(org).await?.secret_key.ok_or(Refusal::StripeNotConfigured)?;
        self.ask_for_payment_intent(org, &made.top_up, &key, customer).await
    }

    /// Asks Stripe for the top-up's PaymentIntent under the top-up's idempotency key and
    /// applies the answer. Without an answer the top-up stays `created`, to be continued.
    async fn ask_for_payment_intent(&self, org: Id, t: &TopUp, key: &SecretKey, customer: Option<&str>) -> Result<TopUpView, TopUpError> {
        let params = request::payment_intent(t, org, customer);
        match self.client.create_payment_intent(key, &params, &t.idempotency_key()).await {
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
        let Some(key) = &c.secret_key else { return self.settle_expiry(c, None, Transition::Expire).await };
        let payment_intent = match &c.top_up.payment_intent {
            Some(pi) => pi.clone(),
            // Stripe never answered its creation: ask again under the same key, which finds the
            // PaymentIntent Stripe made, if it made one. Not for an off-session top-up, which
            // that would charge now; Stripe's event still completes it if it was paid.
            None if c.top_up.kind == TopUpKind::Manual && c.top_up.status == TopUpStatus::Created => {
                let continued = self.ask_for_payment_intent(c.organization, &c.top_up, key, None).await?;
                match continued.top_up.payment_intent {
                    Some(pi) if continued.top_up.status == TopUpStatus::Created => pi,
                    // Settled meanwhile (Stripe's event, or the off-session answer).
                    _ => return Ok(false),
                }
            }
            None => return self.settle_expiry(c, None, Transition::Expire).await,
        };
        match self.expiry_at_stripe(key, &payment_intent, &c.top_up).await? {
            Some(transition) => self.settle_expiry(c, Some(payment_intent), transition).await,
            None => Ok(false),
        }
    }

    /// Where an expiring top-up's PaymentIntent ends: asked first, so one paid meanwhile (its
    /// event lost or late) completes; otherwise cancelled, and expired once Stripe says so.
    /// `None` while it is still processing.
    async fn expiry_at_stripe(&self, key: &SecretKey, pi: &str, t: &TopUp) -> Result<Option<Transition>, TopUpError> {
        let found = match self.client.payment_intent(key, pi).await {
            Ok(found) => found,
            // No key left to ask or cancel with.
            Err(StripeError::Api(e)) if e.is_key_refused() => return Ok(Some(Transition::Expire)),
            Err(_) => return Err(TopUpError::Unreachable),
        };
        if found.status == "processing" {
            return Ok(None);
        }
        if let Some(settled) = top_up::on_expiry(&found.status) {
            return Ok(Some(settled));
        }
        match self.client.cancel_payment_intent(key, pi, &t.cancel_idempotency_key()).await {
            Ok(cancelled) => Ok(top_up::on_expiry(&cancelled.status)),
            Err(StripeError::Api(e)) if e.is_key_refused() => Ok(Some(Transition::Expire)),
            // Stripe would not cancel it: paid in between?
            Err(StripeError::Api(e)) if e.status < 500 => {
                let found = self.client.payment_intent(key, pi).await.map_err(|_| TopUpError::Unreachable)?;
                Ok(top_up::on_expiry(&found.status))
            }
            Err(_) => Err(TopUpError::Unreachable),
        }
    }

    async fn settle_expiry(&self, c: &ExpiringTopUp, payment_intent: Option<String>, transition: Transition) -> Result<bool, TopUpError> {
        let facts = PaymentFacts { payment_intent, ..PaymentFacts::default() };
        Ok(self.store.settle_top_up(c.organization, c.top_up.id, transition, &facts).await?.changed)
    }

    /// Runs [`TopUps::expire_due`] every `every` until the task is aborted.
    pub fn spawn_expiry(self, every: Duration, mut stop: tokio::sync::watch::Receiver<bool>) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = stop.wait_for(|&stopped| stopped) => return,
                }
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
