//! Typed OCPP 2.0.1 messages: one module per action with its request and response, the types
//! several actions share in [`common`].
//!
//! The types follow the official schemas field for field (a test per action checks a payload
//! of each against them), so a payload that passed [`validate`](crate::validate()) decodes.
//! Conventions, as in `ocpp16` except where 2.0.1 differs:
//! - field names are the schemas' camelCase; optional fields are `Option`s left out when `None`;
//! - unknown fields are not refused by the types: every 2.0.1 object may carry `customData`,
//!   which may hold anything, and the schemas (checked before decoding) refuse every other
//!   unknown field; `customData` is not kept;
//! - schema `integer` is `i64`, `number` an exact `Decimal`, `date-time` a [`Timestamp`] that
//!   keeps the sender's offset.

use serde_json::Value;

use crate::validate::{Direction, SCHEMA_SET, Violation};

pub mod common;

mod authorize;
mod boot_notification;
mod heartbeat;
mod request_transaction;
mod send_local_list;
mod status_notification;
mod transaction_event;

pub use authorize::*;
pub use boot_notification::*;
pub use common::*;
pub use heartbeat::*;
pub use request_transaction::*;
pub use send_local_list::*;
pub use status_notification::*;
pub use transaction_event::*;

pub use ocppj::Action;

/// Validates a CALL payload of `A` against its schema, then decodes it.
pub fn decode_request<A: Action>(payload: &Value) -> Result<A::Request, Violation> {
    ocppj::decode(&SCHEMA_SET, A::NAME, Direction::Request, payload)
}

/// Validates a CALLRESULT payload of `A` against its schema, then decodes it.
pub fn decode_response<A: Action>(payload: &Value) -> Result<A::Response, Violation> {
    ocppj::decode(&SCHEMA_SET, A::NAME, Direction::Response, payload)
}

use ocppj::action;

#[cfg(test)]
pub(crate) mod testing {
    use serde::Serialize;
    use serde::de::DeserializeOwned;
    use serde_json::Value;

    use crate::validate::{Direction, validate};

    /// `payload` is valid for `action` in `direction`, decodes as `T` and encodes back to
    /// exactly `payload`.
    pub fn round_trip<T: Serialize + DeserializeOwned + PartialEq + std::fmt::Debug>(action: &str, direction: Direction, payload: Value) -> T {
        validate(action, direction, &payload).unwrap_or_else(|v| panic!("{action} {direction:?}: {v}"));
        let typed: T = serde_json::from_value(payload.clone()).unwrap_or_else(|e| panic!("{action} {direction:?}: {e}"));
        assert_eq!(serde_json::to_value(&typed).unwrap(), payload, "{action} {direction:?} encodes back");
        typed
    }

    pub fn ts(text: &str) -> super::Timestamp {
        chrono::DateTime::parse_from_rfc3339(text).unwrap()
    }
}
