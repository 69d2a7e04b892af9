//! Chargestations: the chargers that connect over OCPP, known by their `endpoint` identity.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, OneOfBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::connector::{Connector, ConnectorStatus};
use crate::local_list::LocalListState;
use crate::schema::{one_of_strings, or_null};
use crate::{Id, Invalid, Timestamp};

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
pub enum Registration {
    Accepted,
    Pending,
    Rejected,
}

impl Registration {
    pub fn as_str(self) -> &'static str {
        match self {
            Registration::Accepted => "Accepted",
            Registration::Pending => "Pending",
            Registration::Rejected => "Rejected",
        }
    }

    pub fn parse(s: &str) -> Option<Registration> {
        [Registration::Accepted, Registration::Pending, Registration::Rejected].into_iter().find(|r| r.as_str() == s)
    }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SecurityType {
    None,
    Basic,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq, ToSchema)]
pub struct Security {
    #[serde(rename = "type")]
    pub kind: SecurityType,
}

#[derive(Serialize, Clone, Debug, PartialEq, ToSchema)]
pub struct Chargestation {
    #[serde(rename = "_id")]
    pub id: Id,
    /// The OCPP identity: the last segment of the charger's WebSocket URL.
    pub endpoint: String,
    pub protocol: String,
    pub location: Option<Id>,
    pub connection_url: String,
    pub security: Security,
    pub online: bool,
    /// What the charger last reported for connector 0, the chargestation as a whole.
    pub status: Option<ConnectorStatus>,
    pub registration: Registration,
    #[serde(rename = "lastConnectAt")]
    pub last_connect_at: Option<Timestamp>,
    #[serde(rename = "lastDisconnectAt")]
    pub last_disconnect_at: Option<Timestamp>,
    #[serde(rename = "lastMessageAt")]
    pub last_message_at: Option<Timestamp>,
    #[serde(rename = "bootInfo")]
    pub boot_info: Option<Value>,
    /// The local authorization list last sent (`POST .../local_list/sync`), if any.
    #[serde(rename = "localList")]
    pub local_list: Option<LocalListState>,
    pub connectors: Vec<Connector>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

/// `{type: "none"}`, or `{type: "basic", password}` with the password the charger sends.
#[derive(Deserialize, Debug)]
#[serde(deny_unknown_fields)]
pub struct SecurityInput {
    #[serde(rename = "type")]
    pub kind: String,
    pub password: Option<String>,
}

impl utoipa::PartialSchema for SecurityInput {
    fn schema() -> RefOr<Schema> {
        let variant = |kind: &str, password: RefOr<Schema>, required: &[&str]| {
            let mut object = ObjectBuilder::new()
                .schema_type(Type::Object)
                .property("type", one_of_strings([kind]))
                .property("password", password)
                .additional_properties(Some(AdditionalProperties::FreeForm(false)));
            for field in required {
                object = object.required(*field);
            }
            object
        };
        let no_password = ObjectBuilder::new().schema_type(Type::Null).description(Some("Absent or null.")).into();
        let password = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^[!-~]{8,40}$"))
            .description(Some("8 to 40 printable ASCII characters: what the charger sends in HTTP Basic authentication."))
            .write_only(true)
            .into();
        OneOfBuilder::new().item(variant("none", no_password, &["type"])).item(variant("basic", password, &["type", "password"])).into()
    }
}

impl ToSchema for SecurityInput {}

/// `POST /v1.1/chargestations`.
#[derive(Deserialize, Debug, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargestationInput {
    /// The charger's OCPP identity, the last segment of its WebSocket URL.
    #[schema(pattern = "^[A-Za-z0-9._~:-]{1,48}$")]
    pub endpoint: String,
    #[schema(schema_with = protocol_schema)]
    pub protocol: Option<String>,
    pub location: Option<Id>,
    pub security: Option<SecurityInput>,
    #[schema(value_type = Option<Registration>)]
    pub registration: Option<String>,
}

/// `PATCH /v1.1/chargestations/{id}`: the endpoint is the charger's identity and stays.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ChargestationPatch {
    #[serde(default, deserialize_with = "crate::user::nullable")]
    pub location: Option<Option<Id>>,
    pub security: Option<SecurityInput>,
    #[schema(value_type = Option<Registration>)]
    pub registration: Option<String>,
}

/// A validated new chargestation. The password is still clear text: hashing it is the
/// caller's job (it needs a random salt).
#[derive(Debug, Clone)]
pub struct NewChargestation {
    pub endpoint: String,
    pub protocol: String,
    pub location: Option<Id>,
    pub security: Credentials,
    pub registration: Registration,
}

#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    None,
    Basic { password: String },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Credentials::None => f.write_str("None"),
            Credentials::Basic { .. } => f.write_str("Basic { password: <hidden> }"),
        }
    }
}

/// OCPP 1.6 identities are CiString(48)-sized and travel as a URL path segment, so only
/// characters that need no escaping there are allowed.
pub fn endpoint(value: &str) -> Result<String, Invalid> {
    let ok = !value.is_empty() && value.len() <= 48 && value.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.~:".contains(&b));
    if ok { Ok(value.to_string()) } else { Err(Invalid::new("endpoint", "must be 1 to 48 characters of A-Z, a-z, 0-9 and - _ . ~ :")) }
}

/// OCPP's security whitepaper asks for 16 to 40 characters for a charger's Basic password;
/// Joule accepts 8 to 40 so that chargers with shorter factory passwords still work.
fn security(input: SecurityInput) -> Result<Credentials, Invalid> {
    match (input.kind.as_str(), input.password) {
        ("none", None) => Ok(Credentials::None),
        ("none", Some(_)) => Err(Invalid::new("security.password", "must be absent when security.type is \"none\"")),
        ("basic", Some(password)) => {
            let ok = (8..=40).contains(&password.chars().count()) && password.chars().all(|c| c.is_ascii_graphic());
            if ok { Ok(Credentials::Basic { password }) } else { Err(Invalid::new("security.password", "must be 8 to 40 printable ASCII characters")) }
        }
        ("basic", None) => Err(Invalid::new("security.password", "is required when security.type is \"basic\"")),
        _ => Err(Invalid::new("security.type", "must be \"none\" or \"basic\"")),
    }
}

fn registration(value: &str) -> Result<Registration, Invalid> {
    Registration::parse(value).ok_or_else(|| Invalid::new("registration", "must be \"Accepted\", \"Pending\" or \"Rejected\""))
}

pub const PROTOCOL_OCPP16: &str = "ocpp1.6";
pub const PROTOCOL_OCPP201: &str = "ocpp2.0.1";

fn protocol_schema() -> RefOr<Schema> {
    let described = one_of_strings([PROTOCOL_OCPP16, PROTOCOL_OCPP201])
        .description(Some("The OCPP version the charger speaks; `ocpp1.6` when absent. A charger that connects offering only the other one is served in it, and its chargestation then shows it."));
    or_null(described)
}

impl ChargestationInput {
    pub fn parse(self) -> Result<NewChargestation, Invalid> {
        let protocol = match self.protocol.as_deref() {
            None | Some(PROTOCOL_OCPP16) => PROTOCOL_OCPP16.to_string(),
            Some(PROTOCOL_OCPP201) => PROTOCOL_OCPP201.to_string(),
            Some(_) => return Err(Invalid::new("protocol", "must be \"ocpp1.6\" or \"ocpp2.0.1\"")),
        };
        Ok(NewChargestation {
            endpoint: endpoint(&self.endpoint)?,
            protocol,
            location: self.location,
            security: self.security.map(security).transpose()?.unwrap_or(Credentials::None),
            registration: self.registration.as_deref().map(registration).transpose()?.unwrap_or(Registration::Accepted),
        })
    }
}

/// What a patch changes, validated.
#[derive(Debug, Clone, Default)]
pub struct ChargestationChanges {
    pub location: Option<Option<Id>>,
    pub security: Option<Credentials>,
    pub registration: Option<Registration>,
}

impl ChargestationPatch {
    pub fn parse(self) -> Result<ChargestationChanges, Invalid> {
        Ok(ChargestationChanges {
            location: self.location,
            security: self.security.map(security).transpose()?,
            registration: self.registration.as_deref().map(registration).transpose()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<NewChargestation, Invalid> {
        serde_json::from_str::<ChargestationInput>(json).unwrap().parse()
    }

    #[test]
    fn defaults() {
        let cs = parse(r#"{"endpoint":"CP-001"}"#).unwrap();
        assert_eq!(cs.protocol, "ocpp1.6");
        assert_eq!(cs.security, Credentials::None);
        assert_eq!(cs.registration, Registration::Accepted);
    }

    #[test]
    fn names_the_bad_field() {
        for (json, field) in [
            (r#"{"endpoint":"a/b"}"#, "endpoint"),
            (r#"{"endpoint":""}"#, "endpoint"),
            (r#"{"endpoint":"CP","protocol":"ocpp2.1"}"#, "protocol"),
            (r#"{"endpoint":"CP","security":{"type":"basic"}}"#, "security.password"),
            (r#"{"endpoint":"CP","security":{"type":"basic","password":"short"}}"#, "security.password"),
            (r#"{"endpoint":"CP","security":{"type":"tls"}}"#, "security.type"),
            (r#"{"endpoint":"CP","registration":"Maybe"}"#, "registration"),
        ] {
            assert_eq!(parse(json).unwrap_err().field, field, "{json}");
        }
    }

    #[test]
    fn passwords_never_show_in_debug_output() {
        let cs = parse(r#"{"endpoint":"CP","security":{"type":"basic","password":"s3cret-password"}}"#).unwrap();
        assert!(!format!("{cs:?}").contains("s3cret"));
    }
}
