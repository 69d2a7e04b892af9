//! Top-ups on SQLite and PostgreSQL: Stripe keys kept apart from what is shown, a completion
//! that credits once however many settle at once, and expiry claims that one node holds.

use std::sync::Arc;

use domain::ledger::EntryKind;
use domain::organization::{Organization, OrganizationPatch};
use domain::page::Page;
use domain::top_up::{DEFAULT_LIFETIME_MS, TopUp, TopUpInput, TopUpStatus, Transition};
use domain::wallet::Wallet;
use domain::{Id, Timestamp};
use store::testing::{self, ManualClock, TestDatabase, backends, wallet};
use store::{Filter, PaymentFacts, Store, StoreError};

const ALL: Page = Page { limit: 100, page: 1 };
const START: Timestamp = Timestamp::from_millis(1_800_000_000_000);

async fn organization(store: &Store) -> Organization {
    testing::organization(store, "Acme").await
}

async fn top_up(store: &Store, org: Id, wallet: &Wallet, lifetime_ms: i64) -> TopUp {
    let input: TopUpInput =
        serde_json::from_value(serde_json::json!({ "type": "manual", "wallet": wallet.id, "amount": 2500, "wallet_amount": 3000 })).unwrap();
    let top_up = input.parse().unwrap().create(store.new_id(), wallet, store.now(), lifetime_ms);
    store.create_top_up(org, &top_up).await.unwrap();
    top_up
}

async fn each_backend<F, Fut>(test: F)
where
    F: Fn(Store, Arc<ManualClock>) -> Fut,
    Fut: std::future::Future<Output = ()>,
{
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let clock = Arc::new(ManualClock::new(START));
        let store = Store::connect(&db.url, clock.clone()).await.expect("connect");
        test(store.clone(), clock).await;
        store.close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn stripe_keys_are_kept_apart_from_what_is_shown() {
    each_backend(|store, _| async move {
        let org = organization(&store).await;
        assert!(!store.stripe_keys(org.id).await.unwrap().configured());
        let patch = |json: serde_json::Value| serde_json::from_value::<OrganizationPatch>(json).unwrap();
        let update = patch(serde_json::json!({ "stripe": { "secret_key": "sk_test_shh0123456789" } })).apply(&org, store.now()).unwrap();
        let half = store.update_organization_settings(&update).await.unwrap();
        assert!(!half.stripe.configured, "a secret key alone is not enough");
        let update = patch(serde_json::json!({ "name": "Acme 2", "stripe": { "webhook_secret": "whsec_shh9876543210" } })).apply(&half, store.now()).unwrap();
        let full = store.update_organization_settings(&update).await.unwrap();
        assert!(full.stripe.configured);
        assert_eq!(store.organization(org.id).await.unwrap(), full);
        let keys = store.stripe_keys(org.id).await.unwrap();
        assert_eq!(keys.secret_key.unwrap().expose(), "sk_test_shh0123456789");
        assert_eq!(keys.webhook_secret.unwrap().expose(), "whsec_shh9876543210");
        // A change that does not name the keys keeps them.
        store.update_organization(&Organization { name: "Acme 3".into(), ..full.clone() }).await.unwrap();
        assert!(store.stripe_keys(org.id).await.unwrap().configured());
        let events = store.events(org.id, ALL, &[]).await.unwrap();
        let shown = serde_json::to_string(&events).unwrap();
        assert!(!shown.contains("shh"), "events never carry a key: {shown}");
        let cleared = store.update_organization_settings(&patch(serde_json::json!({ "stripe": null })).apply(&full, store.now()).unwrap()).await.unwrap();
        assert!(!cleared.stripe.configured);
        assert_eq!(store.stripe_keys(org.id).await.unwrap(), Default::default());
        assert!(matches!(store.stripe_keys(store.new_id()).await, Err(StoreError::NotFound(_))));
    })
    .await;
}

#[tokio::test]
async fn concurrent_completions_credit_the_wallet_once() {
    each_backend(|store, _| async move {
        let org = organization(&store).await;
        let w = wallet(&store, org.id).await;
        let t = top_up(&store, org.id, &w, DEFAULT_LIFETIME_MS).await;
        assert_eq!(store.top_up(org.id, t.id).await.unwrap().top_up, t);
        let attached = store.attach_payment_intent(org.id, t.id, "pi_123", Some("pi_123_secret_abc")).await.unwrap();
        assert_eq!((attached.top_up.payment_intent.as_deref(), attached.client_secret.as_deref()), (Some("pi_123"), Some("pi_123_secret_abc")));
        let again = store.attach_payment_intent(org.id, t.id, "pi_123", Some("pi_123_secret_abc")).await.unwrap();
        assert_eq!(again, attached, "attaching twice changes nothing");

        let settles = (0..8).map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.settle_top_up(org.id, t.id, Transition::Complete, &PaymentFacts::default()).await.unwrap() })
        });
        let mut changed = 0;
        for settled in settles {
            let settled = settled.await.unwrap();
            assert_eq!(settled.top_up.top_up.status, TopUpStatus::Completed);
            assert_eq!(settled.top_up.client_secret, None, "a completed top-up shows no secret");
            if settled.changed {
                changed += 1;
                let (wallet, entry) = settled.credit.unwrap();
                assert_eq!((wallet.balance.0, entry.kind, entry.amount.0, entry.reference), (3000, EntryKind::TopUp, 3000, Some(t.id.to_string())));
            } else {
                assert!(settled.credit.is_none());
            }
        }
        assert_eq!(changed, 1, "{:?}", store.backend());
        // Late and repeated events change nothing.
        for transition in [Transition::Fail, Transition::Expire, Transition::Complete] {
            let facts = PaymentFacts { failure_code: Some("card_declined".into()), ..PaymentFacts::default() };
            assert!(!store.settle_top_up(org.id, t.id, transition, &facts).await.unwrap().changed);
        }
        let stored = store.wallet(org.id, w.id).await.unwrap();
        assert_eq!((stored.balance.0, stored.available_balance.0), (3000, 3000));
        assert_eq!(store.ledger_sum(w.id).await.unwrap(), stored.balance);
        let mut types: Vec<String> = store.events(org.id, ALL, &[]).await.unwrap().into_iter().map(|e| e.kind).collect();
        types.reverse();
        assert_eq!(types[types.len() - 3..], ["top_up.created", "top_up.completed", "wallet.updated"]);

        // Another organization sees none of it.
        let other = organization(&store).await;
        assert!(matches!(store.top_up(other.id, t.id).await, Err(StoreError::NotFound(_))));
        assert!(matches!(store.settle_top_up(other.id, t.id, Transition::Complete, &PaymentFacts::default()).await, Err(StoreError::NotFound(_))));
        assert_eq!(store.top_up_paid_by(other.id, Some(t.id), "pi_123").await.unwrap(), None);
        assert_eq!(store.top_up_paid_by(org.id, None, "pi_123").await.unwrap().map(|t| t.id), Some(t.id));
        let listed = store.top_ups(org.id, ALL, &[Filter::Eq("wallet_id", w.id.to_string())]).await.unwrap();
        assert_eq!(listed.len(), 1);
        assert!(store.top_ups(other.id, ALL, &[]).await.unwrap().is_empty());
    })
    .await;
}

#[tokio::test]
async fn a_failed_top_up_can_still_complete_and_an_event_can_name_its_payment_intent_first() {
    each_backend(|store, _| async move {
        let org = organization(&store).await;
        let w = wallet(&store, org.id).await;
        let t = top_up(&store, org.id, &w, DEFAULT_LIFETIME_MS).await;
        let facts = PaymentFacts {
            payment_intent: Some("pi_early".into()),
            failure_code: Some("card_declined".into()),
            failure_message: Some("Your card was declined.".into()),
        };
        let failed = store.settle_top_up(org.id, t.id, Transition::Fail, &facts).await.unwrap();
        assert!(failed.changed);
        assert_eq!((failed.top_up.top_up.payment_intent.as_deref(), failed.top_up.top_up.failure_code.as_deref()), (Some("pi_early"), Some("card_declined")));
        // Stripe's answer, arriving after its event, keeps the intent and adds the secret.
        let attached = store.attach_payment_intent(org.id, t.id, "pi_early", Some("pi_early_secret")).await.unwrap();
        assert_eq!((attached.top_up.status, attached.client_secret.as_deref()), (TopUpStatus::Failed, Some("pi_early_secret")));
        let done = store.settle_top_up(org.id, t.id, Transition::Complete, &PaymentFacts::default()).await.unwrap();
        assert!(done.changed);
        assert_eq!((done.top_up.top_up.failure_code, done.top_up.top_up.failure_message), (None, None));
        assert_eq!(store.wallet(org.id, w.id).await.unwrap().balance.0, 3000);
    })
    .await;
}

#[tokio::test]
async fn expiry_claims_are_held_by_one_node_until_their_lease_ends() {
    each_backend(|store, clock| async move {
        let org = organization(&store).await;
        let w = wallet(&store, org.id).await;
        let open = top_up(&store, org.id, &w, 1000).await;
        let failed = top_up(&store, org.id, &w, 1000).await;
        store.settle_top_up(org.id, failed.id, Transition::Fail, &PaymentFacts::default()).await.unwrap();
        let paid = top_up(&store, org.id, &w, 1000).await;
        store.settle_top_up(org.id, paid.id, Transition::Complete, &PaymentFacts::default()).await.unwrap();
        let later = top_up(&store, org.id, &w, 10_000).await;

        assert!(store.claim_expired_top_ups(60_000, 10).await.unwrap().is_empty(), "nothing is due yet");
        clock.advance_ms(1000);
        let mut claimed: Vec<Id> = store.claim_expired_top_ups(60_000, 10).await.unwrap().into_iter().map(|c| c.top_up.id).collect();
        claimed.sort();
        let mut expected = vec![open.id, failed.id];
        expected.sort();
        assert_eq!(claimed, expected, "created and failed top-ups past their time; not completed ones, nor later ones");
        assert!(store.claim_expired_top_ups(60_000, 10).await.unwrap().is_empty(), "held by the first claim");
        clock.advance_ms(60_000);
        let reclaimed = store.claim_expired_top_ups(60_000, 10).await.unwrap();
        assert_eq!(reclaimed.len(), 3, "the lease ended, and the later one is due too");
        assert!(reclaimed.iter().all(|c| c.organization == org.id && c.secret_key.is_none()));
        for c in &reclaimed {
            assert!(store.settle_top_up(org.id, c.top_up.id, Transition::Expire, &PaymentFacts::default()).await.unwrap().changed);
        }
        clock.advance_ms(120_000);
        assert!(store.claim_expired_top_ups(60_000, 10).await.unwrap().is_empty(), "expired ones are done");
        assert_eq!(store.top_up(org.id, later.id).await.unwrap().top_up.status, TopUpStatus::Expired);
        assert_eq!(store.wallet(org.id, w.id).await.unwrap().balance.0, 3000, "only the paid one credited");
    })
    .await;
}
