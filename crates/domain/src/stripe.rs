//! Stripe, the rules without the I/O: an organization's keys (write-only secrets), the
//! `Stripe-Signature` check on webhook deliveries, the events Joule reads, and the currencies
//! Stripe takes payments in.

use std::fmt;

use hmac::{Hmac, KeyInit, Mac};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use sha2::Sha256;
use utoipa::openapi::schema::AdditionalProperties;
use utoipa::openapi::{ObjectBuilder, RefOr, Schema, Type};

use crate::schema::or_null;
use crate::{Currency, Invalid, Timestamp};

/// How far a delivery's timestamp may be from now, either way (Stripe's own libraries use 300 s).
pub const TOLERANCE_S: i64 = 300;

const MAX_KEY_LEN: usize = 255;

/// A Stripe secret key (`sk_...`) or restricted key (`rk_...`). Never shown by `Debug`, never
/// serialized: it leaves Joule only in the `Authorization` header of requests to Stripe.
#[derive(Clone, PartialEq, Eq)]
pub struct SecretKey(String);

/// A webhook endpoint's signing secret (`whsec_...`). The whole string is the HMAC key.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

fn key_shaped(raw: &str) -> bool {
    raw.len() <= MAX_KEY_LEN && raw.bytes().all(|b| b.is_ascii_graphic())
}

impl SecretKey {
    pub fn parse(raw: &str) -> Option<SecretKey> {
        let shaped = (raw.starts_with("sk_") || raw.starts_with("rk_")) && raw.len() > 8 && key_shaped(raw);
        shaped.then(|| SecretKey(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl WebhookSecret {
    pub fn parse(raw: &str) -> Option<WebhookSecret> {
        let shaped = raw.starts_with("whsec_") && raw.len() > 6 && key_shaped(raw);
        shaped.then(|| WebhookSecret(raw.to_string()))
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SecretKey(<hidden>)")
    }
}

impl fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("WebhookSecret(<hidden>)")
    }
}

/// An organization's stored Stripe keys; either may be missing.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StripeKeys {
    pub secret_key: Option<SecretKey>,
    pub webhook_secret: Option<WebhookSecret>,
}

impl StripeKeys {
    /// Top-ups need both: the secret key to create PaymentIntents, the webhook secret to
    /// believe Stripe's word that one succeeded.
    pub fn configured(&self) -> bool {
        self.secret_key.is_some() && self.webhook_secret.is_some()
    }
}

/// What a PATCH does to one stored secret.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub enum Change<T> {
    #[default]
    Keep,
    Clear,
    Set(T),
}

impl<T: Clone> Change<T> {
    pub fn applied_to(&self, current: Option<T>) -> Option<T> {
        match self {
            Change::Keep => current,
            Change::Clear => None,
            Change::Set(value) => Some(value.clone()),
        }
    }
}

/// A validated `stripe` object of `PATCH /v1.1/organization`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct StripeChange {
    pub secret_key: Change<SecretKey>,
    pub webhook_secret: Change<WebhookSecret>,
}

impl StripeChange {
    pub fn applied_to(&self, current: StripeKeys) -> StripeKeys {
        StripeKeys { secret_key: self.secret_key.applied_to(current.secret_key), webhook_secret: self.webhook_secret.applied_to(current.webhook_secret) }
    }
}

/// The raw `stripe` object of `PATCH /v1.1/organization`, kept as JSON until [`parse`]: a
/// typed field would make a wrong value's parse error quote the secret back.
///
/// [`parse`]: StripeInput::parse
pub struct StripeInput(Value);

impl<'de> Deserialize<'de> for StripeInput {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<StripeInput, D::Error> {
        Value::deserialize(d).map(StripeInput)
    }
}

impl fmt::Debug for StripeInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StripeInput(<hidden>)")
    }
}

impl utoipa::PartialSchema for StripeInput {
    fn schema() -> RefOr<Schema> {
        // White space around a key is trimmed; only the ASCII kinds are stated.
        let string = |pattern: &str, description: &str| {
            or_null(
                ObjectBuilder::new()
                    .schema_type(Type::String)
                    .pattern(Some(format!(r"^[ \t\r\n]*{pattern}[ \t\r\n]*$")))
                    .description(Some(format!("{description} `null` removes it.")))
                    .write_only(true),
            )
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .description(Some(
                "The organization's Stripe keys, write-only: answers show only `stripe.configured`. `null` removes both; a key set to `null` removes that key.",
            ))
            .property(
                "secret_key",
                string("(sk|rk)_[!-~]{6,252}", "The secret key (`sk_...`) or a restricted key (`rk_...`) of the organization's Stripe account."),
            )
            .property(
                "webhook_secret",
                string(
                    "whsec_[!-~]{1,249}",
                    "The signing secret (`whsec_...`) of the webhook endpoint registered in Stripe for `/v1.1/integrations/stripe/{organization id}/webhook`.",
                ),
            )
            .into()
    }
}

impl utoipa::ToSchema for StripeInput {}

impl StripeInput {
    /// Validates the keys given. No message ever quotes a value.
    pub fn parse(self) -> Result<StripeChange, Invalid> {
        let fields = match self.0 {
            Value::Null => return Ok(StripeChange { secret_key: Change::Clear, webhook_secret: Change::Clear }),
            Value::Object(fields) => fields,
            _ => return Err(Invalid::new("stripe", "must be an object with `secret_key` and `webhook_secret`, or null")),
        };
        let mut change = StripeChange::default();
        for (name, value) in fields {
            let raw = match &value {
                Value::Null => None,
                Value::String(s) => Some(s.trim()),
                _ => return Err(Invalid::new(format!("stripe.{name}"), "must be a string or null")),
            };
            match name.as_str() {
                "secret_key" => {
                    change.secret_key = match raw {
                        None => Change::Clear,
                        Some(s) if s.starts_with("pk_") => {
                            return Err(Invalid::new("stripe.secret_key", "must be a secret key (sk_...), not a publishable key"));
                        }
                        Some(s) => Change::Set(
                            SecretKey::parse(s)
                                .ok_or_else(|| Invalid::new("stripe.secret_key", "must be a Stripe secret key (sk_...) or restricted key (rk_...)"))?,
                        ),
                    }
                }
                "webhook_secret" => {
                    change.webhook_secret = match raw {
                        None => Change::Clear,
                        Some(s) => Change::Set(
                            WebhookSecret::parse(s)
                                .ok_or_else(|| Invalid::new("stripe.webhook_secret", "must be a Stripe webhook signing secret (whsec_...)"))?,
                        ),
                    }
                }
                _ => return Err(Invalid::new(format!("stripe.{name}"), "is not a Stripe setting (use `secret_key` and `webhook_secret`)")),
            }
        }
        Ok(change)
    }
}

/// Why a delivery's `Stripe-Signature` is not believed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    #[error("the Stripe-Signature header is missing")]
    Missing,
    #[error("the Stripe-Signature header must be `t=<unix seconds>,v1=<hex signature>`")]
    Malformed,
    #[error("the Stripe-Signature header has no v1 signature")]
    NoSignature,
    #[error("no v1 signature matches the body")]
    Mismatch,
    #[error("the signature's timestamp is more than 300 seconds away from now")]
    OutsideTolerance,
}

/// A parsed `Stripe-Signature: t=<seconds>,v1=<hex>[,v1=<hex>...][,v0=...]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignatureHeader {
    pub timestamp_s: i64,
    /// Each `v1` entry that is 32 bytes of hex; others can match nothing and are left out.
    pub v1: Vec<Vec<u8>>,
}

fn hex_bytes(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect()
}

impl SignatureHeader {
    pub fn parse(raw: &str) -> Result<SignatureHeader, SignatureError> {
        let mut timestamp = None;
        let mut v1 = Vec::new();
        let mut any_v1 = false;
        for item in raw.split(',') {
            let (key, value) = item.trim().split_once('=').ok_or(SignatureError::Malformed)?;
            match key {
                "t" if timestamp.is_none() => timestamp = Some(value.parse::<i64>().map_err(|_| SignatureError::Malformed)?),
                "t" => return Err(SignatureError::Malformed),
                "v1" => {
                    any_v1 = true;
                    v1.extend(hex_bytes(value).filter(|b| b.len() == 32));
                }
                // v0 (Stripe's test-mode scheme) and schemes Stripe may add later.
                _ => {}
            }
        }
        let timestamp_s = timestamp.ok_or(SignatureError::Malformed)?;
        if !any_v1 {
            return Err(SignatureError::NoSignature);
        }
        Ok(SignatureHeader { timestamp_s, v1 })
    }
}

fn mac(secret: &WebhookSecret, timestamp_s: i64, body: &[u8]) -> Hmac<Sha256> {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.expose().as_bytes()).expect("HMAC takes keys of any length");
    mac.update(timestamp_s.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac
}

/// The hex `v1` signature Stripe sends for `body` at `timestamp_s`: HMAC-SHA256 over
/// `{t}.{body}`, keyed by the whole `whsec_...` string.
pub fn sign(secret: &WebhookSecret, timestamp_s: i64, body: &[u8]) -> String {
    mac(secret, timestamp_s, body).finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks a delivery: one of its `v1` signatures must be that of the exact body (compared in
/// constant time), and its timestamp within [`TOLERANCE_S`] of `now`. Answers the timestamp.
pub fn verify(header: Option<&str>, body: &[u8], secret: &WebhookSecret, now: Timestamp) -> Result<i64, SignatureError> {
    let header = SignatureHeader::parse(header.ok_or(SignatureError::Missing)?)?;
    let expected = mac(secret, header.timestamp_s, body);
    if !header.v1.iter().any(|candidate| expected.clone().verify_slice(candidate).is_ok()) {
        return Err(SignatureError::Mismatch);
    }
    if (now.millis().div_euclid(1000) - header.timestamp_s).abs() > TOLERANCE_S {
        return Err(SignatureError::OutsideTolerance);
    }
    Ok(header.timestamp_s)
}

/// How Stripe explains a failed payment (`last_payment_error`, or an API error).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PaymentError {
    pub code: Option<String>,
    pub decline_code: Option<String>,
    pub message: Option<String>,
}

/// What Joule reads of a PaymentIntent, from an API answer or an event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PaymentIntent {
    pub id: String,
    pub status: String,
    pub amount: i64,
    pub currency: String,
    pub client_secret: Option<String>,
    /// `metadata.top_up`: the top-up Joule created it for.
    pub top_up: Option<String>,
    pub last_payment_error: Option<PaymentError>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

impl PaymentError {
    pub fn from_json(value: &Value) -> Option<PaymentError> {
        value.is_object().then(|| PaymentError { code: text(&value["code"]), decline_code: text(&value["decline_code"]), message: text(&value["message"]) })
    }
}

impl PaymentIntent {
    pub fn from_json(value: &Value) -> Option<PaymentIntent> {
        Some(PaymentIntent {
            id: text(&value["id"]).filter(|id| id.starts_with("pi_"))?,
            status: text(&value["status"])?,
            amount: value["amount"].as_i64()?,
            currency: text(&value["currency"])?,
            client_secret: text(&value["client_secret"]),
            top_up: text(&value["metadata"]["top_up"]),
            last_payment_error: PaymentError::from_json(&value["last_payment_error"]),
        })
    }
}

/// A Stripe event, as much of it as Joule acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub id: String,
    pub kind: String,
    /// `data.object` when it is a PaymentIntent.
    pub payment_intent: Option<PaymentIntent>,
}

/// What a PaymentIntent event means for the top-up it pays.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    Succeeded,
    Failed(PaymentError),
}

impl Event {
    /// Parses a delivery's body (after its signature was checked).
    pub fn parse(body: &[u8]) -> Result<Event, Invalid> {
        let value: Value = serde_json::from_slice(body).map_err(|_| Invalid::new("body", "must be a Stripe event in JSON"))?;
        let id = text(&value["id"]).ok_or_else(|| Invalid::new("id", "must be the event's id"))?;
        let kind = text(&value["type"]).ok_or_else(|| Invalid::new("type", "must be the event's type"))?;
        let object = &value["data"]["object"];
        let payment_intent = (object["object"] == "payment_intent").then(|| PaymentIntent::from_json(object)).flatten();
        Ok(Event { id, kind, payment_intent })
    }

    /// The PaymentIntent and what happened to it, for the two event types that change a
    /// top-up; `None` for every other event, which is acknowledged and ignored.
    pub fn outcome(&self) -> Option<(&PaymentIntent, Outcome)> {
        let pi = self.payment_intent.as_ref()?;
        match self.kind.as_str() {
            "payment_intent.succeeded" => Some((pi, Outcome::Succeeded)),
            "payment_intent.payment_failed" => Some((pi, Outcome::Failed(pi.last_payment_error.clone().unwrap_or_default()))),
            _ => None,
        }
    }
}

/// Stripe's presentment currencies (its "Supported currencies" list): a card payment in any
/// other is refused by Stripe, so Joule refuses a top-up in it before asking.
const CURRENCIES: &[&str] = &[
    "USD", "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT", "BGN", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BWP",
    "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL",
    "GIP", "GMD", "GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "ISK", "JMD", "JPY", "KES", "KGS", "KHR", "KMF", "KRW", "KYD", "KZT",
    "LAK", "LBP", "LKR", "LRD", "LSL", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MUR", "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK",
    "NPR", "NZD", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SEK", "SGD", "SHP", "SLE", "SOS",
    "SRD", "STD", "SZL", "THB", "TJS", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "UYU", "UZS", "VND", "VUV", "WST", "XAF", "XCD", "XOF", "XPF", "YER",
    "ZAR", "ZMW",
];

pub fn accepts_currency(currency: Currency) -> bool {
    CURRENCIES.contains(&currency.code())
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn secret() -> WebhookSecret {
        WebhookSecret::parse("whsec_test_secret").unwrap()
    }

    const NOW_S: i64 = 1_700_000_000;

    fn now() -> Timestamp {
        Timestamp::from_millis(NOW_S * 1000 + 999)
    }

    #[test]
    fn signatures_follow_stripes_scheme() {
        // HMAC-SHA256("whsec_test_secret", "1700000000.{}"), computed independently with openssl.
        assert_eq!(sign(&secret(), NOW_S, b"{}"), "ceb8863f7208fa249a6cd8f951e993c7563412aca65866f6272283debe143ab3");
        let header = format!("t={NOW_S},v1={}", sign(&secret(), NOW_S, b"{}"));
        assert_eq!(verify(Some(&header), b"{}", &secret(), now()), Ok(NOW_S));
    }

    #[test]
    fn any_v1_may_match_and_other_schemes_are_ignored() {
        let good = sign(&secret(), NOW_S, b"body");
        let other = sign(&WebhookSecret::parse("whsec_other").unwrap(), NOW_S, b"body");
        for header in [
            format!("t={NOW_S},v1={other},v1={good}"),
            format!("t={NOW_S},v1={good},v1={other},v0={other}"),
            format!("v0=abc, t={NOW_S}, v1=zz, v1={good}"),
            format!("t={NOW_S},v1={},v1={good}", "0".repeat(64)),
        ] {
            assert_eq!(verify(Some(&header), b"body", &secret(), now()), Ok(NOW_S), "{header}");
        }
    }

    #[test]
    fn bad_headers_are_refused_for_what_is_wrong() {
        let good = sign(&secret(), NOW_S, b"body");
        let cases = [
            (None, SignatureError::Missing),
            (Some(String::new()), SignatureError::Malformed),
            (Some(format!("v1={good}")), SignatureError::Malformed),
            (Some(format!("t=abc,v1={good}")), SignatureError::Malformed),
            (Some(format!("t={NOW_S},t={NOW_S},v1={good}")), SignatureError::Malformed),
            (Some(format!("t={NOW_S},v1")), SignatureError::Malformed),
            (Some(format!("t={NOW_S}")), SignatureError::NoSignature),
            (Some(format!("t={NOW_S},v0={good}")), SignatureError::NoSignature),
            (Some(format!("t={NOW_S},v1={}", sign(&secret(), NOW_S, b"other body"))), SignatureError::Mismatch),
            (Some(format!("t={},v1={good}", NOW_S + 1)), SignatureError::Mismatch),
        ];
        for (header, error) in cases {
            assert_eq!(verify(header.as_deref(), b"body", &secret(), now()), Err(error), "{header:?}");
        }
    }

    #[test]
    fn the_timestamp_must_be_within_five_minutes_either_way() {
        for (t, ok) in [(NOW_S - 300, true), (NOW_S - 301, false), (NOW_S + 300, true), (NOW_S + 301, false), (0, false)] {
            let header = format!("t={t},v1={}", sign(&secret(), t, b"body"));
            let answer = verify(Some(&header), b"body", &secret(), now());
            assert_eq!(answer.is_ok(), ok, "{t}: {answer:?}");
            if !ok {
                assert_eq!(answer, Err(SignatureError::OutsideTolerance));
            }
        }
    }

    proptest! {
        #[test]
        fn only_the_exact_body_with_the_right_secret_verifies(body in proptest::collection::vec(any::<u8>(), 0..300), other in proptest::collection::vec(any::<u8>(), 0..300), key in "[A-Za-z0-9]{1,40}") {
            let mine = WebhookSecret::parse(&format!("whsec_{key}")).unwrap();
            let header = format!("t={NOW_S},v1={}", sign(&mine, NOW_S, &body));
            prop_assert_eq!(verify(Some(&header), &body, &mine, now()), Ok(NOW_S));
            if other != body {
                prop_assert_eq!(verify(Some(&header), &other, &mine, now()), Err(SignatureError::Mismatch));
            }
            let theirs = WebhookSecret::parse(&format!("whsec_{key}x")).unwrap();
            prop_assert_eq!(verify(Some(&header), &body, &theirs, now()), Err(SignatureError::Mismatch));
        }

        #[test]
        fn no_header_makes_the_parser_panic(raw in "\\PC{0,200}") {
            let _ = SignatureHeader::parse(&raw);
        }
    }

    #[test]
    fn keys_are_checked_hidden_and_never_quoted() {
        let parse = |json: &str| serde_json::from_str::<StripeInput>(json).unwrap().parse();
        let change = parse(r#"{"secret_key":"sk_test_4eC39HqLyjWDarjtT1zdp7dc","webhook_secret":"whsec_abc123"}"#).unwrap();
        let keys = change.applied_to(StripeKeys::default());
        assert!(keys.configured());
        let shown = format!("{keys:?} {change:?}");
        assert!(!shown.contains("4eC39") && !shown.contains("abc123"), "{shown}");
        assert_eq!(format!("{:?}", serde_json::from_str::<StripeInput>(r#"{"secret_key":"sk_test_hidden"}"#).unwrap()), "StripeInput(<hidden>)");

        let only_key = parse(r#"{"secret_key":"sk_test_4eC39HqLyjWDarjtT1zdp7dc"}"#).unwrap();
        assert!(!only_key.applied_to(StripeKeys::default()).configured());
        assert!(only_key.applied_to(keys.clone()).configured(), "the other key is kept");
        assert_eq!(parse("null").unwrap().applied_to(keys.clone()), StripeKeys::default());
        assert_eq!(parse(r#"{"webhook_secret":null}"#).unwrap().applied_to(keys.clone()).webhook_secret, None);

        for (json, field, secret) in [
            (r#"{"secret_key":"pk_test_4eC39HqLyjWDarjtT1zdp7dc"}"#, "stripe.secret_key", "4eC39"),
            (r#"{"secret_key":"sk_test_with space"}"#, "stripe.secret_key", "with space"),
            (r#"{"secret_key":"whsec_mixedup"}"#, "stripe.secret_key", "mixedup"),
            (r#"{"webhook_secret":"sk_test_mixedup2"}"#, "stripe.webhook_secret", "mixedup2"),
            (r#"{"webhook_secret":12345678}"#, "stripe.webhook_secret", "12345678"),
            (r#"{"secret":"sk_test_4eC39HqLyjWDarjtT1zdp7dc"}"#, "stripe.secret", "4eC39"),
            (r#""sk_test_4eC39HqLyjWDarjtT1zdp7dc""#, "stripe", "4eC39"),
        ] {
            let e = parse(json).unwrap_err();
            assert_eq!(e.field, field, "{json}");
            assert!(!e.to_string().contains(secret), "{e}");
        }
    }

    #[test]
    fn events_name_their_payment_intent_and_what_happened() {
        let body = br#"{"id":"evt_1","type":"payment_intent.payment_failed","data":{"object":{"object":"payment_intent","id":"pi_1","status":"requires_payment_method","amount":2500,"currency":"usd","metadata":{"top_up":"0123456789abcdef01234567"},"last_payment_error":{"code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."}}}}"#;
        let event = Event::parse(body).unwrap();
        let (pi, outcome) = event.outcome().unwrap();
        assert_eq!((pi.id.as_str(), pi.amount, pi.top_up.as_deref()), ("pi_1", 2500, Some("0123456789abcdef01234567")));
        assert_eq!(
            outcome,
            Outcome::Failed(PaymentError {
                code: Some("card_declined".into()),
                decline_code: Some("generic_decline".into()),
                message: Some("Your card was declined.".into())
            })
        );
        let other = Event::parse(br#"{"id":"evt_2","type":"charge.refunded","data":{"object":{"object":"charge","id":"ch_1"}}}"#).unwrap();
        assert_eq!(other.outcome(), None);
        assert!(Event::parse(b"not json").is_err());
        assert!(Event::parse(br#"{"type":"payment_intent.succeeded"}"#).is_err());
    }

    #[test]
    fn stripe_takes_dollars_and_euros_but_not_every_iso_currency() {
        assert!(accepts_currency(Currency::USD));
        assert!(accepts_currency(Currency::parse("eur").unwrap()));
        assert!(!accepts_currency(Currency::parse("irr").unwrap()));
        assert!(!accepts_currency(Currency::parse("kpw").unwrap()));
    }
}
