//! Whether a wallet may pay for a session, and what a card's start at a charger comes to.
//!
//! A session paid from a wallet starts through the API (`POST /v1.1/sessions`) or with an RFID
//! card whose token belongs to a user with a wallet (SPEC 5, card sessions). Both take the same
//! checks, in the same order, with the same words; a card start differs only in what happens
//! after a refusal, since the charger, not a client, hears it.

use domain::wallet::Wallet;
use domain::{Cents, Currency};

/// Why a wallet may not pay for a session, in SPEC 5's words.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    BelowMinimumBalance,
    NoRate,
    CurrencyMismatch,
}

impl Refusal {
    pub fn message(self) -> &'static str {
        match self {
            Refusal::BelowMinimumBalance => "User does not have minimum balance",
            Refusal::NoRate => "Connector does not have a rate",
            Refusal::CurrencyMismatch => "Wallet currency does not match the rate currency",
        }
    }
}

/// What the checks look at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalletCheck {
    /// The wallet's available balance, as read where the hold is placed.
    pub available: Cents,
    pub wallet_currency: Currency,
    /// The organization's `configurations.session.minimum_balance`.
    pub minimum_balance: Cents,
    /// The connector's rate's currency; `None` for a connector without a rate.
    pub rate_currency: Option<Currency>,
}

impl WalletCheck {
    pub fn of(wallet: &Wallet, minimum_balance: Cents, rate_currency: Option<Currency>) -> WalletCheck {
        WalletCheck { available: wallet.available_balance, wallet_currency: wallet.currency, minimum_balance, rate_currency }
    }
}

/// SPEC 5's checks 3 and 4, in that order: the minimum balance, then the rate and its currency.
pub fn refusal(check: &WalletCheck) -> Option<Refusal> {
    if check.available < check.minimum_balance {
        return Some(Refusal::BelowMinimumBalance);
    }
    match check.rate_currency {
        None => Some(Refusal::NoRate),
        Some(currency) if currency != check.wallet_currency => Some(Refusal::CurrencyMismatch),
        Some(_) => None,
    }
}

/// At Authorize only the minimum balance is checked: the connector is not known yet.
pub fn authorize_refusal(available: Cents, minimum_balance: Cents) -> Option<Refusal> {
    (available < minimum_balance).then_some(Refusal::BelowMinimumBalance)
}

/// What an accepted card's StartTransaction comes to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CardStart {
    /// The token has no user, or its user no wallet: a token session without payment.
    Plain,
    /// A wallet session holding `hold` (the whole available balance, as an API start).
    /// `refused` is `Some` when the charger is answered `Blocked` all the same: a start made
    /// while the charger was offline, below the minimum balance, already delivered energy
    /// that the wallet pays for as far as it holds; the charger is told to stop.
    Wallet { hold: Cents, refused: Option<Refusal> },
    /// No session: the charger is answered `Blocked`.
    Refused(Refusal),
}

impl CardStart {
    /// Whether the charger may go on charging.
    pub fn accepted(self) -> bool {
        matches!(self, CardStart::Plain | CardStart::Wallet { refused: None, .. })
    }

    /// Why the card was refused, if it was.
    pub fn refusal(self) -> Option<Refusal> {
        match self {
            CardStart::Plain => None,
            CardStart::Wallet { refused, .. } => refused,
            CardStart::Refused(r) => Some(r),
        }
    }
}

/// Decides a card's start. `wallet` is `None` when the token's user has no wallet (or the token
/// no user); `offline` says the charger started the transaction before its current connection
/// to Joule, so nobody could refuse it then. Only a refusal for the balance is overridden by
/// that: with no rate or another currency the wallet cannot pay at all.
pub fn card_start(wallet: Option<&WalletCheck>, offline: bool) -> CardStart {
    let Some(check) = wallet else { return CardStart::Plain };
    match refusal(check) {
        None => CardStart::Wallet { hold: check.available, refused: None },
        Some(Refusal::BelowMinimumBalance) if offline && refusal(&WalletCheck { minimum_balance: Cents::ZERO, ..*check }).is_none() => {
            CardStart::Wallet { hold: check.available, refused: Some(Refusal::BelowMinimumBalance) }
        }
        Some(r) => CardStart::Refused(r),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn eur() -> Currency {
        Currency::parse("EUR").unwrap()
    }

    fn check(available: i64, minimum: i64, rate: Option<Currency>) -> WalletCheck {
        WalletCheck { available: Cents(available), wallet_currency: Currency::USD, minimum_balance: Cents(minimum), rate_currency: rate }
    }

    #[test]
    fn checks_in_spec_order() {
        assert_eq!(refusal(&check(1999, 2000, None)), Some(Refusal::BelowMinimumBalance));
        assert_eq!(refusal(&check(2000, 2000, None)), Some(Refusal::NoRate));
        assert_eq!(refusal(&check(2000, 2000, Some(eur()))), Some(Refusal::CurrencyMismatch));
        assert_eq!(refusal(&check(2000, 2000, Some(Currency::USD))), None);
        assert_eq!(Refusal::BelowMinimumBalance.message(), "User does not have minimum balance");
    }

    #[test]
    fn cards_as_a_table() {
        let usd = Some(Currency::USD);
        assert_eq!(card_start(None, false), CardStart::Plain);
        assert_eq!(card_start(Some(&check(5000, 2000, usd)), false), CardStart::Wallet { hold: Cents(5000), refused: None });
        assert_eq!(card_start(Some(&check(500, 2000, usd)), false), CardStart::Refused(Refusal::BelowMinimumBalance));
        let offline = CardStart::Wallet { hold: Cents(500), refused: Some(Refusal::BelowMinimumBalance) };
        assert_eq!(card_start(Some(&check(500, 2000, usd)), true), offline);
        assert!(!offline.accepted());
        // Another currency cannot pay offline either; the refusal names the first failed check.
        assert_eq!(card_start(Some(&check(500, 2000, Some(eur()))), true), CardStart::Refused(Refusal::BelowMinimumBalance));
        assert_eq!(card_start(Some(&check(5000, 2000, Some(eur()))), true), CardStart::Refused(Refusal::CurrencyMismatch));
        assert_eq!(card_start(Some(&check(5000, 2000, None)), true), CardStart::Refused(Refusal::NoRate));
    }

    proptest! {
        /// A card never holds more than the wallet has available, holds only when it pays, and
        /// goes on charging only when every check passed.
        #[test]
        fn a_card_holds_at_most_what_is_available(available in 0i64..100_000, minimum in 0i64..10_000, offline: bool, rate in 0u8..3) {
            let rate = [None, Some(Currency::USD), Some(eur())][rate as usize];
            let c = check(available, minimum, rate);
            let start = card_start(Some(&c), offline);
            if let CardStart::Wallet { hold, .. } = start {
                prop_assert!(hold <= c.available && hold >= Cents::ZERO);
                prop_assert_eq!(rate, Some(Currency::USD));
            }
            prop_assert_eq!(start.accepted(), refusal(&c).is_none());
            prop_assert_eq!(start.refusal(), refusal(&c));
            if authorize_refusal(c.available, c.minimum_balance).is_some() {
                prop_assert!(!start.accepted());
            }
        }
    }
}
