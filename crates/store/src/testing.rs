//! Fresh databases for tests, one per test, on each backend.
//!
//! PostgreSQL is reached at `JOULE_TEST_POSTGRES_URL` (default
//! `postgres://postgres@127.0.0.1:5432/postgres`); each test database is created there and
//! dropped by [`TestDatabase::remove`].

use std::path::PathBuf;
use std::sync::atomic::{AtomicI64, AtomicU32, Ordering};

use sqlx::{AssertSqlSafe, Connection, Row};

use domain::chargestation::{Chargestation, Registration, SecurityType};
use domain::ledger::{LedgerEntry, Movement};
use domain::organization::{Organization, OrganizationInput};
use domain::user::UserInput;
use domain::wallet::Wallet;
use domain::{Currency, Id, Timestamp};

use crate::{ApiKeyRecord, Backend, ChargestationRecord, Clock, Store, StoreError, StoredSecurity, SystemClock};

/// The backends the tests run on: both, unless `JOULE_TEST_BACKENDS` names fewer
/// (`scripts/test` sets it to `sqlite` on a machine without PostgreSQL, and says so).
pub fn backends() -> Vec<Backend> {
    match std::env::var("JOULE_TEST_BACKENDS") {
        Ok(names) => names.split(',').filter_map(|name| Backend::from_url(&format!("{}://", name.trim()))).collect(),
        Err(_) => vec![Backend::Sqlite, Backend::Postgres],
    }
}

impl TestDatabase {
    /// A fresh PostgreSQL database, for a test of what only PostgreSQL does (several nodes);
    /// `None` where the tests do not run on PostgreSQL.
    pub async fn postgres() -> Option<TestDatabase> {
        if backends().contains(&Backend::Postgres) { Some(TestDatabase::fresh(Backend::Postgres).await) } else { None }
    }
}

pub struct TestDatabase {
    pub backend: Backend,
    pub url: String,
    name: String,
    file: Option<PathBuf>,
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

fn admin_url() -> String {
    std::env::var("JOULE_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

impl TestDatabase {
    pub async fn fresh(backend: Backend) -> TestDatabase {
        let name = format!("joule_test_{}_{}_{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed), rand::random::<u32>());
        match backend {
            Backend::Sqlite => {
                let file = std::env::temp_dir().join(format!("{name}.db"));
                TestDatabase { backend, url: format!("sqlite://{}", file.display()), name, file: Some(file) }
            }
            Backend::Postgres => {
                let admin = admin_url();
                let mut conn = sqlx::PgConnection::connect(&admin).await.unwrap_or_else(|e| panic!("PostgreSQL at {admin} is needed for the tests: {e}"));
                sqlx::query(AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&mut conn).await.expect("create test database");
                let base = admin.rsplit_once('/').map(|(base, _)| base.to_string()).unwrap_or(admin);
                TestDatabase { backend, url: format!("{base}/{name}"), name, file: None }
            }
        }
    }

    pub async fn remove(self) {
        match self.file {
            Some(file) => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
                }
            }
            None => {
                if let Ok(mut conn) = sqlx::PgConnection::connect(&admin_url()).await {
                    let _ = sqlx::query(AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))).execute(&mut conn).await;
                }
            }
        }
    }
}

/// A reading as stored, for tests.
#[derive(Debug, PartialEq)]
pub struct StoredReading {
    pub transaction_id: Option<i64>,
    /// The charger's time, ms.
    pub sampled_at: i64,
    pub register_wh: Option<String>,
    pub samples: serde_json::Value,
    /// When Joule received it, ms.
    pub created_at: i64,
}

impl TestDatabase {
    /// Brings the schema only up to migration `version` and runs `statements` there: the
    /// database as an earlier Joule left it, for a test of the migrations after.
    pub async fn as_of_migration(&self, version: i64, statements: &[&str]) {
        sqlx::any::install_default_drivers();
        let pool = crate::pool_options(self.backend, 1).connect(&self.backend.connect_url(&self.url)).await.unwrap();
        let mut migrator = sqlx::migrate!("./migrations");
        migrator.migrations = migrator.migrations.iter().filter(|m| m.version <= version).cloned().collect::<Vec<_>>().into();
        migrator.run(&pool).await.unwrap();
        for statement in statements {
            sqlx::query(AssertSqlSafe(*statement)).execute(&pool).await.unwrap_or_else(|e| panic!("{statement}: {e}"));
        }
        pool.close().await;
    }
}

/// A clock that stands still until a test moves it.
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new(at: Timestamp) -> ManualClock {
        ManualClock(AtomicI64::new(at.millis()))
    }

    pub fn advance_ms(&self, ms: i64) {
        self.0.fetch_add(ms, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.0.load(Ordering::SeqCst))
    }
}

/// The system's clock, moved by an offset a test sets: to have Joule do now what it would have
/// done some time ago.
#[derive(Default)]
pub struct ShiftedClock(AtomicI64);

impl ShiftedClock {
    pub fn shift_ms(&self, ms: i64) {
        self.0.store(ms, Ordering::SeqCst);
    }
}

impl Clock for ShiftedClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(SystemClock.now().millis() + self.0.load(Ordering::SeqCst))
    }
}

impl Store {
    /// How many commits the use cases sharing them made (SQLite; `None` on PostgreSQL).
    pub async fn shared_commits(&self) -> Option<u64> {
        Some(self.turns.as_ref()?.slot().await.commits)
    }

    /// A chargestation's stored readings, in the charger's time order, those the readings'
    /// writer has not yet moved out of `recent_readings` too.
    pub async fn stored_readings(&self, cs: Id) -> Vec<StoredReading> {
        let rows = sqlx::query(
            "SELECT transaction_id, sampled_at, register_wh, samples, created_at, id FROM readings WHERE chargestation_id = $1 \
             UNION ALL SELECT transaction_id, sampled_at, register_wh, samples, created_at, id FROM recent_readings WHERE chargestation_id = $1 \
             ORDER BY sampled_at, id",
        )
        .bind(cs.to_string())
        .fetch_all(&self.pool)
        .await
        .unwrap();
        rows.iter()
            .map(|r| StoredReading {
                transaction_id: r.get("transaction_id"),
                sampled_at: r.get("sampled_at"),
                register_wh: r.get("register_wh"),
                samples: serde_json::from_str(&r.get::<String, _>("samples")).unwrap(),
                created_at: r.get("created_at"),
            })
            .collect()
    }

    /// How many rows `table` holds, for tests of what is deleted.
    pub async fn row_count(&self, table: &'static str) -> i64 {
        sqlx::query_scalar(AssertSqlSafe(format!("SELECT COUNT(*) FROM {table}"))).fetch_one(&self.pool).await.unwrap()
    }
}

/// A new organization called `name`, with an API key nobody can present.
pub async fn organization(store: &Store, name: &str) -> Organization {
    let org = serde_json::from_value::<OrganizationInput>(serde_json::json!({ "name": name })).unwrap().parse(store.new_id(), store.now()).unwrap();
    let key = ApiKeyRecord { id: format!("key{}", store.new_id()), organization: org.id, secret_sha256: "00".repeat(32) };
    store.create_organization(&org, &key).await.unwrap();
    org
}

/// A new accepted chargestation of `org` at `endpoint`, without security.
pub async fn chargestation(store: &Store, org: Id, endpoint: &str) -> Chargestation {
    let cs = ChargestationRecord {
        id: store.new_id(),
        endpoint: endpoint.into(),
        protocol: "ocpp1.6".into(),
        location: None,
        connection_url: format!("ws://127.0.0.1/ocpp/{endpoint}"),
        security: StoredSecurity { kind: SecurityType::None, password_hash: None },
        registration: Registration::Accepted,
        created_at: store.now(),
    };
    store.create_chargestation(org, &cs).await.unwrap()
}

/// A new user of `org` with an empty USD wallet.
pub async fn wallet(store: &Store, org: Id) -> Wallet {
    let user = serde_json::from_str::<UserInput>("{}").unwrap().create(store.new_id(), store.now()).unwrap();
    store.create_user(org, &user).await.unwrap();
    let wallet = Wallet::new(store.new_id(), user.id, Currency::USD, store.now());
    store.create_wallet(org, &wallet).await.unwrap();
    wallet
}

/// One ledger movement in its own write transaction, as the use cases that hold, release,
/// capture and credit make it inside theirs; for testing the ledger without the rest.
pub async fn move_wallet(
    store: &Store,
    org: Id,
    wallet: Id,
    movement: Movement,
    reference: Option<String>,
) -> Result<(Wallet, Option<LedgerEntry>), StoreError> {
    let mut tx = store.write().await?;
    let moved = store.move_wallet(&mut tx, org, wallet, movement, reference).await?;
    tx.commit().await?;
    Ok(moved)
}
