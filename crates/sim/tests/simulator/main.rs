//! Simulated chargers against a real Joule server started in the test, on both databases: what
//! they do shows up in Joule's store as a real charger's would.

mod joule;

use std::future::Future;
use std::time::Duration;

use domain::connector::ConnectorStatus;
use joule::{DEADLINE, Joule, eventually};
use ocpp16::messages::ChargePointStatus;
use serde_json::{Value, json};
use sim::{Charger, ChargerConfig, ConnectError, Station};
use store::ENERGY_REGISTER;
use store::testing::backends;

async fn on_every_backend<F, Fut>(test: F)
where
    F: Fn(Joule) -> Fut,
    Fut: Future<Output = Joule>,
{
    for backend in backends() {
        test(Joule::start(backend).await).await.stop().await;
    }
}

fn config(joule: &Joule, identity: &str, connectors: u32) -> ChargerConfig {
    ChargerConfig { connectors, meter_interval: Duration::from_millis(200), ..ChargerConfig::new(&joule.url, identity) }
}

async fn wait_for<T>(charger: &Charger, what: &str, check: impl FnMut(&Station) -> Option<T>) -> T {
    tokio::time::timeout(DEADLINE, charger.wait_for(check)).await.unwrap_or_else(|_| panic!("gave up waiting for {what}")).expect("the charger runs")
}

async fn call(joule: &Joule, cs: domain::Id, action: &str, payload: Value) -> Value {
    joule.ocpp.call(cs, action, payload).await.unwrap_or_else(|e| panic!("{action}: {e}"))
}

/// Waits until Joule has connector `connector` of `cs` in `status`.
async fn status_in_joule(joule: &Joule, cs: domain::Id, connector: u32, status: ConnectorStatus) {
    eventually(&format!("connector {connector} {status:?}"), || async {
        let stored = joule.store.chargestation(joule.org, cs).await.unwrap();
        stored.connectors.iter().any(|c| c.connector_id == connector && c.status == status).then_some(())
    })
    .await
}

#[tokio::test]
async fn chargers_boot_and_report_every_connector_available() {
    on_every_backend(|joule| async move {
        let mut chargers = Vec::new();
        let mut ids = Vec::new();
        for i in 1..=5 {
            let identity = format!("SIM-{i}");
            ids.push(joule.chargestation(&identity, None).await);
            chargers.push(Charger::connect(config(&joule, &identity, 2)).await.expect("connects"));
        }
        for (charger, &cs) in chargers.iter().zip(&ids) {
            wait_for(charger, "the boot", |s| s.is_registered().then_some(())).await;
            eventually("online with two Available connectors", || async {
                let stored = joule.store.chargestation(joule.org, cs).await.unwrap();
                let connectors: Vec<(u32, ConnectorStatus)> = stored.connectors.iter().map(|c| (c.connector_id, c.status)).collect();
                let ready = stored.online
                    && stored.status == Some(ConnectorStatus::Available)
                    && connectors == [(1, ConnectorStatus::Available), (2, ConnectorStatus::Available)];
                ready.then_some(stored)
            })
            .await;
            let boot = joule.store.chargestation(joule.org, cs).await.unwrap().boot_info.unwrap();
            assert_eq!((boot["chargePointVendor"].as_str(), boot["chargePointModel"].as_str()), (Some("Joule"), Some("Simulator")));
        }
        for charger in chargers {
            charger.stop().await;
        }
        for cs in ids {
            eventually("offline once stopped", || async { (!joule.store.chargestation(joule.org, cs).await.unwrap().online).then_some(()) }).await;
        }
        joule
    })
    .await;
}

#[tokio::test]
async fn a_remote_start_charges_a_limit_of_zero_suspends_and_a_remote_stop_ends_it() {
    on_every_backend(|joule| async move {
        let cs = joule.chargestation("SIM-TX", None).await;
        joule.token("TAG-1").await;
        let charger = Charger::connect(config(&joule, "SIM-TX", 2)).await.unwrap();
        wait_for(&charger, "the boot", |s| s.is_registered().then_some(())).await;

        let answer = call(&joule, cs, "RemoteStartTransaction", json!({"connectorId": 1, "idTag": "TAG-1"})).await;
        assert_eq!(answer, json!({"status": "Accepted"}));
        let tx = eventually("a transaction", || async { joule.transactions(cs).await.into_iter().next() }).await;
        assert_eq!((tx.connector_id, tx.id_tag.as_str(), tx.stopped_at), (1, "TAG-1", None));
        status_in_joule(&joule, cs, 1, ConnectorStatus::Charging).await;
        let energy = |readings: Vec<joule::Reading>| -> Vec<f64> {
            readings.into_iter().filter(|r| r.transaction_id == Some(tx.transaction_id) && r.measurand == ENERGY_REGISTER).map(|r| r.value).collect()
        };
        let growing = eventually("three meter values", || async { Some(energy(joule.readings(cs).await)).filter(|e| e.len() >= 3) }).await;
        assert!(growing.windows(2).all(|w| w[0] < w[1]), "the register grows while charging: {growing:?}");

        let limit_zero = json!({"connectorId": 1, "csChargingProfiles": {
            "chargingProfileId": 1, "transactionId": tx.transaction_id, "stackLevel": 0, "chargingProfilePurpose": "TxProfile",
            "chargingProfileKind": "Relative",
            "chargingSchedule": {"chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}]}}});
        assert_eq!(call(&joule, cs, "SetChargingProfile", limit_zero).await, json!({"status": "Accepted"}));
        status_in_joule(&joule, cs, 1, ConnectorStatus::SuspendedEVSE).await;
        let suspended_at = energy(joule.readings(cs).await).len();
        let flat =
            eventually("meter values while suspended", || async { Some(energy(joule.readings(cs).await)).filter(|e| e.len() >= suspended_at + 3) }).await;
        let tail = &flat[suspended_at + 1..];
        assert!(tail.windows(2).all(|w| w[0] == w[1]), "no energy at a limit of zero: {flat:?}");

        assert_eq!(call(&joule, cs, "ClearChargingProfile", json!({"id": 1})).await, json!({"status": "Accepted"}));
        status_in_joule(&joule, cs, 1, ConnectorStatus::Charging).await;

        let stop = call(&joule, cs, "RemoteStopTransaction", json!({"transactionId": tx.transaction_id})).await;
        assert_eq!(stop, json!({"status": "Accepted"}));
        let stopped = eventually("the stop", || async { joule.transactions(cs).await.into_iter().find(|t| t.stopped_at.is_some()) }).await;
        assert!(stopped.meter_stop.unwrap() > stopped.meter_start, "{stopped:?}");
        assert_eq!(stopped.stop_reason.as_deref(), Some("Remote"));
        status_in_joule(&joule, cs, 1, ConnectorStatus::Available).await;
        charger.stop().await;
        joule
    })
    .await;
}

#[tokio::test]
async fn a_2_0_1_charger_starts_pauses_resumes_and_stops_a_transaction_with_its_own_id() {
    on_every_backend(|joule| async move {
        let cs = joule.chargestation("SIM-201", None).await;
        joule.token("TAG-2").await;
        let charger = Charger::connect(ChargerConfig { subprotocol: "ocpp2.0.1", ..config(&joule, "SIM-201", 1) }).await.unwrap();
        wait_for(&charger, "the boot", |s| s.is_registered().then_some(())).await;
        let stored = joule.store.chargestation(joule.org, cs).await.unwrap();
        assert_eq!(stored.protocol, "ocpp2.0.1", "the chargestation speaks what the charger offered");
        status_in_joule(&joule, cs, 1, ConnectorStatus::Available).await;

        let start = json!({"evseId": 1, "idToken": {"idToken": "TAG-2", "type": "ISO14443"}, "remoteStartId": 5});
        assert_eq!(call(&joule, cs, "RequestStartTransaction", start).await, json!({"status": "Accepted"}));
        let tx = eventually("a transaction", || async { joule.transactions(cs).await.into_iter().next() }).await;
        let ocpp_id = charger.state().transaction_id(1);
        assert_eq!((tx.ocpp_id.as_deref(), tx.id_tag.as_str(), tx.stopped_at), (Some(ocpp_id.as_str()), "TAG-2", None));
        status_in_joule(&joule, cs, 1, ConnectorStatus::Charging).await;
        let energy = |readings: Vec<joule::Reading>| -> Vec<f64> {
            readings.into_iter().filter(|r| r.transaction_id == Some(tx.transaction_id) && r.measurand == ENERGY_REGISTER).map(|r| r.value).collect()
        };
        let growing = eventually("three readings", || async { Some(energy(joule.readings(cs).await)).filter(|e| e.len() >= 3) }).await;
        assert!(growing.windows(2).all(|w| w[0] < w[1]), "the register grows while charging: {growing:?}");

        let limit_zero = json!({"evseId": 1, "chargingProfile": {
            "id": 1, "transactionId": ocpp_id, "stackLevel": 0, "chargingProfilePurpose": "TxProfile", "chargingProfileKind": "Relative",
            "chargingSchedule": [{"id": 1, "chargingRateUnit": "W", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 0}]}]}});
        assert_eq!(call(&joule, cs, "SetChargingProfile", limit_zero).await, json!({"status": "Accepted"}));
        status_in_joule(&joule, cs, 1, ConnectorStatus::SuspendedEVSE).await;
        assert_eq!(call(&joule, cs, "ClearChargingProfile", json!({"chargingProfileId": 1})).await, json!({"status": "Accepted"}));
        status_in_joule(&joule, cs, 1, ConnectorStatus::Charging).await;
        eventually("two Wh", || async { energy(joule.readings(cs).await).last().filter(|&&wh| wh >= 2.0).map(|_| ()) }).await;

        assert_eq!(call(&joule, cs, "RequestStopTransaction", json!({"transactionId": ocpp_id})).await, json!({"status": "Accepted"}));
        let stopped = eventually("the stop", || async { joule.transactions(cs).await.into_iter().find(|t| t.stopped_at.is_some()) }).await;
        assert!(stopped.meter_stop.unwrap() > stopped.meter_start, "{stopped:?}");
        assert_eq!(stopped.stop_reason.as_deref(), Some("Remote"));
        status_in_joule(&joule, cs, 1, ConnectorStatus::Available).await;
        charger.stop().await;
        joule
    })
    .await;
}

#[tokio::test]
async fn messages_queued_offline_arrive_on_reconnection_with_their_own_times() {
    on_every_backend(|joule| async move {
        let cs = joule.chargestation("SIM-OFF", None).await;
        joule.token("TAG-2").await;
        let charger = Charger::connect(config(&joule, "SIM-OFF", 1)).await.unwrap();
        wait_for(&charger, "the boot", |s| s.is_registered().then_some(())).await;
        call(&joule, cs, "RemoteStartTransaction", json!({"idTag": "TAG-2"})).await;
        let tx = wait_for(&charger, "the transaction id", |s| s.connector(1)?.transaction.as_ref()?.id).await;

        charger.go_offline();
        eventually("offline in Joule", || async { (!joule.store.chargestation(joule.org, cs).await.unwrap().online).then_some(()) }).await;
        let offline_at = joule.store.now().millis();
        // Offline with a transaction running, only meter values join the queue.
        let waiting = charger.state().queued();
        wait_for(&charger, "meter values queued", |s| (s.queued() >= waiting + 3).then_some(())).await;
        charger.unplug(1);
        wait_for(&charger, "the stop queued", |s| (s.connector(1)?.status == ChargePointStatus::Available).then_some(())).await;
        let online_at = joule.store.now().millis();
        assert!(joule.transactions(cs).await[0].stopped_at.is_none(), "nothing reached Joule offline");
        charger.go_online();

        let stopped = eventually("the queued stop", || async { joule.transactions(cs).await.into_iter().find(|t| t.stopped_at.is_some()) }).await;
        assert_eq!(stopped.transaction_id, tx);
        assert_eq!(stopped.stop_reason.as_deref(), Some("EVDisconnected"));
        let stopped_at = stopped.stopped_at.unwrap().millis();
        assert!(offline_at < stopped_at && stopped_at <= online_at, "the stop keeps its time: {offline_at} < {stopped_at} <= {online_at}");
        let queued: Vec<joule::Reading> = joule
            .readings(cs)
            .await
            .into_iter()
            .filter(|r| r.transaction_id == Some(tx) && r.measurand == ENERGY_REGISTER && offline_at < r.sampled_at && r.sampled_at <= online_at)
            .collect();
        assert!(queued.len() >= 3, "the meter values taken offline: {queued:?}");
        assert!(queued.iter().all(|r| r.created_at >= online_at), "stored after the reconnection, stamped before it: {queued:?}");
        status_in_joule(&joule, cs, 1, ConnectorStatus::Available).await;
        eventually("online again", || async { joule.store.chargestation(joule.org, cs).await.unwrap().online.then_some(()) }).await;
        charger.stop().await;
        joule
    })
    .await;
}

#[tokio::test]
async fn every_command_is_answered_as_a_charger_would() {
    on_every_backend(|joule| async move {
        let cs = joule.chargestation("SIM-CMD", None).await;
        let charger = Charger::connect(config(&joule, "SIM-CMD", 2)).await.unwrap();
        wait_for(&charger, "the boot", |s| s.is_registered().then_some(())).await;

        let configuration = call(&joule, cs, "GetConfiguration", json!({"key": ["HeartbeatInterval", "Unknown"]})).await;
        let interval = joule.ocpp.config.heartbeat_interval_s.to_string();
        assert_eq!(configuration["configurationKey"][0]["value"], interval.as_str(), "the interval BootNotification gave");
        assert_eq!(configuration["unknownKey"], json!(["Unknown"]));
        let commands = [
            ("ChangeConfiguration", json!({"key": "MeterValueSampleInterval", "value": "1"}), json!({"status": "Accepted"})),
            ("ClearCache", json!({}), json!({"status": "Accepted"})),
            ("GetLocalListVersion", json!({}), json!({"listVersion": 0})),
            ("SendLocalList", json!({"listVersion": 1, "updateType": "Full"}), json!({"status": "Accepted"})),
            ("ReserveNow", json!({"connectorId": 2, "expiryDate": "2099-01-01T00:00:00Z", "idTag": "TAG", "reservationId": 5}), json!({"status": "Accepted"})),
            ("CancelReservation", json!({"reservationId": 5}), json!({"status": "Accepted"})),
            ("ChangeAvailability", json!({"connectorId": 2, "type": "Inoperative"}), json!({"status": "Accepted"})),
            ("UnlockConnector", json!({"connectorId": 1}), json!({"status": "Unlocked"})),
            ("ClearChargingProfile", json!({}), json!({"status": "Unknown"})),
            ("UpdateFirmware", json!({"location": "https://example.com/fw.bin", "retrieveDate": "2030-01-01T00:00:00Z"}), json!({})),
            ("GetDiagnostics", json!({"location": "ftp://example.com/logs"}), json!({})),
            ("DataTransfer", json!({"vendorId": "com.example"}), json!({"status": "UnknownVendorId"})),
            ("TriggerMessage", json!({"requestedMessage": "StatusNotification", "connectorId": 2}), json!({"status": "Accepted"})),
            ("RemoteStopTransaction", json!({"transactionId": 999}), json!({"status": "Rejected"})),
        ];
        for (action, payload, expected) in commands {
            assert_eq!(call(&joule, cs, action, payload).await, expected, "{action}");
        }
        status_in_joule(&joule, cs, 2, ConnectorStatus::Unavailable).await;
        let schedule = call(&joule, cs, "GetCompositeSchedule", json!({"connectorId": 1, "duration": 600})).await;
        assert_eq!(schedule["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"], 7200);

        let first_connect = joule.store.chargestation(joule.org, cs).await.unwrap().last_connect_at;
        assert_eq!(call(&joule, cs, "Reset", json!({"type": "Soft"})).await, json!({"status": "Accepted"}));
        eventually("a new connection after the reboot", || async {
            let stored = joule.store.chargestation(joule.org, cs).await.unwrap();
            (stored.online && stored.last_connect_at > first_connect).then_some(())
        })
        .await;
        wait_for(&charger, "the boot after the reboot", |s| s.is_registered().then_some(())).await;
        charger.stop().await;
        joule
    })
    .await;
}

#[tokio::test]
async fn basic_credentials_are_presented_and_refusals_reported() {
    on_every_backend(|joule| async move {
        joule.chargestation("SIM-SECURE", Some("correct horse")).await;
        let with = |password: &str| ChargerConfig { password: Some(password.into()), ..config(&joule, "SIM-SECURE", 1) };
        let charger = Charger::connect(with("correct horse")).await.expect("the right password");
        wait_for(&charger, "the boot", |s| s.is_registered().then_some(())).await;
        charger.stop().await;

        let refused = |result: Result<Charger, ConnectError>| match result {
            Err(ConnectError::Refused(status)) => status.as_u16(),
            Err(other) => panic!("{other}"),
            Ok(_) => panic!("connected"),
        };
        assert_eq!(refused(Charger::connect(with("wrong horse")).await), 401);
        assert_eq!(refused(Charger::connect(config(&joule, "SIM-UNKNOWN", 1)).await), 401, "refused like a wrong password");
        joule
    })
    .await;
}
