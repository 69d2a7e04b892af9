//! What the client puts on the wire, read by a small HTTP server that records each request
//! and answers as told: the key, the `Idempotency-Key` (the same on every retry), the form
//! body, and Stripe's error JSON read back. (That a real Stripe implementation accepts these
//! requests is shown by the interop tests against localstripe.)

use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use domain::stripe::SecretKey;
use stripe::{Client, StripeError};

#[derive(Clone, Debug)]
struct Seen {
    authorization: String,
    idempotency_key: Option<String>,
    version: Option<String>,
    content_type: Option<String>,
    body: String,
}

/// A server answering each request with the next of `answers` (the last one repeats).
async fn server(answers: Vec<(u16, &'static str)>) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = seen.clone();
    let app = Router::new().route(
        "/v1/payment_intents",
        post(move |headers: HeaderMap, body: Bytes| {
            let log = log.clone();
            let answers = answers.clone();
            async move {
                let header = |name: &str| headers.get(name).map(|v| v.to_str().unwrap().to_string());
                let mut log = log.lock().unwrap();
                log.push(Seen {
                    authorization: header("authorization").unwrap_or_default(),
                    idempotency_key: header("idempotency-key"),
                    version: header("stripe-version"),
                    content_type: header("content-type"),
                    body: String::from_utf8(body.to_vec()).unwrap(),
                });
                let (status, body) = answers[(log.len() - 1).min(answers.len() - 1)];
                (StatusCode::from_u16(status).unwrap(), body)
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (base, seen)
}

const PI: &str = r#"{"id":"pi_1","object":"payment_intent","status":"requires_payment_method","amount":2500,"currency":"usd","client_secret":"pi_1_secret_x","metadata":{"top_up":"t1"}}"#;

fn key() -> SecretKey {
    SecretKey::parse("sk_test_client0123456789").unwrap()
}

fn params() -> Vec<(String, String)> {
    vec![("amount".into(), "2500".into()), ("metadata[top_up]".into(), "t1".into())]
}

#[tokio::test]
async fn requests_carry_the_key_the_idempotency_key_and_a_form() {
    let (base, seen) = server(vec![(200, PI)]).await;
    let client = Client::new(&format!("{base}/"), Duration::from_secs(5), 2);
    let pi = client.create_payment_intent(&key(), &params(), "joule-top-up-t1").await.unwrap();
    assert_eq!((pi.id.as_str(), pi.client_secret.as_deref(), pi.top_up.as_deref()), ("pi_1", Some("pi_1_secret_x"), Some("t1")));
    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 1);
    assert_eq!(seen[0].authorization, "Bearer sk_test_client0123456789");
    assert_eq!(seen[0].idempotency_key.as_deref(), Some("joule-top-up-t1"));
    assert_eq!(seen[0].version.as_deref(), Some(stripe::API_VERSION));
    assert_eq!(seen[0].content_type.as_deref(), Some("application/x-www-form-urlencoded"));
    assert_eq!(seen[0].body, "amount=2500&metadata%5Btop_up%5D=t1");
}

#[tokio::test]
async fn a_failed_answer_is_retried_with_the_same_key_and_a_refusal_is_not() {
    let (base, seen) = server(vec![(500, r#"{"error":{"type":"api_error"}}"#), (200, PI)]).await;
    let client = Client::new(&base, Duration::from_secs(5), 2);
    client.create_payment_intent(&key(), &params(), "joule-top-up-t1").await.unwrap();
    let keys: Vec<Option<String>> = seen.lock().unwrap().iter().map(|s| s.idempotency_key.clone()).collect();
    assert_eq!(keys, [Some("joule-top-up-t1".to_string()), Some("joule-top-up-t1".to_string())]);

    let declined = r#"{"error":{"type":"card_error","code":"card_declined","decline_code":"generic_decline","message":"Your card was declined."}}"#;
    let (base, seen) = server(vec![(402, declined)]).await;
    let client = Client::new(&base, Duration::from_secs(5), 2);
    match client.create_payment_intent(&key(), &params(), "k").await {
        Err(StripeError::Api(e)) => {
            assert!(e.is_card_error());
            assert_eq!(e.explained(), "Your card was declined. (code card_declined, decline_code generic_decline)");
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(seen.lock().unwrap().len(), 1, "a decline is final");

    let (base, seen) = server(vec![(500, "{}")]).await;
    let client = Client::new(&base, Duration::from_secs(5), 1);
    assert!(matches!(client.create_payment_intent(&key(), &params(), "k").await, Err(StripeError::Api(e)) if e.status == 500));
    assert_eq!(seen.lock().unwrap().len(), 2, "one retry, then the answer");
}

#[tokio::test]
async fn no_answer_is_unreachable_and_names_no_secret() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let client = Client::new(&closed, Duration::from_secs(2), 0);
    let e = client.create_payment_intent(&key(), &params(), "k").await.unwrap_err();
    assert!(matches!(e, StripeError::Unreachable(_)), "{e:?}");
    assert!(!format!("{e} {e:?}").contains("client0123456789"), "{e:?}");
}
