//! OCPP-J framing (OCPP-J 1.6 section 4, 2.0.1 part 4 section 4): every WebSocket text message
//! is a JSON array.
//!
//! - CALL: `[2, "<id>", "<action>", {payload}]`
//! - CALLRESULT: `[3, "<id>", {payload}]`
//! - CALLERROR: `[4, "<id>", "<errorCode>", "<errorDescription>", {errorDetails}]`
//!
//! A text that is not such a frame is refused with a [`FrameError`] carrying the version's code
//! ([`Codes`]) for what is wrong:
//! - not JSON, not an array, or the wrong number of elements for its type:
//!   [`Codes::NOT_A_MESSAGE`], the message as a whole is not a complete OCPP-J message;
//! - a message type id other than 2, 3 or 4: [`Codes::UNKNOWN_MESSAGE_TYPE`];
//! - an element of the wrong kind (a message id that is not a string of at most 36 characters,
//!   an action that is not a string, a payload or error details that are not an object, an
//!   error code the version does not define, a description that is not a string):
//!   [`Codes::FORMAT`].
//!
//! The error carries the message id whenever element 1 is a valid message id, so the server
//! can answer a broken CALL with a CALLERROR the charger can match. An id longer than 36
//! characters is not echoed: the CALLERROR would itself be an invalid frame.

use serde::Serialize;
use serde_json::{Map, Value};

use crate::{Action, Codes};

const CALL: u64 = 2;
const CALL_RESULT: u64 = 3;
const CALL_ERROR: u64 = 4;

/// OCPP-J limits a message id to 36 characters.
const MAX_ID_CHARS: usize = 36;

#[derive(Clone, PartialEq, Debug)]
pub enum Frame<C> {
    Call { id: String, action: String, payload: Value },
    CallResult { id: String, payload: Value },
    CallError { id: String, code: C, description: String, details: Value },
}

/// A text that is not an OCPP-J frame.
///
/// With an `id`, the server can still reply: OCPP-J answers only CALLs, so an id of a pending
/// CALL of the server's own marks that call as failed, and any other id gets a CALLERROR
/// (`Frame::call_error(id, code, description)`).
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct FrameError<C: Codes> {
    /// The message id, when the text carried a valid one.
    pub id: Option<String>,
    pub code: C,
    pub description: String,
}

impl<C: Codes> Frame<C> {
    pub fn parse(text: &str) -> Result<Frame<C>, FrameError<C>> {
        let value: Value = serde_json::from_str(text).map_err(|e| FrameError { id: None, code: C::NOT_A_MESSAGE, description: format!("not JSON: {e}") })?;
        let Value::Array(items) = value else {
            return Err(FrameError { id: None, code: C::NOT_A_MESSAGE, description: "not a JSON array".into() });
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
                let code = if items.is_empty() { C::NOT_A_MESSAGE } else { C::UNKNOWN_MESSAGE_TYPE };
                return Err(fail(code, format!("the message type id must be 2, 3 or 4, got {found}")));
            }
        };
        if items.len() != length {
            return Err(fail(C::NOT_A_MESSAGE, format!("a {name} has {length} elements, got {}", items.len())));
        }
        let Some(id) = id.clone() else {
            let description = match &items[1] {
                Value::String(_) => format!("the message id is longer than {MAX_ID_CHARS} characters"),
                other => format!("the message id must be a string, got {other}"),
            };
            return Err(fail(C::FORMAT, description));
        };

        // The shape is right; what remains to refuse is an element of the wrong kind.
        let malformed = |description| fail(C::FORMAT, description);
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
                    Value::String(code) => C::parse(&code).ok_or_else(|| malformed(format!("unknown error code {code:?}")))?,
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
    pub fn call_error(id: impl Into<String>, code: C, description: impl Into<String>) -> Frame<C> {
        Frame::CallError { id: id.into(), code, description: description.into(), details: Value::Object(Map::new()) }
    }

    /// A CALL of `A` carrying `request`.
    pub fn call<A: Action>(id: impl Into<String>, request: &A::Request) -> Frame<C> {
        Frame::Call { id: id.into(), action: A::NAME.to_owned(), payload: to_payload(request) }
    }

    /// The CALLRESULT answering a CALL of `A` with `response`.
    pub fn call_result<A: Action>(id: impl Into<String>, response: &A::Response) -> Frame<C> {
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
