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
    #[error("more than the hold would be captured")]
    CaptureExceedsHold,
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

impl Balances {
    /// Places a hold (a pending transfer): the money stays in the balance but is no longer
    /// available. A hold is at most the available balance; it is zero only for an empty wallet
    /// of an organization that requires no minimum balance.
    pub fn hold(self, amount: Cents) -> Result<Balances, LedgerError> {
        if amount < Cents::ZERO || amount > self.available {
            return Err(LedgerError::InsufficientFunds);
        }
        Ok(Balances { balance: self.balance, available: Cents(self.available.0 - amount.0) })
    }

    /// Ends a hold of `held`: `captured` leaves the wallet, the rest becomes available again.
    /// Capturing nothing voids the hold. Never more than was held.
    pub fn settle(self, held: Cents, captured: Cents) -> Result<Balances, LedgerError> {
        if captured < Cents::ZERO || captured > held {
            return Err(LedgerError::CaptureExceedsHold);
        }
        let balance = self.balance.checked_sub(captured).ok_or(LedgerError::Overflow)?;
        let available = self.available.checked_add(Cents(held.0 - captured.0)).ok_or(LedgerError::Overflow)?;
        let next = Balances { balance, available };
        if next.is_valid() { Ok(next) } else { Err(LedgerError::CaptureExceedsHold) }
    }
}

/// Every way a wallet's balances can change. The store applies each one with one guarded
/// `UPDATE` and checks the row it changed against [`Balances::apply`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Movement {
    /// A credit (positive) or debit (negative) by hand.
    Adjust(Cents),
    /// A paid top-up's credit.
    TopUp(Cents),
    /// A session's hold.
    Hold(Cents),
    /// A hold ended without capturing anything.
    Release(Cents),
    /// A hold of `held` ended by taking `captured` and releasing the rest.
    Capture { held: Cents, captured: Cents },
}

impl Movement {
    /// The ledger entry the movement writes, as its kind and signed amount: holds and releases
    /// move no money, so they write none, nor does a capture of nothing.
    pub fn entry(self) -> Option<(EntryKind, Cents)> {
        match self {
            Movement::Adjust(amount) => Some((EntryKind::Adjustment, amount)),
            Movement::TopUp(amount) => Some((EntryKind::TopUp, amount)),
            Movement::Capture { captured, .. } if captured > Cents::ZERO => Some((EntryKind::SessionCapture, Cents(-captured.0))),
            Movement::Hold(_) | Movement::Release(_) | Movement::Capture { .. } => None,
        }
    }
}

impl Balances {
    /// The wallet after `movement`, or why the ledger refuses it.
    pub fn apply(self, movement: Movement) -> Result<Balances, LedgerError> {
        match movement {
            Movement::Adjust(amount) => self.adjust(amount),
            Movement::TopUp(amount) if amount > Cents::ZERO => self.adjust(amount),
            Movement::TopUp(_) => Err(LedgerError::Overflow),
            Movement::Hold(amount) => self.hold(amount),
            Movement::Release(held) => self.settle(held, Cents::ZERO),
            Movement::Capture { held, captured } => self.settle(held, captured),
        }
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
                    Err(e) => prop_assert!(false, "{e} in this range"),
                }
                prop_assert!(wallet.is_valid());
                prop_assert_eq!(wallet.balance, accepted);
            }
        }
    }

    proptest! {
        /// Holds and settlements in any order never make or lose money: what leaves the wallet
        /// is exactly what was captured, and no capture exceeds its hold.
        #[test]
        fn holds_end_exactly_once_and_capture_at_most_what_they_hold(
            start in 0i64..100_000,
            steps in proptest::collection::vec((1i64..40_000, 0i64..50_000), 0..30),
        ) {
            let mut wallet = Balances { balance: Cents(start), available: Cents(start) };
            let mut captured_total = 0;
            for (hold, capture) in steps {
                match wallet.hold(Cents(hold)) {
                    Ok(held) => {
                        prop_assert!(held.is_valid());
                        prop_assert_eq!(held.balance, wallet.balance);
                        match held.settle(Cents(hold), Cents(capture)) {
                            Ok(after) => {
                                prop_assert!(capture <= hold);
                                captured_total += capture;
                                wallet = after;
                            }
                            Err(e) => {
                                prop_assert_eq!(e, LedgerError::CaptureExceedsHold);
                                prop_assert!(capture > hold);
                                wallet = held.settle(Cents(hold), Cents(0)).unwrap();
                            }
                        }
                    }
                    Err(e) => {
                        prop_assert_eq!(e, LedgerError::InsufficientFunds);
                        prop_assert!(hold > wallet.available.0);
                    }
                }
                prop_assert!(wallet.is_valid());
                prop_assert_eq!(wallet.balance.0, start - captured_total);
                prop_assert_eq!(wallet.available, wallet.balance, "no hold stays open");
            }
        }
    }

    fn movement() -> impl Strategy<Value = Movement> {
        prop_oneof![
            (-50_000i64..50_000).prop_map(|a| Movement::Adjust(Cents(a))),
            (-10i64..50_000).prop_map(|a| Movement::TopUp(Cents(a))),
            (-10i64..50_000).prop_map(|a| Movement::Hold(Cents(a))),
            (-10i64..50_000).prop_map(|a| Movement::Release(Cents(a))),
            (0i64..50_000, -10i64..60_000).prop_map(|(h, c)| Movement::Capture { held: Cents(h), captured: Cents(c) }),
        ]
    }

    proptest! {
        /// Whatever is applied, the wallet stays valid, and its balance changes by exactly the
        /// amount of the entry the movement writes (none: not at all).
        #[test]
        fn every_movement_is_written_down(movements in proptest::collection::vec(movement(), 0..60)) {
            let mut wallet = Balances::default();
            for m in movements {
                if let Ok(next) = wallet.apply(m) {
                    prop_assert!(next.is_valid());
                    let entry = m.entry().map_or(Cents::ZERO, |(_, amount)| amount);
                    prop_assert_eq!(next.balance.0 - wallet.balance.0, entry.0, "{:?}", m);
                    wallet = next;
                }
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
