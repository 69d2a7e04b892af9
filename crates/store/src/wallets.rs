//! Wallets and their ledger. Balances change only through `ledger`, in the transaction that
//! writes the ledger entry.

use domain::event::NewEvent;
use domain::ledger::{EntryKind, LedgerEntry, Movement};
use domain::page::Page;
use domain::wallet::{Adjustment, Wallet};
use domain::{Cents, Currency, Id, Timestamp};
use sqlx::AnyConnection;
use sqlx::Row;
use sqlx::any::AnyRow;

use crate::documents::{self, Filter};
use crate::error::on_unique;
use crate::{Store, StoreError};

macro_rules! wallet_columns {
    () => {
        "id, user_id, currency, balance, available_balance, created_at, updated_at"
    };
}

pub(crate) const WALLET_COLUMNS: &str = wallet_columns!();

fn parse_id(row: &AnyRow, column: &str) -> Result<Id, StoreError> {
    row.try_get::<String, _>(column)?.parse().map_err(StoreError::corrupt)
}

pub(crate) fn wallet_from_row(row: &AnyRow) -> Result<Wallet, StoreError> {
    let currency: String = row.try_get("currency")?;
    Ok(Wallet {
        id: parse_id(row, "id")?,
        user: parse_id(row, "user_id")?,
        balance: Cents(row.try_get("balance")?),
        available_balance: Cents(row.try_get("available_balance")?),
        currency: Currency::parse(&currency).ok_or_else(|| StoreError::corrupt(format!("currency {currency}")))?,
        auto_top_up: false,
        test_mode: false,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
        updated_at: Timestamp::from_millis(row.try_get("updated_at")?),
    })
}

fn entry_from_row(row: &AnyRow) -> Result<LedgerEntry, StoreError> {
    let kind: String = row.try_get("kind")?;
    Ok(LedgerEntry {
        id: parse_id(row, "id")?,
        wallet: parse_id(row, "wallet_id")?,
        kind: EntryKind::parse(&kind).ok_or_else(|| StoreError::corrupt(format!("ledger entry kind {kind}")))?,
        amount: Cents(row.try_get("amount")?),
        balance_after: Cents(row.try_get("balance_after")?),
        reference: row.try_get("reference")?,
        created_at: Timestamp::from_millis(row.try_get("created_at")?),
    })
}

impl Store {
    pub(crate) async fn wallet_of(&self, conn: &mut AnyConnection, org: Id, user: Id) -> Result<Option<Wallet>, StoreError> {
        let row = sqlx::query(concat!("SELECT ", wallet_columns!(), " FROM wallets WHERE user_id = $1 AND organization_id = $2"))
            .bind(user.to_string())
            .bind(org.to_string())
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(wallet_from_row).transpose()
    }

    /// The user's wallet, if it has one. `NotFound` if the user is not this organization's.
    pub async fn wallet_of_user(&self, org: Id, user: Id) -> Result<Option<Wallet>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if !documents::exists(&mut conn, "users", org, user).await? {
            return Err(StoreError::NotFound("user"));
        }
        self.wallet_of(&mut conn, org, user).await
    }

    pub async fn wallet(&self, org: Id, id: Id) -> Result<Wallet, StoreError> {
        self.wallet_in(&mut *self.pool.acquire().await?, org, id).await
    }

    pub(crate) async fn wallet_in(&self, conn: &mut AnyConnection, org: Id, id: Id) -> Result<Wallet, StoreError> {
        let row = sqlx::query(concat!("SELECT ", wallet_columns!(), " FROM wallets WHERE id = $1 AND organization_id = $2"))
            .bind(id.to_string())
            .bind(org.to_string())
            .fetch_optional(conn)
            .await?;
        row.as_ref().map(wallet_from_row).transpose()?.ok_or(StoreError::NotFound("wallet"))
    }

    /// Creates an empty wallet for a user of this organization. A user has at most one:
    /// a second is a `Conflict`.
    pub async fn create_wallet(&self, org: Id, wallet: &Wallet) -> Result<(), StoreError> {
        let mut tx = self.write().await?;
        if !documents::exists(&mut tx, "users", org, wallet.user).await? {
            return Err(StoreError::NotFound("user"));
        }
        sqlx::query("INSERT INTO wallets (id, organization_id, user_id, currency, balance, available_balance, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0, $5, $6)")
            .bind(wallet.id.to_string())
            .bind(org.to_string())
            .bind(wallet.user.to_string())
            .bind(wallet.currency.code())
            .bind(wallet.created_at.millis())
            .bind(wallet.updated_at.millis())
            .execute(&mut *tx)
            .await
            .map_err(|e| on_unique(e, || StoreError::Conflict("User already has a wallet".into())))?;
        self.record(&mut tx, org, vec![NewEvent::of("wallet", "created", wallet)]).await?;
        self.answer(&mut tx, wallet).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Credits or debits a wallet by hand. A debit takes only the available balance (never
    /// money held for a session): anything more is `InsufficientFunds` and changes nothing.
    pub async fn adjust_wallet(&self, org: Id, wallet: Id, adjustment: &Adjustment) -> Result<(Wallet, LedgerEntry), StoreError> {
        let mut tx = self.write().await?;
        let moved = self.move_money(&mut tx, org, wallet, Movement::Adjust(adjustment.amount), Some(adjustment.reason.clone())).await?;
        self.answer(&mut tx, &serde_json::json!({ "wallet": moved.0, "transaction": moved.1 })).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Inside the caller's transaction: an adjustment or a top-up's credit, with its ledger
    /// entry and the `wallet.updated` event.
    pub(crate) async fn move_money(
        &self,
        tx: &mut AnyConnection,
        org: Id,
        wallet: Id,
        movement: Movement,
        reference: Option<String>,
    ) -> Result<(Wallet, LedgerEntry), StoreError> {
        let (updated, entry) = self.move_wallet(tx, org, wallet, movement, reference).await?;
        let entry = entry.ok_or_else(|| StoreError::corrupt(format!("{movement:?} wrote no ledger entry")))?;
        self.record(tx, org, vec![NewEvent::of("wallet", "updated", &updated)]).await?;
        Ok((updated, entry))
    }

    /// The wallet's ledger, newest first.
    pub async fn wallet_transactions(&self, org: Id, wallet: Id, page: Page) -> Result<Vec<LedgerEntry>, StoreError> {
        let mut conn = self.pool.acquire().await?;
        if !documents::exists(&mut conn, "wallets", org, wallet).await? {
            return Err(StoreError::NotFound("wallet"));
        }
        let filters = [Filter::Eq("wallet_id", wallet.to_string())];
        let rows = documents::list_rows(&mut conn, "ledger_entries", "*", org, page, &filters).await?;
        rows.iter().map(entry_from_row).collect()
    }
}
