//! Chargestations: registered through the API, kept current by the OCPP server.

use domain::chargestation::{Chargestation, Registration, Security, SecurityType};
use domain::connector::{Connector, ConnectorStatus};
use domain::event::NewEvent;
use domain::local_list::LocalListState;
use domain::page::Page;
use domain::{Id, Timestamp};
use sqlx::AnyConnection;
use sqlx::any::AnyRow;
use sqlx::{AssertSqlSafe, Row};

use crate::documents::{self, Filter};
use crate::error::on_unique;
use crate::{Store, StoreError};

macro_rules! chargestation_columns {
    () => {
        "id, endpoint, protocol, location_id, connection_url, security_type, registration, online, status, \
         last_connect_at, last_disconnect_at, last_message_at, boot_info, local_list_version, local_list_status, local_list_synced_at, \
         created_at, updated_at"
    };
}

/// The columns `chargestation_from_row` reads.
pub(crate) const COLUMNS: &str = chargestation_columns!();

/// How a charger proves who it is, as stored: the password only as its hash.
#[derive(Clone, Debug)]
pub struct StoredSecurity {
    pub kind: SecurityType,
    pub password_hash: Option<String>,
}

/// A new chargestation as the store writes it.
#[derive(Clone, Debug)]
pub struct ChargestationRecord {
    pub id: Id,
    pub endpoint: String,
    pub protocol: String,
    pub location: Option<Id>,
    pub connection_url: String,
    pub security: StoredSecurity,
    pub registration: Registration,
    pub created_at: Timestamp,
}

/// Validated changes from `PATCH /v1.1/chargestations/{id}`.
#[derive(Clone, Debug, Default)]
pub struct ChargestationUpdate {
    pub location: Option<Option<Id>>,
    pub security: Option<StoredSecurity>,
    pub registration: Option<Registration>,
}

fn security_name(kind: SecurityType) -> &'static str {
    match kind {
        SecurityType::None => "none",
        SecurityType::Basic => "basic",
    }
}

fn optional_time(row: &AnyRow, column: &str) -> Result<Option<Timestamp>, StoreError> {
    Ok(row.try_get::<Option<i64>, _>(column)?.map(Timestamp::from_millis))
}

pub(crate) fn chargestation_from_row(row: &AnyRow, connectors: Vec<Connector>) -> Result<Chargestation, StoreError> {
    let id: String = row.try_get("id")?;
    let location: Option<String> = row.try_get("location_id")?;
    let security: String = row.try_get("security_type")?;
    let registration: String = row.try_get("registration")?;
    let boot_info: Option<String> = row.try_get("boot_info")?;
    let status: Option<String> = row.try_get("status")?;
    Ok(Chargestation {
        id: id.parse().map_err(StoreError::corrupt)?,
        endpoint: row.try_get("endpoint")?,
        protocol: row.try_get("protocol")?,
        location: location.map(|l| l.parse()).transpose().map_err(StoreError::corrupt)?,
        connection_url: row.try_get("connection_url")?,
        security: Security { kind: if security == "basic" { SecurityType::Basic } else { SecurityType::None } },
        online: row.try_get::<i64, _>("online")? != 0,
        status: status.and_then(|s| ConnectorStatus::parse(&s)),
        registration: Registration::parse(&registration).ok_or_else(|| StoreError::corrupt(format!("registration {registration}")))?,
        last_connect_at: optional_time(row, "last_connect_at")?,
        last_disconnect_at: optional_time(row, "last_disconnect_at")?,
        last_message_at: optional_time(row, "last_message_at")?,
        boot_info: boot_info.map(|b| serde_json::from_str(&b)).transpose().map_err(StoreError::corrupt)?,
        local_list: local_list_state(row)?,
        connectors,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn local_list_state(row: &AnyRow) -> Result<Option<LocalListState>, StoreError> {
    let version: Option<i64> = row.try_get("local_list_version")?;
    let status: Option<String> = row.try_get("local_list_status")?;
    let synced_at = optional_time(row, "local_list_synced_at")?;
    Ok(version.zip(status).zip(synced_at).map(|((version, status), synced_at)| LocalListState { version, status, synced_at }))
}

impl Store {
    pub async fn create_chargestation(&self, org: Id, cs: &ChargestationRecord) -> Result<Chargestation, StoreError> {
        let mut tx = self.write().await?;
        check_location(&mut tx, org, cs.location).await?;
        sqlx::query(
            "INSERT INTO chargestations (id, organization_id, endpoint, protocol, location_id, connection_url, security_type, password_hash, \
             registration, online, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 0, $10, $10)",
        )
        .bind(cs.id.to_string())
        .bind(org.to_string())
        .bind(cs.endpoint.clone())
        .bind(cs.protocol.clone())
        .bind(cs.location.map(|l| l.to_string()))
        .bind(cs.connection_url.clone())
        .bind(security_name(cs.security.kind))
        .bind(cs.security.password_hash.clone())
        .bind(cs.registration.as_str())
        .bind(cs.created_at.millis())
        .execute(&mut *tx)
        .await
        .map_err(|e| on_unique(e, || StoreError::Conflict(format!("A chargestation with endpoint `{}` already exists", cs.endpoint))))?;
        let created = self.load_chargestation(&mut tx, org, cs.id).await?;
        self.record(&mut tx, org, vec![NewEvent::of("chargestation", "created", &created).for_chargestation(cs.id)]).await?;
        self.answer(&mut tx, &created).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Applies a PATCH under the chargestation's row lock, so that what it keeps is what is
    /// stored, never a value another change replaced meanwhile.
    pub async fn update_chargestation(&self, org: Id, id: Id, update: &ChargestationUpdate) -> Result<Chargestation, StoreError> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT id FROM chargestations WHERE id = $1 AND organization_id = $2{}", self.backend.lock_in_turn());
        sqlx::query(AssertSqlSafe(sql))
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *tx)
            .await?
            .ok_or(StoreError::NotFound("chargestation"))?;
        let current = self.load_chargestation(&mut tx, org, id).await?;
        let location = update.location.unwrap_or(current.location);
        check_location(&mut tx, org, location).await?;
        let registration = update.registration.unwrap_or(current.registration);
        sqlx::query("UPDATE chargestations SET location_id = $3, registration = $4, updated_at = $5 WHERE id = $1 AND organization_id = $2")
            .bind(id.to_string())
            .bind(org.to_string())
            .bind(location.map(|l| l.to_string()))
            .bind(registration.as_str())
            .bind(self.now().millis())
            .execute(&mut *tx)
            .await?;
        if let Some(security) = &update.security {
            sqlx::query("UPDATE chargestations SET security_type = $2, password_hash = $3 WHERE id = $1")
                .bind(id.to_string())
                .bind(security_name(security.kind))
                .bind(security.password_hash.clone())
                .execute(&mut *tx)
                .await?;
        }
        let updated = self.load_chargestation(&mut tx, org, id).await?;
        self.record(&mut tx, org, vec![NewEvent::of("chargestation", "updated", &updated).for_chargestation(id)]).await?;
        tx.commit().await?;
        Ok(updated)
    }

    pub async fn chargestation(&self, org: Id, id: Id) -> Result<Chargestation, StoreError> {
        self.load_chargestation(&mut *self.pool.acquire().await?, org, id).await
    }

    pub async fn chargestations(&self, org: Id, page: Page, filters: &[Filter]) -> Result<Vec<Chargestation>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        let rows = documents::list_rows(&mut conn, "chargestations", chargestation_columns!(), org, page, filters).await?;
        // The page's connectors in one query, not one a chargestation: under load each round
        // trip waits for the database's turn.
        let ids: Vec<[String; 1]> = rows.iter().map(|row| row.try_get::<String, _>("id").map(|id| [id])).collect::<Result<_, _>>()?;
        let sql = format!(
            "SELECT chargestation_id, data FROM connectors WHERE chargestation_id {} AND organization_id = $2 ORDER BY connector_id",
            self.backend.in_json_keys(1)
        );
        let mut connectors: std::collections::HashMap<String, Vec<Connector>> = std::collections::HashMap::new();
        let keys = serde_json::to_string(&ids).map_err(StoreError::corrupt)?;
        for row in sqlx::query(AssertSqlSafe(sql)).bind(keys).bind(org.to_string()).fetch_all(&mut *conn).await? {
            connectors.entry(row.try_get("chargestation_id")?).or_default().push(documents::from_row(&row)?);
        }
        rows.iter().zip(ids).map(|(row, [id])| chargestation_from_row(row, connectors.remove(&id).unwrap_or_default())).collect()
    }

    pub(crate) async fn load_chargestation(&self, conn: &mut AnyConnection, org: Id, id: Id) -> Result<Chargestation, StoreError> {
        let row = sqlx::query(concat!("SELECT ", chargestation_columns!(), " FROM chargestations WHERE id = $1 AND organization_id = $2"))
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(&mut *conn)
            .await?
            .ok_or(StoreError::NotFound("chargestation"))?;
        let connectors = self.connectors_of(conn, org, &id.to_string()).await?;
        chargestation_from_row(&row, connectors)
    }

    async fn connectors_of(&self, conn: &mut AnyConnection, org: Id, chargestation: &str) -> Result<Vec<Connector>, StoreError> {
        let rows = sqlx::query("SELECT data FROM connectors WHERE chargestation_id = $1 AND organization_id = $2 ORDER BY connector_id")
            .bind(chargestation.to_string())
            .bind(org.to_string())
            .fetch_all(conn)
            .await?;
        rows.iter().map(documents::from_row).collect()
    }
}

async fn check_location(conn: &mut AnyConnection, org: Id, location: Option<Id>) -> Result<(), StoreError> {
    match location {
        Some(l) if !documents::exists(conn, "locations", org, l).await? => Err(StoreError::NotFound("location")),
        _ => Ok(()),
    }
}
