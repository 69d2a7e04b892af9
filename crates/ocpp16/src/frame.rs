//! OCPP-J 1.6 framing (section 4): every WebSocket text message is a JSON array.
//!
//! - CALL: `[2, "<id>", "<action>", {payload}]`
//! - CALLRESULT: `[3, "<id>", {payload}]`
//! - CALLERROR: `[4, "<id>", "<errorCode>", "<errorDescription>", {errorDetails}]`
//!
//! A text that is not such a frame is refused with a [`FrameError`], coded as follows. The
//! specification's codes describe payloads (ProtocolError: "payload for Action is incomplete",
//! FormationViolation: "syntactically incorrect or not conform the PDU structure"); a frame is
//! treated as the envelope of the PDU:
//! - not JSON, not an array, no message type id or one other than 2, 3 or 4, or the wrong
//!   number of elements for the type: `ProtocolError`, the message as a whole is not a complete
//!   OCPP-J message;
//! - an element of the wrong kind (a message id that is not a string of at most 36 characters,
//!   an action that is not a string, a payload or error details that are not an object, an
//!   error code OCPP 1.6 does not define, a description that is not a string):
//!   `FormationViolation`.
//!
//! The error carries the message id whenever element 1 is a valid message id, so the server
//! can answer a broken CALL with a CALLERROR the charger can match. An id longer than 36
//! characters is not echoed: the CALLERROR would itself be an invalid frame.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::ErrorCode;
use crate::messages::Action;

const CALL: u64 = 2;
const CALL_RESULT: u64 = 3;
const CALL_ERROR: u64 = 4;

/// OCPP-J 1.6 limits a message id to 36 characters.
const MAX_ID_CHARS: usize = 36;

#[derive(Clone, PartialEq, Debug)]
pub enum Frame {
    Call { id: String, action: String, payload: Value },
    CallResult { id: String, payload: Value },
    CallError { id: String, code: ErrorCode, description: String, details: Value },
}

/// A text that is not an OCPP-J frame.
///
/// With an `id`, the server can still reply: OCPP-J answers only CALLs, so an id of a pending
/// CALL of the server's own marks that call as failed, and any other id gets a CALLERROR
/// (`Frame::call_error(id, code, description)`).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct FrameError {
    /// The message id, when the text carried a valid one.
    pub id: Option<String>,
    pub code: ErrorCode,
    pub description: String,
}

impl Frame {
    pub fn parse(text: &str) -> Result<Frame, FrameError> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| FrameError { id: None, code: ErrorCode::ProtocolError, description: format!("not JSON: {e}") })?;
        let Value::Array(items) = value else {
            return Err(FrameError { id: None, code: ErrorCode::ProtocolError, description: "not a JSON array".into() });
        };
        let id = items.get(1).and_then(Value::as_str).filter(|id| valid_id(id)).map(str::to_owned);
        let fail = |code, description: String| FrameError { id: id.clone(), code, description };

        let message_type = items.first().and_then(Value::as_u64);
        let (name, length) = match message_type {
            Some(CALL) => ("CALL", 4),
            Some(CALL_RESULT) => ("CALLRESULT", 3),
            Some(CALL_ERROR) => ("CALLERROR", 5),
            _ => {
                let found = items.first().map_or("nothing".to_owned(), Value::to_string);
                return Err(fail(ErrorCode::ProtocolError, format!("the message type id must be 2, 3 or 4, got {found}")));
            }
        };
        if items.len() != length {
            return Err(fail(ErrorCode::ProtocolError, format!("a {name} has {length} elements, got {}", items.len())));
        }
        let Some(id) = id.clone() else {
            let description = match &items[1] {
                Value::String(_) => format!("the message id is longer than {MAX_ID_CHARS} characters"),
                other => format!("the message id must be a string, got {other}"),
            };
            return Err(fail(ErrorCode::FormationViolation, description));
        };

        // The shape is right; what remains to refuse is an element of the wrong kind.
        let malformed = |description| fail(ErrorCode::FormationViolation, description);
        let mut rest = items.into_iter().skip(2);
        let mut next = || rest.next().expect("the length is checked");
        match message_type {
            Some(CALL) => {
                let Value::String(action) = next() else {
                    return Err(malformed("the action must be a string".into()));
                };
                let payload = object(next(), "payload").map_err(malformed)?;
                Ok(Frame::Call { id, action, payload })
            }
            Some(CALL_RESULT) => Ok(Frame::CallResult { id, payload: object(next(), "payload").map_err(malformed)? }),
            _ => {
                let code = match next() {
                    Value::String(code) => ErrorCode::parse(&code).ok_or_else(|| malformed(format!("unknown error code {code:?}")))?,
                    other => return Err(malformed(format!("the error code must be a string, got {other}"))),
                };
                let Value::String(description) = next() else {
                    return Err(malformed("the error description must be a string".into()));
                };
                let details = object(next(), "error details").map_err(malformed)?;
                Ok(Frame::CallError { id, code, description, details })
            }
        }
    }

    pub fn to_text(&self) -> String {
        // A tuple serializes as a JSON array; strings and JSON values always serialize.
        let text = match self {
            Frame::Call { id, action, payload } => serde_json::to_string(&(CALL, id, action, payload)),
            Frame::CallResult { id, payload } => serde_json::to_string(&(CALL_RESULT, id, payload)),
            Frame::CallError { id, code, description, details } => serde_json::to_string(&(CALL_ERROR, id, code, description, details)),
        };
        text.expect("a frame serializes to JSON")
    }

    /// A CALLERROR with empty details.
    pub fn call_error(id: impl Into<String>, code: ErrorCode, description: impl Into<String>) -> Frame {
        Frame::CallError { id: id.into(), code, description: description.into(), details: Value::Object(Map::new()) }
    }

    /// A CALL of `A` carrying `request`.
    pub fn call<A: Action>(id: impl Into<String>, request: &A::Request) -> Frame {
        Frame::Call { id: id.into(), action: A::NAME.to_owned(), payload: to_payload(request) }
    }

    /// The CALLRESULT answering a CALL of `A` with `response`.
    pub fn call_result<A: Action>(id: impl Into<String>, response: &A::Response) -> Frame {
        Frame::CallResult { id: id.into(), payload: to_payload(response) }
    }
}

fn valid_id(id: &str) -> bool {
    id.chars().count() <= MAX_ID_CHARS
}

fn object(value: Value, what: &str) -> Result<Value, String> {
    match value {
        Value::Object(_) => Ok(value),
        other => Err(format!("the {what} must be a JSON object, got {other}")),
    }
}

fn to_payload(message: &impl Serialize) -> Value {
    // The message types are structs of strings, numbers, lists and structs: always a JSON object.
    serde_json::to_value(message).expect("an OCPP message serializes to JSON")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::messages::{BootNotification, BootNotificationResponse, Heartbeat, HeartbeatRequest, RegistrationStatus, decode_request};

    fn refused(text: &str) -> FrameError {
        Frame::parse(text).unwrap_err()
    }

    #[test]
    fn frames_round_trip() {
        let frames = [
            Frame::Call {
                id: "19223201".into(),
                action: "BootNotification".into(),
                payload: json!({"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"}),
            },
            Frame::CallResult { id: "19223201".into(), payload: json!({"status": "Accepted", "currentTime": "2013-02-01T20:53:32.486Z", "interval": 300}) },
            Frame::CallError {
                id: "19223201".into(),
                code: ErrorCode::OccurenceConstraintViolation,
                description: "missing idTag".into(),
                details: json!({"field": "idTag"}),
            },
            Frame::call_error("a-b", ErrorCode::NotImplemented, "unknown action"),
        ];
        for frame in frames {
            assert_eq!(Frame::parse(&frame.to_text()), Ok(frame));
        }
    }

    #[test]
    fn texts_parse_as_the_specification_writes_them() {
        let call = Frame::parse(r#"[2, "19223201", "Heartbeat", {}]"#).unwrap();
        assert_eq!(call, Frame::Call { id: "19223201".into(), action: "Heartbeat".into(), payload: json!({}) });
        assert_eq!(call.to_text(), r#"[2,"19223201","Heartbeat",{}]"#);
        let error = Frame::call_error("162376037", ErrorCode::NotSupported, "no");
        assert_eq!(error.to_text(), r#"[4,"162376037","NotSupported","no",{}]"#);
        assert_eq!(Frame::call::<Heartbeat>("1", &HeartbeatRequest {}).to_text(), r#"[2,"1","Heartbeat",{}]"#);
    }

    #[test]
    fn a_call_is_answered_with_typed_messages() {
        let text = r#"[2, "19223201", "BootNotification", {"chargePointVendor": "VendorX", "chargePointModel": "SingleSocketCharger"}]"#;
        let Frame::Call { id, action, payload } = Frame::parse(text).unwrap() else { panic!("not a CALL") };
        assert_eq!(action, "BootNotification");
        let request = decode_request::<BootNotification>(&payload).unwrap();
        assert_eq!(request.charge_point_vendor, "VendorX");

        let response = BootNotificationResponse {
            status: RegistrationStatus::Accepted,
            current_time: chrono::DateTime::parse_from_rfc3339("2013-02-01T20:53:32.486Z").unwrap(),
            interval: 300,
        };
        let answer = Frame::call_result::<BootNotification>(id, &response).to_text();
        assert_eq!(answer, r#"[3,"19223201",{"status":"Accepted","currentTime":"2013-02-01T20:53:32.486Z","interval":300}]"#);
    }

    #[test]
    fn an_id_of_36_characters_is_accepted() {
        let id = "123e4567-e89b-12d3-a456-426614174000";
        assert_eq!(id.len(), 36);
        let frame = Frame::parse(&format!(r#"[3, "{id}", {{}}]"#)).unwrap();
        assert_eq!(frame, Frame::CallResult { id: id.into(), payload: json!({}) });
    }

    #[test]
    fn texts_that_are_not_frames_are_protocol_errors() {
        for text in ["", "[2, \"1\", \"Heartbeat\", {}", "hello", "{\"id\": \"1\"}", "\"[2]\"", "7"] {
            let error = refused(text);
            assert_eq!((error.id, error.code), (None, ErrorCode::ProtocolError), "{text}");
        }
    }

    #[test]
    fn incomplete_frames_and_unknown_types_are_protocol_errors_with_the_id() {
        let cases = [
            ("[]", None),
            ("[2]", None),
            (r#"[2, "m1"]"#, Some("m1")),
            (r#"[2, "m1", "Heartbeat"]"#, Some("m1")),
            (r#"[2, "m1", "Heartbeat", {}, {}]"#, Some("m1")),
            (r#"[3, "m1"]"#, Some("m1")),
            (r#"[4, "m1", "GenericError", "x"]"#, Some("m1")),
            (r#"[5, "m1", "Heartbeat", {}]"#, Some("m1")),
            (r#"[0, "m1", {}]"#, Some("m1")),
            (r#"["2", "m1", "Heartbeat", {}]"#, Some("m1")),
            (r#"[2.5, "m1", "Heartbeat", {}]"#, Some("m1")),
        ];
        for (text, id) in cases {
            let error = refused(text);
            assert_eq!((error.id.as_deref(), error.code), (id, ErrorCode::ProtocolError), "{text}: {}", error.description);
        }
    }

    #[test]
    fn malformed_elements_are_formation_violations() {
        let long_id = "x".repeat(37);
        let cases = [
            (r#"[2, 19223201, "Heartbeat", {}]"#.to_owned(), None),
            (r#"[2, null, "Heartbeat", {}]"#.to_owned(), None),
            (format!(r#"[2, "{long_id}", "Heartbeat", {{}}]"#), None),
            (r#"[2, "m1", 7, {}]"#.to_owned(), Some("m1")),
            (r#"[2, "m1", "Heartbeat", []]"#.to_owned(), Some("m1")),
            (r#"[2, "m1", "Heartbeat", null]"#.to_owned(), Some("m1")),
            (r#"[3, "m1", "ok"]"#.to_owned(), Some("m1")),
            (r#"[4, "m1", "GenericError", "x", null]"#.to_owned(), Some("m1")),
            (r#"[4, "m1", "GenericError", 7, {}]"#.to_owned(), Some("m1")),
            (r#"[4, "m1", "FormatViolation", "x", {}]"#.to_owned(), Some("m1")),
            (r#"[4, "m1", 400, "x", {}]"#.to_owned(), Some("m1")),
        ];
        for (text, id) in cases {
            let error = refused(&text);
            assert_eq!((error.id.as_deref(), error.code), (id, ErrorCode::FormationViolation), "{text}: {}", error.description);
        }
        assert_eq!(refused(&format!(r#"[2, "{long_id}", "Heartbeat", {{}}]"#)).description, "the message id is longer than 36 characters");
        assert_eq!(refused(r#"[2, "m1", "Heartbeat", []]"#).description, "the payload must be a JSON object, got []");
    }
}
