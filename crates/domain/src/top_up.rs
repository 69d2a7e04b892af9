//! Top-ups: money a driver pays with a card, through the organization's Stripe account, to
//! fund a wallet. A top-up is a Stripe PaymentIntent plus the credit it earns the wallet.
//!
//! The life of a top-up is one small state machine, [`TopUpStatus::after`]: `created`, then
//! `completed` (the wallet credited), `failed` (Stripe refused the payment) or `expired` (not
//! paid in time). Only [`Transition::Complete`] credits, and `completed` is never left, so a
//! top-up credits its wallet at most once however often, and in whatever order, Stripe's
//! events arrive. The storage layer applies each transition with a guarded `UPDATE` whose
//! `status IN (...)` is [`Transition::from`].

use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::ledger::MAX_BALANCE;
use crate::organization::Organization;
use crate::schema::refined;
use crate::stripe::{PaymentError, StripeKeys, accepts_currency};
use crate::wallet::Wallet;
use crate::{Cents, Id, Invalid, Timestamp};

/// Stripe charges at most $999,999.99 (eight digits) in one payment.
pub const MAX_AMOUNT: Cents = Cents(99_999_999);
/// A top-up credits at most what a wallet may hold.
pub const MAX_WALLET_AMOUNT: Cents = MAX_BALANCE;
/// How long a top-up may wait for its payment, unless configured otherwise.
pub const DEFAULT_LIFETIME_MS: i64 = 24 * 3600 * 1000;

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TopUpKind {
    /// The driver's app confirms the PaymentIntent with Stripe's client SDKs (`client_secret`).
    Manual,
    /// Joule confirms it at once, off-session, with a saved `payment_method`.
    ManualWithPaymentMethod,
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum TopUpStatus {
    /// Waiting for the payment.
    Created,
    /// Paid, and the wallet credited with `wallet_amount`.
    Completed,
    /// Stripe refused the payment (`failure_code`, `failure_message`). The driver may still
    /// pay the same PaymentIntent with another card until the top-up expires.
    Failed,
    /// Not paid in time; its PaymentIntent was cancelled.
    Expired,
}

impl TopUpStatus {
    pub const ALL: [TopUpStatus; 4] = [TopUpStatus::Created, TopUpStatus::Completed, TopUpStatus::Failed, TopUpStatus::Expired];

    pub fn as_str(self) -> &'static str {
        match self {
            TopUpStatus::Created => "created",
            TopUpStatus::Completed => "completed",
            TopUpStatus::Failed => "failed",
            TopUpStatus::Expired => "expired",
        }
    }

    pub fn parse(s: &str) -> Option<TopUpStatus> {
        TopUpStatus::ALL.into_iter().find(|status| status.as_str() == s)
    }

    /// The status after `transition`, or `None` when it does not apply (a no-op).
    pub fn after(self, transition: Transition) -> Option<TopUpStatus> {
        transition.from().contains(&self).then(|| transition.to())
    }
}

/// What can happen to a top-up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Transition {
    /// Stripe says the payment succeeded: credit the wallet. Also from `failed` (the driver
    /// paid with another card) and `expired` (the payment beat the cancellation): money
    /// Stripe took is always credited, and credited once.
    Complete,
    /// Stripe refused the payment.
    Fail,
    /// The top-up's time ran out and its PaymentIntent was cancelled.
    Expire,
}

impl Transition {
    /// The statuses this transition leaves; from any other it changes nothing.
    pub fn from(self) -> &'static [TopUpStatus] {
        match self {
            Transition::Complete => &[TopUpStatus::Created, TopUpStatus::Failed, TopUpStatus::Expired],
            Transition::Fail => &[TopUpStatus::Created],
            Transition::Expire => &[TopUpStatus::Created, TopUpStatus::Failed],
        }
    }

    pub fn to(self) -> TopUpStatus {
        match self {
            Transition::Complete => TopUpStatus::Completed,
            Transition::Fail => TopUpStatus::Failed,
            Transition::Expire => TopUpStatus::Expired,
        }
    }

    /// The event a change records: `top_up.completed`, `top_up.failed`, `top_up.expired`.
    pub fn event(self) -> &'static str {
        self.to().as_str()
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct TopUp {
    #[serde(rename = "_id")]
    pub id: Id,
    pub user: Id,
    pub wallet: Id,
    #[serde(rename = "type")]
    pub kind: TopUpKind,
    /// Cents charged to the card.
    pub amount: Cents,
    /// Cents credited to the wallet once paid.
    pub wallet_amount: Cents,
    /// The wallet's currency, lower case (`usd`).
    pub currency: String,
    pub status: TopUpStatus,
    /// The Stripe PaymentIntent (`pi_...`); `null` only if Stripe could not be reached.
    pub payment_intent: Option<String>,
    /// The saved payment method of a `manual_with_payment_method` top-up.
    pub payment_method: Option<String>,
    /// Stripe's code for the last refused payment (`card_declined`...).
    pub failure_code: Option<String>,
    /// Stripe's explanation of the last refused payment.
    pub failure_message: Option<String>,
    /// When the top-up expires if it is not paid by then.
    #[serde(rename = "expiredAt")]
    pub expired_at: Timestamp,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// A top-up as the API answers it: with the PaymentIntent's `client_secret` while it can still
/// be paid. Events never carry it.
#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct TopUpView {
    #[serde(flatten)]
    pub top_up: TopUp,
    /// What the driver's app confirms the PaymentIntent with (Stripe's client SDKs); `null`
    /// once the top-up is completed or expired.
    pub client_secret: Option<String>,
}

impl TopUpView {
    pub fn new(top_up: TopUp, client_secret: Option<String>) -> TopUpView {
        let payable = matches!(top_up.status, TopUpStatus::Created | TopUpStatus::Failed);
        TopUpView { client_secret: client_secret.filter(|_| payable), top_up }
    }
}

/// The fields of `POST /v1.1/top_up`; [`CreateTopUp`] is the whole rule.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TopUpInput {
    #[serde(rename = "type")]
    #[schema(value_type = TopUpKind)]
    pub kind: String,
    pub wallet: Id,
    /// Cents to charge, 1 to 99999999.
    #[schema(minimum = 1, maximum = 99999999)]
    pub amount: i64,
    /// Cents to credit; `amount` when absent (more than `amount` is a bonus).
    #[schema(minimum = 1, maximum = 1000000000000.0)]
    pub wallet_amount: Option<i64>,
    /// A saved Stripe payment method (`pm_...`), for `manual_with_payment_method` only.
    #[schema(pattern = "^(pm|card|src)_[A-Za-z0-9_]*$", max_length = 255)]
    pub payment_method: Option<String>,
    /// The Stripe customer (`cus_...`) the payment method is saved on, when it is; for
    /// `manual_with_payment_method` only.
    #[schema(pattern = "^cus_[A-Za-z0-9_]*$", max_length = 255)]
    pub customer: Option<String>,
}

refined! {
    /// `POST /v1.1/top_up`: a `manual_with_payment_method` top-up needs its `payment_method`; a
    /// `manual` one takes neither it nor `customer`.
    CreateTopUp = TopUpInput, required &[], keywords [
        ("if", json!({ "properties": { "type": { "const": "manual" } } })),
        ("then", json!({ "properties": { "payment_method": { "type": "null" }, "customer": { "type": "null" } } })),
        ("else", json!({ "required": ["payment_method"], "properties": { "payment_method": { "type": "string" } } })),
    ]
}

/// A validated top-up request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NewTopUp {
    pub kind: TopUpKind,
    pub wallet: Id,
    pub amount: Cents,
    pub wallet_amount: Cents,
    pub payment_method: Option<String>,
    pub customer: Option<String>,
}

fn cents(field: &str, value: i64, max: Cents) -> Result<Cents, Invalid> {
    if value <= 0 || value > max.0 {
        return Err(Invalid::new(field, format!("must be a whole number of cents from 1 to {}", max.0)));
    }
    Ok(Cents(value))
}

/// A Stripe object id: its prefix, then letters, digits and `_`.
fn stripe_id(field: &str, value: &str, prefixes: &[&str], what: &str) -> Result<String, Invalid> {
    let shaped = prefixes.iter().any(|p| value.starts_with(p)) && value.len() <= 255 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    if shaped { Ok(value.to_string()) } else { Err(Invalid::new(field, format!("must be a Stripe {what} id ({}...)", prefixes.join("... or ")))) }
}

impl TopUpInput {
    pub fn parse(self) -> Result<NewTopUp, Invalid> {
        let kind = match self.kind.as_str() {
            "manual" => TopUpKind::Manual,
            "manual_with_payment_method" => TopUpKind::ManualWithPaymentMethod,
            _ => return Err(Invalid::new("type", "must be \"manual\" or \"manual_with_payment_method\"")),
        };
        let amount = cents("amount", self.amount, MAX_AMOUNT)?;
        let wallet_amount = cents("wallet_amount", self.wallet_amount.unwrap_or(self.amount), MAX_WALLET_AMOUNT)?;
        let payment_method = match (kind, self.payment_method) {
            (TopUpKind::ManualWithPaymentMethod, None) => return Err(Invalid::new("payment_method", "is required for a manual_with_payment_method top-up")),
            (TopUpKind::Manual, Some(_)) => return Err(Invalid::new("payment_method", "is only for manual_with_payment_method top-ups")),
            (_, pm) => pm.map(|pm| stripe_id("payment_method", &pm, &["pm_", "card_", "src_"], "payment method")).transpose()?,
        };
        if kind == TopUpKind::Manual && self.customer.is_some() {
            return Err(Invalid::new("customer", "is only for manual_with_payment_method top-ups"));
        }
        let customer = self.customer.map(|c| stripe_id("customer", &c, &["cus_"], "customer")).transpose()?;
        Ok(NewTopUp { kind, wallet: self.wallet, amount, wallet_amount, payment_method, customer })
    }
}

/// Why a top-up cannot be made for a wallet (each a 405).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("Top-ups are only available in the US")]
    NotInTheUs,
    #[error("Stripe is not configured for this organization")]
    StripeNotConfigured,
    #[error("Stripe does not accept payments in {0}")]
    Currency(&'static str),
    #[error("The wallet cannot hold this top-up")]
    WalletFull,
}

/// The business rules a top-up must pass before Stripe is asked, in this order. The last one
/// keeps a paid top-up creditable: a wallet that could not take its credit would leave the
/// driver charged and the wallet as it was.
pub fn check(org: &Organization, keys: &StripeKeys, wallet: &Wallet, wallet_amount: Cents) -> Result<(), Refusal> {
    if !org.allows_wallets() {
        return Err(Refusal::NotInTheUs);
    }
    if !keys.configured() {
        return Err(Refusal::StripeNotConfigured);
    }
    if !accepts_currency(wallet.currency) {
        return Err(Refusal::Currency(wallet.currency.code()));
    }
    if wallet.balance.0.checked_add(wallet_amount.0).is_none_or(|after| after > MAX_BALANCE.0) {
        return Err(Refusal::WalletFull);
    }
    Ok(())
}

impl NewTopUp {
    /// The top-up for `wallet`, waiting for its payment until `now + lifetime_ms`.
    pub fn create(&self, id: Id, wallet: &Wallet, now: Timestamp, lifetime_ms: i64) -> TopUp {
        TopUp {
            id,
            user: wallet.user,
            wallet: wallet.id,
            kind: self.kind,
            amount: self.amount,
            wallet_amount: self.wallet_amount,
            currency: wallet.currency.lowercase(),
            status: TopUpStatus::Created,
            payment_intent: None,
            payment_method: self.payment_method.clone(),
            failure_code: None,
            failure_message: None,
            expired_at: Timestamp::from_millis(now.millis().saturating_add(lifetime_ms)),
            created_at: now,
            updated_at: now,
        }
    }
}

impl TopUp {
    /// The key of every Stripe request that creates or confirms this top-up's payment: a retry
    /// of it can never make a second PaymentIntent or a second charge.
    pub fn idempotency_key(&self) -> String {
        format!("joule-top-up-{}", self.id)
    }

    /// The key of the request that cancels its PaymentIntent when it expires.
    pub fn cancel_idempotency_key(&self) -> String {
        format!("joule-top-up-{}-cancel", self.id)
    }

    /// Whether a PaymentIntent Stripe reports is this top-up's payment: the same intent (or,
    /// before Joule learned its id, one naming this top-up), of the same amount and currency.
    pub fn paid_by(&self, pi: &crate::stripe::PaymentIntent) -> bool {
        let same_intent = match &self.payment_intent {
            Some(id) => *id == pi.id,
            None => pi.top_up.as_deref() == Some(self.id.to_string().as_str()),
        };
        same_intent && pi.amount == self.amount.0 && pi.currency.eq_ignore_ascii_case(&self.currency)
    }
}

/// What an expiring top-up becomes once Stripe says where its PaymentIntent stands after
/// Joule asked to cancel it: cancelled, it expires; paid meanwhile, it completes (the money
/// was taken); anything else (`processing`) waits for the next round.
pub fn on_expiry(payment_intent_status: &str) -> Option<Transition> {
    match payment_intent_status {
        "canceled" => Some(Transition::Expire),
        "succeeded" => Some(Transition::Complete),
        _ => None,
    }
}

/// What a PaymentIntent Joule just created and confirmed says about its top-up: paid, or the
/// card refused; `None` while it waits for the driver (or is still processing).
pub fn on_confirmation(pi: &crate::stripe::PaymentIntent) -> Option<Transition> {
    match (pi.status.as_str(), &pi.last_payment_error) {
        ("succeeded", _) => Some(Transition::Complete),
        ("requires_payment_method", Some(_)) => Some(Transition::Fail),
        _ => None,
    }
}

/// The failure a refused payment leaves on the top-up.
pub fn failure(error: &PaymentError) -> (Option<String>, Option<String>) {
    let code = match (&error.code, &error.decline_code) {
        (Some(code), Some(decline)) if code != decline => Some(format!("{code}:{decline}")),
        (code, decline) => code.clone().or_else(|| decline.clone()),
    };
    (code, error.message.clone())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::Currency;
    use crate::stripe::{SecretKey, WebhookSecret};

    fn input(json: &str) -> TopUpInput {
        serde_json::from_str(json).unwrap()
    }

    const WALLET: &str = "0123456789abcdef01234567";

    #[test]
    fn amounts_are_positive_bounded_cents_and_wallet_amount_defaults_to_amount() {
        let t = input(&format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":2500}}"#)).parse().unwrap();
        assert_eq!((t.kind, t.amount, t.wallet_amount), (TopUpKind::Manual, Cents(2500), Cents(2500)));
        let bonus = input(&format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":2500,"wallet_amount":3000}}"#)).parse().unwrap();
        assert_eq!(bonus.wallet_amount, Cents(3000));
        let field = |json: String| input(&json).parse().unwrap_err().field;
        for amount in ["0", "-1", "100000000"] {
            assert_eq!(field(format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":{amount}}}"#)), "amount");
        }
        assert_eq!(field(format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":1,"wallet_amount":0}}"#)), "wallet_amount");
        assert_eq!(field(format!(r#"{{"type":"card","wallet":"{WALLET}","amount":1}}"#)), "type");
    }

    #[test]
    fn a_payment_method_goes_with_its_type() {
        let field = |json: String| input(&json).parse().unwrap_err().field;
        assert_eq!(field(format!(r#"{{"type":"manual_with_payment_method","wallet":"{WALLET}","amount":1}}"#)), "payment_method");
        assert_eq!(field(format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":1,"payment_method":"pm_card_visa"}}"#)), "payment_method");
        assert_eq!(field(format!(r#"{{"type":"manual_with_payment_method","wallet":"{WALLET}","amount":1,"payment_method":"visa"}}"#)), "payment_method");
        assert_eq!(
            field(format!(r#"{{"type":"manual_with_payment_method","wallet":"{WALLET}","amount":1,"payment_method":"pm_x","customer":"x"}}"#)),
            "customer"
        );
        let t =
            input(&format!(r#"{{"type":"manual_with_payment_method","wallet":"{WALLET}","amount":1,"payment_method":"pm_card_visa","customer":"cus_123"}}"#))
                .parse()
                .unwrap();
        assert_eq!((t.payment_method.as_deref(), t.customer.as_deref()), (Some("pm_card_visa"), Some("cus_123")));
    }

    fn org(country: &str) -> Organization {
        let json = format!(r#"{{"name":"A","country":"{country}"}}"#);
        serde_json::from_str::<crate::organization::OrganizationInput>(&json).unwrap().parse(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0)).unwrap()
    }

    #[test]
    fn refusals_come_in_order() {
        let keys = StripeKeys { secret_key: SecretKey::parse("sk_test_123456"), webhook_secret: WebhookSecret::parse("whsec_1") };
        let usd = Wallet::new(Id::from_parts(1, [0; 5], 2), Id::from_parts(1, [0; 5], 3), Currency::USD, Timestamp::from_millis(0));
        let irr = Wallet { currency: Currency::parse("IRR").unwrap(), ..usd.clone() };
        assert_eq!(check(&org("US"), &keys, &usd, Cents(100)), Ok(()));
        assert_eq!(check(&org("DE"), &StripeKeys::default(), &irr, Cents(100)), Err(Refusal::NotInTheUs));
        assert_eq!(check(&org("US"), &StripeKeys { webhook_secret: None, ..keys.clone() }, &irr, Cents(100)), Err(Refusal::StripeNotConfigured));
        assert_eq!(check(&org("US"), &keys, &irr, Cents(100)).unwrap_err().to_string(), "Stripe does not accept payments in IRR");
        let nearly_full = Wallet { balance: Cents(MAX_BALANCE.0 - 100), ..usd.clone() };
        assert_eq!(check(&org("US"), &keys, &nearly_full, Cents(100)), Ok(()));
        assert_eq!(check(&org("US"), &keys, &nearly_full, Cents(101)).unwrap_err().to_string(), "The wallet cannot hold this top-up");
    }

    #[test]
    fn the_client_secret_is_shown_only_while_the_top_up_can_be_paid() {
        let wallet = Wallet::new(Id::from_parts(1, [0; 5], 2), Id::from_parts(1, [0; 5], 3), Currency::USD, Timestamp::from_millis(0));
        let new = input(&format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":2500}}"#)).parse().unwrap();
        let mut t = new.create(Id::from_parts(1, [0; 5], 4), &wallet, Timestamp::from_millis(1000), DEFAULT_LIFETIME_MS);
        assert_eq!(t.expired_at, Timestamp::from_millis(1000 + DEFAULT_LIFETIME_MS));
        assert_eq!(t.idempotency_key(), format!("joule-top-up-{}", t.id));
        for (status, shown) in [(TopUpStatus::Created, true), (TopUpStatus::Failed, true), (TopUpStatus::Completed, false), (TopUpStatus::Expired, false)] {
            t.status = status;
            assert_eq!(TopUpView::new(t.clone(), Some("pi_1_secret_2".into())).client_secret.is_some(), shown, "{status:?}");
        }
        let json = serde_json::to_value(&t).unwrap();
        assert!(json.get("client_secret").is_none(), "the top-up itself never carries it");
    }

    #[test]
    fn a_payment_intent_pays_only_its_own_top_up() {
        let wallet = Wallet::new(Id::from_parts(1, [0; 5], 2), Id::from_parts(1, [0; 5], 3), Currency::USD, Timestamp::from_millis(0));
        let new = input(&format!(r#"{{"type":"manual","wallet":"{WALLET}","amount":2500}}"#)).parse().unwrap();
        let mut t = new.create(Id::from_parts(1, [0; 5], 4), &wallet, Timestamp::from_millis(1000), DEFAULT_LIFETIME_MS);
        let pi = crate::stripe::PaymentIntent {
            id: "pi_1".into(),
            status: "succeeded".into(),
            amount: 2500,
            currency: "usd".into(),
            client_secret: None,
            top_up: Some(t.id.to_string()),
            last_payment_error: None,
        };
        assert!(t.paid_by(&pi), "named in its metadata before Joule knew the intent");
        assert!(!t.paid_by(&crate::stripe::PaymentIntent { top_up: None, ..pi.clone() }));
        t.payment_intent = Some("pi_1".into());
        assert!(t.paid_by(&pi));
        assert!(!t.paid_by(&crate::stripe::PaymentIntent { id: "pi_2".into(), ..pi.clone() }));
        assert!(!t.paid_by(&crate::stripe::PaymentIntent { amount: 2499, ..pi.clone() }));
        assert!(!t.paid_by(&crate::stripe::PaymentIntent { currency: "eur".into(), ..pi.clone() }));
    }

    #[test]
    fn stripes_word_on_a_payment_intent_moves_its_top_up() {
        assert_eq!(on_expiry("canceled"), Some(Transition::Expire));
        assert_eq!(on_expiry("succeeded"), Some(Transition::Complete));
        assert_eq!(on_expiry("processing"), None);
        let pi = crate::stripe::PaymentIntent {
            id: "pi_1".into(),
            status: "requires_payment_method".into(),
            amount: 1,
            currency: "usd".into(),
            client_secret: None,
            top_up: None,
            last_payment_error: None,
        };
        assert_eq!(on_confirmation(&pi), None, "a new intent waits for the driver");
        assert_eq!(on_confirmation(&crate::stripe::PaymentIntent { last_payment_error: Some(PaymentError::default()), ..pi.clone() }), Some(Transition::Fail));
        assert_eq!(on_confirmation(&crate::stripe::PaymentIntent { status: "succeeded".into(), ..pi.clone() }), Some(Transition::Complete));
        assert_eq!(on_confirmation(&crate::stripe::PaymentIntent { status: "processing".into(), ..pi }), None);
    }

    #[test]
    fn failures_keep_stripes_code_and_message() {
        let e = PaymentError {
            code: Some("card_declined".into()),
            decline_code: Some("insufficient_funds".into()),
            message: Some("Your card has insufficient funds.".into()),
        };
        assert_eq!(failure(&e), (Some("card_declined:insufficient_funds".into()), Some("Your card has insufficient funds.".into())));
        assert_eq!(failure(&PaymentError { decline_code: None, ..e.clone() }).0.as_deref(), Some("card_declined"));
        assert_eq!(failure(&PaymentError::default()), (None, None));
    }

    fn transition() -> impl Strategy<Value = Transition> {
        prop_oneof![Just(Transition::Complete), Just(Transition::Fail), Just(Transition::Expire)]
    }

    proptest! {
        /// Stripe's events and the expiry runner, duplicated and in any order: the wallet is
        /// credited at most once, and once completed a top-up stays completed.
        #[test]
        fn a_top_up_credits_at_most_once(steps in proptest::collection::vec(transition(), 0..40)) {
            let mut status = TopUpStatus::Created;
            let mut credits = 0;
            for t in steps.iter().copied() {
                let before = status;
                if let Some(next) = status.after(t) {
                    if t == Transition::Complete {
                        credits += 1;
                    }
                    status = next;
                }
                prop_assert!(before != TopUpStatus::Completed || status == TopUpStatus::Completed);
            }
            prop_assert!(credits <= 1);
            prop_assert_eq!(credits == 1, status == TopUpStatus::Completed);
            prop_assert_eq!(credits == 1, steps.contains(&Transition::Complete));
        }
    }

    #[test]
    fn the_state_machine() {
        use TopUpStatus::*;
        use Transition::*;
        let table = [
            (Created, Complete, Some(Completed)),
            (Created, Fail, Some(Failed)),
            (Created, Expire, Some(Expired)),
            (Failed, Complete, Some(Completed)),
            (Failed, Fail, None),
            (Failed, Expire, Some(Expired)),
            (Expired, Complete, Some(Completed)),
            (Expired, Fail, None),
            (Expired, Expire, None),
            (Completed, Complete, None),
            (Completed, Fail, None),
            (Completed, Expire, None),
        ];
        for (from, t, to) in table {
            assert_eq!(from.after(t), to, "{from:?} {t:?}");
        }
        for s in TopUpStatus::ALL {
            assert_eq!(TopUpStatus::parse(s.as_str()), Some(s));
        }
    }
}
