//! Tokens: RFID cards and other idTags a charger asks Joule to authorize.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::schema::refined;
use crate::user::nullable;
use crate::{Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, ToSchema)]
pub enum TokenType {
    #[default]
    #[serde(rename = "ISO14443")]
    Iso14443,
    Central,
}

/// What a token's holder may do; OCPP 1.6's AuthorizationStatus less `Invalid` and
/// `ConcurrentTx`, which describe idTags, not stored tokens.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum TokenStatus {
    Accepted,
    Blocked,
    Expired,
}

/// The answer to a charger's Authorize or StartTransaction for an idTag.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Authorization {
    Accepted,
    Blocked,
    Expired,
    Invalid,
}

impl Authorization {
    pub fn as_str(self) -> &'static str {
        match self {
            Authorization::Accepted => "Accepted",
            Authorization::Blocked => "Blocked",
            Authorization::Expired => "Expired",
            Authorization::Invalid => "Invalid",
        }
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Token {
    #[serde(rename = "_id")]
    pub id: Id,
    /// The OCPP idTag, unique in an organization.
    #[serde(rename = "physicalId")]
    pub physical_id: String,
    #[serde(rename = "type")]
    pub kind: TokenType,
    pub user: Option<Id>,
    pub status: TokenStatus,
    #[serde(rename = "expiresAt")]
    pub expires_at: Option<Timestamp>,
    pub active: bool,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

impl Token {
    /// What a charger is told about this token at `now`: an expired token is `Expired`
    /// whatever its stored status, an inactive one `Blocked`.
    pub fn authorization(&self, now: Timestamp) -> Authorization {
        if !self.active {
            return Authorization::Blocked;
        }
        if self.expires_at.is_some_and(|t| t <= now) {
            return Authorization::Expired;
        }
        match self.status {
            TokenStatus::Accepted => Authorization::Accepted,
            TokenStatus::Blocked => Authorization::Blocked,
            TokenStatus::Expired => Authorization::Expired,
        }
    }
}

/// The data of the `session.start_failure` event of a card refused at the charger (SPEC 5,
/// card sessions): no session exists, so the event names the card, its wallet and the refusal.
#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct CardRefused {
    pub token: Id,
    #[serde(rename = "idTag")]
    pub id_tag: String,
    pub user: Id,
    pub wallet: Id,
    pub chargestation: Id,
    /// The connector the charger started on; absent for an Authorize.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector_id: Option<u32>,
    /// The transaction the charger started, told to stop; absent for an Authorize.
    #[serde(rename = "transactionId", skip_serializing_if = "Option::is_none")]
    pub transaction_id: Option<i64>,
    /// SPEC 5's words: `User does not have minimum balance`...
    pub message: String,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
}

/// `POST /v1.1/tokens` (needs `physicalId`) and `PATCH /v1.1/tokens/{id}`.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// The OCPP idTag; required to create.
    #[serde(rename = "physicalId")]
    #[schema(pattern = "^[!-~]{1,20}$")]
    pub physical_id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<TokenType>,
    #[serde(default, deserialize_with = "nullable")]
    pub user: Option<Option<Id>>,
    pub status: Option<TokenStatus>,
    #[serde(rename = "expiresAt", default, deserialize_with = "nullable")]
    pub expires_at: Option<Option<Timestamp>>,
    pub active: Option<bool>,
}

refined! {
    /// `POST /v1.1/tokens`: a token needs its `physicalId`.
    NewToken = TokenInput, required &["physicalId"], keywords []
}

/// OCPP 1.6 idTags are CiString20.
pub fn id_tag(value: &str) -> Result<String, Invalid> {
    if value.is_empty() || value.len() > 20 || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(Invalid::new("physicalId", "must be 1 to 20 printable ASCII characters (an OCPP 1.6 idTag)"));
    }
    Ok(value.to_string())
}

impl TokenInput {
    pub fn apply(self, mut token: Token, now: Timestamp) -> Result<Token, Invalid> {
        if let Some(p) = &self.physical_id {
            token.physical_id = id_tag(p)?;
        }
        if let Some(k) = self.kind {
            token.kind = k;
        }
        if let Some(u) = self.user {
            token.user = u;
        }
        if let Some(s) = self.status {
            token.status = s;
        }
        if let Some(e) = self.expires_at {
            token.expires_at = e;
        }
        if let Some(a) = self.active {
            token.active = a;
        }
        token.updated_at = now;
        Ok(token)
    }

    pub fn create(self, id: Id, now: Timestamp) -> Result<Token, Invalid> {
        if self.physical_id.is_none() {
            return Err(Invalid::new("physicalId", "is required"));
        }
        let blank = Token {
            id,
            physical_id: String::new(),
            kind: TokenType::Iso14443,
            user: None,
            status: TokenStatus::Accepted,
            expires_at: None,
            active: true,
            created_at: now,
            updated_at: now,
        };
        self.apply(blank, now)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn token(json: &str) -> Token {
        serde_json::from_str::<TokenInput>(json).unwrap().create(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0)).unwrap()
    }

    #[test]
    fn authorization_follows_status_expiry_and_activity() {
        let now = Timestamp::from_millis(1_000);
        assert_eq!(token(r#"{"physicalId":"04A1B2C3"}"#).authorization(now), Authorization::Accepted);
        assert_eq!(token(r#"{"physicalId":"T","status":"Blocked"}"#).authorization(now), Authorization::Blocked);
        assert_eq!(token(r#"{"physicalId":"T","expiresAt":"1970-01-01T00:00:00.999Z"}"#).authorization(now), Authorization::Expired);
        assert_eq!(token(r#"{"physicalId":"T","expiresAt":"1970-01-01T00:00:01.001Z"}"#).authorization(now), Authorization::Accepted);
        assert_eq!(token(r#"{"physicalId":"T","active":false}"#).authorization(now), Authorization::Blocked);
    }

    #[test]
    fn id_tags_are_ocpp_sized() {
        let make = |json: &str| serde_json::from_str::<TokenInput>(json).unwrap().create(Id::from_parts(1, [0; 5], 1), Timestamp::from_millis(0));
        assert_eq!(make(r#"{"physicalId":"123456789012345678901"}"#).unwrap_err().field, "physicalId");
        assert_eq!(make(r#"{"physicalId":"has space"}"#).unwrap_err().field, "physicalId");
        assert_eq!(make(r#"{}"#).unwrap_err().field, "physicalId");
    }
}
