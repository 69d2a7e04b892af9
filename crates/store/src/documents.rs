//! Resources stored as the JSON the API shows (`data`) beside the columns queries need.
//! One code path inserts, replaces, fetches and lists every such resource.

use domain::page::Page;
use domain::{Id, Timestamp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use sqlx::AnyConnection;
use sqlx::any::{AnyArguments, AnyRow};
use sqlx::query::Query;
use sqlx::{Any, AssertSqlSafe, Row};

use crate::{Backend, StoreError};

/// A column value beside `data`.
pub(crate) enum Column {
    Text(Option<String>),
    Int(Option<i64>),
}

pub(crate) trait Document: Serialize + DeserializeOwned + Send + Sync {
    const TABLE: &'static str;
    /// The event object name (`user`), also used in "not found" messages.
    const OBJECT: &'static str;
    /// Indexed columns beyond `id`, `organization_id`, `data`, `created_at`, `updated_at`.
    const COLUMNS: &'static [&'static str] = &[];

    fn id(&self) -> Id;
    fn created_at(&self) -> Timestamp;
    fn updated_at(&self) -> Timestamp;
    /// Values of [`Self::COLUMNS`], in the same order.
    fn column_values(&self) -> Vec<Column> {
        Vec::new()
    }
    /// What a read selects: the stored JSON as `data`, and whatever `read` lays over it.
    const SELECT: &'static str = "data";
    /// The document of a row selected with `SELECT`.
    fn read(row: &AnyRow) -> Result<Self, StoreError>
    where
        Self: Sized,
    {
        from_row(row)
    }
}

/// Implements [`Document`] for a type with `id`, `created_at` and `updated_at` fields, and
/// optionally indexed columns computed from it.
macro_rules! document {
    ($type:ty, $table:literal, $object:literal) => {
        document!($type, $table, $object, [], |_doc| Vec::new());
    };
    ($type:ty, $table:literal, $object:literal, [$($column:literal),*], |$doc:ident| $values:expr $(, shown: $select:expr, $read:path)?) => {
        impl $crate::documents::Document for $type {
            const TABLE: &'static str = $table;
            const OBJECT: &'static str = $object;
            const COLUMNS: &'static [&'static str] = &[$($column),*];
            fn id(&self) -> domain::Id {
                self.id
            }
            fn created_at(&self) -> domain::Timestamp {
                self.created_at
            }
            fn updated_at(&self) -> domain::Timestamp {
                self.updated_at
            }
            fn column_values(&self) -> Vec<$crate::documents::Column> {
                let $doc = self;
                $values
            }
            $(
                const SELECT: &'static str = $select;
                fn read(row: &sqlx::any::AnyRow) -> Result<Self, $crate::StoreError> {
                    $read(row)
                }
            )?
        }
    };
}
pub(crate) use document;

/// A list filter. Column names are `'static` so that only names written in code reach SQL.
#[derive(Clone, Debug)]
pub enum Filter {
    Eq(&'static str, String),
    CreatedFrom(Timestamp),
    CreatedUntil(Timestamp),
}

fn bind_column<'q>(q: Query<'q, Any, AnyArguments>, c: Column) -> Query<'q, Any, AnyArguments> {
    match c {
        Column::Text(t) => q.bind(t),
        Column::Int(i) => q.bind(i),
    }
}

fn to_json<T: Serialize>(doc: &T) -> Result<String, StoreError> {
    serde_json::to_string(doc).map_err(StoreError::corrupt)
}

pub(crate) fn from_row<T: DeserializeOwned>(row: &AnyRow) -> Result<T, StoreError> {
    from_column(row, "data")?.ok_or_else(|| StoreError::corrupt("a row without its document"))
}

/// The document stored as JSON in a row's `column`, if it holds one.
pub(crate) fn from_column<T: DeserializeOwned>(row: &AnyRow, column: &str) -> Result<Option<T>, StoreError> {
    let data: Option<String> = row.try_get(column)?;
    data.map(|data| serde_json::from_str(&data).map_err(StoreError::corrupt)).transpose()
}

pub(crate) async fn insert<T: Document>(conn: &mut AnyConnection, org: Id, doc: &T) -> Result<(), sqlx::Error> {
    let extra: String = T::COLUMNS.iter().map(|c| format!(", {c}")).collect();
    let params: String = (0..T::COLUMNS.len()).map(|i| format!(", ${}", i + 6)).collect();
    let sql = format!("INSERT INTO {} (id, organization_id, data, created_at, updated_at{extra}) VALUES ($1, $2, $3, $4, $5{params})", T::TABLE);
    let data = to_json(doc).map_err(|e| sqlx::Error::Encode(e.to_string().into()))?;
    let mut q = sqlx::query(AssertSqlSafe(sql))
        .bind(doc.id().to_string())
        .bind(org.to_string())
        .bind(data)
        .bind(doc.created_at().millis())
        .bind(doc.updated_at().millis());
    for c in doc.column_values() {
        q = bind_column(q, c);
    }
    q.execute(conn).await?;
    Ok(())
}

/// Replaces a stored document; `NotFound` when it is not this organization's.
pub(crate) async fn replace<T: Document>(conn: &mut AnyConnection, org: Id, doc: &T) -> Result<(), StoreError> {
    let extra: String = T::COLUMNS.iter().enumerate().map(|(i, c)| format!(", {c} = ${}", i + 5)).collect();
    let sql = format!("UPDATE {} SET data = $3, updated_at = $4{extra} WHERE id = $1 AND organization_id = $2", T::TABLE);
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(doc.id().to_string()).bind(org.to_string()).bind(to_json(doc)?).bind(doc.updated_at().millis());
    for c in doc.column_values() {
        q = bind_column(q, c);
    }
    if q.execute(conn).await?.rows_affected() == 0 {
        return Err(StoreError::NotFound(T::OBJECT));
    }
    Ok(())
}

pub(crate) async fn fetch<T: Document>(conn: &mut AnyConnection, org: Id, id: Id) -> Result<T, StoreError> {
    fetch_with(conn, org, id, "").await
}

/// `fetch` in a write transaction that is going to change the document: on PostgreSQL the row
/// stays locked until the transaction ends, so two read-modify-writes of one document (a
/// charger's stop and the runner's stop request, say) never overwrite each other. SQLite's
/// write transactions already run one at a time.
pub(crate) async fn fetch_to_change<T: Document>(conn: &mut AnyConnection, backend: Backend, org: Id, id: Id) -> Result<T, StoreError> {
    fetch_with(conn, org, id, backend.lock_in_turn()).await
}

async fn fetch_with<T: Document>(conn: &mut AnyConnection, org: Id, id: Id, lock: &str) -> Result<T, StoreError> {
    let sql = format!("SELECT {} FROM {} WHERE id = $1 AND organization_id = $2{lock}", T::SELECT, T::TABLE);
    let row = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).bind(org.to_string()).fetch_optional(conn).await?;
    row.as_ref().map(T::read).transpose()?.ok_or(StoreError::NotFound(T::OBJECT))
}

/// Rows of `table` in this organization, newest first. `select` names what to read.
pub(crate) async fn list_rows(conn: &mut AnyConnection, table: &str, select: &str, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<AnyRow>, StoreError> {
    let mut sql = format!("SELECT {select} FROM {table} WHERE organization_id = $1");
    for (i, f) in filters.iter().enumerate() {
        let n = i + 2;
        match f {
            Filter::Eq(column, _) => sql.push_str(&format!(" AND {column} = ${n}")),
            Filter::CreatedFrom(_) => sql.push_str(&format!(" AND created_at >= ${n}")),
            Filter::CreatedUntil(_) => sql.push_str(&format!(" AND created_at <= ${n}")),
        }
    }
    let n = filters.len() + 2;
    sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT ${n} OFFSET ${}", n + 1));
    let mut q = sqlx::query(AssertSqlSafe(sql)).bind(org.to_string());
    for f in filters {
        q = match f {
            Filter::Eq(_, v) => q.bind(v.clone()),
            Filter::CreatedFrom(t) | Filter::CreatedUntil(t) => q.bind(t.millis()),
        };
    }
    Ok(q.bind(i64::from(page.limit)).bind(page.offset()).fetch_all(conn).await?)
}

pub(crate) async fn list<T: Document>(conn: &mut AnyConnection, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<T>, StoreError> {
    list_rows(conn, T::TABLE, T::SELECT, org, page, filters).await?.iter().map(T::read).collect()
}

/// Whether an object with this id exists in this organization's `table`.
pub(crate) async fn exists(conn: &mut AnyConnection, table: &'static str, org: Id, id: Id) -> Result<bool, StoreError> {
    let sql = format!("SELECT id FROM {table} WHERE id = $1 AND organization_id = $2");
    Ok(sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).bind(org.to_string()).fetch_optional(conn).await?.is_some())
}
