//! Nodes sharing a database: which node holds which charger, what a node's death changes and
//! what it does not, who looks after which session.

use std::sync::Arc;
use std::time::Duration;

use domain::{Id, Timestamp};
use store::testing::{ShiftedClock, TestDatabase, chargestation, organization};
use store::{Backend, Message, Store, SystemClock};

const LEASE: Duration = Duration::from_secs(5);

async fn node(db: &TestDatabase, clock: Arc<ShiftedClock>) -> Store {
    let store = Store::connect(&db.url, clock).await.expect("connect");
    store.join_nodes(LEASE).await.unwrap();
    store
}

async fn online(store: &Store, org: Id, cs: Id) -> bool {
    store.chargestation(org, cs).await.unwrap().online
}

#[tokio::test]
async fn only_a_dead_nodes_chargers_go_offline_and_a_newer_connection_takes_a_charger_over() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let (a_clock, b_clock) = (Arc::new(ShiftedClock::default()), Arc::new(ShiftedClock::default()));
    let (a, b) = (node(&db, a_clock.clone()).await, node(&db, b_clock.clone()).await);
    assert_eq!(b.live_nodes().await.unwrap().len(), 2);
    let org = organization(&a, "Acme").await;
    let (on_a, on_b, moving) =
        (chargestation(&a, org.id, "CP-A").await.id, chargestation(&a, org.id, "CP-B").await.id, chargestation(&a, org.id, "CP-M").await.id);
    let mut a_hears = a.inbox().await.unwrap().expect("PostgreSQL carries messages between nodes");
    let start = a.now().millis();
    let t = |ms: i64| Timestamp::from_millis(start + ms);

    a.charger_connection(org.id, on_a, true, t(0)).await.unwrap();
    b.charger_connection(org.id, on_b, true, t(0)).await.unwrap();
    a.charger_connection(org.id, moving, true, t(0)).await.unwrap();
    assert_eq!((b.holder_of(on_a).await.unwrap(), a.holder_of(on_b).await.unwrap()), (Some(a.node()), Some(b.node())));

    // The charger connects to B: B holds it, and A is told to close its connection.
    b.charger_connection(org.id, moving, true, t(10)).await.unwrap();
    assert_eq!(a.holder_of(moving).await.unwrap(), Some(b.node()));
    let heard = tokio::time::timeout(Duration::from_secs(10), a_hears.next()).await.expect("told in time").unwrap();
    assert_eq!(heard, Some(Message::Close(moving, t(10))));
    // A's connection then ends, after B's began: the charger stays online, held by B.
    a.charger_connection(org.id, moving, false, t(20)).await.unwrap();
    assert!(online(&a, org.id, moving).await);
    assert_eq!(a.holder_of(moving).await.unwrap(), Some(b.node()));

    // While A's lease runs, nothing of A's is touched.
    assert_eq!(b.bury_dead_nodes().await.unwrap(), 0);
    assert!(online(&b, org.id, on_a).await);
    // A stops renewing (it died); once its lease has run out on B's clock, B buries it: A's
    // own charger goes offline, B's and the one that moved to B stay online.
    b_clock.shift_ms(2 * LEASE.as_millis() as i64);
    b.renew_lease(LEASE).await.unwrap();
    assert_eq!(b.bury_dead_nodes().await.unwrap(), 1);
    assert!(!online(&b, org.id, on_a).await && online(&b, org.id, on_b).await && online(&b, org.id, moving).await);
    assert_eq!(b.holder_of(on_a).await.unwrap(), None);
    assert_eq!(b.live_nodes().await.unwrap(), [b.node()]);
    assert_eq!(b.bury_dead_nodes().await.unwrap(), 0, "buried once");
    // A was only slow: it finds itself off record, and is back on.
    a_clock.shift_ms(2 * LEASE.as_millis() as i64);
    assert!(!a.renew_lease(LEASE).await.unwrap());
    assert!(a.renew_lease(LEASE).await.unwrap());
}

#[tokio::test]
async fn on_sqlite_a_new_node_buries_every_earlier_one_at_once() {
    let db = TestDatabase::fresh(Backend::Sqlite).await;
    let clock = Arc::new(ShiftedClock::default());
    let earlier = node(&db, clock.clone()).await;
    let org = organization(&earlier, "Acme").await;
    let cs = chargestation(&earlier, org.id, "CP-1").await.id;
    earlier.charger_connection(org.id, cs, true, earlier.now()).await.unwrap();
    // A node whose own lease lapsed (it was paused) never buries itself: it renews.
    clock.shift_ms(2 * LEASE.as_millis() as i64);
    assert_eq!(earlier.bury_dead_nodes().await.unwrap(), 0);
    assert!(online(&earlier, org.id, cs).await);
    // The earlier process died; SQLite is one node, so its lease needs no waiting for.
    let next = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
    assert_eq!(next.join_nodes(LEASE).await.unwrap(), 0);
    assert_eq!(next.bury_dead_nodes().await.unwrap(), 1);
    assert!(!online(&next, org.id, cs).await);
    assert_eq!(next.live_nodes().await.unwrap(), [next.node()]);
    assert!(next.inbox().await.unwrap().is_none(), "nobody to hear from");
}

#[tokio::test]
async fn a_routed_call_is_taken_once_and_its_answer_collected_once() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let (a, b) = (node(&db, Arc::default()).await, node(&db, Arc::default()).await);
    let mut b_hears = b.inbox().await.unwrap().unwrap();
    let mut a_hears = a.inbox().await.unwrap().unwrap();
    let (id, cs) = (a.new_id(), a.new_id());
    let payload = serde_json::json!({ "key": ["x".repeat(10_000)] }).to_string();
    a.route_call(id, b.node(), cs, "GetConfiguration", &payload, Duration::from_secs(3)).await.unwrap();
    let wait = |inbox| async move { tokio::time::timeout(Duration::from_secs(10), store::Inbox::next(inbox)).await.expect("told in time").unwrap() };
    assert_eq!(wait(&mut b_hears).await, Some(Message::Call(id)));
    let call = b.take_call(id).await.unwrap().expect("routed here");
    assert_eq!(
        (call.from, call.chargestation, call.action.as_str(), &call.payload, call.timeout),
        (a.node(), cs, "GetConfiguration", &payload, Duration::from_secs(3))
    );
    assert_eq!(b.take_call(id).await.unwrap(), None, "taken once");
    assert_eq!(a.take_call(id).await.unwrap(), None, "only by the node it was routed to");
    b.answer_call(id, call.from, "{\"ok\":{}}").await.unwrap();
    assert_eq!(wait(&mut a_hears).await, Some(Message::Answer(id)));
    assert_eq!(a.collect_answer(id).await.unwrap().as_deref(), Some("{\"ok\":{}}"));
    assert_eq!(a.collect_answer(id).await.unwrap(), None, "collected once");
}

#[tokio::test]
async fn a_session_nobody_holds_is_claimed_by_one_node_until_its_claim_ends() {
    let Some(db) = TestDatabase::postgres().await else { return };
    let (a_clock, b_clock) = (Arc::new(ShiftedClock::default()), Arc::new(ShiftedClock::default()));
    let (a, b) = (node(&db, a_clock.clone()).await, node(&db, b_clock.clone()).await);
    let org = organization(&a, "Acme").await;
    let cs = chargestation(&a, org.id, "CP-1").await.id;
    a.charger_connection(org.id, cs, true, a.now()).await.unwrap();
    let input = serde_json::json!({ "chargestation": cs.to_string(), "connector_id": 1 });
    let connector = serde_json::from_value::<domain::connector::ConnectorInput>(input).unwrap().create(a.new_id(), a.now()).unwrap();
    a.create_connector(org.id, &connector).await.unwrap();
    let new = serde_json::from_value::<domain::session::SessionInput>(serde_json::json!({ "connector": connector.id.to_string() })).unwrap().parse().unwrap();
    let session = a.start_session(org.id, &new).await.unwrap();

    let later = |store: &Store, ms: i64| Timestamp::from_millis(store.now().millis() + ms);
    let claim = |store: Store| async move { store.claim_unstarted_sessions(later(&store, 1), later(&store, 5_000)).await.unwrap() };
    let (first, second) = tokio::join!(claim(a.clone()), claim(b.clone()));
    assert_eq!([first.clone(), second.clone()].concat(), [(org.id, session.id)], "claimed by exactly one node: {first:?} {second:?}");
    assert!(claim(a.clone()).await.is_empty() && claim(b.clone()).await.is_empty(), "until the claim ends");
    b_clock.shift_ms(6_000);
    assert_eq!(claim(b.clone()).await, [(org.id, session.id)], "then by whichever node asks");
}
