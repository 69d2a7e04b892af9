//! Wallets and their ledger. A balance changes only in the transaction that writes its ledger
//! entry, and only through a guarded UPDATE, so concurrent changes can never take a wallet
//! below zero or lose an update.

use domain::event::NewEvent;
use domain::ledger::{EntryKind, LedgerEntry, MAX_BALANCE};
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

fn parse_id(row: &AnyRow, column: &str) -> Result<Id, StoreError> {
    row.try_get::<String, _>(column)?.parse().map_err(StoreError::corrupt)
}

fn wallet_from_row(row: &AnyRow) -> Result<Wallet, StoreError> {
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
        tx.commit().await?;
        Ok(())
    }

    /// Credits or debits a wallet by hand. A debit takes only the available balance (never
    /// money held for a session): anything more is `InsufficientFunds` and changes nothing.
    pub async fn adjust_wallet(&self, org: Id, wallet: Id, adjustment: &Adjustment) -> Result<(Wallet, LedgerEntry), StoreError> {
        let mut tx = self.write().await?;
        let moved = self.move_money(&mut tx, org, wallet, adjustment.amount, EntryKind::Adjustment, Some(adjustment.reason.clone())).await?;
        tx.commit().await?;
        Ok(moved)
    }

    /// Inside the caller's transaction: credits (positive) or debits (negative) money that is
    /// not held, with its ledger entry and the `wallet.updated` event.
    pub(crate) async fn move_money(
        &self,
        tx: &mut AnyConnection,
        org: Id,
        wallet: Id,
        amount: Cents,
        kind: EntryKind,
        reference: Option<String>,
    ) -> Result<(Wallet, LedgerEntry), StoreError> {
        let now = self.now();
        // The guard decides; if it refuses while the ledger rule, on the balance read a moment
        // later, would allow it, a concurrent change came in between (PostgreSQL reads each
        // statement afresh): try the guarded update again.
        let mut attempts = 0;
        let row = loop {
            let row = sqlx::query(concat!(
                "UPDATE wallets SET balance = balance + $1, available_balance = available_balance + $1, updated_at = $2 ",
                "WHERE id = $3 AND organization_id = $4 AND available_balance + $1 >= 0 AND balance + $1 <= $5 ",
                "RETURNING ",
                wallet_columns!()
            ))
            .bind(amount.0)
            .bind(now.millis())
            .bind(wallet.to_string())
            .bind(org.to_string())
            .bind(MAX_BALANCE.0)
            .fetch_optional(&mut *tx)
            .await?;
            if let Some(row) = row {
                break row;
            }
            let current = self.wallet_in(tx, org, wallet).await?;
            current.balances().adjust(amount)?;
            attempts += 1;
            if attempts == 10 {
                return Err(StoreError::Conflict("The wallet is changing too fast; try again".into()));
            }
        };
        let updated = wallet_from_row(&row)?;
        // Taken while the wallet's row is locked, so entries sort in the order they applied.
        let now = self.now();
        let entry = LedgerEntry { id: self.new_id(), wallet, kind, amount, balance_after: updated.balance, reference, created_at: now };
        self.insert_entry(tx, org, &entry).await?;
        self.record(tx, org, vec![NewEvent::of("wallet", "updated", &updated)]).await?;
        Ok((updated, entry))
    }

    pub(crate) async fn insert_entry(&self, conn: &mut AnyConnection, org: Id, entry: &LedgerEntry) -> Result<(), StoreError> {
        sqlx::query("INSERT INTO ledger_entries (id, organization_id, wallet_id, kind, amount, balance_after, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(entry.id.to_string())
            .bind(org.to_string())
            .bind(entry.wallet.to_string())
            .bind(entry.kind.as_str())
            .bind(entry.amount.0)
            .bind(entry.balance_after.0)
            .bind(entry.reference.clone())
            .bind(entry.created_at.millis())
            .execute(conn)
            .await?;
        Ok(())
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

    /// The sum of a wallet's ledger entries, which must always equal its balance.
    pub async fn ledger_sum(&self, wallet: Id) -> Result<Cents, StoreError> {
        let sum: Option<i64> = sqlx::query_scalar("SELECT CAST(SUM(amount) AS BIGINT) FROM ledger_entries WHERE wallet_id = $1")
            .bind(wallet.to_string())
            .fetch_one(&self.pool)
            .await?;
        Ok(Cents(sum.unwrap_or(0)))
    }
}
