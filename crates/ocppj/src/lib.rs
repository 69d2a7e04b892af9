//! OCPP-J, the JSON-over-WebSocket RPC that OCPP 1.6 and 2.0.1 share: frames, the check of a
//! payload against its action's official schema, typed decoding, and the error codes a
//! CALLERROR carries, which each version spells its own way. Pure: no sockets, no clock.
//!
//! A version's crate (`ocpp16`, `ocpp201`) brings its schemas (a [`SchemaSet`]), its error codes
//! (a [`Codes`]) and its typed messages ([`Action`]s), and names these types for itself.
//! - [`frame`]: CALL, CALLRESULT and CALLERROR, and how a malformed text maps to an error code;
//! - [`validate`](mod@validate): compiled schemas and how a schema violation maps to an error code;
//! - [`Action`], [`decode`]: an action's name and types, and validated decoding.

pub mod frame;
pub mod validate;

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

pub use frame::{Frame, FrameError};
pub use validate::{Direction, SchemaSet, Schemas, Violation};

/// A version's CALLERROR codes, and which one each kind of refusal carries.
pub trait Codes: Copy + Eq + std::hash::Hash + std::fmt::Debug + std::fmt::Display + Serialize + DeserializeOwned + Send + Sync + 'static {
    /// The text is not a whole OCPP-J message: not JSON, not an array, the wrong length.
    const NOT_A_MESSAGE: Self;
    /// The message type id is not one of the version's.
    const UNKNOWN_MESSAGE_TYPE: Self;
    /// An element or a payload does not have the structure it must have.
    const FORMAT: Self;
    /// A value has the wrong JSON type.
    const TYPE_CONSTRAINT: Self;
    /// A field or list entry occurs too few or too many times.
    const OCCURRENCE: Self;
    /// A value of the right type is not allowed.
    const PROPERTY_CONSTRAINT: Self;
    /// The action is not known.
    const NOT_IMPLEMENTED: Self;
    /// The receiver failed while handling a valid request.
    const INTERNAL_ERROR: Self;
    /// The receiver refuses the request for security reasons.
    const SECURITY_ERROR: Self;

    /// The code spelled exactly this way; `None` for anything else.
    fn parse(text: &str) -> Option<Self>;
}

/// An OCPP action: its name on the wire and the types of its request and response.
pub trait Action {
    const NAME: &'static str;
    type Request: Serialize + DeserializeOwned;
    type Response: Serialize + DeserializeOwned;
}

/// Validates a payload of `action` in `direction` against `schemas`, then decodes it.
pub fn decode<T: DeserializeOwned, C: Codes>(schemas: &SchemaSet, action: &str, direction: Direction, payload: &Value) -> Result<T, Violation<C>> {
    schemas.validate(action, direction, payload)?;
    // Only what the schema accepts and the type cannot hold gets here, like an integer beyond i64.
    serde_path_to_error::deserialize(payload).map_err(|error| {
        let path: String = error.path().iter().map(|segment| format!("/{segment}")).collect();
        Violation { code: C::TYPE_CONSTRAINT, description: format!("{}: {}", if path.is_empty() { "(root)" } else { &path }, error.inner()) }
    })
}

/// Declares the unit struct naming an action and ties it to its request and response.
#[macro_export]
macro_rules! action {
    ($(#[$doc:meta])* $name:ident: $request:ty => $response:ty) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Debug)]
        pub struct $name;

        impl $crate::Action for $name {
            const NAME: &'static str = stringify!($name);
            type Request = $request;
            type Response = $response;
        }
    };
}

/// Declares a version's CALLERROR codes: the enum, each spelled as its variant on the wire
/// (`as_str`, `parse`, serde, `Display`), and `ALL` of them.
#[macro_export]
macro_rules! error_codes {
    ($(#[$doc:meta])* pub enum $name:ident { $($(#[$variant_doc:meta])* $variant:ident,)* }) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, serde::Serialize, serde::Deserialize)]
        pub enum $name {
            $($(#[$variant_doc])* $variant,)*
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant,)*];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => stringify!($variant),)*
                }
            }

            /// The code with exactly this spelling; `None` for anything else (another version's
            /// spelling included).
            pub fn parse(s: &str) -> Option<$name> {
                $name::ALL.iter().copied().find(|code| code.as_str() == s)
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
