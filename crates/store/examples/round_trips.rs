//! What SQLite costs through sqlx on this machine, apart from Joule: a bare round trip between
//! two threads (the floor of the next), a statement (a round trip to the connection's own
//! thread), a durable commit, and a use case shaped like a wallet
//! start's transaction (eight reads by key, a guarded update, two inserts), each in a
//! transaction of its own with sixteen at once, and one after another on one connection,
//! fifty to a commit, each in a savepoint. Figures in BENCHMARKS.md.
//!
//! `cargo run --release -p store --example round_trips`

use std::time::Instant;

use sqlx::any::AnyPoolOptions;
use sqlx::{AnyConnection, AnyPool, Connection, Executor};

const USE_CASES: i64 = 3000;
const STATEMENTS: u32 = 20_000;

async fn use_case(conn: &mut AnyConnection, i: i64) -> Result<(), sqlx::Error> {
    for k in 0..8 {
        sqlx::query("SELECT data FROM documents WHERE id = $1").bind(format!("d{}", (i + k) % 1000)).fetch_optional(&mut *conn).await?;
    }
    sqlx::query("UPDATE wallets SET balance = balance + 1 WHERE id = $1").bind(format!("w{}", i % 100)).execute(&mut *conn).await?;
    for kind in ["session", "event"] {
        sqlx::query("INSERT INTO documents (id, data) VALUES ($1, $2)").bind(format!("{kind}{i}")).bind("x".repeat(400)).execute(&mut *conn).await?;
    }
    Ok(())
}

async fn database(path: &str) -> Result<AnyPool, sqlx::Error> {
    let _ = std::fs::remove_file(path);
    let pool = AnyPoolOptions::new()
        .max_connections(8)
        .after_connect(|conn, _| {
            Box::pin(async move {
                conn.execute("PRAGMA journal_mode = WAL").await?;
                conn.execute("PRAGMA synchronous = FULL").await?;
                conn.execute("PRAGMA busy_timeout = 10000").await?;
                Ok(())
            })
        })
        .connect(&format!("sqlite://{path}?mode=rwc"))
        .await?;
    pool.execute("CREATE TABLE documents (id TEXT PRIMARY KEY, data TEXT)").await?;
    pool.execute("CREATE TABLE wallets (id TEXT PRIMARY KEY, balance BIGINT)").await?;
    pool.execute("INSERT INTO documents WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 999) SELECT 'd' || k, 'data' FROM n").await?;
    pool.execute("INSERT INTO wallets WITH RECURSIVE n(k) AS (SELECT 0 UNION ALL SELECT k + 1 FROM n WHERE k < 99) SELECT 'w' || k, 0 FROM n").await?;
    Ok(pool)
}

/// Two threads passing a value back and forth: what waking a thread and being woken costs.
fn thread_round_trip_us() -> f64 {
    let (there, from_here) = std::sync::mpsc::channel::<u32>();
    let (back, from_there) = std::sync::mpsc::channel::<u32>();
    let echo = std::thread::spawn(move || {
        for v in from_here {
            if back.send(v).is_err() {
                break;
            }
        }
    });
    let started = Instant::now();
    for i in 0..STATEMENTS {
        if there.send(i).is_err() || from_there.recv().is_err() {
            break;
        }
    }
    let us = started.elapsed().as_secs_f64() * 1e6 / f64::from(STATEMENTS);
    drop(there);
    let _ = echo.join();
    us
}

fn per_second(count: i64, started: Instant) -> f64 {
    count as f64 / started.elapsed().as_secs_f64()
}

#[tokio::main]
async fn main() -> Result<(), sqlx::Error> {
    sqlx::any::install_default_drivers();
    let path = std::env::temp_dir().join(format!("round-trips-{}.db", std::process::id()));
    let path = path.to_string_lossy().into_owned();
    let pool = database(&path).await?;

    println!("a round trip between two threads: {:.0} µs", thread_round_trip_us());
    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    for i in 0..STATEMENTS {
        sqlx::query("SELECT data FROM documents WHERE id = $1").bind(format!("d{}", i % 1000)).fetch_optional(&mut *conn).await?;
    }
    println!("a read by key: {:.0} µs", started.elapsed().as_secs_f64() * 1e6 / f64::from(STATEMENTS));
    let started = Instant::now();
    for _ in 0..STATEMENTS / 10 {
        conn.execute("BEGIN IMMEDIATE; UPDATE wallets SET balance = balance + 1 WHERE id = 'w1'; COMMIT").await?;
    }
    println!("an update and its commit, in one round trip: {:.0} µs", started.elapsed().as_secs_f64() * 1e6 / f64::from(STATEMENTS / 10));
    drop(conn);

    let started = Instant::now();
    let mut tasks = Vec::new();
    for task in 0..16 {
        let pool = pool.clone();
        tasks.push(tokio::spawn(async move {
            for i in (task..USE_CASES).step_by(16) {
                let mut conn = pool.acquire().await?;
                let mut tx = conn.begin_with("BEGIN IMMEDIATE").await?;
                use_case(&mut tx, i).await?;
                tx.commit().await?;
            }
            Ok::<_, sqlx::Error>(())
        }));
    }
    for task in tasks {
        task.await.map_err(|e| sqlx::Error::Protocol(e.to_string()))??;
    }
    println!("use cases, each its own transaction, 16 at once: {:.0}/s", per_second(USE_CASES, started));

    let mut conn = pool.acquire().await?;
    let started = Instant::now();
    for batch in 0..USE_CASES / 50 {
        conn.execute("BEGIN IMMEDIATE").await?;
        for j in 0..50 {
            conn.execute("SAVEPOINT use_case").await?;
            use_case(&mut conn, USE_CASES + batch * 50 + j).await?;
            conn.execute("RELEASE use_case").await?;
        }
        conn.execute("COMMIT").await?;
    }
    println!("use cases one after another, 50 to a commit: {:.0}/s", per_second(USE_CASES, started));
    drop(conn);
    pool.close().await;
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    Ok(())
}
