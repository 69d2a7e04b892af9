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

/// An identifier a driver or a system presents (`IdTokenType`): an RFID card's UID, an app's
/// token, a key code...
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdToken {
    pub id_token: String,
    #[serde(rename = "type")]
    pub kind: IdTokenKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub additional_info: Option<Vec<AdditionalInfo>>,
}

#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdditionalInfo {
    pub additional_id_token: String,
    #[serde(rename = "type")]
    pub kind: String,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum IdTokenKind {
    Central,
    #[serde(rename = "eMAID")]
    EMaid,
    #[serde(rename = "ISO14443")]
    Iso14443,
    #[serde(rename = "ISO15693")]
    Iso15693,
    KeyCode,
    Local,
    MacAddress,
    NoAuthorization,
}

/// What the CSMS says of an idToken (`IdTokenInfoType`), the parts Joule fills.
#[derive(Clone, PartialEq, Eq, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct IdTokenInfo {
    pub status: AuthorizationStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cache_expiry_date_time: Option<Timestamp>,
}

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Serialize, Deserialize)]
pub enum AuthorizationStatus {
    Accepted,
    Blocked,
    ConcurrentTx,
    Expired,
    Invalid,
    NoCredit,
    NotAllowedTypeEVSE,
    NotAtThisLocation,
    NotAtThisTime,
    Unknown,
}
