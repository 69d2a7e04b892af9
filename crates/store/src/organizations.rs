//! Organizations and their API keys.

use domain::Id;
use domain::event::NewEvent;
use domain::organization::{Organization, OrganizationUpdate};
use domain::page::Page;
use domain::stripe::{SecretKey, StripeKeys, WebhookSecret};
use sqlx::AnyConnection;
use sqlx::{AssertSqlSafe, Row};

use crate::documents::from_row;
use crate::{Store, StoreError};

/// An API key as stored: its public id and the SHA-256 of its secret part. Keys are long
/// random strings, so a fast hash is enough; the secret itself is never stored.
#[derive(Clone, Debug)]
pub struct ApiKeyRecord {
    pub id: String,
    pub organization: Id,
    pub secret_sha256: String,
}

impl Store {
    pub async fn create_organization(&self, org: &Organization, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        self.insert_organization(&mut tx, org, key).await?;
        self.answer_with_secret(&mut tx, org, Some("api_key")).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates `org` only if no organization exists yet; tells whether it did.
    pub async fn create_first_organization(&self, org: &Organization, key: &ApiKeyRecord) -> Result<bool, StoreError> {
        let mut tx = self.write().await?;
        if sqlx::query("SELECT id FROM organizations LIMIT 1").fetch_optional(&mut *tx).await?.is_some() {
            return Ok(false);
        }
        self.insert_organization(&mut tx, org, key).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn insert_organization(&self, conn: &mut AnyConnection, org: &Organization, key: &ApiKeyRecord) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO organizations (id, data, created_at, updated_at) VALUES ($1, $2, $3, $4)")
            .bind(org.id.to_string())
            .bind(serde_json::to_string(org).map_err(StoreError::corrupt)?)
            .bind(org.created_at.millis())
            .bind(org.updated_at.millis())
            .execute(&mut *conn)
            .await?;
        insert_key(conn, key, self.now().millis()).await?;
        self.record(conn, org.id, vec![NewEvent::of("organization", "created", org)]).await
    }

    pub async fn organizations(&self, page: Page) -> Result<Vec<Organization>, StoreError> {
        let rows = sqlx::query("SELECT data FROM organizations ORDER BY created_at DESC, id DESC LIMIT $1 OFFSET $2")
            .bind(i64::from(page.limit))
            .bind(page.offset())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(from_row).collect()
    }

    pub async fn organization(&self, id: Id) -> Result<Organization, StoreError> {
        let row = sqlx::query("SELECT data FROM organizations WHERE id = $1").bind(id.to_string()).fetch_optional(&self.pool).await?;
        row.as_ref().map(from_row).transpose()?.ok_or(StoreError::NotFound("organization"))
    }

    pub async fn update_organization(&self, org: &Organization) -> Result<(), StoreError> {
        self.update_organization_settings(&OrganizationUpdate { organization: org.clone(), stripe: None }).await.map(|_| ())
    }

    /// Applies a `PATCH /v1.1/organization`: `change` makes the update from the stored
    /// organization while its row is locked, so that a concurrent change is never overwritten.
    pub async fn change_organization<E: From<StoreError>>(
        &self,
        id: Id,
        change: impl FnOnce(&Organization) -> Result<OrganizationUpdate, E>,
    ) -> Result<Organization, E> {
        let mut tx = self.write().await?;
        let sql = format!("SELECT data FROM organizations WHERE id = $1{}", self.backend.lock_in_turn());
        let row = sqlx::query(AssertSqlSafe(sql)).bind(id.to_string()).fetch_optional(&mut *tx).await.map_err(StoreError::from)?;
        let current: Organization = row.as_ref().map(from_row).transpose()?.ok_or(StoreError::NotFound("organization"))?;
        let org = self.write_organization(&mut tx, &change(&current)?).await?;
        tx.commit().await?;
        Ok(org)
    }

    /// Writes the organization and, if given, its Stripe keys, with `stripe.configured` from
    /// the keys held afterwards. Answers the organization.
    pub async fn update_organization_settings(&self, update: &OrganizationUpdate) -> Result<Organization, StoreError> {
        let mut tx = self.write().await?;
        let org = self.write_organization(&mut tx, update).await?;
        tx.commit().await?;
        Ok(org)
    }

    async fn write_organization(&self, tx: &mut AnyConnection, update: &OrganizationUpdate) -> Result<Organization, StoreError> {
        let mut org = update.organization.clone();
        let keys = self.stripe_keys_in(&mut *tx, org.id).await?;
        let keys = match &update.stripe {
            Some(change) => change.applied_to(keys),
            None => keys,
        };
        org.stripe.configured = keys.configured();
        sqlx::query("UPDATE organizations SET data = $2, updated_at = $3, stripe_secret_key = $4, stripe_webhook_secret = $5 WHERE id = $1")
            .bind(org.id.to_string())
            .bind(serde_json::to_string(&org).map_err(StoreError::corrupt)?)
            .bind(org.updated_at.millis())
            .bind(keys.secret_key.as_ref().map(|k| k.expose().to_string()))
            .bind(keys.webhook_secret.as_ref().map(|k| k.expose().to_string()))
            .execute(&mut *tx)
            .await?;
        self.record(&mut *tx, org.id, vec![NewEvent::of("organization", "updated", &org)]).await?;
        Ok(org)
    }

    /// The organization's Stripe keys. `NotFound` for an unknown organization.
    pub async fn stripe_keys(&self, org: Id) -> Result<StripeKeys, StoreError> {
        self.stripe_keys_in(&mut *self.pool.acquire().await?, org).await
    }

    pub(crate) async fn stripe_keys_in(&self, conn: &mut AnyConnection, org: Id) -> Result<StripeKeys, StoreError> {
        let row =
            sqlx::query("SELECT stripe_secret_key, stripe_webhook_secret FROM organizations WHERE id = $1").bind(org.to_string()).fetch_optional(conn).await?;
        let row = row.ok_or(StoreError::NotFound("organization"))?;
        let secret: Option<String> = row.try_get("stripe_secret_key")?;
        let webhook: Option<String> = row.try_get("stripe_webhook_secret")?;
        // Keys were checked when they were set; one that no longer parses is reported without its value.
        Ok(StripeKeys {
            secret_key: secret.map(|k| SecretKey::parse(&k).ok_or_else(|| StoreError::corrupt("a stored Stripe secret key"))).transpose()?,
            webhook_secret: webhook.map(|k| WebhookSecret::parse(&k).ok_or_else(|| StoreError::corrupt("a stored Stripe webhook secret"))).transpose()?,
        })
    }

    pub async fn add_api_key(&self, key: &ApiKeyRecord) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        let exists = sqlx::query("SELECT id FROM organizations WHERE id = $1").bind(key.organization.to_string()).fetch_optional(&mut *tx).await?;
        if exists.is_none() {
            return Err(StoreError::NotFound("organization"));
        }
        insert_key(&mut tx, key, self.now().millis()).await?;
        self.answer_with_secret(&mut tx, &serde_json::json!({ "organization": key.organization }), Some("api_key")).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn api_key(&self, id: &str) -> Result<Option<ApiKeyRecord>, StoreError> {
        let row = sqlx::query("SELECT id, organization_id, secret_sha256 FROM api_keys WHERE id = $1").bind(id).fetch_optional(&self.pool).await?;
        let Some(row) = row else { return Ok(None) };
        let org: String = row.try_get("organization_id")?;
        Ok(Some(ApiKeyRecord { id: row.try_get("id")?, organization: org.parse().map_err(StoreError::corrupt)?, secret_sha256: row.try_get("secret_sha256")? }))
    }
}

async fn insert_key(conn: &mut AnyConnection, key: &ApiKeyRecord, now_ms: i64) -> Result<(), StoreError> {
    sqlx::query("INSERT INTO api_keys (id, organization_id, secret_sha256, created_at) VALUES ($1, $2, $3, $4)")
        .bind(key.id.clone())
        .bind(key.organization.to_string())
        .bind(key.secret_sha256.clone())
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}
