//! Wallets: a user's prepaid balance in integer minor units of one currency.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ObjectBuilder, Type};

use crate::ledger::Balances;
use crate::{Cents, Currency, Id, Invalid, Timestamp};

#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Wallet {
    #[serde(rename = "_id")]
    pub id: Id,
    pub user: Id,
    /// Money in the wallet, in cents. Always the sum of the wallet's ledger entries.
    pub balance: Cents,
    /// `balance` less open holds: what a new session may authorize.
    pub available_balance: Cents,
    #[serde(serialize_with = "lowercase_currency")]
    pub currency: Currency,
    pub auto_top_up: bool,
    pub test_mode: bool,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

fn lowercase_currency<S: serde::Serializer>(c: &Currency, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&c.lowercase())
}

impl Wallet {
    pub fn new(id: Id, user: Id, currency: Currency, now: Timestamp) -> Wallet {
        Wallet {
            id,
            user,
            balance: Cents::ZERO,
            available_balance: Cents::ZERO,
            currency,
            auto_top_up: false,
            test_mode: false,
            created_at: now,
            updated_at: now,
        }
    }

    pub fn balances(&self) -> Balances {
        Balances { balance: self.balance, available: self.available_balance }
    }
}

/// `POST /v1.1/users/{id}/wallet`.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WalletInput {
    #[schema(value_type = Option<Currency>)]
    pub currency: Option<String>,
}

impl WalletInput {
    /// The currency asked for, or USD (the currency of the only country with wallets).
    pub fn currency(&self) -> Result<Currency, Invalid> {
        match &self.currency {
            None => Ok(Currency::USD),
            Some(code) => Currency::parse(code).ok_or_else(|| Invalid::new("currency", "must be an ISO 4217 currency code such as \"usd\"")),
        }
    }
}

/// `POST /v1.1/wallets/{id}/adjustments`: a manual credit (positive) or debit (negative).
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AdjustmentInput {
    /// Cents: positive credits, negative debits; never 0.
    #[schema(schema_with = adjustment_amount_schema)]
    pub amount: i64,
    #[schema(min_length = 1, max_length = 500, pattern = r"\S")]
    pub reason: String,
}

fn adjustment_amount_schema() -> ObjectBuilder {
    let bound = MAX_ADJUSTMENT.0;
    let amount = ObjectBuilder::new().schema_type(Type::Integer).minimum(Some(-bound)).maximum(Some(bound));
    crate::schema::with_keywords(amount, [("not", serde_json::json!({ "const": 0 }))])
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adjustment {
    pub amount: Cents,
    pub reason: String,
}

/// No single adjustment moves more than a billion dollars; keeps every sum far from overflow.
pub const MAX_ADJUSTMENT: Cents = Cents(100_000_000_000);

impl AdjustmentInput {
    pub fn parse(self) -> Result<Adjustment, Invalid> {
        if self.amount == 0 {
            return Err(Invalid::new("amount", "must not be zero"));
        }
        if self.amount.unsigned_abs() > MAX_ADJUSTMENT.0.unsigned_abs() {
            return Err(Invalid::new("amount", format!("must be at most {} cents either way", MAX_ADJUSTMENT.0)));
        }
        Ok(Adjustment { amount: Cents(self.amount), reason: crate::invalid::text("reason", &self.reason, 500)? })
    }
}
