//! Events: the record of every state change, written in the same transaction as the change
//! (the outbox that webhooks deliver from).

use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use crate::{Id, Timestamp};

#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Event {
    #[serde(rename = "_id")]
    pub id: Id,
    /// The kind of object in `data`: `wallet`, `user`, `session`...
    pub object: String,
    /// `<object>.<what happened>`: `wallet.updated`, `session.created`...
    #[serde(rename = "type")]
    pub kind: String,
    /// The full object after the change.
    pub data: Value,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
}

/// What a change records, before the store gives it an id and a time.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub object: &'static str,
    pub kind: String,
    pub data: Value,
    /// Events about one chargestation are delivered in order.
    pub chargestation: Option<Id>,
}

impl NewEvent {
    /// `object.action` for an object serialized as it is shown by the API.
    pub fn of<T: Serialize>(object: &'static str, action: &str, value: &T) -> NewEvent {
        NewEvent { object, kind: format!("{object}.{action}"), data: serde_json::to_value(value).unwrap_or(Value::Null), chargestation: None }
    }

    pub fn for_chargestation(mut self, chargestation: Id) -> NewEvent {
        self.chargestation = Some(chargestation);
        self
    }
}
