//! Types several actions share, named after OCPP 2.0.1's data types (part 2, section 2).

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// An OCPP `dateTime`: RFC 3339 with an offset, the sender's offset kept.
pub type Timestamp = DateTime<FixedOffset>;

/// Why a status is what it is, for people (`StatusInfoType`).
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StatusInfo {
    pub reason_code: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<String>,
}
