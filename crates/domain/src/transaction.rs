//! Transactions: what a charger reported with StartTransaction and StopTransaction.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::{Id, Timestamp};

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Transaction {
    #[serde(rename = "_id")]
    pub id: Id,
    pub chargestation: Id,
    /// The OCPP transactionId Joule gave the charger.
    #[serde(rename = "transactionId")]
    pub transaction_id: i64,
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
