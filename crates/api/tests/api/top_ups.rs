//! Stripe top-ups through the API: the organization's write-only keys, top-up validation and
//! refusals, tenancy, and the Stripe webhook endpoint's signature checks and exactly-once
//! credit. What needs a Stripe (a PaymentIntent made and paid) is in the interop tests, against
//! localstripe; here top-ups that Stripe would have made are written through the store.

use domain::Id;
use domain::stripe::WebhookSecret;
use domain::top_up::{DEFAULT_LIFETIME_MS, TopUpInput};
use serde_json::{Value, json};

use crate::app::{Answer, TestApp, on_every_backend};
use crate::idempotency::post_with_key;

pub const SECRET_KEY: &str = "sk_test_joule0123456789abcdef";
pub const WEBHOOK_SECRET: &str = "whsec_joule0123456789abcdef";

/// Sets both Stripe keys of the organization behind `key`.
pub async fn configure_stripe(app: &TestApp, key: &str) {
    let org = app.patch("/v1.1/organization", key, json!({ "stripe": { "secret_key": SECRET_KEY, "webhook_secret": WEBHOOK_SECRET } })).await.ok();
    assert_eq!(org["stripe"], json!({ "configured": true }));
}

#[tokio::test]
async fn stripe_keys_are_write_only() {
    on_every_backend(|app: TestApp| async move {
        let key = app.key().await;
        let org = app.get("/v1.1/organization", &key).await.ok();
        assert_eq!(org["stripe"], json!({ "configured": false }));
        let half = app.patch("/v1.1/organization", &key, json!({ "stripe": { "secret_key": SECRET_KEY } })).await.ok();
        assert_eq!(half["stripe"], json!({ "configured": false }), "both keys are needed");
        configure_stripe(&app, &key).await;
        let shown = app.get("/v1.1/organization", &key).await.ok();
        assert_eq!(shown["stripe"], json!({ "configured": true }));
        // Other changes keep the keys.
        let renamed = app.patch("/v1.1/organization", &key, json!({ "name": "Renamed" })).await.ok();
        assert_eq!(renamed["stripe"], json!({ "configured": true }));

        for (body, field) in [
            (json!({ "stripe": { "secret_key": "pk_test_joule0123456789" } }), "stripe.secret_key"),
            (json!({ "stripe": { "secret_key": "not a key at all" } }), "stripe.secret_key"),
            (json!({ "stripe": { "webhook_secret": "sk_test_joule0123456789" } }), "stripe.webhook_secret"),
            (json!({ "stripe": { "webhook_secret": 42 } }), "stripe.webhook_secret"),
            (json!({ "stripe": { "publishable_key": "pk_test_joule0123456789" } }), "stripe.publishable_key"),
            (json!({ "stripe": "sk_test_joule0123456789" }), "stripe"),
        ] {
            let message = app.patch("/v1.1/organization", &key, body.clone()).await.err(400);
            assert!(message.contains(field) && !message.contains("joule0123456789"), "{body}: {message}");
        }
        assert_eq!(app.get("/v1.1/organization", &key).await.ok()["stripe"], json!({ "configured": true }), "refused changes change nothing");

        let removed = app.patch("/v1.1/organization", &key, json!({ "stripe": null })).await.ok();
        assert_eq!(removed["stripe"], json!({ "configured": false }));

        // No answer, list or event ever shows a key.
        let events = app.get("/v1.1/events?limit=100", &key).await.ok();
        let everything = format!("{events} {}", app.get("/v1.1/organization", &key).await.ok());
        assert!(!everything.contains("joule0123456789"), "{everything}");
        app
    })
    .await;
}

/// A top-up Stripe would have made: stored with its PaymentIntent `pi`, as `POST /v1.1/top_up`
/// stores one when Stripe answers.
async fn stored_top_up(app: &TestApp, org: &str, wallet: &str, amount: i64, wallet_amount: i64, pi: &str) -> String {
    let org: Id = org.parse().unwrap();
    let wallet = app.store.wallet(org, wallet.parse().unwrap()).await.unwrap();
    let input: TopUpInput = serde_json::from_value(json!({ "type": "manual", "wallet": wallet.id, "amount": amount, "wallet_amount": wallet_amount })).unwrap();
    let t = input.parse().unwrap().create(app.store.new_id(), &wallet, app.store.now(), DEFAULT_LIFETIME_MS);
    app.store.create_top_up(org, &t).await.unwrap();
    app.store.attach_payment_intent(org, t.id, pi, Some(&format!("{pi}_secret_abc"))).await.unwrap();
    t.id.to_string()
}

/// A Stripe event about a PaymentIntent, as Stripe serializes one.
fn event(kind: &str, pi: &str, top_up: &str, amount: i64) -> String {
    let failure = if kind == "payment_intent.payment_failed" {
        json!({ "code": "card_declined", "decline_code": "generic_decline", "message": "Your card was declined." })
    } else {
        Value::Null
    };
    let status = if kind == "payment_intent.succeeded" { "succeeded" } else { "requires_payment_method" };
    let body = json!({
        "id": format!("evt_{}", rand_suffix()), "object": "event", "type": kind, "created": now_s(),
        "data": { "object": { "id": pi, "object": "payment_intent", "amount": amount, "currency": "usd", "status": status,
            "metadata": { "top_up": top_up }, "last_payment_error": failure } }
    });
    serde_json::to_string_pretty(&body).unwrap()
}

fn rand_suffix() -> String {
    format!("{:016x}", std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos())
}

fn now_s() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs() as i64
}

fn signature(secret: &str, t: i64, body: &str) -> String {
    domain::stripe::sign(&WebhookSecret::parse(secret).unwrap(), t, body.as_bytes())
}

fn signed(body: &str) -> String {
    let t = now_s();
    format!("t={t},v1={}", signature(WEBHOOK_SECRET, t, body))
}

async fn deliver(app: &TestApp, org: &str, header: Option<&str>, body: &str) -> Answer {
    let mut request = app
        .client
        .post(format!("{}/v1.1/integrations/stripe/{org}/webhook", app.base))
        .header("content-type", "application/json; charset=utf-8")
        .body(body.to_string());
    if let Some(h) = header {
        request = request.header("Stripe-Signature", h);
    }
    app.send(request).await
}

async fn balance(app: &TestApp, key: &str, wallet: &str) -> i64 {
    app.assert_ledger(key, wallet).await.0
}

#[tokio::test]
async fn top_ups_are_validated_then_refused_in_order_and_change_nothing() {
    on_every_backend(|app: TestApp| async move {
        let (_, key) = app.organization(json!({ "name": "Acme" })).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let post = |body: Value| app.post("/v1.1/top_up", &key, body);
        for (body, field) in [
            (json!({ "wallet": wallet, "amount": 2500 }), "type"),
            (json!({ "type": "card", "wallet": wallet, "amount": 2500 }), "type"),
            (json!({ "type": "manual", "wallet": wallet }), "amount"),
            (json!({ "type": "manual", "wallet": wallet, "amount": 0 }), "amount"),
            (json!({ "type": "manual", "wallet": wallet, "amount": -100 }), "amount"),
            (json!({ "type": "manual", "wallet": wallet, "amount": 100_000_000 }), "amount"),
            (json!({ "type": "manual", "wallet": wallet, "amount": 12.5 }), "amount"),
            (json!({ "type": "manual", "wallet": wallet, "amount": 2500, "wallet_amount": 0 }), "wallet_amount"),
            (json!({ "type": "manual", "wallet": wallet, "amount": 2500, "payment_method": "pm_card_visa" }), "payment_method"),
            (json!({ "type": "manual_with_payment_method", "wallet": wallet, "amount": 2500 }), "payment_method"),
            (json!({ "type": "manual_with_payment_method", "wallet": wallet, "amount": 2500, "payment_method": "4242424242424242" }), "payment_method"),
            (json!({ "type": "manual", "wallet": "not-an-id", "amount": 2500 }), "wallet"),
            (json!({ "type": "manual", "wallet": wallet, "amount": 2500, "currency": "usd" }), "currency"),
        ] {
            let message = post(body.clone()).await.err(400);
            assert!(message.contains(field), "{body}: {message}");
        }
        post(json!({ "type": "manual", "wallet": "0123456789abcdef01234567", "amount": 2500 })).await.err(404);
        let (_, stranger) = app.organization(json!({ "name": "Other" })).await;
        let foreign = app.funded_wallet(&stranger, 0).await;
        assert_eq!(post(json!({ "type": "manual", "wallet": foreign, "amount": 2500 })).await.err(404), "Wallet not found");

        let manual = json!({ "type": "manual", "wallet": wallet, "amount": 2500 });
        assert_eq!(post(manual.clone()).await.err(405), "Stripe is not configured for this organization");
        configure_stripe(&app, &key).await;
        let user = app.user(&key).await;
        let rial = app.post(&format!("/v1.1/users/{user}/wallet"), &key, json!({ "currency": "irr" })).await.ok();
        assert_eq!(post(json!({ "type": "manual", "wallet": rial["_id"], "amount": 2500 })).await.err(405), "Stripe does not accept payments in IRR");
        // An organization that moved out of the US keeps its wallets but cannot top them up.
        app.patch("/v1.1/organization", &key, json!({ "country": "DE" })).await.ok();
        assert_eq!(post(manual.clone()).await.err(405), "Top-ups are only available in the US");
        app.patch("/v1.1/organization", &key, json!({ "country": "US" })).await.ok();

        assert_eq!(app.get("/v1.1/top_up", &key).await.ok(), json!([]), "no refusal left a top-up");
        assert!(!app.event_types(&key).await.iter().any(|t| t.starts_with("top_up.")));
        assert_eq!(balance(&app, &key, &wallet).await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn stripe_out_of_reach_is_a_502_and_leaves_a_top_up_waiting_for_its_payment() {
    on_every_backend(|app: TestApp| async move {
        let (_, key) = app.organization(json!({ "name": "Acme" })).await;
        configure_stripe(&app, &key).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let message = app.post("/v1.1/top_up", &key, json!({ "type": "manual", "wallet": wallet, "amount": 2500 })).await.err(502);
        assert_eq!(message, "Stripe could not be reached; try again");
        assert!(!message.contains(SECRET_KEY) && !message.contains(crate::app::UNREACHABLE_STRIPE));
        // Kept, so that Stripe's event still finds it if Stripe did take the request; it
        // expires otherwise. Not announced: it has no PaymentIntent.
        let listed = app.get(&format!("/v1.1/top_up?wallet={wallet}"), &key).await.ok();
        assert_eq!(listed.as_array().unwrap().len(), 1);
        assert_eq!((&listed[0]["status"], &listed[0]["payment_intent"], &listed[0]["client_secret"]), (&json!("created"), &Value::Null, &Value::Null));
        assert!(!app.event_types(&key).await.iter().any(|t| t.starts_with("top_up.")));
        assert_eq!(balance(&app, &key, &wallet).await, 0);
        app
    })
    .await;
}

#[tokio::test]
async fn a_retry_after_stripe_was_out_of_reach_continues_the_same_top_up() {
    on_every_backend(|app: TestApp| async move {
        let (_, key) = app.organization(json!({ "name": "Acme" })).await;
        configure_stripe(&app, &key).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let body = json!({ "type": "manual", "wallet": wallet, "amount": 2500 });
        let with_key = |body: Value| post_with_key(&app, "/v1.1/top_up", &key, "top-up-1", body);
        for _ in 0..3 {
            assert_eq!(with_key(body.clone()).await.err(502), "Stripe could not be reached; try again");
        }
        // One top-up, asked of Stripe again on each retry under its own idempotency key.
        let listed = app.get(&format!("/v1.1/top_up?wallet={wallet}"), &key).await.ok();
        assert_eq!(listed.as_array().unwrap().len(), 1, "{:?}: {listed}", app.backend());
        assert_eq!(listed[0]["status"], "created");
        // The key belongs to that request: another body is refused and makes nothing.
        let other = json!({ "type": "manual", "wallet": wallet, "amount": 9900 });
        assert_eq!(with_key(other).await.err(409), "This Idempotency-Key was already used with a different request");
        assert_eq!(app.get(&format!("/v1.1/top_up?wallet={wallet}"), &key).await.ok().as_array().unwrap().len(), 1);
        app
    })
    .await;
}

#[tokio::test]
async fn top_ups_are_read_and_listed_within_their_organization() {
    on_every_backend(|app: TestApp| async move {
        let (org, key) = app.organization(json!({ "name": "Acme" })).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let other_wallet = app.funded_wallet(&key, 0).await;
        let first = stored_top_up(&app, &org, &wallet, 2500, 3000, "pi_first").await;
        let second = stored_top_up(&app, &org, &other_wallet, 1000, 1000, "pi_second").await;
        let shown = app.get(&format!("/v1.1/top_up/{first}"), &key).await.ok();
        for (field, value) in [
            ("_id", json!(first)),
            ("wallet", json!(wallet)),
            ("type", json!("manual")),
            ("amount", json!(2500)),
            ("wallet_amount", json!(3000)),
            ("currency", json!("usd")),
            ("status", json!("created")),
            ("payment_intent", json!("pi_first")),
            ("client_secret", json!("pi_first_secret_abc")),
        ] {
            assert_eq!(shown[field], value, "{field}: {shown}");
        }
        assert!(shown["user"].is_string() && shown["expiredAt"].is_string() && shown["createdAt"].is_string(), "{shown}");
        let all = app.get("/v1.1/top_up", &key).await.ok();
        let ids: Vec<&str> = all.as_array().unwrap().iter().map(|t| t["_id"].as_str().unwrap()).collect();
        assert_eq!(ids, [second.as_str(), first.as_str()], "newest first");
        let mine = app.get(&format!("/v1.1/top_up?wallet={wallet}&status=created&limit=5"), &key).await.ok();
        assert_eq!(mine.as_array().unwrap().len(), 1);
        assert_eq!(app.get("/v1.1/top_up?status=completed", &key).await.ok(), json!([]));
        assert!(app.get("/v1.1/top_up?wallet=nope", &key).await.err(400).contains("wallet"));
        assert_eq!(app.get("/v1.1/top_up/0123456789abcdef01234567", &key).await.err(404), "Top-up not found");

        let (_, stranger) = app.organization(json!({ "name": "Other" })).await;
        assert_eq!(app.get(&format!("/v1.1/top_up/{first}"), &stranger).await.err(404), "Top-up not found");
        assert_eq!(app.get(&format!("/v1.1/top_up?wallet={wallet}"), &stranger).await.ok(), json!([]));
        app.get("/v1.1/top_up", "jk_0000000000000000_0000").await.err(401);
        app
    })
    .await;
}

#[tokio::test]
async fn a_delivery_changes_nothing_unless_its_signature_holds() {
    on_every_backend(|app: TestApp| async move {
        let (org, key) = app.organization(json!({ "name": "Acme" })).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let top_up = stored_top_up(&app, &org, &wallet, 2500, 2500, "pi_sig").await;
        let body = event("payment_intent.succeeded", "pi_sig", &top_up, 2500);
        // Before the organization has a webhook secret nothing can be believed.
        assert_eq!(deliver(&app, &org, Some(&signed(&body)), &body).await.err(405), "Stripe is not configured for this organization");
        configure_stripe(&app, &key).await;
        let before = app.event_types(&key).await;

        let t = now_s();
        let good = signature(WEBHOOK_SECRET, t, &body);
        let forged = signature("whsec_somebody_else", t, &body);
        let tampered = body.replace("2500", "250000");
        for (header, sent, why) in [
            (None, body.clone(), "missing"),
            (Some(String::new()), body.clone(), "must be"),
            (Some(format!("v1={good}")), body.clone(), "must be"),
            (Some(format!("t={t}")), body.clone(), "no v1"),
            (Some(format!("t={t},v0={good}")), body.clone(), "no v1"),
            (Some(format!("t={t},v1={forged}")), body.clone(), "no v1 signature matches"),
            (Some(format!("t={t},v1={good}")), tampered, "no v1 signature matches"),
            (Some(format!("t={},v1={good}", t + 1)), body.clone(), "no v1 signature matches"),
            // Well past the 300 s either way, so that the seconds this test takes on a busy machine
            // cannot bring them back within it (the exact bounds are domain::stripe's tests).
            (Some(format!("t={},v1={}", t - 330, signature(WEBHOOK_SECRET, t - 330, &body))), body.clone(), "300 seconds"),
            (Some(format!("t={},v1={}", t + 330, signature(WEBHOOK_SECRET, t + 330, &body))), body.clone(), "300 seconds"),
        ] {
            let message = deliver(&app, &org, header.as_deref(), &sent).await.err(400);
            assert!(message.starts_with("Invalid Stripe-Signature") && message.contains(why), "{header:?}: {message}");
            assert!(!message.contains(WEBHOOK_SECRET));
        }
        assert_eq!(deliver(&app, "0123456789abcdef01234567", Some(&signed(&body)), &body).await.err(404), "Organization not found");
        assert_eq!(deliver(&app, "not-an-id", Some(&signed(&body)), &body).await.status.as_u16(), 400);
        assert_eq!(app.get(&format!("/v1.1/top_up/{top_up}"), &key).await.ok()["status"], "created");
        assert_eq!(balance(&app, &key, &wallet).await, 0);
        assert_eq!(app.event_types(&key).await, before, "refused deliveries record nothing");

        // Several v1 entries (a secret being rolled): any one may match.
        let header = format!("t={t},v1={forged},v1={good},v0={forged}");
        let receipt = deliver(&app, &org, Some(&header), &body).await.ok();
        assert_eq!((&receipt["type"], &receipt["applied"]), (&json!("payment_intent.succeeded"), &json!(true)));
        assert_eq!(balance(&app, &key, &wallet).await, 2500);
        // Replayed within the tolerance, it is acknowledged and credits nothing more.
        assert_eq!(deliver(&app, &org, Some(&header), &body).await.ok()["applied"], false);
        assert_eq!(balance(&app, &key, &wallet).await, 2500);
        let ledger = app.get(&format!("/v1.1/wallets/{wallet}/transactions"), &key).await.ok();
        assert_eq!(ledger.as_array().unwrap().len(), 1);
        assert_eq!((&ledger[0]["type"], &ledger[0]["amount"], &ledger[0]["reference"]), (&json!("top_up"), &json!(2500), &json!(top_up)));
        let shown = app.get(&format!("/v1.1/top_up/{top_up}"), &key).await.ok();
        assert_eq!((&shown["status"], &shown["client_secret"]), (&json!("completed"), &Value::Null));
        let after = app.event_types(&key).await;
        assert_eq!(after[before.len()..], ["top_up.completed", "wallet.updated"]);
        let events = app.get("/v1.1/events?limit=5", &key).await.ok();
        let completed = events.as_array().unwrap().iter().find(|e| e["type"] == "top_up.completed").unwrap();
        assert_eq!(completed["data"]["_id"], json!(top_up));
        assert!(completed["data"].get("client_secret").is_none(), "events never carry the client secret");
        app
    })
    .await;
}

#[tokio::test]
async fn only_this_organizations_top_ups_are_touched_and_other_events_are_acknowledged() {
    on_every_backend(|app: TestApp| async move {
        let (org, key) = app.organization(json!({ "name": "Acme" })).await;
        let (other_org, other_key) = app.organization(json!({ "name": "Other" })).await;
        configure_stripe(&app, &key).await;
        configure_stripe(&app, &other_key).await;
        let theirs_wallet = app.funded_wallet(&other_key, 0).await;
        let theirs = stored_top_up(&app, &other_org, &theirs_wallet, 2500, 2500, "pi_theirs").await;
        let wallet = app.funded_wallet(&key, 0).await;
        let mine = stored_top_up(&app, &org, &wallet, 2500, 2500, "pi_mine").await;

        // Signed with this organization's secret, about another organization's top-up.
        let body = event("payment_intent.succeeded", "pi_theirs", &theirs, 2500);
        assert_eq!(deliver(&app, &org, Some(&signed(&body)), &body).await.ok()["applied"], false);
        assert_eq!(app.get(&format!("/v1.1/top_up/{theirs}"), &other_key).await.ok()["status"], "created");
        assert_eq!(balance(&app, &other_key, &theirs_wallet).await, 0);
        // A PaymentIntent nobody here knows, one whose metadata names this top-up but another
        // intent, and one of another amount: acknowledged, nothing changes.
        for body in [
            event("payment_intent.succeeded", "pi_unknown", "0123456789abcdef01234567", 2500),
            event("payment_intent.succeeded", "pi_other", &mine, 2500),
            event("payment_intent.succeeded", "pi_mine", &mine, 99),
        ] {
            assert_eq!(deliver(&app, &org, Some(&signed(&body)), &body).await.ok()["applied"], false, "{body}");
        }
        let unknown =
            json!({ "id": "evt_x", "object": "event", "type": "customer.created", "data": { "object": { "id": "cus_1", "object": "customer" } } }).to_string();
        let receipt = deliver(&app, &org, Some(&signed(&unknown)), &unknown).await.ok();
        assert_eq!(receipt, json!({ "event": "evt_x", "type": "customer.created", "applied": false }));
        let not_json = "this is not an event";
        assert!(deliver(&app, &org, Some(&signed(not_json)), not_json).await.err(400).contains("body"));
        assert_eq!(app.get(&format!("/v1.1/top_up/{mine}"), &key).await.ok()["status"], "created");
        assert_eq!(balance(&app, &key, &wallet).await, 0);

        // A declined card fails the top-up, which can still be paid with another card; then
        // a late or repeated failure changes nothing.
        let failed = event("payment_intent.payment_failed", "pi_mine", &mine, 2500);
        assert_eq!(deliver(&app, &org, Some(&signed(&failed)), &failed).await.ok()["applied"], true);
        let shown = app.get(&format!("/v1.1/top_up/{mine}"), &key).await.ok();
        assert_eq!(
            (&shown["status"], &shown["failure_code"], &shown["failure_message"]),
            (&json!("failed"), &json!("card_declined:generic_decline"), &json!("Your card was declined."))
        );
        assert_eq!(shown["client_secret"], "pi_mine_secret_abc", "the driver may try another card");
        assert_eq!(deliver(&app, &org, Some(&signed(&failed)), &failed).await.ok()["applied"], false);
        let paid = event("payment_intent.succeeded", "pi_mine", &mine, 2500);
        assert_eq!(deliver(&app, &org, Some(&signed(&paid)), &paid).await.ok()["applied"], true);
        assert_eq!(deliver(&app, &org, Some(&signed(&failed)), &failed).await.ok()["applied"], false, "out of order: no effect");
        let shown = app.get(&format!("/v1.1/top_up/{mine}"), &key).await.ok();
        assert_eq!((&shown["status"], &shown["failure_code"]), (&json!("completed"), &Value::Null));
        assert_eq!(balance(&app, &key, &wallet).await, 2500);
        assert_eq!(
            app.event_types(&key).await.iter().filter(|t| t.starts_with("top_up.")).collect::<Vec<_>>(),
            ["top_up.created", "top_up.failed", "top_up.completed"]
        );
        app
    })
    .await;
}

#[tokio::test]
async fn one_event_delivered_many_times_at_once_credits_once() {
    on_every_backend(|app: TestApp| async move {
        let (org, key) = app.organization(json!({ "name": "Acme" })).await;
        configure_stripe(&app, &key).await;
        let wallet = app.funded_wallet(&key, 0).await;
        let top_up = stored_top_up(&app, &org, &wallet, 2000, 2500, "pi_race").await;
        let body = event("payment_intent.succeeded", "pi_race", &top_up, 2000);
        let header = signed(&body);
        let deliveries = (0..12).map(|_| deliver(&app, &org, Some(&header), &body));
        let receipts = futures::future::join_all(deliveries).await;
        let applied = receipts.into_iter().filter(|r| r.status.is_success() && r.body["result"]["applied"] == json!(true)).count();
        assert_eq!(applied, 1, "{:?}", app.backend());
        assert_eq!(balance(&app, &key, &wallet).await, 2500, "wallet_amount, once");
        let types = app.event_types(&key).await;
        assert_eq!(types.iter().filter(|t| *t == "top_up.completed").count(), 1, "{types:?}");
        assert_eq!(types.iter().filter(|t| *t == "wallet.updated").count(), 1, "{types:?}");
        app
    })
    .await;
}
