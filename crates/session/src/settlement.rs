//! What a wallet pays when a session ends.

use domain::{Cents, Currency};
use rust_decimal::{Decimal, RoundingStrategy};

/// The end of a wallet session's hold.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Settlement {
    /// `min(cost, authorized)`, in major units, as the payment shows it.
    pub captured_amount: Decimal,
    /// The same in minor units, debited from the wallet.
    pub captured: Cents,
    /// Held but not captured: available again.
    pub released: Cents,
    /// Cost beyond the authorization: the operator's loss, recorded on the payment.
    pub uncollected_amount: Decimal,
}

/// Settles a session that cost `cost` (major units, already rounded to the currency) against a
/// hold of `held` minor units.
pub fn settle(cost: Decimal, held: Cents, currency: Currency) -> Settlement {
    let authorized = held.to_major(currency);
    let captured_amount = cost.max(Decimal::ZERO).min(authorized);
    let minor = (captured_amount * Decimal::from(10i64.pow(currency.exponent()))).round_dp_with_strategy(0, RoundingStrategy::MidpointAwayFromZero);
    let captured = Cents(i64::try_from(minor).unwrap_or(held.0).min(held.0));
    Settlement {
        captured_amount: captured_amount.normalize(),
        captured,
        released: Cents(held.0 - captured.0),
        uncollected_amount: (cost - captured_amount).max(Decimal::ZERO).normalize(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(s: &str) -> Decimal {
        s.parse().unwrap()
    }

    #[test]
    fn settlements_as_a_table() {
        for (cost, held, captured, released, uncollected) in
            [("12.34", 16072, 1234, 14838, "0"), ("160.72", 16072, 16072, 0, "0"), ("175.00", 16072, 16072, 0, "14.28"), ("0", 5000, 0, 5000, "0")]
        {
            let s = settle(d(cost), Cents(held), Currency::USD);
            assert_eq!((s.captured, s.released, s.uncollected_amount), (Cents(captured), Cents(released), d(uncollected)), "{cost}");
            assert_eq!(s.captured_amount, Cents(captured).to_major(Currency::USD).normalize());
        }
        let yen = settle(d("1234"), Cents(5000), Currency::parse("JPY").unwrap());
        assert_eq!(yen.captured, Cents(1234));
    }

    proptest! {
        /// Money is never created or lost: captured + released is the hold, captured never
        /// exceeds it, and cost is captured or recorded as uncollected.
        #[test]
        fn a_settlement_conserves_money(cost_cents in 0i64..10_000_000, held in 0i64..10_000_000) {
            let cost = Decimal::new(cost_cents, 2);
            let s = settle(cost, Cents(held), Currency::USD);
            prop_assert_eq!(s.captured.0 + s.released.0, held);
            prop_assert!(s.captured.0 <= held && s.captured.0 >= 0);
            prop_assert_eq!(s.captured_amount + s.uncollected_amount, cost);
            prop_assert!(s.uncollected_amount == Decimal::ZERO || s.captured.0 == held);
        }
    }
}
