//! Stripe's wire format, without the I/O: form-encoded parameters (nested keys in brackets),
//! the PaymentIntent a top-up asks for, Stripe's error JSON, and which failures a retry with
//! the same `Idempotency-Key` may cure.

use domain::Id;
use domain::stripe::{PaymentError, PaymentIntent};
use domain::top_up::{TopUp, TopUpKind};
use serde_json::Value;

/// Stripe's `application/x-www-form-urlencoded` body: `metadata[top_up]=...` for nested keys.
pub fn form(params: &[(String, String)]) -> String {
    let mut out = url::form_urlencoded::Serializer::new(String::new());
    for (key, value) in params {
        out.append_pair(key, value);
    }
    out.finish()
}

fn pair(key: &str, value: impl ToString) -> (String, String) {
    (key.to_string(), value.to_string())
}

/// The PaymentIntent of a top-up: its amount and currency, cards only, metadata naming the
/// top-up (what Stripe's events are matched by), and for `manual_with_payment_method` the
/// saved payment method, confirmed at once off-session.
pub fn payment_intent(top_up: &TopUp, organization: Id, customer: Option<&str>) -> Vec<(String, String)> {
    let mut params = vec![
        pair("amount", top_up.amount.0),
        pair("currency", &top_up.currency),
        pair("payment_method_types[0]", "card"),
        pair("metadata[top_up]", top_up.id),
        pair("metadata[wallet]", top_up.wallet),
        pair("metadata[organization]", organization),
    ];
    if top_up.kind == TopUpKind::ManualWithPaymentMethod {
        params.extend(top_up.payment_method.as_ref().map(|pm| pair("payment_method", pm)));
        params.extend(customer.map(|c| pair("customer", c)));
        params.push(pair("confirm", "true"));
        params.push(pair("off_session", "true"));
    }
    params
}

/// Stripe's error answer, `{"error": {"type", "code", "decline_code", "message", "param"}}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StripeApiError {
    pub status: u16,
    /// `card_error`, `invalid_request_error`, `api_error`, `authentication_error`...
    pub kind: Option<String>,
    /// `code`, `decline_code` and `message`.
    pub error: PaymentError,
    pub param: Option<String>,
    /// The PaymentIntent a refused confirmation left behind, when Stripe includes it.
    pub payment_intent: Option<PaymentIntent>,
}

fn text(value: &Value) -> Option<String> {
    value.as_str().map(str::to_string)
}

impl StripeApiError {
    /// Reads an error answer; a body that is not Stripe's error JSON still gives the status.
    pub fn parse(status: u16, body: &[u8]) -> StripeApiError {
        let value: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        let e = &value["error"];
        StripeApiError {
            status,
            kind: text(&e["type"]),
            error: PaymentError::from_json(e).unwrap_or_default(),
            param: text(&e["param"]),
            payment_intent: PaymentIntent::from_json(&e["payment_intent"]),
        }
    }

    /// A refused card: Stripe's `card_error` (HTTP 402).
    pub fn is_card_error(&self) -> bool {
        self.status == 402 || self.kind.as_deref() == Some("card_error")
    }

    /// The organization's key was not accepted (401) or may not do this (403).
    pub fn is_key_refused(&self) -> bool {
        matches!(self.status, 401 | 403) || matches!(self.kind.as_deref(), Some("authentication_error" | "permission_error"))
    }

    /// Stripe's message and code, as Joule passes them on: `Your card was declined. (code
    /// card_declined, decline_code generic_decline)`.
    pub fn explained(&self) -> String {
        let message = self.error.message.as_deref().unwrap_or("Stripe gave no message");
        let mut details: Vec<String> = Vec::new();
        details.extend(self.error.code.as_ref().map(|c| format!("code {c}")));
        details.extend(self.error.decline_code.as_ref().map(|c| format!("decline_code {c}")));
        details.extend(self.param.as_ref().map(|p| format!("param {p}")));
        if details.is_empty() { message.to_string() } else { format!("{message} ({})", details.join(", ")) }
    }
}

/// Whether to send the same request again (with the same `Idempotency-Key`) after this
/// answer, as Stripe's own libraries do: a connection that failed, a 409 (another request
/// with the key in flight), 429 or a 5xx; `Stripe-Should-Retry` overrides.
pub fn should_retry(status: Option<u16>, should_retry_header: Option<&str>) -> bool {
    match should_retry_header {
        Some("true") => return true,
        Some("false") => return false,
        _ => {}
    }
    match status {
        None => true,
        Some(s) => s == 409 || s == 429 || s >= 500,
    }
}

/// Milliseconds before retry `n` (from 1): 500, 1000, 2000, then 2000.
pub fn backoff_ms(n: u32) -> u64 {
    500u64.saturating_mul(1 << n.saturating_sub(1).min(2))
}

#[cfg(test)]
mod tests {
    use domain::top_up::TopUpInput;
    use domain::wallet::Wallet;
    use domain::{Currency, Timestamp};

    use super::*;

    fn top_up(json: serde_json::Value) -> TopUp {
        let wallet = Wallet::new(Id::from_parts(1, [0; 5], 2), Id::from_parts(1, [0; 5], 3), Currency::USD, Timestamp::from_millis(0));
        let mut input = json;
        input["wallet"] = serde_json::json!(wallet.id);
        let parsed = serde_json::from_value::<TopUpInput>(input).unwrap().parse().unwrap();
        parsed.create(Id::from_parts(1, [0; 5], 4), &wallet, Timestamp::from_millis(0), 1000)
    }

    #[test]
    fn forms_encode_nested_keys_and_reserved_characters() {
        let params = vec![pair("metadata[top_up]", "a b&c=d"), pair("amount", 2500)];
        assert_eq!(form(&params), "metadata%5Btop_up%5D=a+b%26c%3Dd&amount=2500");
    }

    #[test]
    fn a_manual_top_up_asks_for_a_card_payment_named_after_it() {
        let t = top_up(serde_json::json!({ "type": "manual", "amount": 2500, "wallet_amount": 3000 }));
        let org = Id::from_parts(1, [0; 5], 9);
        let params = payment_intent(&t, org, None);
        let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!((get("amount"), get("currency"), get("payment_method_types[0]")), (Some("2500"), Some("usd"), Some("card")));
        assert_eq!(get("metadata[top_up]"), Some(t.id.to_string().as_str()));
        assert_eq!(get("metadata[organization]"), Some(org.to_string().as_str()));
        assert_eq!((get("confirm"), get("payment_method")), (None, None), "the driver's app confirms it");
    }

    #[test]
    fn an_off_session_top_up_is_confirmed_at_once_with_its_payment_method() {
        let t = top_up(serde_json::json!({ "type": "manual_with_payment_method", "amount": 2500, "payment_method": "pm_card_visa" }));
        let params = payment_intent(&t, Id::from_parts(1, [0; 5], 9), Some("cus_1"));
        let get = |k: &str| params.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        assert_eq!(
            (get("payment_method"), get("customer"), get("confirm"), get("off_session")),
            (Some("pm_card_visa"), Some("cus_1"), Some("true"), Some("true"))
        );
    }

    #[test]
    fn stripe_errors_keep_their_message_and_codes() {
        let body = br#"{"error":{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined.","payment_intent":{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","amount":2500,"currency":"usd","metadata":{"top_up":"t"}}}}"#;
        let e = StripeApiError::parse(402, body);
        assert!(e.is_card_error() && !e.is_key_refused());
        assert_eq!(e.explained(), "Your card was declined. (code card_declined, decline_code generic_decline)");
        assert_eq!(e.payment_intent.unwrap().id, "pi_1");
        // localstripe answers declines as 402 invalid_request_error: the status decides.
        let fake = StripeApiError::parse(
            402,
            br#"{"error":{"type":"invalid_request_error","code":"card_declined","message":"Your card was declined.","charge":"ch_1"}}"#,
        );
        assert!(fake.is_card_error());
        let invalid = StripeApiError::parse(
            400,
            br#"{"error":{"type":"invalid_request_error","code":"parameter_invalid_integer","param":"amount","message":"Invalid integer"}}"#,
        );
        assert_eq!(invalid.explained(), "Invalid integer (code parameter_invalid_integer, param amount)");
        assert!(StripeApiError::parse(401, br#"{"error":{"type":"authentication_error"}}"#).is_key_refused());
        let garbage = StripeApiError::parse(502, b"<html>bad gateway</html>");
        assert_eq!((garbage.status, garbage.explained()), (502, "Stripe gave no message".to_string()));
    }

    #[test]
    fn retries_follow_stripes_rules() {
        assert!(should_retry(None, None));
        assert!(should_retry(Some(500), None) && should_retry(Some(409), None) && should_retry(Some(429), None));
        assert!(!should_retry(Some(400), None) && !should_retry(Some(402), None) && !should_retry(Some(401), None));
        assert!(!should_retry(Some(500), Some("false")));
        assert!(should_retry(Some(400), Some("true")));
        assert_eq!((1..=4).map(backoff_ms).collect::<Vec<_>>(), [500, 1000, 2000, 2000]);
    }
}
