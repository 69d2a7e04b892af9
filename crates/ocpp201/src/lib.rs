//! OCPP 2.0.1, the protocol most chargers sold now speak: its error codes, typed messages and
//! validation against the official JSON schemas, over `ocppj`'s frames and validation.
//!
//! Pure, like `ocpp16`: no sockets, no runtime, no clock. Layout:
//! - `error_code`: OCPP-J 2.0.1's CALLERROR codes, and which one each kind of refusal carries;
//! - [`validate`](mod@validate): the 64 actions' schemas, embedded from `schemas/`
//!   (`schemas/SOURCE.md`);
//! - [`messages`]: typed requests and responses of the actions Joule handles or sends; every
//!   other action is validated only.

mod error_code;
pub mod messages;
mod schemas;
pub mod validate;

pub use error_code::ErrorCode;
pub use messages::Action;
pub use validate::{Direction, Violation, is_known, schema, schema_set, validate};

/// An OCPP-J frame with OCPP 2.0.1's error codes.
pub type Frame = ocppj::Frame<ErrorCode>;
/// A text that is not an OCPP-J frame: not JSON, not an array or the wrong length is a
/// `RpcFrameworkError`, a message type other than 2, 3 or 4 `MessageTypeNotSupported`, an
/// element of the wrong kind a `FormatViolation`.
pub type FrameError = ocppj::FrameError<ErrorCode>;
