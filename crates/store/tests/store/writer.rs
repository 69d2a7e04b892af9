//! The group-commit writer: readings of many connections committed together, each answered
//! after its commit, a failing job failing alone, on SQLite and PostgreSQL.

use std::sync::Arc;

use domain::Timestamp;
use domain::page::Page;
use domain::session::Metrics;
use domain::token::TokenInput;
use store::testing::{ManualClock, TestDatabase, backends, chargestation, organization};
use store::{Backend, ENERGY_REGISTER, Readings, Sample, SessionProgress, Store, SystemClock, TransactionStart, Writer};

const CHARGERS: usize = 40;
const READINGS: i64 = 110;

fn sample(at: Timestamp, wh: i64) -> Sample {
    Sample { sampled_at: at, measurand: ENERGY_REGISTER.into(), phase: None, context: None, unit: "Wh".into(), value: wh.to_string() }
}

/// A reading of the register with the power of each phase and in all: five samples, one row.
fn reading(at: Timestamp, wh: i64) -> Vec<Sample> {
    let power = |phase: Option<&str>| Sample {
        measurand: "Power.Active.Import".into(),
        phase: phase.map(str::to_string),
        unit: "W".into(),
        value: "7400".into(),
        ..sample(at, wh)
    };
    vec![sample(at, wh), power(None), power(Some("L1")), power(Some("L2")), power(Some("L3"))]
}

fn cost(wh: i64) -> tariff::Cost {
    tariff::Cost { amount: wh.into(), currency: domain::Currency::USD, breakdown: Vec::new() }
}

fn progress(session: domain::Id, wh: i64, announce: bool, known_updated_at: Timestamp) -> SessionProgress {
    let metrics = Metrics { energy_consumed_wh: wh.into(), energy_period_s: wh, charging_start: Timestamp::from_millis(0) };
    SessionProgress { session, cost: Some(cost(wh)), metrics, announce, known_updated_at }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn readings_of_many_connections_commit_together_and_each_is_answered_after_its_commit() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let token = serde_json::from_str::<TokenInput>(r#"{"physicalId":"CARD"}"#).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_token(org, &token).await.unwrap();
        let mut sessions = Vec::new();
        for i in 0..CHARGERS {
            let cs = chargestation(&store, org, &format!("CP-{i}")).await;
            let start =
                TransactionStart { ocpp_id: None, connector_id: 1, id_tag: "CARD".into(), meter_start_wh: 0, started_at: store.now(), reservation_id: None };
            let t = store.start_transaction(org, cs.id, &start, Some(&token)).await.unwrap().transaction;
            sessions.push((cs.id, t.transaction_id, t.session.unwrap()));
        }
        let writer = Writer::spawn(store.clone());

        // Each charger sends its readings one after another, all chargers at once.
        let mut chargers = Vec::new();
        for &(cs, transaction_id, session) in &sessions {
            let (writer, store) = (writer.clone(), store.clone());
            chargers.push(tokio::spawn(async move {
                let mut known = store.session(org, session).await.unwrap().updated_at;
                for n in 1..=READINGS {
                    let readings = Readings {
                        organization: org,
                        chargestation: cs,
                        connector_id: 1,
                        transaction_id,
                        samples: reading(store.now(), n * 100),
                        received_at: store.now(),
                        progress: progress(session, n * 100, n == READINGS, known),
                    };
                    let written = writer.write(readings).await.unwrap();
                    assert!(written.session_running && !written.changed_elsewhere);
                    known = written.updated_at;
                    // Answered after the commit: the session shows this reading's progress.
                    let shown = store.session(org, session).await.unwrap();
                    assert_eq!(shown.metrics.map(|m| m.energy_consumed_wh), Some((n * 100).into()));
                }
            }));
        }
        for charger in chargers {
            charger.await.unwrap();
        }
        let last = READINGS * 100;
        for &(cs, _, session) in &sessions {
            let shown = store.session(org, session).await.unwrap();
            assert_eq!((shown.cost, shown.status.as_str()), (Some(serde_json::to_value(cost(last)).unwrap()), "started"), "{backend:?}");
            let (_, facts) = store.session_with_facts(org, session).await.unwrap();
            let readings = facts.unwrap().readings;
            assert_eq!((readings.len(), readings.last().map(|r| r.1)), (READINGS as usize, Some(last.into())), "{backend:?}: {cs}");
        }
        // The writer moved readings out of its recent table as it went, a share of the
        // chargestations at a time, and they all read the same.
        let (settled, recent) = (store.row_count("readings").await, store.row_count("recent_readings").await);
        assert_eq!(settled + recent, CHARGERS as i64 * READINGS, "{backend:?}: a row per reading");
        assert!(settled >= 1024 && recent < 4096, "{backend:?}: {settled} in readings, {recent} recent");
        let events = store.events(org, Page { limit: 1000, page: 1 }, &[]).await.unwrap();
        let updates: Vec<_> = events.iter().filter(|e| e.kind == "session.updated").collect();
        assert_eq!(updates.len(), CHARGERS, "{backend:?}: only the readings asked to be announced are");
        assert!(updates.iter().all(|e| e.data["metrics"]["energyConsumed"] == serde_json::json!(last)), "announced with the progress just stored");

        // A session that ended meanwhile keeps its end: the readings are stored, its progress is
        // not, and the writer tells that something else changed it.
        let (cs, transaction_id, session) = sessions[0];
        let before = store.session(org, session).await.unwrap().updated_at;
        let ended = store.end_without_charger(org, session, domain::session::EndedBy::Operator).await.unwrap();
        let late = Readings {
            organization: org,
            chargestation: cs,
            connector_id: 1,
            transaction_id,
            samples: vec![sample(store.now(), 99_999)],
            received_at: store.now(),
            progress: progress(session, 99_999, true, before),
        };
        let written = writer.write(late).await.unwrap();
        assert_eq!((written.session_running, written.changed_elsewhere, written.updated_at), (false, true, ended.updated_at), "{backend:?}");
        let shown = store.session(org, session).await.unwrap();
        assert_eq!((shown.status, shown.metrics), (ended.status, ended.metrics), "{backend:?}");

        // One job that cannot be written fails alone, whatever batch it shares: its register
        // value ends in a NUL character, which PostgreSQL's text cannot hold (SQLite's can, and
        // stores it). The others know an
        // older `updatedAt`: their progress is stored all the same and they are told that
        // something else changed their session.
        let mut jobs = Vec::new();
        for (i, &(cs, transaction_id, session)) in sessions.iter().enumerate().skip(1) {
            let mut samples = vec![sample(store.now(), last + 1)];
            if i == 5 {
                samples[0].value.push('\0');
            }
            let readings = Readings {
                organization: org,
                chargestation: cs,
                connector_id: 1,
                transaction_id,
                samples,
                received_at: store.now(),
                progress: progress(session, last + 1, false, Timestamp::from_millis(1)),
            };
            let writer = writer.clone();
            jobs.push(tokio::spawn(async move { writer.write(readings).await }));
        }
        let fails = backend == Backend::Postgres;
        for (i, job) in jobs.into_iter().enumerate() {
            match job.await.unwrap() {
                Ok(written) => assert!((i + 1 != 5 || !fails) && written.session_running && written.changed_elsewhere, "{backend:?}: job {}", i + 1),
                Err(_) => assert_eq!((i + 1, fails), (5, true), "{backend:?}"),
            }
        }
        let shown = store.session(org, sessions[1].2).await.unwrap();
        assert_eq!(shown.metrics.map(|m| m.energy_consumed_wh), Some((last + 1).into()), "{backend:?}");
        store.close().await;
        db.remove().await;
    }
}

/// A running session's progress is kept beside its document: a change of the document made
/// after a reading keeps that reading's cost, and a reading after the change shows its own
/// without undoing the change.
#[tokio::test]
async fn progress_and_changes_of_the_session_keep_each_other() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let clock = Arc::new(ManualClock::new(Timestamp::from_millis(1_767_225_600_000)));
        let store = Store::connect(&db.url, clock.clone()).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let token = serde_json::from_str::<TokenInput>(r#"{"physicalId":"CARD"}"#).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_token(org, &token).await.unwrap();
        let cs = chargestation(&store, org, "CP-1").await.id;
        let start =
            TransactionStart { ocpp_id: None, connector_id: 1, id_tag: "CARD".into(), meter_start_wh: 0, started_at: store.now(), reservation_id: None };
        let t = store.start_transaction(org, cs, &start, Some(&token)).await.unwrap().transaction;
        let session = t.session.unwrap();
        let writer = Writer::spawn(store.clone());
        let readings = |wh: i64, known| Readings {
            organization: org,
            chargestation: cs,
            connector_id: 1,
            transaction_id: t.transaction_id,
            samples: vec![sample(store.now(), wh)],
            received_at: store.now(),
            progress: progress(session, wh, false, known),
        };

        // Another chargestation's message, noted without waiting, is written no later than
        // the readings queued after it.
        let quiet = chargestation(&store, org, "CP-2").await.id;
        assert_eq!(store.chargestation(org, quiet).await.unwrap().last_message_at, None, "{backend:?}");
        writer.heard(quiet);
        let known = store.session(org, session).await.unwrap().updated_at;
        let first = writer.write(readings(100, known)).await.unwrap();
        assert!(first.session_running && !first.changed_elsewhere, "{backend:?}");
        assert_eq!(store.chargestation(org, quiet).await.unwrap().last_message_at, Some(store.now()), "{backend:?}");
        let shown = store.session(org, session).await.unwrap();
        assert_eq!((shown.cost, shown.updated_at), (Some(serde_json::to_value(cost(100)).unwrap()), first.updated_at), "{backend:?}");

        clock.advance_ms(1000);
        assert!(store.request_stop(org, session, "test").await.unwrap());
        let changed = store.session(org, session).await.unwrap();
        assert!(changed.stop_requested.is_some(), "{backend:?}");
        assert_eq!(changed.metrics.map(|m| m.energy_consumed_wh), Some(100.into()), "{backend:?}: the change keeps the reading's progress");
        assert!(store.session_changed_since(session, first.updated_at).await.unwrap(), "{backend:?}");
        assert!(!store.session_changed_since(session, changed.updated_at).await.unwrap(), "{backend:?}");

        clock.advance_ms(1000);
        let second = writer.write(readings(250, first.updated_at)).await.unwrap();
        assert!(second.session_running && second.changed_elsewhere, "{backend:?}: the writer tells of the change");
        let shown = store.session(org, session).await.unwrap();
        assert_eq!(shown.metrics.map(|m| m.energy_consumed_wh), Some(250.into()), "{backend:?}");
        assert!(shown.stop_requested.is_some(), "{backend:?}: the reading does not undo the change");

        // A chargestation's last message time is kept to the second: a message less than a
        // second after the stored time leaves it, a later one moves it.
        let noted = store.chargestation(org, quiet).await.unwrap().last_message_at.unwrap();
        let mut known = second.updated_at;
        for (after_ms, shown) in [(999, noted), (1000, Timestamp::from_millis(noted.millis() + 1000))] {
            clock.advance_ms(after_ms - (store.now().millis() - noted.millis()));
            writer.heard(quiet);
            known = writer.write(readings(300 + after_ms, known)).await.unwrap().updated_at;
            assert_eq!(store.chargestation(org, quiet).await.unwrap().last_message_at, Some(shown), "{backend:?}: {after_ms} ms later");
        }
        store.close().await;
        db.remove().await;
    }
}

/// A reading keeps the charger's stamp and the time Joule received it. A session's facts count
/// it at the earlier of the two (a charger's clock may be ahead of Joule's), and readings of one
/// time by their value, whatever order they were written in.
#[tokio::test]
async fn readings_count_no_later_than_joule_received_them() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let t0 = Timestamp::from_millis(1_767_225_600_000);
        let at = |s: i64| Timestamp::from_millis(t0.millis() + s * 1000);
        let clock = Arc::new(ManualClock::new(t0));
        let store = Store::connect(&db.url, clock.clone()).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let token = serde_json::from_str::<TokenInput>(r#"{"physicalId":"CARD"}"#).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_token(org, &token).await.unwrap();
        let cs = chargestation(&store, org, "CP-1").await.id;
        let start = TransactionStart { ocpp_id: None, connector_id: 1, id_tag: "CARD".into(), meter_start_wh: 0, started_at: t0, reservation_id: None };
        let t = store.start_transaction(org, cs, &start, Some(&token)).await.unwrap().transaction;
        let session = t.session.unwrap();
        let writer = Writer::spawn(store.clone());
        let mut known = store.session(org, session).await.unwrap().updated_at;
        // (stamped, received, Wh): an hour ahead of Joule; then two of one time, the higher first.
        for (stamped, received, wh) in [(3600, 1, 200), (2, 3, 400), (2, 4, 300)] {
            clock.advance_ms(at(received).millis() - store.now().millis());
            let readings = Readings {
                organization: org,
                chargestation: cs,
                connector_id: 1,
                transaction_id: t.transaction_id,
                samples: vec![sample(at(stamped), wh)],
                received_at: at(received),
                progress: progress(session, wh, false, known),
            };
            known = writer.write(readings).await.unwrap().updated_at;
        }
        let stored: Vec<_> = store.stored_readings(cs).await.into_iter().map(|r| (r.sampled_at, r.created_at)).collect();
        assert_eq!(stored, [(at(2).millis(), at(3).millis()), (at(2).millis(), at(4).millis()), (at(3600).millis(), at(1).millis())], "{backend:?}");
        let facts = store.running_session_facts(org, cs, t.transaction_id).await.unwrap().unwrap();
        assert_eq!(facts.readings, [(at(1), 200.into()), (at(2), 300.into()), (at(2), 400.into())], "{backend:?}");
        store.close().await;
        db.remove().await;
    }
}
