//! A PATCH is applied to what is stored, under the row's lock: a charger's report that lands
//! while the PATCH is being applied is kept, on SQLite and PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use domain::Timestamp;
use domain::connector::{Connector, ConnectorInput, ConnectorStatus};
use domain::rate::RateInput;
use store::testing::{BACKENDS, TestDatabase, chargestation, organization};
use store::{Store, StoreError, SystemClock};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_connector_patch_keeps_the_status_a_charger_reports_meanwhile() {
    for backend in BACKENDS {
        let db = TestDatabase::fresh(backend).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();
        let org = organization(&store, "Acme").await.id;
        let cs = chargestation(&store, org, "CP-1").await;
        let rate = serde_json::from_str::<RateInput>(r#"{"currency":"USD","price_components":[{"type":"ENERGY","price":0.3}]}"#)
            .unwrap()
            .create(store.new_id(), store.now())
            .unwrap();
        store.create_rate(org, &rate).await.unwrap();
        let input = serde_json::json!({ "chargestation": cs.id.to_string(), "connector_id": 1 });
        let connector = serde_json::from_value::<ConnectorInput>(input).unwrap().create(store.new_id(), store.now()).unwrap();
        store.create_connector(org, &connector).await.unwrap();

        let report = Arc::new(Mutex::new(None));
        let patched = store
            .update_connector(org, connector.id, |stored| {
                // The charger reports while the PATCH holds the connector it read.
                let charger = store.clone();
                let at = Timestamp::from_millis(store.now().millis() + 1);
                let reporting = tokio::spawn(async move { charger.record_status(org, cs.id, 1, ConnectorStatus::Charging, at).await });
                // Without the lock the report would commit now, and this PATCH overwrite it.
                let waited = Instant::now();
                while !reporting.is_finished() && waited.elapsed() < Duration::from_millis(500) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                *report.lock().unwrap() = Some(reporting);
                Ok::<_, StoreError>(Connector { rate: Some(rate.id), ..stored })
            })
            .await
            .unwrap();
        assert_eq!(patched.rate, Some(rate.id));
        let reporting = report.lock().unwrap().take().unwrap();
        reporting.await.unwrap().unwrap();
        let stored = store.connector(org, connector.id).await.unwrap();
        assert_eq!((stored.rate, stored.status), (Some(rate.id), ConnectorStatus::Charging), "{backend:?}: neither change is lost");
        store.close().await;
        db.remove().await;
    }
}
