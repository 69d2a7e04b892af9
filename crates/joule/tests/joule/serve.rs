//! `joule serve` as a user runs it: a real process, its output, its signals.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::Duration;

use serde_json::{Value, json};
use store::testing::{TestDatabase, backends};

/// A running `joule serve` and the lines it has printed.
struct Server {
    child: Child,
    base: String,
    lines: Receiver<String>,
    seen: Vec<String>,
}

const ADMIN: &str = "walkthrough-admin-token";

impl Server {
    fn start(dir: &Path, args: &[&str], envs: &[(&str, &str)]) -> Server {
        let mut command = Command::new(env!("CARGO_BIN_EXE_joule"));
        command.arg("serve").args(["--listen", "127.0.0.1:0"]).args(args).current_dir(dir).stdout(Stdio::piped()).stderr(Stdio::piped());
        command.env_remove("JOULE_ADMIN_TOKEN").env_remove("DATABASE_URL").env("NO_COLOR", "1");
        for (k, v) in envs {
            command.env(k, v);
        }
        let mut child = command.spawn().expect("joule runs");
        let (tx, lines) = channel();
        for stream in [Box::new(child.stdout.take().unwrap()) as Box<dyn std::io::Read + Send>, Box::new(child.stderr.take().unwrap())] {
            let tx = tx.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    let _ = tx.send(line);
                }
            });
        }
        let mut server = Server { child, base: String::new(), lines, seen: Vec::new() };
        let line = server.wait_for("listening on http://");
        let rest = line.split("listening on http://").nth(1).unwrap();
        let address: String = rest.chars().take_while(|c| c.is_ascii_digit() || ".:[]".contains(*c)).collect();
        server.base = format!("http://{address}");
        server
    }

    /// Waits for a printed line containing `needle`; gives up after 30 s.
    fn wait_for(&mut self, needle: &str) -> String {
        if let Some(line) = self.seen.iter().find(|l| l.contains(needle)) {
            return line.clone();
        }
        loop {
            match self.lines.recv_timeout(Duration::from_secs(30)) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(needle) {
                        return line;
                    }
                }
                Err(_) => panic!("no line with {needle:?} in {:#?}", self.seen),
            }
        }
    }

    /// SIGTERM, then the exit status: a graceful shutdown exits 0.
    fn terminate(mut self) -> (bool, Vec<String>) {
        Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().unwrap();
        let status = self.child.wait().unwrap();
        self.seen.extend(self.lines.try_iter().collect::<Vec<_>>());
        while let Ok(line) = self.lines.recv_timeout(Duration::from_millis(500)) {
            self.seen.push(line);
        }
        (status.success(), self.seen)
    }
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("joule-cli-{name}-{}-{}", std::process::id(), rand_suffix()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn rand_suffix() -> u128 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos()
}

async fn get(base: &str, path: &str, token: &str) -> (u16, Value) {
    let response = reqwest::Client::new().get(format!("{base}{path}")).bearer_auth(token).send().await.unwrap();
    (response.status().as_u16(), response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn first_start_prints_a_key_once_and_shuts_down_gracefully() {
    let dir = temp_dir("first");
    let mut server = Server::start(&dir, &[], &[]);
    let line = server.wait_for("API key, shown only this once: ");
    let key = line.rsplit(' ').next().unwrap().to_string();
    let (status, body) = get(&server.base, "/v1.1/organization", &key).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["result"]["name"], "Default organization");
    assert!(dir.join("joule.db").exists(), "the default database is ./joule.db");
    let (clean, output) = server.terminate();
    assert!(clean, "SIGTERM exits cleanly: {output:#?}");
    assert!(output.iter().any(|l| l.contains("stopped")), "{output:#?}");

    // The second start finds the organization and prints no key.
    let server = Server::start(&dir, &[], &[]);
    assert_eq!(get(&server.base, "/v1.1/organization", &key).await.0, 200, "data survived the restart");
    let (clean, output) = server.terminate();
    assert!(clean);
    assert!(!output.iter().any(|l| l.contains("jk_")), "the key is printed only once: {output:#?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn settings_come_from_file_env_and_flags() {
    let dir = temp_dir("settings");
    std::fs::write(dir.join("joule.toml"), "database_url = \"sqlite://from-file.db\"\nlog_format = \"json\"\n").unwrap();
    let server = Server::start(&dir, &["--config", "joule.toml"], &[("JOULE_ADMIN_TOKEN", ADMIN)]);
    let (status, _) = get(&server.base, "/v1.1/organizations", ADMIN).await;
    assert_eq!(status, 200, "the admin token came from the environment");
    let (clean, output) = server.terminate();
    assert!(clean);
    assert!(dir.join("from-file.db").exists(), "the database came from the file");
    let listening = output.iter().find(|l| l.contains("listening on")).unwrap();
    assert!(serde_json::from_str::<Value>(listening).is_ok(), "JSON logs from the file: {listening}");
    assert!(!output.iter().any(|l| l.contains("jk_")), "no default organization with an admin token");

    // A flag beats the file.
    let server = Server::start(&dir, &["--config", "joule.toml", "--database-url", "sqlite://from-flag.db", "--log-format", "pretty"], &[]);
    let (clean, _) = server.terminate();
    assert!(clean);
    assert!(dir.join("from-flag.db").exists());
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn logs_into_a_pipe_have_no_colour_codes() {
    let dir = temp_dir("colour");
    // An empty NO_COLOR asks for nothing: only the pipe says no colour.
    let server = Server::start(&dir, &["--log-format", "pretty"], &[("NO_COLOR", "")]);
    let (clean, output) = server.terminate();
    assert!(clean);
    assert!(output.iter().any(|l| l.contains("listening on")), "{output:#?}");
    assert!(!output.iter().any(|l| l.contains('\x1b')), "escape codes in a pipe: {output:#?}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let dir = temp_dir("bad-url");
    let output = Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", "mysql://root:hunter2@localhost/joule"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("unsupported database URL"), "{stderr}");
    assert!(!stderr.contains("hunter2"), "the password is not shown: {stderr}");
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn a_second_server_on_the_same_sqlite_file_refuses_to_start() {
    let dir = temp_dir("sole");
    let first = Server::start(&dir, &[], &[("JOULE_ADMIN_TOKEN", ADMIN)]);
    let second = tokio::process::Command::new(env!("CARGO_BIN_EXE_joule"))
        .args(["serve", "--listen", "127.0.0.1:0"])
        .env("JOULE_ADMIN_TOKEN", ADMIN)
        .current_dir(&dir)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let second =
        tokio::time::timeout(Duration::from_secs(30), second.wait_with_output()).await.expect("a second server started on the same SQLite file").unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("another joule serve is running on the SQLite database") && stderr.contains("SQLite is one node"), "{stderr}");
    // The first goes on serving; once it stopped, the file is free again.
    assert_eq!(get(&first.base, "/v1.1/organizations", ADMIN).await.0, 200);
    let (clean, output) = first.terminate();
    assert!(clean, "{output:#?}");
    let again = Server::start(&dir, &[], &[("JOULE_ADMIN_TOKEN", ADMIN)]);
    assert!(again.terminate().0);
    std::fs::remove_dir_all(dir).unwrap();
}

/// The README's walk-through, run as written against a real server on each backend.
#[tokio::test]
async fn the_readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md")).unwrap();
    let script = readme.split("<!-- walkthrough -->").nth(1).expect("README has a walkthrough block");
    let script = script.split("```sh").nth(1).unwrap().split("```").next().unwrap();
    for backend in backends() {
        let db = TestDatabase::fresh(backend).await;
        let dir = temp_dir("walkthrough");
        let server = Server::start(&dir, &["--database-url", &db.url], &[("JOULE_ADMIN_TOKEN", ADMIN)]);
        let output =
            Command::new("bash").args(["-euo", "pipefail", "-c", script]).env("JOULE_URL", &server.base).env("JOULE_ADMIN_TOKEN", ADMIN).output().unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "{backend:?}: {stdout}\n{}", String::from_utf8_lossy(&output.stderr));

        // What the walk-through did is really there.
        let (_, orgs) = get(&server.base, "/v1.1/organizations", ADMIN).await;
        assert_eq!(orgs["result"][0]["name"], json!("Acme Charging"));
        assert!(stdout.contains("\"balance\": 5000"), "{backend:?}: the credit shows: {stdout}");
        assert!(stdout.contains("wallet.updated"), "{backend:?}: the events show: {stdout}");
        server.terminate();
        db.remove().await;
        std::fs::remove_dir_all(dir).unwrap();
    }
}

/// What the server sends on a raw connection until it closes it, and how long that took.
async fn until_closed(stream: &mut tokio::net::TcpStream) -> (String, Duration) {
    use tokio::io::AsyncReadExt;
    let started = std::time::Instant::now();
    let mut received = Vec::new();
    // An orderly end and a reset both mean closed.
    let _ = tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut received)).await.expect("the server closes the connection");
    (String::from_utf8_lossy(&received).into_owned(), started.elapsed())
}

/// The HTTP limits, with small settings: connections beyond the cap are answered 503, a client
/// slow to send its headers is cut off, one slow to send its body is answered 408.
#[tokio::test]
async fn slow_clients_are_cut_off_and_connections_are_capped() {
    use tokio::io::AsyncWriteExt;
    use tokio::net::TcpStream;
    let dir = temp_dir("limits");
    let limits = [("JOULE_ADMIN_TOKEN", ADMIN), ("JOULE_HTTP_HEADER_TIMEOUT", "1"), ("JOULE_HTTP_BODY_TIMEOUT", "1"), ("JOULE_MAX_CONNECTIONS", "3")];
    let server = Server::start(&dir, &[], &limits);
    let address = server.base.trim_start_matches("http://").to_string();

    // The listener takes connections in order: three hold the slots, the fourth is refused.
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(&address).await.unwrap());
    }
    let mut fourth = TcpStream::connect(&address).await.unwrap();
    let (answer, _) = until_closed(&mut fourth).await;
    assert!(answer.starts_with("HTTP/1.1 503 "), "{answer}");
    // Idle connections are closed after the header deadline, which frees their slots.
    for stream in &mut held {
        assert_eq!(until_closed(stream).await.0, "", "these were served, not refused");
    }
    let client = reqwest::Client::new();
    let healthy = async {
        while !client.get(format!("{}/healthz", server.base)).send().await.is_ok_and(|r| r.status() == 200) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), healthy).await.expect("slots are freed");
    let metrics = client.get(format!("{}/metrics", server.base)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("joule_http_connections_refused_total 1\n"), "{metrics}");
    assert!(metrics.lines().any(|l| l.starts_with("joule_http_connections ") && l != "joule_http_connections 0"), "this connection is open: {metrics}");
    drop(client);

    let started = std::time::Instant::now();
    let mut slow = TcpStream::connect(&address).await.unwrap();
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: joule\r\n").await.unwrap();
    let (answer, _) = until_closed(&mut slow).await;
    assert!(answer.is_empty(), "half a request gets no answer: {answer}");
    assert!(started.elapsed() >= Duration::from_millis(900), "not before the deadline: {:?}", started.elapsed());

    let mut slow = TcpStream::connect(&address).await.unwrap();
    let head = format!(
        "POST /v1.1/organizations HTTP/1.1\r\nHost: joule\r\nAuthorization: Bearer {ADMIN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    slow.write_all(b"{\"name\": ").await.unwrap();
    let (answer, waited) = until_closed(&mut slow).await;
    assert!(answer.starts_with("HTTP/1.1 408 "), "{answer}");
    assert!(answer.contains(r#""message":"The request body did not arrive within 1 s""#), "{answer}");
    assert!(waited >= Duration::from_millis(900), "{waited:?}");
    let (_, organizations) = get(&server.base, "/v1.1/organizations", ADMIN).await;
    assert_eq!(organizations["result"], json!([]), "the cut-off request changed nothing");

    let (clean, _) = server.terminate();
    assert!(clean);
    std::fs::remove_dir_all(dir).unwrap();
}
