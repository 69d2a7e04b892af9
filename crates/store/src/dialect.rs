//! The places where SQLite and PostgreSQL really differ. Nothing outside this file names a
//! backend.

use std::path::{Path, PathBuf};
use std::str::FromStr;

use sqlx::any::AnyConnectOptions;
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{AnyConnection, Executor};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn from_url(url: &str) -> Option<Backend> {
        if url.starts_with("sqlite:") {
            Some(Backend::Sqlite)
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Some(Backend::Postgres)
        } else {
            None
        }
    }

    /// SQLite: create the file if it is missing.
    pub(crate) fn connect_url(self, url: &str) -> String {
        match self {
            Backend::Sqlite if !url.contains("mode=") => format!("{url}{}mode=rwc", if url.contains('?') { '&' } else { '?' }),
            _ => url.to_string(),
        }
    }

    /// SQLite has one writer at a time: more connections only queue on its lock.
    pub(crate) fn max_connections(self) -> u32 {
        match self {
            Backend::Sqlite => 8,
            Backend::Postgres => 16,
        }
    }

    /// Whether the pool checks a connection before lending it: a round trip per use, which
    /// a connection to a local file does not need.
    pub(crate) fn test_before_acquire(self) -> bool {
        self == Backend::Postgres
    }

    /// Sets a new connection as `SQLITE_PRAGMAS` say on SQLite.
    pub(crate) async fn prepare_connection(self, conn: &mut AnyConnection) -> Result<(), sqlx::Error> {
        if self == Backend::Sqlite {
            for pragma in SQLITE_PRAGMAS {
                conn.execute(pragma).await?;
            }
        }
        Ok(())
    }

    /// The SQLite file the readings' writer runs its statements on itself, through a
    /// connection of its own (`open_direct`), instead of through sqlx, which runs each SQLite
    /// connection on a thread of its own. None on PostgreSQL, whose round trip is to another
    /// process anyway (the writer sends its batch as one statement), and for a database in
    /// memory, which another connection would not see.
    pub(crate) fn direct_file(self, options: &AnyConnectOptions) -> Option<PathBuf> {
        match self {
            Backend::Sqlite => {
                let url = &options.database_url;
                let in_memory = url.as_str().contains(":memory:") || url.query_pairs().any(|(key, value)| key == "mode" && value == "memory");
                let sqlite = SqliteConnectOptions::from_str(url.as_str()).ok()?;
                (!in_memory).then(|| sqlite.get_filename().to_path_buf())
            }
            Backend::Postgres => None,
        }
    }

    /// SQLite: a deferred transaction that reads before it writes cannot take the write lock
    /// if another connection committed in between (SQLITE_BUSY_SNAPSHOT, no busy wait), so
    /// writers take the lock up front. PostgreSQL's row locks and guarded updates need no
    /// such thing.
    pub(crate) fn begin_write(self) -> &'static str {
        match self {
            Backend::Sqlite => "BEGIN IMMEDIATE",
            Backend::Postgres => "BEGIN",
        }
    }

    /// Whether the database takes one writer at a time, each commit an fsync: then the
    /// process's use cases take turns and share commits (`commits`).
    pub(crate) fn one_writer(self) -> bool {
        matches!(self, Backend::Sqlite)
    }
}

impl Backend {
    /// Appended to a `SELECT` of work rows that several nodes may claim at once: PostgreSQL
    /// skips rows another transaction holds (SPEC section 11); SQLite has one writer anyway.
    pub(crate) fn skip_locked(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        }
    }

    /// Appended to a `SELECT` of rows that must be processed by one node at a time, in order:
    /// PostgreSQL waits for the rows another transaction holds.
    pub(crate) fn lock_in_turn(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR UPDATE",
        }
    }

    /// `lock_in_turn` for rows whose other columns than their keys the transaction changes:
    /// PostgreSQL's weaker `FOR NO KEY UPDATE`, which lets another transaction meanwhile insert a
    /// row that refers to them (a session on a chargestation takes `FOR KEY SHARE` on it). With
    /// `FOR UPDATE` the two waited for each other, each holding what the other needed.
    pub(crate) fn lock_columns(self) -> &'static str {
        match self {
            Backend::Sqlite => "",
            Backend::Postgres => " FOR NO KEY UPDATE",
        }
    }
}

/// Several nodes: how they tell one another (`nodes`). PostgreSQL delivers a `NOTIFY` to the
/// connections that `LISTEN` on its channel when the transaction that sent it commits; SQLite
/// is one node, with nobody to tell.
impl Backend {
    /// Whether several nodes may share the database (SPEC 11): on SQLite the only node holds
    /// the file (`Store::claim_sole_server`), so any other node on record is dead.
    pub(crate) fn many_nodes(self) -> bool {
        self == Backend::Postgres
    }

    /// The statement that sends a payload (`$2`) to a channel (`$1`) at commit.
    pub(crate) fn notify(self) -> Option<&'static str> {
        match self {
            Backend::Sqlite => None,
            // pg_notify answers `void`, which the `Any` driver has no type for.
            Backend::Postgres => Some("SELECT 1 FROM (SELECT pg_notify($1, $2)) AS sent"),
        }
    }

    /// A connection of its own listening on `channel`; `None` where nobody sends.
    pub(crate) async fn listen(self, options: &AnyConnectOptions, channel: &str) -> Result<Option<Listener>, sqlx::Error> {
        if self != Backend::Postgres {
            return Ok(None);
        }
        let mut listener = sqlx::postgres::PgListener::connect(options.database_url.as_str()).await?;
        listener.listen(channel).await?;
        Ok(Some(Listener(listener)))
    }
}

/// Notifications sent to a channel (`Backend::listen`).
pub(crate) struct Listener(sqlx::postgres::PgListener);

impl Listener {
    /// The next payload; `None` when the connection was lost (what was sent meanwhile is lost
    /// with it), and the next call connects again.
    pub(crate) async fn next(&mut self) -> Result<Option<String>, sqlx::Error> {
        Ok(self.0.try_recv().await?.map(|n| n.payload().to_string()))
    }
}

impl Backend {
    /// A table of the elements of the JSON array bound as parameter `n`, each element in the
    /// column `alias.value` (read with `->>`, which both backends have). Statements that
    /// write many rows take them this way: their text is the same for any number of rows, so
    /// it stays prepared, and a batch binds one value instead of one per column and row.
    pub(crate) fn json_rows(self, n: usize, alias: &str) -> String {
        match self {
            Backend::Sqlite => format!("jsonb_each(${n}) AS {alias}"),
            Backend::Postgres => format!("jsonb_array_elements(CAST(${n} AS JSONB)) AS {alias}(value)"),
        }
    }

    /// A condition that a key is one of the first fields of the elements of the JSON array
    /// bound as parameter `n` (`key IN (...)`). PostgreSQL's planner takes the array's rows for
    /// 100 and then prefers scanning a table of a few thousand small rows to as many lookups
    /// (measured: every chargestation read for the last message times of 40); as an array it
    /// looks the keys up in the index.
    pub(crate) fn in_json_keys(self, n: usize) -> String {
        match self {
            Backend::Sqlite => format!("IN (SELECT k.value ->> 0 FROM {})", self.json_rows(n, "k")),
            Backend::Postgres => format!("= ANY (ARRAY(SELECT k.value ->> 0 FROM {}))", self.json_rows(n, "k")),
        }
    }

    /// Statements sent as one, in one round trip, answering the rows of the last: each round
    /// trip wakes the database's thread or process, which on a loaded machine costs more than
    /// the statements. SQLite runs them one after the other; PostgreSQL takes one statement
    /// with parameters, so the first become data-modifying `WITH` parts of the last (which all
    /// see the database as it was before the statement).
    pub(crate) fn together(self, statements: &[String]) -> String {
        match (self, statements.split_last()) {
            (_, None) => String::new(),
            (Backend::Sqlite, _) => statements.join(";\n"),
            (Backend::Postgres, Some((last, first))) => {
                let parts: Vec<String> = first.iter().enumerate().map(|(i, s)| format!("part{i} AS ({s})")).collect();
                if parts.is_empty() { last.clone() } else { format!("WITH {} {last}", parts.join(", ")) }
            }
        }
    }

    /// `together`, as a write transaction of its own: on PostgreSQL one statement is one; on
    /// SQLite they are put between `BEGIN IMMEDIATE` and `COMMIT`, so after an error the
    /// transaction is still open and the connection must be closed.
    pub(crate) fn committed_together(self, statements: &[String]) -> String {
        match self {
            Backend::Sqlite => format!("{};\n{};\nCOMMIT", self.begin_write(), self.together(statements)),
            Backend::Postgres => self.together(statements),
        }
    }

    /// Where the readings' writer inserts. SQLite's WAL takes every page a commit changed, and
    /// the index by transaction has a page per charger: with one reading per charger in each
    /// commit that was a page per reading, so SQLite commits readings to `recent_readings` (no
    /// index) and moves them in bulk (`settle_readings`). PostgreSQL's WAL logs rows, and
    /// moving them again costs more than it saves (measured: more time and a higher p99).
    pub(crate) fn readings_table(self) -> &'static str {
        match self {
            Backend::Sqlite => "recent_readings",
            Backend::Postgres => "readings",
        }
    }

    /// Moves the rows of `recent_readings` of one of `SETTLE_SHARES` shares of the
    /// chargestations (`share`, by the last character of their id; all of them for `None`) into
    /// `readings`, in the order of the index by transaction, so that each of its pages is written
    /// once for many readings: inside a write transaction, which no other writer shares. A
    /// share's readings are all its chargestations' recent readings, so a move by shares writes
    /// as few pages per reading as one of every row, and holds the write lock a share of the time.
    pub(crate) fn settle_readings(self, share: Option<u32>) -> Vec<String> {
        let which = match share {
            Some(share) => format!("WHERE unicode(substr(chargestation_id, -1)) % {SETTLE_SHARES} = {share}"),
            None => String::new(),
        };
        match self {
            Backend::Sqlite => vec![
                format!(
                    "INSERT INTO readings (id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at) \
                     SELECT id, organization_id, chargestation_id, connector_id, transaction_id, sampled_at, register_wh, samples, created_at \
                     FROM recent_readings {which} ORDER BY chargestation_id, transaction_id, sampled_at"
                ),
                format!("DELETE FROM recent_readings {which}"),
            ],
            Backend::Postgres => vec![],
        }
    }
}

/// Every SQLite connection's settings. WAL lets readers run beside the writer; a busy timeout
/// makes writers queue for the lock instead of failing; foreign keys are off unless asked for on
/// every connection. `synchronous = FULL` syncs the WAL at every commit: with NORMAL a power
/// loss can undo committed transactions, such as a StopTransaction already answered and its
/// capture. It costs an fsync per write transaction (about 0.9 ms on the reference machine:
/// some 1,100 write transactions a second instead of 34,000); more needs PostgreSQL. A
/// statement that changes many rows inside a transaction keeps a journal of its own (to undo
/// just itself on an error): in memory, not a temporary file.
const SQLITE_PRAGMAS: [&str; 5] =
    ["PRAGMA journal_mode = WAL", "PRAGMA synchronous = FULL", "PRAGMA busy_timeout = 10000", "PRAGMA foreign_keys = ON", "PRAGMA temp_store = MEMORY"];

/// A connection of the readings' writer's own to the SQLite `file` (`Backend::direct_file`),
/// set as every other.
pub(crate) fn open_direct(file: &Path) -> Result<rusqlite::Connection, rusqlite::Error> {
    // The file sqlx made and migrated, as a plain path: neither created nor read as a URI.
    let conn = rusqlite::Connection::open_with_flags(file, rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX)?;
    for pragma in SQLITE_PRAGMAS {
        conn.execute_batch(pragma)?;
    }
    Ok(conn)
}

/// How many shares of the chargestations `Backend::settle_readings` moves one at a time.
pub(crate) const SETTLE_SHARES: u32 = 8;

/// A database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let userinfo = &url[scheme_end + 3..at];
            let user = userinfo.split(':').next().unwrap_or("");
            format!("{}{}:***{}", &url[..scheme_end + 3], user, &url[at..])
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backends_come_from_the_scheme() {
        assert_eq!(Backend::from_url("sqlite://joule.db"), Some(Backend::Sqlite));
        assert_eq!(Backend::from_url("postgres://u@h/db"), Some(Backend::Postgres));
        assert_eq!(Backend::from_url("mysql://h/db"), None);
        assert_eq!(Backend::Sqlite.connect_url("sqlite://j.db"), "sqlite://j.db?mode=rwc");
    }

    #[tokio::test]
    async fn sqlite_syncs_every_commit() {
        let file = std::env::temp_dir().join(format!("joule_synchronous_{}.db", rand::random::<u64>()));
        let store = crate::Store::connect(&format!("sqlite://{}", file.display()), std::sync::Arc::new(crate::SystemClock)).await.unwrap();
        let mode: i64 = sqlx::query_scalar("PRAGMA synchronous").fetch_one(&store.pool).await.unwrap();
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        assert_eq!(mode, 2, "synchronous = FULL");
    }

    #[tokio::test]
    async fn the_readings_writer_opens_the_same_file_set_as_every_other_connection() {
        let file = std::env::temp_dir().join(format!("joule_direct_{}.db", rand::random::<u64>()));
        let store = crate::Store::connect(&format!("sqlite://{}", file.display()), std::sync::Arc::new(crate::SystemClock)).await.unwrap();
        let direct = Backend::Sqlite.direct_file(&store.pool.connect_options());
        let settings = direct.as_deref().map(|path| {
            let conn = open_direct(path).unwrap();
            let number = |pragma: &str| conn.query_row(pragma, [], |row| row.get::<_, i64>(0)).unwrap();
            let journal: String = conn.query_row("PRAGMA journal_mode", [], |row| row.get(0)).unwrap();
            (journal, number("PRAGMA synchronous"), number("PRAGMA foreign_keys"))
        });
        store.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        assert_eq!(direct, Some(file));
        assert_eq!(settings, Some(("wal".to_string(), 2, 1)), "WAL, synchronous = FULL, foreign keys on");
        let options = |url: &str| AnyConnectOptions::from_str(url).unwrap();
        for memory in ["sqlite::memory:", "sqlite::memory:?mode=rwc", "sqlite://joule.db?mode=memory"] {
            assert_eq!(Backend::Sqlite.direct_file(&options(memory)), None, "{memory}: another connection would not see it");
        }
        assert_eq!(Backend::Postgres.direct_file(&options("postgres://u@h/db")), None);
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(redact("postgres://joule:hunter2@db:5432/joule"), "postgres://joule:***@db:5432/joule");
        assert_eq!(redact("sqlite://joule.db"), "sqlite://joule.db");
    }
}
