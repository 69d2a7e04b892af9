//! One storage story, run against SQLite and PostgreSQL: every use case, its postconditions,
//! and the ledger invariant (balance = sum of entries, 0 <= available <= balance) after
//! every step.

use std::sync::Arc;

use domain::chargestation::{Registration, SecurityType};
use domain::connector::ConnectorInput;
use domain::ledger::LedgerError;
use domain::page::Page;
use domain::rate::RateInput;
use domain::wallet::{Adjustment, Wallet};
use domain::{Cents, Currency, Id};
use store::testing::{TestDatabase, backends, chargestation, organization, wallet};
use store::with_claim;
use store::{ChargestationRecord, Filter, IdempotencyStart, Store, StoreError, StoredSecurity, SystemClock};

const ALL: Page = Page { limit: 100, page: 1 };

async fn open(db: &TestDatabase) -> Store {
    Store::connect(&db.url, Arc::new(SystemClock)).await.expect("connect")
}

fn adjustment(amount: i64) -> Adjustment {
    Adjustment { amount: Cents(amount), reason: "test".into() }
}

/// The ledger invariant, read back from the database.
async fn assert_ledger(store: &Store, org: Id, wallet: Id) -> Wallet {
    let stored = store.wallet(org, wallet).await.unwrap();
    assert!(stored.balances().is_valid(), "{stored:?}");
    assert_eq!(store.ledger_sum(wallet).await.unwrap(), stored.balance, "balance is the sum of the entries");
    let entries = store.wallet_transactions(org, wallet, ALL).await.unwrap();
    if let Some(last) = entries.first() {
        assert_eq!(last.balance_after, stored.balance, "the newest entry shows the balance");
    }
    stored
}

async fn event_types(store: &Store, org: Id) -> Vec<String> {
    let mut types: Vec<String> = store.events(org, ALL, &[]).await.unwrap().into_iter().map(|e| e.kind).collect();
    types.reverse();
    types
}

#[tokio::test]
async fn the_storage_story_holds_on_every_backend() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        story(&store).await;
        store.close().await;
        db.remove().await;
    }
}

async fn story(store: &Store) {
    let backend = store.backend();
    let acme = organization(store, "Acme").await;
    let other = organization(store, "Other").await;
    assert_eq!(store.organization(acme.id).await.unwrap(), acme, "{backend:?}");
    assert_eq!(event_types(store, acme.id).await, ["organization.created"]);

    // Users and wallets.
    let w = wallet(store, acme.id).await;
    let view = store.user(acme.id, w.user).await.unwrap();
    assert_eq!(view.wallet.as_ref().map(|x| x.id), Some(w.id));
    assert!(matches!(store.user(other.id, w.user).await, Err(StoreError::NotFound("user"))), "tenant isolation");
    let second = Wallet::new(store.new_id(), w.user, Currency::USD, store.now());
    assert!(matches!(store.create_wallet(acme.id, &second).await, Err(StoreError::Conflict(_))));
    assert!(matches!(store.create_wallet(other.id, &second).await, Err(StoreError::NotFound("user"))));
    assert_eq!(event_types(store, acme.id).await, ["organization.created", "user.created", "wallet.created"]);

    // Adjustments keep the ledger.
    let (after, entry) = store.adjust_wallet(acme.id, w.id, &adjustment(5000)).await.unwrap();
    assert_eq!((after.balance, after.available_balance, entry.balance_after), (Cents(5000), Cents(5000), Cents(5000)));
    assert_ledger(store, acme.id, w.id).await;
    let refused = store.adjust_wallet(acme.id, w.id, &adjustment(-5001)).await;
    assert!(matches!(refused, Err(StoreError::Ledger(LedgerError::InsufficientFunds))), "{refused:?}");
    assert!(matches!(store.adjust_wallet(other.id, w.id, &adjustment(-1)).await, Err(StoreError::NotFound("wallet"))));
    let stored = assert_ledger(store, acme.id, w.id).await;
    assert_eq!(stored.balance, Cents(5000), "a refused debit changes nothing");
    assert_eq!(store.wallet_transactions(acme.id, w.id, ALL).await.unwrap().len(), 1);
    store.adjust_wallet(acme.id, w.id, &adjustment(-5000)).await.unwrap();
    assert_eq!(assert_ledger(store, acme.id, w.id).await.balance, Cents(0));

    // Chargestations, rates and connectors, with references checked per organization.
    let cs = ChargestationRecord {
        id: store.new_id(),
        endpoint: "CP-1".into(),
        protocol: "ocpp1.6".into(),
        location: None,
        connection_url: "ws://127.0.0.1/ocpp/CP-1".into(),
        security: StoredSecurity { kind: SecurityType::None, password_hash: None },
        registration: Registration::Accepted,
        created_at: store.now(),
    };
    let created = store.create_chargestation(acme.id, &cs).await.unwrap();
    assert!(!created.online);
    let duplicate = ChargestationRecord { id: store.new_id(), ..cs.clone() };
    assert!(matches!(store.create_chargestation(other.id, &duplicate).await, Err(StoreError::Conflict(_))), "endpoints are unique per deployment");
    let rate = serde_json::from_str::<RateInput>(r#"{"currency":"USD","price_components":[{"type":"ENERGY","price":0.3}]}"#)
        .unwrap()
        .create(store.new_id(), store.now())
        .unwrap();
    store.create_rate(other.id, &rate).await.unwrap();
    let connector = |n: u32, rate: Option<Id>| {
        let input = serde_json::json!({ "chargestation": cs.id.to_string(), "connector_id": n, "rate": rate.map(|r| r.to_string()) });
        serde_json::from_value::<ConnectorInput>(input).unwrap().create(store.new_id(), store.now()).unwrap()
    };
    assert!(matches!(store.create_connector(acme.id, &connector(1, Some(rate.id))).await, Err(StoreError::NotFound("rate"))), "another organization's rate");
    assert!(matches!(store.create_connector(other.id, &connector(1, None)).await, Err(StoreError::NotFound("chargestation"))));
    store.create_connector(acme.id, &connector(1, None)).await.unwrap();
    assert!(matches!(store.create_connector(acme.id, &connector(1, None)).await, Err(StoreError::Conflict(_))));
    assert_eq!(store.chargestation(acme.id, cs.id).await.unwrap().connectors.len(), 1);
    let listed = store.connectors(acme.id, ALL, &[Filter::Eq("chargestation_id", cs.id.to_string())]).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(store.connectors(other.id, ALL, &[]).await.unwrap().is_empty());

    // Events: every change wrote one, and only for its own organization.
    let types = event_types(store, acme.id).await;
    assert_eq!(types.iter().filter(|t| *t == "wallet.updated").count(), 2, "{types:?}");
    assert!(types.contains(&"chargestation.created".to_string()) && types.contains(&"connector.created".to_string()));
    assert_eq!(event_types(store, other.id).await, ["organization.created", "rate.created"]);
    let first = store.events(acme.id, ALL, &[]).await.unwrap().pop().unwrap();
    assert_eq!(store.event(acme.id, first.id).await.unwrap(), first);
    assert!(matches!(store.event(other.id, first.id).await, Err(StoreError::NotFound("event"))));

    // Idempotency keys.
    let scope = acme.id.to_string();
    const LEASE: i64 = 60_000;
    let claimed = |start: IdempotencyStart| match start {
        IdempotencyStart::New(claim) => claim,
        other => panic!("not claimed: {other:?}"),
    };
    let first = claimed(store.idempotency_start(&scope, "k1", "h1", LEASE).await.unwrap());
    assert_eq!(store.idempotency_start(&scope, "k1", "h1", LEASE).await.unwrap(), IdempotencyStart::InProgress);
    assert!(store.idempotency_finish(&first, 200, r#"{"result":{"api_key":"jk_secret"}}"#).await.unwrap());
    let replay = IdempotencyStart::Replay { status: 200, body: r#"{"result":{"api_key":null}}"#.into() };
    assert_eq!(store.idempotency_start(&scope, "k1", "h1", LEASE).await.unwrap(), replay, "stored without its secret");
    assert_eq!(store.idempotency_start(&scope, "k1", "h2", LEASE).await.unwrap(), IdempotencyStart::Mismatch);
    let theirs = claimed(store.idempotency_start(&other.id.to_string(), "k1", "h2", LEASE).await.unwrap());
    store.idempotency_release(&theirs).await.unwrap();
    claimed(store.idempotency_start(&other.id.to_string(), "k1", "h3", LEASE).await.unwrap());

    // A claim whose lease ended (its node died) is taken over, and the old claim can no longer answer.
    let stale = claimed(store.idempotency_start(&scope, "k2", "h1", 0).await.unwrap());
    let retry = claimed(store.idempotency_start(&scope, "k2", "h1", LEASE).await.unwrap());
    assert!(!store.idempotency_finish(&stale, 200, "{}").await.unwrap(), "the stale claim is fenced off");
    assert!(store.idempotency_finish(&retry, 201, "{}").await.unwrap());
    assert_eq!(store.idempotency_start(&scope, "k2", "h1", LEASE).await.unwrap(), IdempotencyStart::Replay { status: 201, body: "{}".into() });
}

#[tokio::test]
async fn concurrent_adjustments_never_lose_an_update() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        let org = organization(&store, "Acme").await;
        let w = wallet(&store, org.id).await;
        store.adjust_wallet(org.id, w.id, &adjustment(1000)).await.unwrap();
        let commits_before = store.shared_commits().await;
        // 40 debits of 100 on 1000 cents and 20 credits of 7: some debits must be refused, and
        // whichever pass, the balance is what the accepted ones add up to.
        let tasks: Vec<_> = (0..60)
            .map(|i| {
                let store = store.clone();
                let amount = if i % 3 == 0 { 7 } else { -100 };
                tokio::spawn(async move { (amount, store.adjust_wallet(org.id, w.id, &adjustment(amount)).await) })
            })
            .collect();
        let (mut expected, mut refused) = (1000, 0);
        for task in tasks {
            match task.await.unwrap() {
                (amount, Ok(_)) => expected += amount,
                (_, Err(StoreError::Ledger(LedgerError::InsufficientFunds))) => refused += 1,
                (_, Err(e)) => panic!("{backend:?}: {e}"),
            }
        }
        let stored = assert_ledger(&store, org.id, w.id).await;
        assert_eq!(stored.balance, Cents(expected), "{backend:?}");
        assert!(refused >= 29, "{backend:?}: 1140 cents pay for at most 11 debits of 100, yet {refused} were refused");
        // On SQLite the use cases waiting for their turn share commits, the refused ones
        // rolled back to their savepoints without undoing the others.
        if let (Some(before), Some(after)) = (commits_before, store.shared_commits().await) {
            let accepted = 60 - refused;
            assert!(after - before < accepted, "{backend:?}: {} commits for {accepted} accepted adjustments", after - before);
        }
        store.close().await;
        db.remove().await;
    }
}

/// What chargers report: status with late reports ignored, idempotent starts, stops applied
/// once, meter register dips left out.
#[tokio::test]
async fn charger_reports_apply_once_and_in_time_order() {
    use domain::Timestamp;
    use domain::connector::ConnectorStatus;
    use domain::token::{Authorization, TokenInput};
    use store::{ENERGY_REGISTER, Sample, TransactionStart, TransactionStop};

    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        let org = organization(&store, "Acme").await;
        let cs = ChargestationRecord {
            id: store.new_id(),
            endpoint: "CP-9".into(),
            protocol: "ocpp1.6".into(),
            location: None,
            connection_url: "ws://x/ocpp/CP-9".into(),
            security: StoredSecurity { kind: SecurityType::None, password_hash: None },
            registration: Registration::Accepted,
            created_at: store.now(),
        };
        store.create_chargestation(org.id, &cs).await.unwrap();
        let login = store.charger_login("CP-9").await.unwrap().unwrap();
        assert_eq!((login.organization, login.chargestation), (org.id, cs.id));
        assert!(store.charger_login("CP-404").await.unwrap().is_none());

        store.charger_connection(org.id, cs.id, true, Timestamp::from_millis(1_000)).await.unwrap();
        let t = |s: i64| Timestamp::from_millis(1_700_000_000_000 + s * 1000);
        store.record_status(org.id, cs.id, 2, ConnectorStatus::Charging, t(10)).await.unwrap();
        store.record_status(org.id, cs.id, 2, ConnectorStatus::Available, t(5)).await.unwrap();
        store.record_status(org.id, cs.id, 0, ConnectorStatus::Available, t(5)).await.unwrap();
        let shown = store.chargestation(org.id, cs.id).await.unwrap();
        assert!(shown.online, "{backend:?}");
        assert_eq!(shown.connectors.len(), 1, "connector 2 was created, connector 0 was not");
        assert_eq!(shown.connectors[0].status, ConnectorStatus::Charging, "{backend:?}: the older report changed nothing");
        assert_eq!(shown.status, Some(ConnectorStatus::Available));
        store.charger_connection(org.id, cs.id, true, Timestamp::from_millis(2_000)).await.unwrap();
        // A stopping node's ends, together: only an online chargestation of that organization
        // changes, once.
        let offline_events = || async { store.events(org.id, ALL, &[]).await.unwrap().iter().filter(|e| e.kind == "chargestation.offline").count() };
        let before = offline_events().await;
        let at = Timestamp::from_millis(3_000);
        // A connection that ended before the current one was made changes nothing.
        assert_eq!(store.connections_ended(&[(org.id, cs.id, Timestamp::from_millis(1_500))]).await.unwrap(), 0, "{backend:?}");
        let ended = [(store.new_id(), cs.id, at), (org.id, store.new_id(), at), (org.id, cs.id, at), (org.id, cs.id, at)];
        assert_eq!(store.connections_ended(&ended).await.unwrap(), 1, "{backend:?}");
        let shown = store.chargestation(org.id, cs.id).await.unwrap();
        assert_eq!((shown.online, shown.last_disconnect_at), (false, Some(at)));
        assert_eq!(offline_events().await, before + 1, "{backend:?}");
        store.charger_connection(org.id, cs.id, true, Timestamp::from_millis(4_000)).await.unwrap();

        let token = serde_json::from_str::<TokenInput>(r#"{"physicalId":"CARD-1"}"#).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_token(org.id, &token).await.unwrap();
        assert_eq!(store.authorize(org.id, cs.id, "CARD-1").await.unwrap(), Authorization::Accepted);
        assert_eq!(store.authorize(org.id, cs.id, "CARD-2").await.unwrap(), Authorization::Invalid);
        assert!(matches!(store.create_token(org.id, &token).await, Err(StoreError::Conflict(_))));

        let start = TransactionStart { ocpp_id: None, connector_id: 2, id_tag: "CARD-1".into(), meter_start_wh: 1000, started_at: t(20), reservation_id: None };
        let first = store.start_transaction(org.id, cs.id, &start, Some(&token)).await.unwrap().transaction;
        let retried = store.start_transaction(org.id, cs.id, &start, Some(&token)).await.unwrap().transaction;
        assert_eq!(first, retried, "{backend:?}: a retried start is the same transaction");
        let second = store.start_transaction(org.id, cs.id, &TransactionStart { started_at: t(21), ..start.clone() }, None).await.unwrap().transaction;
        assert_eq!(second.transaction_id, first.transaction_id + 1);

        let sample =
            |s: i64, wh: &str| Sample { sampled_at: t(s), measurand: ENERGY_REGISTER.into(), phase: None, context: None, unit: "Wh".into(), value: wh.into() };
        // The running session is priced on all its readings so far (its connector has no rate:
        // metrics, no cost), and announced when the caller says so.
        let announce = |_| true;
        let recorded = store
            .record_meter_values(org.id, cs.id, 2, Some(first.transaction_id), &[sample(30, "1500"), sample(40, "1400"), sample(50, "1600")], &announce)
            .await
            .unwrap();
        assert_eq!(recorded.stored, 2, "{backend:?}: the dip to 1400 is left out");
        assert!(recorded.announced);
        let running = recorded.session.expect("the readings belong to the token's session").session;
        let metrics = running.metrics.expect("priced");
        assert_eq!((running.cost.clone(), metrics.energy_consumed_wh), (None, 600.into()), "{backend:?}");
        let stored = store.session(org.id, running.id).await.unwrap();
        assert_eq!((stored.cost, stored.metrics), (running.cost, running.metrics), "{backend:?}: the running cost is stored");
        let later = store.record_meter_values(org.id, cs.id, 2, Some(first.transaction_id), &[sample(55, "1550")], &announce).await.unwrap();
        assert_eq!((later.stored, later.session.is_none()), (0, true), "{backend:?}: a dip against what is stored is left out too");

        let stop = TransactionStop { transaction_id: first.transaction_id, meter_stop_wh: 1700, stopped_at: t(60), reason: None };
        let stopped = store.stop_transaction(org.id, cs.id, &stop, &[]).await.unwrap().unwrap();
        assert_eq!((stopped.transaction.meter_stop, stopped.transaction.stop_reason.as_deref()), (Some(1700), Some("Local")));
        let ended = stopped.ended.expect("the stop ended the token's session");
        assert_eq!(ended.metrics.map(|m| m.energy_consumed_wh), Some(700.into()), "{backend:?}: billed to the stop's meter");
        let again = store.stop_transaction(org.id, cs.id, &TransactionStop { meter_stop_wh: 9999, ..stop.clone() }, &[]).await.unwrap().unwrap();
        assert_eq!((again.transaction, again.ended), (stopped.transaction, None), "{backend:?}: a repeated stop changes nothing");
        assert!(store.stop_transaction(org.id, cs.id, &TransactionStop { transaction_id: 999, ..stop }, &[]).await.unwrap().is_none());
        let session = store.session(org.id, first.session.expect("a token's transaction is a session")).await.unwrap();
        assert_eq!(
            (session.status, session.token, session.transaction_id),
            (domain::session::SessionStatus::Ended, Some(token.id), Some(first.transaction_id))
        );
        assert_eq!(session.ended_at, Some(t(60)), "{backend:?}: ended at the charger's time");
        assert_eq!(second.session, None, "no token, no session");
        assert_eq!(store.sessions(org.id, ALL, &[]).await.unwrap().len(), 1);
        let listed = store.transactions(org.id, cs.id, ALL).await.unwrap();
        assert_eq!(listed.len(), 2);
        let types = event_types(&store, org.id).await;
        assert!(!types.iter().any(|t| t.starts_with("transaction.")), "{backend:?}: the SPEC names no transaction events; its sessions tell: {types:?}");
        assert_eq!(
            types.iter().filter(|t| t.starts_with("session.")).collect::<Vec<_>>(),
            ["session.created", "session.started", "session.updated", "session.ended"],
            "one update for the stored readings, none for a dip"
        );
        assert!(types.contains(&"chargestation.online".to_string()) && types.contains(&"connector.updated".to_string()));
        store.close().await;
        db.remove().await;
    }
}

/// A use case run for a request that claimed an `Idempotency-Key` stores its answer in its own
/// transaction: the change and the answer commit together, and a change that fails, or whose
/// request lost its claim, leaves neither.
/// Connections, boots and statuses of many chargers are written in one batch; each change
/// applies in order, answers its own outcome and makes its own event, which shows the
/// chargestation as that change left it.
#[tokio::test]
async fn a_batch_of_chargestation_changes_applies_each_in_order() {
    use domain::Timestamp;
    use domain::connector::ConnectorStatus;
    use store::{Applied, Presence, PresenceChange};

    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        let (org, other) = (organization(&store, "Acme").await, organization(&store, "Other").await);
        let (a, b) = (chargestation(&store, org.id, "CP-A").await, chargestation(&store, org.id, "CP-B").await);
        let elsewhere = chargestation(&store, other.id, "CP-C").await;
        let at = |ms: i64| Timestamp::from_millis(1_700_000_000_000 + ms);
        let status = |connector_id, status, ms| Presence::Status { connector_id, status, at: at(ms) };
        let change = |org: Id, cs: Id, change| PresenceChange { organization: org, chargestation: cs, change };
        let node = store.node();
        let changes = [
            change(org.id, a.id, Presence::Connected { at: at(1_000), node }),
            change(org.id, b.id, Presence::Connected { at: at(1_000), node }),
            change(org.id, a.id, Presence::Booted(serde_json::json!({"chargePointVendor": "Volta"}))),
            change(org.id, a.id, status(1, ConnectorStatus::Charging, 10_000)),
            change(org.id, a.id, status(1, ConnectorStatus::Available, 5_000)),
            change(org.id, b.id, status(0, ConnectorStatus::Faulted, 5_000)),
            change(org.id, a.id, Presence::Disconnected { at: at(500), node }),
            change(org.id, elsewhere.id, Presence::Connected { at: at(1_000), node }),
            change(org.id, store.new_id(), Presence::Booted(serde_json::json!({}))),
            change(org.id, b.id, Presence::Disconnected { at: at(2_000), node }),
            change(org.id, a.id, status(3, ConnectorStatus::Preparing, 11_000)),
        ];
        let answers: Vec<_> = store.record_presence(&changes).await.unwrap().into_iter().map(|a| a.map_err(|e| e.to_string())).collect();
        let changed = Ok(Applied::Changed);
        let missing = Err("chargestation not found".to_string());
        assert_eq!(
            answers,
            [
                changed.clone(),
                changed.clone(),
                Ok(Applied::Booted(Registration::Accepted)),
                changed.clone(),
                Ok(Applied::Outdated),
                changed.clone(),
                Ok(Applied::Outdated),
                missing.clone(),
                missing,
                changed.clone(),
                changed,
            ],
            "{backend:?}"
        );

        let shown = store.chargestation(org.id, a.id).await.unwrap();
        assert!(shown.online && shown.boot_info.is_some(), "{backend:?}: {shown:?}");
        let connectors: Vec<_> = shown.connectors.iter().map(|c| (c.connector_id, c.status)).collect();
        assert_eq!(connectors, [(1, ConnectorStatus::Charging), (3, ConnectorStatus::Preparing)], "{backend:?}");
        let shown = store.chargestation(org.id, b.id).await.unwrap();
        assert_eq!((shown.online, shown.status), (false, Some(ConnectorStatus::Faulted)), "{backend:?}");
        assert!(!store.chargestation(other.id, elsewhere.id).await.unwrap().online, "another organization's chargestation is not touched");

        let events = store.events(org.id, ALL, &[]).await.unwrap();
        let kinds: Vec<_> = events
            .iter()
            .rev()
            .filter(|e| e.kind != "chargestation.created")
            .map(|e| (e.kind.as_str(), e.data["_id"].clone(), e.data["online"].clone()))
            .collect();
        let (a_id, b_id) = (serde_json::json!(a.id.to_string()), serde_json::json!(b.id.to_string()));
        assert_eq!(
            kinds.iter().filter(|(kind, ..)| kind.starts_with("chargestation")).cloned().collect::<Vec<_>>(),
            [
                ("chargestation.online", a_id.clone(), serde_json::json!(true)),
                ("chargestation.online", b_id.clone(), serde_json::json!(true)),
                ("chargestation.updated", a_id, serde_json::json!(true)),
                ("chargestation.updated", b_id.clone(), serde_json::json!(true)),
                ("chargestation.offline", b_id, serde_json::json!(false)),
            ],
            "{backend:?}: B's offline came in a later round than its online"
        );
        let connector_events: Vec<_> =
            events.iter().rev().filter(|e| e.object == "connector").map(|e| (e.kind.as_str(), e.data["connector_id"].clone())).collect();
        assert_eq!(
            connector_events,
            [
                ("connector.created", serde_json::json!(1)),
                ("connector.updated", serde_json::json!(1)),
                ("connector.created", serde_json::json!(3)),
                ("connector.updated", serde_json::json!(3)),
            ],
            "{backend:?}"
        );
    }
}

#[tokio::test]
async fn an_answer_commits_with_its_change_or_not_at_all() {
    const LEASE: i64 = 60_000;
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        let org = organization(&store, "Acme").await;
        let w = wallet(&store, org.id).await;
        let scope = org.id.to_string();
        let claim = |key: &'static str, lease: i64| {
            let (store, scope) = (store.clone(), scope.clone());
            async move {
                match store.idempotency_start(&scope, key, "h", lease).await.unwrap() {
                    IdempotencyStart::New(claim) => claim,
                    other => panic!("not claimed: {other:?}"),
                }
            }
        };
        let entries = || async { store.wallet_transactions(org.id, w.id, Page { limit: 100, page: 1 }).await.unwrap().len() };

        let credit = claim("credit", LEASE).await;
        let (credited, entry) = with_claim(credit, store.adjust_wallet(org.id, w.id, &adjustment(500))).await.unwrap();
        let IdempotencyStart::Replay { status: 200, body } = store.idempotency_start(&scope, "credit", "h", LEASE).await.unwrap() else {
            panic!("not answered")
        };
        let stored: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(stored["result"]["wallet"]["balance"], 500, "{backend:?}: {stored}");
        assert_eq!(stored["result"]["transaction"]["_id"], entry.id.to_string());
        assert_eq!(credited.balance, Cents(500));

        // A refused debit wrote nothing, so nothing answered: the claim is still open.
        let debit = claim("debit", LEASE).await;
        assert!(with_claim(debit, store.adjust_wallet(org.id, w.id, &adjustment(-5000))).await.is_err());
        assert_eq!(store.idempotency_start(&scope, "debit", "h", LEASE).await.unwrap(), IdempotencyStart::InProgress);

        // A request that outlived its lease and was taken over cannot commit its change.
        let stale = claim("late", 0).await;
        let retry = claim("late", LEASE).await;
        assert!(matches!(with_claim(stale, store.adjust_wallet(org.id, w.id, &adjustment(700))).await, Err(StoreError::Conflict(_))), "{backend:?}");
        assert_eq!(entries().await, 1, "{backend:?}: the stale request's credit rolled back");
        with_claim(retry, store.adjust_wallet(org.id, w.id, &adjustment(700))).await.unwrap();
        assert_eq!(entries().await, 2);
        assert_eq!(store.wallet(org.id, w.id).await.unwrap().balance, Cents(1200));
        store.close().await;
        db.remove().await;
    }
}

/// Every use case a POST runs answers from its own transaction, so a change made for a
/// request with an `Idempotency-Key` is never without its stored answer; the secret an
/// answer shows once is stored as null.
#[tokio::test]
async fn every_posted_change_stores_its_answer_with_it() {
    use domain::webhook::{OwnAddresses, Secret, WebhookInput};
    use store::{ApiKeyRecord, TransactionStart};

    const LEASE: i64 = 60_000;
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        let org = organization(&store, "Acme").await;
        let scope = org.id.to_string();
        let mut keys = 0;
        // Runs `work` as a request with a new key and answers what the key stored.
        macro_rules! answered {
            ($scope:expr, $work:expr) => {{
                keys += 1;
                let key = format!("k{keys}");
                let IdempotencyStart::New(claim) = store.idempotency_start(&$scope, &key, "h", LEASE).await.unwrap() else { panic!("not claimed") };
                let result = with_claim(claim, $work).await.unwrap();
                let IdempotencyStart::Replay { status: 200, body } = store.idempotency_start(&$scope, &key, "h", LEASE).await.unwrap() else {
                    panic!("{backend:?}: {key} has no stored answer")
                };
                (result, serde_json::from_str::<serde_json::Value>(&body).unwrap()["result"].clone())
            }};
        }

        let new_org = serde_json::from_value::<domain::organization::OrganizationInput>(serde_json::json!({ "name": "Beta" }))
            .unwrap()
            .parse(store.new_id(), store.now())
            .unwrap();
        let key = ApiKeyRecord { id: "k-beta".into(), organization: new_org.id, secret_sha256: "00".repeat(32) };
        let (_, stored) = answered!("admin", store.create_organization(&new_org, &key));
        assert_eq!(
            (&stored["_id"], &stored["name"], &stored["api_key"]),
            (&serde_json::json!(new_org.id), &serde_json::json!("Beta"), &serde_json::Value::Null)
        );
        let another = ApiKeyRecord { id: "k-beta-2".into(), ..key };
        let (_, stored) = answered!("admin", store.add_api_key(&another));
        assert_eq!(stored, serde_json::json!({ "organization": new_org.id, "api_key": null }));

        let input = WebhookInput { url: Some("https://hooks.example.com".into()), events: Some(vec!["*".into()]), ..WebhookInput::default() };
        let endpoint = input.create(store.new_id(), &OwnAddresses::default(), store.now()).unwrap();
        let (_, stored) = answered!(scope, store.create_webhook(org.id, &endpoint, &Secret::from_key(&[1; 32])));
        assert_eq!((&stored["_id"], &stored["secret"]), (&serde_json::json!(endpoint.id), &serde_json::Value::Null));
        let (rotated, stored) = answered!(scope, store.rotate_webhook_secret(org.id, endpoint.id, &Secret::from_key(&[2; 32])));
        let mut expected = serde_json::to_value(&rotated).unwrap();
        expected["secret"] = serde_json::Value::Null;
        assert_eq!(stored, expected);
        let event = store.events(org.id, ALL, &[]).await.unwrap().remove(0);
        let (deliveries, stored) = answered!(scope, store.redeliver_event(org.id, event.id, Some(endpoint.id)));
        assert_eq!(stored, serde_json::to_value(&deliveries).unwrap());

        let cs = store::testing::chargestation(&store, org.id, "CP-1").await;
        let start =
            TransactionStart { ocpp_id: None, connector_id: 1, id_tag: "CARD".into(), meter_start_wh: 0, started_at: store.now(), reservation_id: None };
        let token = serde_json::from_str::<domain::token::TokenInput>(r#"{"physicalId":"CARD"}"#).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_token(org.id, &token).await.unwrap();
        store.start_transaction(org.id, cs.id, &start, Some(&token)).await.unwrap();
        let session = store.sessions(org.id, ALL, &[]).await.unwrap().remove(0);
        let (paused, stored) = answered!(scope, store.pause_or_resume(org.id, session.id, true));
        assert_eq!((stored, paused.status.as_str()), (serde_json::to_value(&paused).unwrap(), "paused"));
        let (ended, stored) = answered!(scope, store.end_without_charger(org.id, session.id, domain::session::EndedBy::Operator));
        assert_eq!((stored, ended.status.as_str()), (serde_json::to_value(&ended).unwrap(), "ended"));
        store.close().await;
        db.remove().await;
    }
}

/// Cards of one user started at once on many chargers (SPEC 5, card sessions): the first holds
/// the whole available balance, every other is refused, and the ledger stays whole.
#[tokio::test]
async fn cards_of_one_user_at_once_hold_at_most_the_wallet() {
    use domain::token::TokenInput;
    use store::TransactionStart;
    const CARDS: usize = 8;
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = open(&db).await;
        let org = organization(&store, "Acme").await;
        let w = wallet(&store, org.id).await;
        store.adjust_wallet(org.id, w.id, &adjustment(5000)).await.unwrap();
        let rate = serde_json::from_str::<RateInput>(r#"{"currency":"USD","price_components":[{"type":"ENERGY","price":0.3}]}"#)
            .unwrap()
            .create(store.new_id(), store.now())
            .unwrap();
        store.create_rate(org.id, &rate).await.unwrap();
        let mut starts = Vec::new();
        for i in 0..CARDS {
            let cs = chargestation(&store, org.id, &format!("CP-{i}")).await;
            let input = serde_json::json!({ "chargestation": cs.id.to_string(), "connector_id": 1, "rate": rate.id.to_string() });
            store
                .create_connector(org.id, &serde_json::from_value::<ConnectorInput>(input).unwrap().create(store.new_id(), store.now()).unwrap())
                .await
                .unwrap();
            let token = serde_json::from_value::<TokenInput>(serde_json::json!({ "physicalId": format!("CARD-{i}"), "user": w.user.to_string() }))
                .unwrap()
                .create(store.new_id(), store.now())
                .unwrap();
            store.create_token(org.id, &token).await.unwrap();
            starts.push((cs.id, token));
        }
        let tasks: Vec<_> = starts
            .into_iter()
            .map(|(cs, token)| {
                let store = store.clone();
                tokio::spawn(async move {
                    let start = TransactionStart {
                        ocpp_id: None,
                        connector_id: 1,
                        id_tag: token.physical_id.clone(),
                        meter_start_wh: 0,
                        started_at: store.now(),
                        reservation_id: None,
                    };
                    store.start_transaction(org.id, cs, &start, Some(&token)).await
                })
            })
            .collect();
        let mut accepted = 0;
        for task in tasks {
            let started = task.await.unwrap().unwrap_or_else(|e| panic!("{backend:?}: {e}"));
            assert_eq!(started.transaction.session.is_some(), !started.blocked, "{backend:?}: a refused card has no session");
            accepted += usize::from(!started.blocked);
        }
        assert_eq!(accepted, 1, "{backend:?}");
        let stored = assert_ledger(&store, org.id, w.id).await;
        assert_eq!((stored.balance, stored.available_balance), (Cents(5000), Cents::ZERO), "{backend:?}");
        let held: Vec<_> = store.sessions(org.id, ALL, &[]).await.unwrap().into_iter().filter_map(|s| s.payment).collect();
        assert_eq!(held.len(), 1, "{backend:?}");
        assert_eq!(held[0].held(), Cents(5000), "{backend:?}");
        store.close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn a_dashboard_sign_in_opens_until_it_expires_or_ends() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let clock = Arc::new(store::testing::ManualClock::new(domain::Timestamp::from_millis(1_800_000_000_000)));
        let store = Store::connect(&db.url, clock.clone()).await.expect("connect");
        let org = organization(&store, "Acme").await;
        let sign_in = |expires_at: i64| store::SignIn {
            organization: org.id,
            organization_name: "Acme".into(),
            api_key_id: "jk_0123456789abcdef".into(),
            form_token: "f".repeat(64),
            expires_at,
        };
        let now = store.now().millis();
        store.create_sign_in("a", &sign_in(now + 1000)).await.unwrap();
        store.create_sign_in("b", &sign_in(now + 5000)).await.unwrap();
        assert_eq!(store.sign_in("a").await.unwrap(), Some(sign_in(now + 1000)), "{backend:?}");
        assert_eq!(store.sign_in("nobody").await.unwrap(), None);
        // Past its expiry a sign-in opens nothing, and the next sign-in clears it away.
        clock.advance_ms(1000);
        assert_eq!(store.sign_in("a").await.unwrap(), None);
        store.create_sign_in("c", &sign_in(now + 9000)).await.unwrap();
        assert!(store.sign_in("b").await.unwrap().is_some());
        store.delete_sign_in("b").await.unwrap();
        assert_eq!(store.sign_in("b").await.unwrap(), None);
        assert!(store.sign_in("c").await.unwrap().is_some());
        store.close().await;
        db.remove().await;
    }
}
