//! The only code that changes a wallet's balances or writes its ledger. Every movement (an
//! adjustment, a top-up's credit, a session's hold, its release or capture) runs inside the
//! caller's transaction: the wallet's row is read in turn (locked on PostgreSQL; SQLite has one
//! writer), the pure rule (`Balances::apply`) decides, one guarded `UPDATE` applies the change,
//! and the row it returns must be what the rule said, or the transaction fails.

use domain::ledger::{LedgerEntry, MAX_BALANCE, Movement};
use domain::wallet::Wallet;
use domain::{Cents, Id};
use sqlx::{AnyConnection, AssertSqlSafe};

use crate::wallets::{WALLET_COLUMNS, wallet_from_row};
use crate::{Store, StoreError};

impl Store {
    /// Applies `movement` to the wallet and writes its ledger entry, if it has one, with
    /// `reference`. A movement the ledger refuses changes nothing and is that `Ledger` error.
    pub(crate) async fn move_wallet(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        wallet: Id,
        movement: Movement,
        reference: Option<String>,
    ) -> Result<(Wallet, Option<LedgerEntry>), StoreError> {
        let sql = format!("SELECT {WALLET_COLUMNS} FROM wallets WHERE id = $1 AND organization_id = $2{}", self.backend.lock_in_turn());
        let row = sqlx::query(AssertSqlSafe(sql)).bind(wallet.to_string()).bind(org.to_string()).fetch_optional(&mut *conn).await?;
        let before = row.as_ref().map(wallet_from_row).transpose()?.ok_or(StoreError::NotFound("wallet"))?;
        self.move_locked_wallet(conn, org, &before, movement, reference).await
    }

    /// [`Store::move_wallet`] of a wallet `before` as read in this transaction, its row locked
    /// (`Backend::lock_in_turn`).
    pub(crate) async fn move_locked_wallet(
        &self,
        conn: &mut AnyConnection,
        org: Id,
        before: &Wallet,
        movement: Movement,
        reference: Option<String>,
    ) -> Result<(Wallet, Option<LedgerEntry>), StoreError> {
        let (wallet, before) = (before.id, before.balances());
        let expected = before.apply(movement)?;
        // The guard is the ledger invariant, so not even a rule broken above could store a
        // wallet that goes below zero or holds more than it has.
        let sql = format!(
            "UPDATE wallets SET balance = balance + $1, available_balance = available_balance + $2, updated_at = $3 \
             WHERE id = $4 AND organization_id = $5 AND available_balance + $2 >= 0 AND available_balance + $2 <= balance + $1 AND balance + $1 <= $6 \
             RETURNING {WALLET_COLUMNS}"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(expected.balance.0 - before.balance.0)
            .bind(expected.available.0 - before.available.0)
            .bind(self.now().millis())
            .bind(wallet.to_string())
            .bind(org.to_string())
            .bind(MAX_BALANCE.0)
            .fetch_optional(&mut *conn)
            .await?;
        let updated = row.as_ref().map(wallet_from_row).transpose()?;
        let Some(updated) = updated.filter(|w| w.balances() == expected) else {
            return Err(StoreError::corrupt(format!("wallet {wallet} did not follow the ledger: {movement:?} on {before:?} should give {expected:?}")));
        };
        let Some((kind, amount)) = movement.entry() else { return Ok((updated, None)) };
        // Taken while the wallet's row is locked, so entries sort in the order they applied.
        let entry = LedgerEntry { id: self.new_id(), wallet, kind, amount, balance_after: updated.balance, reference, created_at: self.now() };
        sqlx::query("INSERT INTO ledger_entries (id, organization_id, wallet_id, kind, amount, balance_after, reference, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
            .bind(entry.id.to_string())
            .bind(org.to_string())
            .bind(entry.wallet.to_string())
            .bind(entry.kind.as_str())
            .bind(entry.amount.0)
            .bind(entry.balance_after.0)
            .bind(entry.reference.clone())
            .bind(entry.created_at.millis())
            .execute(&mut *conn)
            .await?;
        Ok((updated, Some(entry)))
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
