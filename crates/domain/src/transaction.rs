//! Transactions: what a charger reported with StartTransaction and StopTransaction.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Id, Timestamp};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Transaction {
    #[serde(rename = "_id")]
    pub id: Id,
    pub chargestation: Id,
    // Stored, this is always Joule's number for the transaction, which sessions and readings
    // refer to; `Transaction::shown` puts a 2.0.1 charger's own id in its place.
    /// The OCPP transactionId: the integer Joule gave a 1.6 charger, the string a 2.0.1 charger
    /// gave its transaction.
    #[serde(rename = "transactionId")]
    #[schema(value_type = OcppTransactionId)]
    pub transaction_id: i64,
    /// A 2.0.1 charger's own id for the transaction, stored beside Joule's number.
    #[serde(rename = "ocppTransactionId", default, skip_serializing_if = "Option::is_none")]
    #[schema(ignore)]
    pub ocpp_id: Option<String>,
    pub connector_id: u32,
    #[serde(rename = "idTag")]
    pub id_tag: String,
    pub token: Option<Id>,
    pub session: Option<Id>,
    #[serde(rename = "reservationId")]
    pub reservation_id: Option<i64>,
    /// Meter register at start and stop, Wh.
    #[serde(rename = "meterStart")]
    pub meter_start: i64,
    #[serde(rename = "meterStop")]
    pub meter_stop: Option<i64>,
    /// The charger's own times, also when they arrive late.
    #[serde(rename = "startedAt")]
    pub started_at: Timestamp,
    #[serde(rename = "stoppedAt")]
    pub stopped_at: Option<Timestamp>,
    #[serde(rename = "stopReason")]
    pub stop_reason: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// A transaction's OCPP id as the API shows it: an integer for 1.6, a string for 2.0.1.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub enum OcppTransactionId {
    Ocpp16(i64),
    Ocpp201(String),
}

impl Transaction {
    /// The transaction as the API shows it: `transactionId` is the OCPP id, the charger's
    /// string for a 2.0.1 transaction.
    pub fn shown(&self) -> serde_json::Value {
        let mut shown = serde_json::to_value(self).unwrap_or_default();
        if let (Some(ocpp_id), Some(fields)) = (&self.ocpp_id, shown.as_object_mut()) {
            fields.remove("ocppTransactionId");
            fields.insert("transactionId".into(), ocpp_id.clone().into());
        }
        shown
    }
}

/// The largest meter value Joule takes, in Wh or W: a thousand GWh, far beyond any charger,
/// and far inside exact decimal arithmetic for every sum and price made from it.
pub const MAX_METER_VALUE: Decimal = Decimal::from_parts(3_567_587_328, 232, 0, false, 0);

/// A charger's value in the unit Joule stores (Wh, W, ...), from the value as sent and the
/// factor of its unit (1000 for kWh), or `None` if it is beyond [`MAX_METER_VALUE`] either way.
pub fn meter_value(value: Decimal, factor: Decimal) -> Option<Decimal> {
    value.checked_mul(factor).filter(|v| v.abs() <= MAX_METER_VALUE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meter_values_are_bounded_after_their_unit() {
        let d = |s: &str| s.parse::<Decimal>().unwrap();
        assert_eq!(MAX_METER_VALUE, Decimal::from(1_000_000_000_000i64));
        assert_eq!(meter_value(d("1000000000"), Decimal::ONE_THOUSAND), Some(MAX_METER_VALUE));
        assert_eq!(meter_value(d("1000000000.001"), Decimal::ONE_THOUSAND), None);
        assert_eq!(meter_value(d("100000000000000000000000000"), Decimal::ONE_THOUSAND), None, "would overflow");
        assert_eq!(meter_value(d("-1000000000001"), Decimal::ONE), None);
        assert_eq!(meter_value(d("12.5"), Decimal::ONE_THOUSAND), Some(d("12500.0")));
    }
}
