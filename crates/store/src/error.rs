use thiserror::Error;

/// What a storage use case can refuse, plus the database failing.
#[derive(Debug, Error)]
pub enum StoreError {
    /// The named object does not exist in this organization.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with what is stored (a duplicate, a state that does not allow it).
    #[error("{0}")]
    Conflict(String),
    /// A business rule refuses the request; the message is for the API client as it is.
    #[error("{0}")]
    Refused(String),
    /// A wallet change the ledger rules refuse.
    #[error(transparent)]
    Ledger(#[from] domain::ledger::LedgerError),
    /// Stored data that no longer parses: a bug or a hand-edited database.
    #[error("corrupt stored data: {0}")]
    Corrupt(String),
    #[error("configuration: {0}")]
    Config(String),
    #[error("database: {0}")]
    Database(#[from] sqlx::Error),
    /// The readings' writer's own SQLite connection failed.
    #[error("database: {0}")]
    Sqlite(#[from] rusqlite::Error),
}

impl StoreError {
    /// The store was closed, or a task that writes for it has stopped.
    pub fn closed() -> StoreError {
        StoreError::Database(sqlx::Error::PoolClosed)
    }

    pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(e.to_string())
    }
}

/// A unique constraint failed: `conflict` becomes the error, anything else stays a database error.
pub(crate) fn on_unique(e: sqlx::Error, conflict: impl FnOnce() -> StoreError) -> StoreError {
    match &e {
        sqlx::Error::Database(db) if db.is_unique_violation() => conflict(),
        _ => StoreError::Database(e),
    }
}
