//! OCPP 1.6J, the protocol chargers speak to Joule's charging station management system
//! (CSMS): frames, typed messages and validation against the official JSON schemas.
//!
//! Pure, like `domain`: no sockets, no runtime, no clock. The OCPP server reads a WebSocket
//! text, and this crate turns it into a decision:
//! 1. [`Frame::parse`] splits the text into a CALL, CALLRESULT or CALLERROR, or a
//!    [`FrameError`] carrying the message id to answer with a CALLERROR;
//! 2. [`validate()`] checks a payload against the official schema of its action and direction,
//!    or [`messages::decode_request`] / [`messages::decode_response`] validate and decode it
//!    into the action's types, refusing with a [`Violation`] whose [`ErrorCode`] is what the
//!    CALLERROR carries;
//! 3. answers and commands go back out as [`Frame::call_result`], [`Frame::call`] or
//!    [`Frame::call_error`], then [`Frame::to_text`].
//!
//! Layout:
//! - [`frame`]: OCPP-J framing and how malformed frames map to error codes;
//! - [`validate`](mod@validate): the compiled schemas and how schema violations map to error codes;
//! - [`messages`]: one module per action (its request, response and enums) and [`messages::Action`]
//!   tying an action's name to its types; [`messages::common`] holds the shared types. The 28
//!   actions of OCPP 1.6 are typed; those of its security extension are validated only;
//! - `schemas/`: the official schema files, embedded at compile time (`schemas/SOURCE.md`).

mod error_code;
pub mod frame;
pub mod messages;
mod schemas;
pub mod validate;

pub use error_code::ErrorCode;
pub use frame::{Frame, FrameError};
pub use messages::Action;
pub use validate::{Direction, Violation, is_known, schema, schema_set, validate};
