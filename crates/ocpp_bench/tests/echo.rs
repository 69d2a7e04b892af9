//! The load generator against the echo server, end to end over real sockets: every mode that
//! needs no Joule reaches its window, counts answered calls and sees no error.

use ocpp_bench::fleet::{ChargerArgs, FleetArgs};
use ocpp_bench::idle::IdleArgs;

async fn echo() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ocpp", listener.local_addr().unwrap());
    tokio::spawn(ocpp_bench::echo::serve(listener));
    url
}

fn chargers(url: String, chargers: u32, duration: f64) -> ChargerArgs {
    ChargerArgs {
        fleet: FleetArgs { url: vec![url], connect_rate: 1000, watch_pid: vec![std::process::id()], watch_database: None },
        chargers,
        prefix: "CS-".into(),
        duration,
        protocol: "ocpp1.6".into(),
    }
}

#[tokio::test]
async fn transaction_events_flow_in_a_closed_loop() {
    let url = echo().await;
    let summary = ocpp_bench::meter::run(ChargerArgs { protocol: "ocpp2.0.1".into(), ..chargers(url, 4, 0.5) }).await;
    assert_eq!((summary.ready, summary.errors), (4, 0), "{summary:?}");
    assert!(summary.calls > 4, "{summary:?}");
}

#[tokio::test]
async fn meter_values_flow_in_a_closed_loop() {
    let url = echo().await;
    let summary = ocpp_bench::meter::run(chargers(url, 4, 0.5)).await;
    assert_eq!((summary.ready, summary.errors), (4, 0), "{summary:?}");
    assert!(summary.calls > 4, "{summary:?}");
    assert!(0.0 < summary.p50_ms && summary.p50_ms <= summary.p99_ms && summary.p99_ms <= summary.max_ms, "{summary:?}");
    assert!(summary.rate > 0.0 && summary.cpu_seconds > 0.0, "{summary:?}");
    // The watched process is this one, the echo and the generator together.
    assert!(summary.server_cpu_cores.is_some_and(|cores| cores > 0.0), "{summary:?}");
}

#[tokio::test]
async fn idle_chargers_heartbeat_and_the_server_memory_is_read() {
    let url = echo().await;
    // A large first message each, answered before they idle.
    let args = IdleArgs { chargers: chargers(url, 3, 1.5), heartbeat: Some(1), first_message_bytes: 50_000 };
    let summary = ocpp_bench::idle::run(args).await;
    assert_eq!((summary.ready, summary.errors), (3, 0), "{summary:?}");
    // Each charger's first heartbeat is due within the first second of the window.
    assert!(summary.calls >= 3, "{summary:?}");
    assert!(summary.rss_before_kib.is_some() && summary.rss_after_kib.is_some(), "{summary:?}");
}
