//! Typed OCPP 1.6 messages: one module per action with its request and response, the types
//! several actions share in [`common`].
//!
//! The types follow the official schemas field for field (a test per action checks a full
//! payload of each against them), so a payload that passed [`validate`](crate::validate())
//! decodes. Conventions:
//! - field names are the schemas' camelCase; optional fields are `Option`s left out when `None`,
//!   optional lists `Option<Vec<_>>` (an absent list and an empty one are different payloads);
//! - unknown fields are refused, as every schema says `additionalProperties: false`;
//! - schema `integer` is `i64`: the schemas set no bounds, so every integer they accept decodes;
//! - schema `number` (charging limits) is an exact `Decimal`, so `multipleOf: 0.1` holds for
//!   what was sent; meter readings stay `String`, as `SampledValue.value` is in OCPP 1.6;
//! - `date-time` is [`Timestamp`], an RFC 3339 time that keeps the sender's offset.

use serde_json::Value;

use crate::validate::{Direction, SCHEMA_SET, Violation};

pub mod common;

mod authorize;
mod boot_notification;
mod cancel_reservation;
mod change_availability;
mod change_configuration;
mod clear_cache;
mod clear_charging_profile;
mod data_transfer;
mod diagnostics_status_notification;
mod firmware_status_notification;
mod get_composite_schedule;
mod get_configuration;
mod get_diagnostics;
mod get_local_list_version;
mod heartbeat;
mod meter_values;
mod remote_start_transaction;
mod remote_stop_transaction;
mod reserve_now;
mod reset;
mod send_local_list;
mod set_charging_profile;
mod start_transaction;
mod status_notification;
mod stop_transaction;
mod trigger_message;
mod unlock_connector;
mod update_firmware;

pub use authorize::*;
pub use boot_notification::*;
pub use cancel_reservation::*;
pub use change_availability::*;
pub use change_configuration::*;
pub use clear_cache::*;
pub use clear_charging_profile::*;
pub use common::*;
pub use data_transfer::*;
pub use diagnostics_status_notification::*;
pub use firmware_status_notification::*;
pub use get_composite_schedule::*;
pub use get_configuration::*;
pub use get_diagnostics::*;
pub use get_local_list_version::*;
pub use heartbeat::*;
pub use meter_values::*;
pub use remote_start_transaction::*;
pub use remote_stop_transaction::*;
pub use reserve_now::*;
pub use reset::*;
pub use send_local_list::*;
pub use set_charging_profile::*;
pub use start_transaction::*;
pub use status_notification::*;
pub use stop_transaction::*;
pub use trigger_message::*;
pub use unlock_connector::*;
pub use update_firmware::*;

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
mod tests {
    use serde_json::json;

    use super::*;
    use crate::ErrorCode;
    use crate::validate::validate;

    #[test]
    fn decoding_validates_first() {
        let payload = json!({"connectorId": 1, "errorCode": "NoError", "status": "Charging"});
        let request = decode_request::<StatusNotification>(&payload).unwrap();
        assert_eq!(request.status, ChargePointStatus::Charging);

        let missing = decode_request::<StatusNotification>(&json!({"connectorId": 1, "status": "Charging"})).unwrap_err();
        assert_eq!(missing.code, ErrorCode::OccurenceConstraintViolation);
        let wrong_direction = decode_response::<StatusNotification>(&payload).unwrap_err();
        assert_eq!(wrong_direction.code, ErrorCode::FormationViolation);
    }

    #[test]
    fn what_the_schema_allows_but_the_type_cannot_hold_is_a_type_constraint_violation() {
        let payload: Value = serde_json::from_str(
            r#"{"connectorId": 1, "meterValue": [{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": [{"value": "1"}]}], "transactionId": 100000000000000000000}"#,
        )
        .unwrap();
        assert_eq!(validate(MeterValues::NAME, Direction::Request, &payload), Ok(()));
        let error = decode_request::<MeterValues>(&payload).unwrap_err();
        assert_eq!(error.code, ErrorCode::TypeConstraintViolation);
        assert!(error.description.starts_with("/transactionId: "), "{error}");
    }
}

#[cfg(test)]
pub(crate) mod testing {
    use std::fmt::Debug;

    use serde::Serialize;
    use serde_json::Value;

    use super::{Action, Timestamp, decode_request, decode_response};
    use crate::validate::{Direction, validate};

    pub fn ts(text: &str) -> Timestamp {
        Timestamp::parse_from_rfc3339(text).unwrap()
    }

    /// The request and response of `A` pass the official schemas and decode back unchanged.
    pub fn round_trip<A: Action>(request: &A::Request, response: &A::Response)
    where
        A::Request: PartialEq + Debug,
        A::Response: PartialEq + Debug,
    {
        let payload = serde_json::to_value(request).unwrap();
        assert_eq!(validate(A::NAME, Direction::Request, &payload), Ok(()), "{} request {payload}", A::NAME);
        assert_eq!(&decode_request::<A>(&payload).unwrap(), request);
        let payload = serde_json::to_value(response).unwrap();
        assert_eq!(validate(A::NAME, Direction::Response, &payload), Ok(()), "{} response {payload}", A::NAME);
        assert_eq!(&decode_response::<A>(&payload).unwrap(), response);
    }

    /// The strings of `variants` are exactly the schema's `enum` at `pointer` in the schema of
    /// `action` in `direction`: no value missing, none misspelled.
    pub fn enum_matches_schema<T: Serialize>(variants: &[T], action: &str, direction: Direction, pointer: &str) {
        let name = match direction {
            Direction::Request => action.to_owned(),
            Direction::Response => format!("{action}Response"),
        };
        let schema = crate::schemas::SCHEMAS.iter().find(|s| s.action == action).unwrap();
        let text = match direction {
            Direction::Request => schema.request,
            Direction::Response => schema.response,
        };
        let schema: Value = serde_json::from_str(text).unwrap();
        let mut expected: Vec<String> = schema
            .pointer(&format!("{pointer}/enum"))
            .unwrap_or_else(|| panic!("{name}.json has no enum at {pointer}"))
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_str().unwrap().to_owned())
            .collect();
        let mut actual: Vec<String> = variants.iter().map(|v| serde_json::to_value(v).unwrap().as_str().unwrap().to_owned()).collect();
        expected.sort();
        actual.sort();
        assert_eq!(actual, expected, "{name}.json{pointer}");
    }
}
