//! Charging sessions: a transaction at a charger as the API shows it, started through the API
//! (later with a wallet payment) or at the charger with a token.

use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;
use utoipa::openapi::{RefOr, Schema};

use crate::payment::Payment;
use crate::schema::{one_of_strings, or_null, refined};
use crate::{Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SessionStatus {
    Created,
    Started,
    Paused,
    Ended,
    Cancelled,
}

impl SessionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Created => "created",
            SessionStatus::Started => "started",
            SessionStatus::Paused => "paused",
            SessionStatus::Ended => "ended",
            SessionStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<SessionStatus> {
        [SessionStatus::Created, SessionStatus::Started, SessionStatus::Paused, SessionStatus::Ended, SessionStatus::Cancelled]
            .into_iter()
            .find(|x| x.as_str() == s)
    }

    /// Energy may flow: the charger runs a transaction for it.
    pub fn is_running(self) -> bool {
        matches!(self, SessionStatus::Started | SessionStatus::Paused)
    }
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ToSchema)]
pub struct StopRequest {
    pub at: Timestamp,
    /// `authorized_amount`, `target.energy`, `target.time`, `target.cost`, or `api` (the stop
    /// API).
    pub reason: String,
}

/// Who ended a session: its charger (StopTransaction), the operator (`POST
/// /v1.1/sessions/{id}/end`) or Joule (the charger said nothing about it for too long).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum EndedBy {
    Chargestation,
    Operator,
    Joule,
}

/// eDRV's session metrics.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub struct Metrics {
    /// Energy delivered, Wh.
    #[serde(rename = "energyConsumed")]
    #[schema(value_type = f64)]
    pub energy_consumed_wh: Decimal,
    /// Seconds spent charging (energy flowing, not paused).
    #[serde(rename = "energyPeriod")]
    pub energy_period_s: i64,
    #[serde(rename = "chargingStart")]
    pub charging_start: Timestamp,
}

/// A stretch during which Joule held the charging at 0 (billed as parking).
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub struct Pause {
    #[serde(rename = "startTime")]
    pub start: Timestamp,
    #[serde(rename = "endTime")]
    pub end: Option<Timestamp>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Session {
    #[serde(rename = "_id")]
    pub id: Id,
    /// `wallet` for wallet-paid sessions; absent for sessions without payment.
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    pub status: SessionStatus,
    pub user: Option<Id>,
    /// The token a session started at the charger was authorized with.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub token: Option<Id>,
    pub chargestation: Id,
    pub connector: Option<Id>,
    pub connector_id: u32,
    pub rate: Option<Id>,
    #[serde(rename = "idTag")]
    pub id_tag: String,
    /// The OCPP transactionId, once the charger started the transaction.
    #[serde(rename = "transactionId")]
    pub transaction_id: Option<i64>,
    /// What the session stops at, besides its authorization.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<Target>,
    /// When and why Joule asked the charger to stop the session itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_requested: Option<StopRequest>,
    /// Pauses through the API, oldest first; the last is open while the session is paused.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pauses: Vec<Pause>,
    /// The cost object (SPEC section 6): so far, as of the last meter report, while the
    /// session runs; final once it ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Object>)]
    pub cost: Option<serde_json::Value>,
    /// What the session delivered, as of the last meter report.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<Metrics>,
    /// The wallet payment of a `wallet` session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payment: Option<Payment>,
    #[serde(rename = "startedAt")]
    pub started_at: Option<Timestamp>,
    #[serde(rename = "endedAt")]
    pub ended_at: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended_by: Option<EndedBy>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// The fields of `POST /v1.1/sessions`; [`StartSession`] is the whole rule.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SessionInput {
    /// `wallet` to pay from the user's wallet; absent for a session without payment.
    #[serde(rename = "type")]
    #[schema(schema_with = kind_schema)]
    pub kind: Option<String>,
    pub connector: Id,
    /// Required for a wallet session.
    pub user: Option<Id>,
    pub target: Option<Target>,
}

fn kind_schema() -> RefOr<Schema> {
    or_null(one_of_strings(["wallet"]))
}

refined! {
    /// `POST /v1.1/sessions`: a wallet session needs its `user`.
    StartSession = SessionInput, required &[], keywords [
        ("if", json!({ "required": ["type"], "properties": { "type": { "const": "wallet" } } })),
        ("then", json!({ "required": ["user"], "properties": { "user": { "type": "string" } } })),
    ]
}

/// eDRV's session targets: the session stops when one is reached.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, Default, PartialEq, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Target {
    /// kWh, above 0 and at most 10,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1e-28, maximum = 10000)]
    pub energy: Option<Decimal>,
    /// Minutes, from 1 to 10,080 (7 days).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1, maximum = 10080)]
    pub time: Option<u32>,
    /// In the rate's currency, major units, above 0 and at most 1,000,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1e-28, maximum = 1000000)]
    pub cost: Option<Decimal>,
}

/// The largest energy target: more than any battery takes, far inside exact arithmetic.
pub const MAX_TARGET_ENERGY_KWH: Decimal = Decimal::from_parts(10_000, 0, 0, false, 0);
/// The longest time target: a week.
pub const MAX_TARGET_TIME_MINUTES: u32 = 7 * 24 * 60;
/// The largest cost target, in major units.
pub const MAX_TARGET_COST: Decimal = Decimal::from_parts(1_000_000, 0, 0, false, 0);

/// A decimal target that must be above 0 and at most `max`.
fn positive_up_to(value: Option<Decimal>, max: Decimal, field: &str, unit: &str) -> Result<(), Invalid> {
    match value {
        Some(v) if v <= Decimal::ZERO || v > max => Err(Invalid::new(field, format!("must be a number{unit} above 0 and at most {max}"))),
        _ => Ok(()),
    }
}

/// Without a time target a session stops after 12 hours (eDRV's default).
pub const DEFAULT_TIME_TARGET_MINUTES: u32 = 12 * 60;

/// A validated start request.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct NewSession {
    pub wallet: bool,
    pub connector: Id,
    pub user: Option<Id>,
    pub target: Target,
}

impl SessionInput {
    pub fn parse(self) -> Result<NewSession, Invalid> {
        let wallet = match self.kind.as_deref() {
            None => false,
            Some("wallet") => true,
            Some(_) => return Err(Invalid::new("type", "must be \"wallet\" or absent")),
        };
        if wallet && self.user.is_none() {
            return Err(Invalid::new("user", "is required for a wallet session"));
        }
        let target = self.target.unwrap_or_default().bounded("target")?;
        Ok(NewSession { wallet, connector: self.connector, user: self.user, target })
    }
}

impl Target {
    /// The target if it is within bounds (a refusal names the field under `field`, such as
    /// `target`), with the default time when it has none.
    pub fn bounded(mut self, field: &str) -> Result<Target, Invalid> {
        positive_up_to(self.energy, MAX_TARGET_ENERGY_KWH, &format!("{field}.energy"), " of kWh")?;
        positive_up_to(self.cost, MAX_TARGET_COST, &format!("{field}.cost"), "")?;
        if self.time.is_some_and(|t| t == 0 || t > MAX_TARGET_TIME_MINUTES) {
            return Err(Invalid::new(format!("{field}.time"), format!("must be a number of minutes from 1 to {MAX_TARGET_TIME_MINUTES} (7 days)")));
        }
        self.time.get_or_insert(DEFAULT_TIME_TARGET_MINUTES);
        Ok(self)
    }
}

/// The idTag Joule gives a charger for a session it starts: 20 hex characters (OCPP's CiString20)
/// from the session id, leaving out the two high bytes of its time.
pub fn id_tag(session: Id) -> String {
    session.to_string()[4..].to_string()
}

/// The charging profile Joule sets to pause a session: TxProfile bound to the transaction, at a
/// stack level Joule reserves, so that it never outlives the session or touches the operator's
/// own profiles.
pub const PAUSE_STACK_LEVEL: i64 = 8;

/// The id of a session's pause profile, derived from its transaction.
pub fn pause_profile_id(transaction_id: i64) -> i64 {
    900_000_000 + transaction_id % 100_000_000
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(target: &str) -> Result<NewSession, Invalid> {
        let json = format!(r#"{{"connector":"{}","target":{target}}}"#, Id::from_parts(1, [0; 5], 1));
        serde_json::from_str::<SessionInput>(&json).unwrap().parse()
    }

    #[test]
    fn targets_are_bounded() {
        for (target, field) in [
            (r#"{"energy":1e26}"#, "target.energy"),
            (r#"{"energy":10000.001}"#, "target.energy"),
            (r#"{"energy":0}"#, "target.energy"),
            (r#"{"cost":1000000.01}"#, "target.cost"),
            (r#"{"cost":-1}"#, "target.cost"),
            (r#"{"time":10081}"#, "target.time"),
            (r#"{"time":0}"#, "target.time"),
        ] {
            assert_eq!(parse(target).unwrap_err().field, field, "{target}");
        }
        let most = parse(r#"{"energy":10000,"cost":1000000,"time":10080}"#).unwrap().target;
        assert_eq!((most.energy, most.cost, most.time), (Some(MAX_TARGET_ENERGY_KWH), Some(MAX_TARGET_COST), Some(MAX_TARGET_TIME_MINUTES)));
    }
}
