//! Migrations keep what an earlier Joule stored, on SQLite and PostgreSQL.

use std::sync::Arc;

use serde_json::json;
use store::testing::{StoredReading, TestDatabase, backends};
use store::{Store, SystemClock};

const ORG: &str = "0000000a0000000000000001";
const CS: &str = "0000000a0000000000000002";

/// A sampled value as migration 0013 stored it: `[measurand, phase (SQL), unit, value]`.
fn sampled(table: &str, id: u32, transaction: &str, at: i64, [measurand, phase, unit, value]: [&str; 4]) -> String {
    format!(
        "INSERT INTO {table} (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, measurand, phase, context, unit, value, created_at) \
         VALUES ('0000000a00000000000001{id:02}', '{ORG}', '{CS}', 1, {transaction}, {at}, '{measurand}', {phase}, 'Sample.Periodic', '{unit}', '{value}', {at})"
    )
}

#[tokio::test]
async fn sampled_values_become_one_reading_per_time() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let setup = [
            format!("INSERT INTO organizations (id, data, created_at, updated_at) VALUES ('{ORG}', '{{}}', 0, 0)"),
            format!(
                "INSERT INTO chargestations (id, organization_id, endpoint, protocol, connection_url, security_type, registration, online, created_at, updated_at) \
                 VALUES ('{CS}', '{ORG}', 'CP-1', 'ocpp1.6', 'ws://x/CP-1', 'none', 'accepted', 0, 0, 0)"
            ),
            sampled("meter_values", 1, "7", 1000, ["Energy.Active.Import.Register", "NULL", "Wh", "1500"]),
            sampled("meter_values", 2, "7", 1000, ["Power.Active.Import", "NULL", "W", "7400"]),
            sampled("meter_values", 3, "7", 1000, ["Power.Active.Import", "'L1'", "W", "2466.6"]),
            sampled("meter_values", 4, "NULL", 2000, ["Voltage", "'L1-N'", "V", "230"]),
            sampled("recent_meter_values", 5, "7", 3000, ["Energy.Active.Import.Register", "NULL", "Wh", "1600"]),
        ];
        db.as_of_migration(13, &setup.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();

        let readings = store.stored_readings(CS.parse().unwrap()).await;
        let power = |phase: Option<&str>, value: &str| {
            let mut sample = json!({ "measurand": "Power.Active.Import", "context": "Sample.Periodic", "unit": "W", "value": value });
            if let Some(phase) = phase {
                sample["phase"] = json!(phase);
            }
            sample
        };
        let register = |value: &str| json!({ "measurand": "Energy.Active.Import.Register", "context": "Sample.Periodic", "unit": "Wh", "value": value });
        let reading = |transaction_id, at, register_wh: Option<&str>, samples| StoredReading {
            transaction_id,
            sampled_at: at,
            register_wh: register_wh.map(str::to_string),
            samples,
            created_at: at,
        };
        let expected = vec![
            reading(Some(7), 1000, Some("1500"), json!([register("1500"), power(None, "7400"), power(Some("L1"), "2466.6")])),
            reading(None, 2000, None, json!([{ "measurand": "Voltage", "phase": "L1-N", "context": "Sample.Periodic", "unit": "V", "value": "230" }])),
            reading(Some(7), 3000, Some("1600"), json!([register("1600")])),
        ];
        assert_eq!(readings, expected, "{backend:?}");
        store.close().await;
        db.remove().await;
    }
}

#[tokio::test]
async fn readings_are_kept_when_their_tables_are_made_again() {
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let reading = |table: &str, id: u32, at: i64, wh: &str| {
            format!(
                "INSERT INTO {table} (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at) \
                 VALUES ('0000000a00000000000001{id:02}', '{ORG}', '{CS}', 1, 7, {at}, '{wh}', \
                 '[{{\"measurand\":\"Energy.Active.Import.Register\",\"unit\":\"Wh\",\"value\":\"{wh}\"}}]', {at})"
            )
        };
        let setup = [
            format!("INSERT INTO organizations (id, data, created_at, updated_at) VALUES ('{ORG}', '{{}}', 0, 0)"),
            format!(
                "INSERT INTO chargestations (id, organization_id, endpoint, protocol, connection_url, security_type, registration, online, created_at, updated_at) \
                 VALUES ('{CS}', '{ORG}', 'CP-1', 'ocpp1.6', 'ws://x/CP-1', 'none', 'accepted', 0, 0, 0)"
            ),
            reading("readings", 1, 1000, "1500"),
            reading("recent_readings", 2, 2000, "1600"),
        ];
        db.as_of_migration(14, &setup.iter().map(String::as_str).collect::<Vec<_>>()).await;
        let store = Store::connect(&db.url, Arc::new(SystemClock)).await.unwrap();

        let readings = store.stored_readings(CS.parse().unwrap()).await;
        let kept: Vec<_> = readings.iter().map(|r| (r.transaction_id, r.sampled_at, r.register_wh.as_deref(), r.created_at)).collect();
        assert_eq!(kept, [(Some(7), 1000, Some("1500"), 1000), (Some(7), 2000, Some("1600"), 2000)], "{backend:?}");
        assert_eq!(readings[1].samples, json!([{ "measurand": "Energy.Active.Import.Register", "unit": "Wh", "value": "1600" }]), "{backend:?}");
        store.close().await;
        db.remove().await;
    }
}
