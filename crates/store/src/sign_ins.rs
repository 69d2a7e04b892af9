//! Operators signed in to the dashboard. The cookie's token is kept as its SHA-256 only, so the
//! table gives nobody a way in; a sign-in ends when it expires or is signed out.

use domain::Id;
use sqlx::Row;

use crate::{Store, StoreError};

/// What a dashboard cookie stands for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignIn {
    pub organization: Id,
    /// Its name when it signed in, for the pages' heading.
    pub organization_name: String,
    /// The API key that signed in (its public part).
    pub api_key_id: String,
    /// What every form of this sign-in must carry back.
    pub form_token: String,
    pub expires_at: i64,
}

impl Store {
    /// Records a sign-in under its token's hash; expired sign-ins go at the same time.
    pub async fn create_sign_in(&self, token_sha256: &str, sign_in: &SignIn) -> Result<(), StoreError> {
        let now = self.now().millis();
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM dashboard_sign_ins WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
        sqlx::query(
            "INSERT INTO dashboard_sign_ins (token_sha256, organization_id, organization_name, api_key_id, form_token, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(token_sha256)
        .bind(sign_in.organization.to_string())
        .bind(&sign_in.organization_name)
        .bind(&sign_in.api_key_id)
        .bind(&sign_in.form_token)
        .bind(now)
        .bind(sign_in.expires_at)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The sign-in a token's hash names, unless it expired.
    pub async fn sign_in(&self, token_sha256: &str) -> Result<Option<SignIn>, StoreError> {
        let row = sqlx::query(
            "SELECT organization_id, organization_name, api_key_id, form_token, expires_at FROM dashboard_sign_ins WHERE token_sha256 = $1 AND expires_at > $2",
        )
        .bind(token_sha256)
        .bind(self.now().millis())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let organization: String = row.try_get("organization_id")?;
        Ok(Some(SignIn {
            organization: organization.parse().map_err(StoreError::corrupt)?,
            organization_name: row.try_get("organization_name")?,
            api_key_id: row.try_get("api_key_id")?,
            form_token: row.try_get("form_token")?,
            expires_at: row.try_get("expires_at")?,
        }))
    }

    pub async fn delete_sign_in(&self, token_sha256: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM dashboard_sign_ins WHERE token_sha256 = $1").bind(token_sha256).execute(&self.pool).await?;
        Ok(())
    }
}
