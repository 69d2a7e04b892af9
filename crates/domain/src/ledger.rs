//! The wallet ledger rules.
//!
//! A wallet has a `balance` (the sum of its entries) and an `available` balance (the balance
//! less open holds). Entries are never edited: a correction is a new entry. The storage layer
//! applies the same rules in SQL, guarded so that a concurrent change cannot break them; these
//! functions are the model it is tested against.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Cents, Id, Timestamp};

/// No wallet holds more than ten billion dollars: keeps every sum far from overflow, also in
/// SQLite, which would silently turn an overflowing integer into a float.
pub const MAX_BALANCE: Cents = Cents(1_000_000_000_000);

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Balances {
    pub balance: Cents,
    pub available: Cents,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum LedgerError {
    #[error("the wallet's available balance is too low")]
    InsufficientFunds,
    #[error("the amount is out of range")]
    Overflow,
}

impl Balances {
    /// The invariant every state of a wallet keeps.
    pub fn is_valid(self) -> bool {
        self.available >= Cents::ZERO && self.available <= self.balance
    }

    /// A credit (positive) or debit (negative) of money that is not held: a debit may take
    /// only the available balance, never money held for a session.
    pub fn adjust(self, amount: Cents) -> Result<Balances, LedgerError> {
        let balance = self.balance.checked_add(amount).filter(|b| *b <= MAX_BALANCE).ok_or(LedgerError::Overflow)?;
        let available = self.available.checked_add(amount).ok_or(LedgerError::Overflow)?;
        if available < Cents::ZERO {
            return Err(LedgerError::InsufficientFunds);
        }
        Ok(Balances { balance, available })
    }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EntryKind {
    TopUp,
    Adjustment,
    SessionCapture,
}

impl EntryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            EntryKind::TopUp => "top_up",
            EntryKind::Adjustment => "adjustment",
            EntryKind::SessionCapture => "session_capture",
        }
    }

    pub fn parse(s: &str) -> Option<EntryKind> {
        [EntryKind::TopUp, EntryKind::Adjustment, EntryKind::SessionCapture].into_iter().find(|k| k.as_str() == s)
    }
}

/// One change of a wallet's balance.
#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct LedgerEntry {
    #[serde(rename = "_id")]
    pub id: Id,
    pub wallet: Id,
    #[serde(rename = "type")]
    pub kind: EntryKind,
    /// Signed cents: credits positive, debits negative.
    pub amount: Cents,
    pub balance_after: Cents,
    pub reference: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
}

/// The balance the entries add up to; `None` on overflow.
pub fn sum(entries: &[LedgerEntry]) -> Option<Cents> {
    entries.iter().try_fold(Cents::ZERO, |acc, e| acc.checked_add(e.amount))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Any sequence of adjustments, some refused, leaves a valid wallet whose balance is
        /// the sum of the accepted amounts.
        #[test]
        fn adjustments_keep_the_invariant(amounts in proptest::collection::vec(-50_000i64..50_000, 0..60)) {
            let mut wallet = Balances::default();
            let mut accepted = Cents::ZERO;
            for amount in amounts {
                match wallet.adjust(Cents(amount)) {
                    Ok(next) => {
                        wallet = next;
                        accepted = accepted.checked_add(Cents(amount)).unwrap();
                    }
                    Err(LedgerError::InsufficientFunds) => prop_assert!(wallet.available.0 + amount < 0),
                    Err(LedgerError::Overflow) => prop_assert!(false, "no overflow in this range"),
                }
                prop_assert!(wallet.is_valid());
                prop_assert_eq!(wallet.balance, accepted);
            }
        }
    }

    #[test]
    fn a_debit_never_takes_held_money() {
        let wallet = Balances { balance: Cents(5000), available: Cents(1000) };
        assert_eq!(wallet.adjust(Cents(-1001)), Err(LedgerError::InsufficientFunds));
        assert_eq!(wallet.adjust(Cents(-1000)), Ok(Balances { balance: Cents(4000), available: Cents(0) }));
        assert_eq!(Balances { balance: MAX_BALANCE, available: Cents(0) }.adjust(Cents(1)), Err(LedgerError::Overflow));
    }
}
