//! OCPP security profile 2: `joule serve --tls-cert --tls-key` serves HTTPS and WSS, and a
//! charger with Basic credentials boots over TLS.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use base64::Engine;
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::AsyncReadExt;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::{Connector, connect_async_tls_with_config};

const ADMIN: &str = "tls-admin-token";

fn curl(args: &[&str]) -> Value {
    let out = Command::new("curl").args(["-sS", "--cacert"]).args(args).output().expect("curl runs");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|_| panic!("{}", String::from_utf8_lossy(&out.stderr)))
}

#[tokio::test]
async fn chargers_boot_over_tls_with_basic_credentials() {
    let dir = std::env::temp_dir().join(format!("joule-tls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();

    let mut child = Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", &format!("sqlite://{}", dir.join("j.db").display())])
        .arg("--tls-cert")
        .arg(&cert)
        .arg("--tls-key")
        .arg(&key)
        .env("JOULE_ADMIN_TOKEN", ADMIN)
        .env("JOULE_MAX_CONNECTIONS", "4")
        .env("NO_COLOR", "1")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let line = stdout.lines().map_while(Result::ok).find(|l| l.contains("listening on https://")).expect("the server says where it listens");
    let port: String = line.split("listening on https://127.0.0.1:").nth(1).unwrap().chars().take_while(char::is_ascii_digit).collect();
    let base = format!("https://localhost:{port}");
    let ca = cert.to_str().unwrap();

    let org = curl(&[ca, "-X", "POST", &format!("{base}/v1.1/organizations"), "-H", &format!("Authorization: Bearer {ADMIN}"), "-d", r#"{"name":"Secure"}"#]);
    let key = org["result"]["api_key"].as_str().unwrap().to_string();
    let body = r#"{"endpoint":"TLS-1","security":{"type":"basic","password":"a-long-charger-password"}}"#;
    let cs = curl(&[ca, "-X", "POST", &format!("{base}/v1.1/chargestations"), "-H", &format!("Authorization: Bearer {key}"), "-d", body]);
    assert_eq!(cs["result"]["connection_url"], json!(format!("wss://127.0.0.1:{port}/ocpp/TLS-1")));

    let mut roots = RootCertStore::empty();
    roots.add(certified.cert.der().clone()).unwrap();
    let _ = tokio_rustls::rustls::crypto::aws_lc_rs::default_provider().install_default();
    let client = ClientConfig::builder().with_root_certificates(roots).with_no_client_auth();
    let mut request = format!("wss://localhost:{port}/ocpp/TLS-1").into_client_request().unwrap();
    request.headers_mut().insert("Sec-WebSocket-Protocol", HeaderValue::from_static("ocpp1.6"));
    let credentials = base64::engine::general_purpose::STANDARD.encode("TLS-1:a-long-charger-password");
    request.headers_mut().insert("Authorization", HeaderValue::from_str(&format!("Basic {credentials}")).unwrap());
    let (mut socket, _) = connect_async_tls_with_config(request, None, false, Some(Connector::Rustls(Arc::new(client)))).await.expect("WSS with Basic auth");
    socket
        .send(Message::Text(json!([2, "1", "BootNotification", { "chargePointVendor": "Acme", "chargePointModel": "Secure" }]).to_string().into()))
        .await
        .unwrap();
    let answer: Value = loop {
        if let Some(Ok(Message::Text(t))) = socket.next().await {
            break serde_json::from_str(&t).unwrap();
        }
    };
    assert_eq!(answer[2]["status"], "Accepted");

    // Plain WebSocket on the TLS port gets nowhere.
    let plain = format!("ws://127.0.0.1:{port}/ocpp/TLS-1").into_client_request().unwrap();
    assert!(tokio_tungstenite::connect_async(plain).await.is_err());

    // Clients that never start their TLS handshake hold slots too: with the cap at 4 and the
    // charger's connection open, the fourth such client at the latest is closed at once.
    let mut silent = Vec::new();
    let refused = loop {
        let mut tcp = tokio::net::TcpStream::connect(format!("127.0.0.1:{port}")).await.unwrap();
        match tokio::time::timeout(std::time::Duration::from_secs(1), tcp.read(&mut [0u8; 1])).await {
            Ok(closed) => break closed,
            Err(_) => silent.push(tcp),
        }
        assert!(silent.len() < 4, "handshakes in progress count toward the cap");
    };
    assert!(matches!(refused, Ok(0) | Err(_)), "{refused:?}");

    Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(child.wait().unwrap().success());
    std::fs::remove_dir_all(dir).unwrap();
}
