//! Payments: how a session is paid: from the user's wallet, started through the API
//! (`api_wallet`) or with the user's card at the charger (`rfid_wallet`).

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Cents, Currency, Id, Timestamp};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PaymentStatus {
    /// The authorized amount is held on the wallet.
    Authorized,
    /// Captured at the end of the session.
    Succeeded,
    /// The session never started; the hold was released.
    Canceled,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Payment {
    #[serde(rename = "_id")]
    pub id: Id,
    pub session: Id,
    /// Lower case, as eDRV shows it (`usd`).
    pub currency: String,
    /// Major units (160.72 = $160.72): what the wallet had available, held for the session.
    pub authorized_amount: Decimal,
    pub captured_amount: Decimal,
    /// Cost beyond the authorization: the operator's loss.
    pub uncollected_amount: Decimal,
    #[serde(rename = "type")]
    pub kind: String,
    pub status: PaymentStatus,
    pub wallet: Id,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

impl Payment {
    /// A wallet payment holding `held` of the wallet's `currency`, for a session started
    /// through the API.
    pub fn authorize(id: Id, session: Id, wallet: Id, held: Cents, currency: Currency, now: Timestamp) -> Payment {
        Payment {
            id,
            session,
            currency: currency.lowercase(),
            authorized_amount: held.to_major(currency).normalize(),
            captured_amount: Decimal::ZERO,
            uncollected_amount: Decimal::ZERO,
            kind: "api_wallet".into(),
            status: PaymentStatus::Authorized,
            wallet,
            created_at: now,
            updated_at: now,
        }
    }

    /// [`Payment::authorize`] for a session a card started at the charger.
    pub fn authorize_card(id: Id, session: Id, wallet: Id, held: Cents, currency: Currency, now: Timestamp) -> Payment {
        Payment { kind: "rfid_wallet".into(), ..Payment::authorize(id, session, wallet, held, currency, now) }
    }

    /// What is still held on the wallet for this payment, in minor units.
    pub fn held(&self) -> Cents {
        if self.status != PaymentStatus::Authorized {
            return Cents::ZERO;
        }
        let exponent = Currency::parse(&self.currency).map_or(2, Currency::exponent);
        let minor = self.authorized_amount * Decimal::from(10i64.pow(exponent));
        Cents(i64::try_from(minor.trunc()).unwrap_or(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_authorization_shows_major_units_and_holds_the_cents() {
        let id = Id::from_parts(1, [0; 5], 1);
        let p = Payment::authorize(id, id, id, Cents(16072), Currency::USD, Timestamp::from_millis(0));
        assert_eq!(serde_json::to_value(&p).unwrap()["authorized_amount"], serde_json::json!(160.72));
        assert_eq!((p.held(), p.kind.as_str(), p.currency.as_str()), (Cents(16072), "api_wallet", "usd"));
        let canceled = Payment { status: PaymentStatus::Canceled, ..p };
        assert_eq!(canceled.held(), Cents::ZERO);
    }
}
