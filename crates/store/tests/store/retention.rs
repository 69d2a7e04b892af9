//! Retention on SQLite and PostgreSQL, with the store's clock moved by hand: expired meter
//! values, events and delivery attempts go in bounded batches, and rows still needed stay.

use std::sync::Arc;

use domain::page::Page;
use domain::user::UserInput;
use domain::webhook::{OwnAddresses, Secret, WebhookInput};
use domain::webhook_delivery::{DeliveryAttempt, Slots, Verdict};
use store::testing::{ManualClock, TestDatabase, backends, chargestation, organization};
use store::{Clock, ENERGY_REGISTER, FinishedAttempt, Purged, Retention, Sample, Store, SystemClock};
use store::{TransactionStart, TransactionStop};

const ALL: Page = Page { limit: 100, page: 1 };
const DAY_MS: i64 = 24 * 3600 * 1000;

/// Purges one row of each kind at a time until nothing is left to purge; answers the totals.
async fn purge(store: &Store) -> Purged {
    let mut total = Purged::default();
    loop {
        let round = store.purge_expired(&Retention::default(), 1).await.unwrap();
        assert!(round.meter_values <= 1 && round.events <= 1 && round.delivery_attempts <= 1, "{round:?}");
        total.meter_values += round.meter_values;
        total.events += round.events;
        total.delivery_attempts += round.delivery_attempts;
        if !round.full(1) {
            return total;
        }
    }
}

#[tokio::test]
async fn expired_rows_go_in_batches_and_needed_ones_stay() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let clock = Arc::new(ManualClock::new(SystemClock.now()));
        let store = Store::connect(&db.url, clock.clone()).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let cs = chargestation(&store, org, "CP-1").await;

        // Readings of a stopped transaction, of a running one, and of none.
        let sample =
            |wh: &str| Sample { sampled_at: store.now(), measurand: ENERGY_REGISTER.into(), phase: None, context: None, unit: "Wh".into(), value: wh.into() };
        let announce = |_| true;
        let start = |connector_id: u32| TransactionStart {
            ocpp_id: None,
            connector_id,
            id_tag: "CARD".into(),
            meter_start_wh: 0,
            started_at: store.now(),
            reservation_id: None,
        };
        let stopped = store.start_transaction(org, cs.id, &start(1), None).await.unwrap().transaction;
        let running = store.start_transaction(org, cs.id, &start(2), None).await.unwrap().transaction;
        store.record_meter_values(org, cs.id, 1, Some(stopped.transaction_id), &[sample("100")], &announce).await.unwrap();
        store.record_meter_values(org, cs.id, 2, Some(running.transaction_id), &[sample("100")], &announce).await.unwrap();
        store.record_meter_values(org, cs.id, 3, None, &[sample("100")], &announce).await.unwrap();
        let stop = TransactionStop { transaction_id: stopped.transaction_id, meter_stop_wh: 200, stopped_at: store.now(), reason: None };
        store.stop_transaction(org, cs.id, &stop, &[]).await.unwrap();
        assert_eq!(store.row_count("readings").await, 3);

        // Two users' events for an endpoint: one delivered (with its attempt), one still pending.
        let input = WebhookInput { url: Some("https://hooks.example.com".into()), events: Some(vec!["user.created".into()]), ..WebhookInput::default() };
        let endpoint = input.create(store.new_id(), &OwnAddresses::default(), store.now()).unwrap();
        store.create_webhook(org, &endpoint, &Secret::from_key(&[1; 32])).await.unwrap();
        for name in ["Ada", "Grace"] {
            let user = UserInput { firstname: Some(Some(name.into())), ..UserInput::default() }.create(store.new_id(), store.now()).unwrap();
            store.create_user(org, &user).await.unwrap();
            clock.advance_ms(1);
        }
        store.fan_out_events(100).await.unwrap();
        let claimed = store.claim_webhook_deliveries(15_000, &mut Slots::new(1, 1, 1, [])).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let delivered = claimed[0].clone();
        let attempt = DeliveryAttempt {
            id: store.new_id(),
            webhook: endpoint.id,
            delivery: delivered.delivery,
            event: delivered.event.id,
            kind: delivered.event.kind.clone(),
            attempt: 1,
            status: "succeeded".into(),
            response_status: Some(204),
            error: None,
            response_excerpt: Some(String::new()),
            duration_ms: 3,
            next_retry_at: None,
            created_at: store.now(),
        };
        store.finish_webhook_attempts(&[FinishedAttempt { claimed: delivered.clone(), attempt, verdict: Verdict::Delivered }]).await.unwrap();
        let events_before = store.events(org, ALL, &[]).await.unwrap();
        let pending = events_before.iter().find(|e| e.kind == "user.created" && e.id != delivered.event.id).unwrap().id;
        // Written after the fan-out: not yet fanned out when it expires.
        let late = UserInput::default().create(store.new_id(), store.now()).unwrap();
        store.create_user(org, &late).await.unwrap();
        let not_fanned_out = store.events(org, ALL, &[]).await.unwrap()[0].id;

        // Nothing has expired yet.
        clock.advance_ms(29 * DAY_MS);
        assert_eq!(purge(&store).await, Purged::default(), "{backend:?}");

        // After 30 days: events done with, with their deliveries, and the attempts.
        clock.advance_ms(2 * DAY_MS);
        let purged = purge(&store).await;
        assert_eq!((purged.meter_values, purged.delivery_attempts), (0, 1), "{backend:?}");
        assert_eq!(purged.events, events_before.len() - 1, "{backend:?}: all but the pending one of those fanned out");
        let kept: Vec<_> = store.events(org, ALL, &[]).await.unwrap().into_iter().map(|e| e.id).collect();
        assert_eq!(kept, vec![not_fanned_out, pending], "{backend:?}");
        assert!(store.deliveries_of_event(org, delivered.event.id).await.unwrap().is_empty(), "{backend:?}");
        assert_eq!(store.deliveries_of_event(org, pending).await.unwrap()[0].status, "pending");
        assert!(store.webhook_attempts(org, endpoint.id, ALL, &[]).await.unwrap().is_empty(), "{backend:?}");
        assert_eq!(store.row_count("readings").await, 3, "{backend:?}");

        // After 400 days: the readings, but not those of the running transaction.
        clock.advance_ms(370 * DAY_MS);
        assert_eq!(purge(&store).await.meter_values, 2, "{backend:?}");
        assert_eq!(store.row_count("readings").await, 1, "{backend:?}");
        let left = store.purge_expired(&Retention { meter_values_days: 0, ..Retention::default() }, 10).await.unwrap();
        assert_eq!(left, Purged::default(), "{backend:?}");
        store.close().await;
        db.remove().await;
    }
}
