//! Checks a payload against its action's official schema and answers with the error code a
//! CALLERROR for it would carry.
//!
//! How a schema violation becomes an OCPP-J 1.6 error code (section 4.2.3):
//! - an unknown action: `NotImplemented` ("requested Action is not known by receiver");
//! - a payload that is not a JSON object: `FormationViolation`, checked before the schema so it
//!   never reads as a type error of a field;
//! - `type`: `TypeConstraintViolation`, a field with the wrong JSON type (the specification's
//!   example: `"somestring": 12`);
//! - `required`, `minItems`, `maxItems`: `OccurenceConstraintViolation`, a field or list entry
//!   occurs too few or too many times;
//! - `enum`, `const`, `maxLength`, `minLength`, `minimum`, `maximum`, `exclusiveMinimum`,
//!   `exclusiveMaximum`, `multipleOf`, `format`, `pattern`: `PropertyConstraintViolation`, the
//!   type is right but the value is not allowed. `maxLength` belongs here even though OCPP names
//!   its bounded strings as types (`CiString20Type`): the JSON type is correct and only the
//!   value is out of bounds, and TypeConstraintViolation is what a client reads as "send a
//!   different JSON type", which would not fix it;
//! - `additionalProperties` and anything else: `FormationViolation`, the payload does not have
//!   the structure of the action's PDU.

use std::collections::HashMap;
use std::sync::{LazyLock, OnceLock};

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value;

use crate::ErrorCode;
use crate::schemas::SCHEMAS;

#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub enum Direction {
    Request,
    Response,
}

/// Why a payload was refused, ready to become a CALLERROR.
#[derive(Clone, PartialEq, Eq, Debug, thiserror::Error)]
#[error("{code}: {description}")]
pub struct Violation {
    pub code: ErrorCode,
    /// The JSON pointer of the offending value and the problem.
    pub description: String,
}

/// Whether `action` has a schema (the OCPP 1.6 actions and those of its security extension).
pub fn is_known(action: &str) -> bool {
    ACTIONS.contains_key(action)
}

/// Checks `payload` against the schema of `action` in `direction`. The first violation found
/// is reported.
pub fn validate(action: &str, direction: Direction, payload: &Value) -> Result<(), Violation> {
    let Some((request, response)) = ACTIONS.get(action) else {
        return Err(Violation { code: ErrorCode::NotImplemented, description: format!("unknown action {action:?}") });
    };
    if !payload.is_object() {
        return Err(Violation { code: ErrorCode::FormationViolation, description: format!("the payload must be a JSON object, got {}", json_type(payload)) });
    }
    let schema = match direction {
        Direction::Request => request,
        Direction::Response => response,
    };
    schema.validator().validate(payload).map_err(|error| violation(&error))
}

/// The official schema of `action`'s payload in `direction`, as JSON: what the API documents
/// for the commands it forwards.
pub fn schema(action: &str, direction: Direction) -> Option<Value> {
    let (request, response) = ACTIONS.get(action)?;
    let text = match direction {
        Direction::Request => request.text,
        Direction::Response => response.text,
    };
    serde_json::from_str(text).ok()
}

/// One schema, compiled the first time a payload of its kind arrives, then reused.
struct Schema {
    text: &'static str,
    compiled: OnceLock<Validator>,
}

impl Schema {
    fn new(text: &'static str) -> Schema {
        Schema { text, compiled: OnceLock::new() }
    }

    fn validator(&self) -> &Validator {
        // The schemas are embedded and `every_schema_file_is_embedded_and_compiles` compiles
        // them all, so a failure here is a broken build, not bad input.
        self.compiled.get_or_init(|| compile(self.text).unwrap_or_else(|error| panic!("embedded OCPP schema: {error}")))
    }
}

/// Request and response schema by action.
static ACTIONS: LazyLock<HashMap<&'static str, (Schema, Schema)>> =
    LazyLock::new(|| SCHEMAS.iter().map(|s| (s.action, (Schema::new(s.request), Schema::new(s.response)))).collect());

fn compile(text: &str) -> Result<Validator, String> {
    let schema: Value = serde_json::from_str(text).map_err(|e| e.to_string())?;
    // The draft comes from each schema's `$schema` (04 for OCPP 1.6, 06 for the security
    // extension). Formats are asserted: `date-time` is how OCPP 1.6 types its timestamps.
    jsonschema::options().should_validate_formats(true).with_format("date-time", is_date_time).build(&schema).map_err(|e| e.to_string())
}

/// RFC 3339's `date-time`, with its four-digit year: the built-in check also takes years like
/// `-052`, which no charger means and which no longer read back once written out again.
fn is_date_time(text: &str) -> bool {
    text.get(..4).is_some_and(|year| year.bytes().all(|b| b.is_ascii_digit())) && chrono::DateTime::parse_from_rfc3339(text).is_ok()
}

/// A CALLERROR echoes its description; a huge offending value should not come back whole.
const MAX_DESCRIPTION_CHARS: usize = 500;

fn violation(error: &ValidationError<'_>) -> Violation {
    let path = error.instance_path().to_string();
    let at = if path.is_empty() { "(root)" } else { path.as_str() };
    let mut description = format!("{at}: {error}");
    if let Some((cut, _)) = description.char_indices().nth(MAX_DESCRIPTION_CHARS) {
        description.truncate(cut);
        description.push('…');
    }
    Violation { code: code_for(error.kind()), description }
}

fn code_for(kind: &ValidationErrorKind) -> ErrorCode {
    use ValidationErrorKind as K;
    match kind {
        K::Type { .. } => ErrorCode::TypeConstraintViolation,
        K::Required { .. } | K::MinItems { .. } | K::MaxItems { .. } => ErrorCode::OccurenceConstraintViolation,
        K::Enum { .. }
        | K::Constant { .. }
        | K::MaxLength { .. }
        | K::MinLength { .. }
        | K::Minimum { .. }
        | K::Maximum { .. }
        | K::ExclusiveMinimum { .. }
        | K::ExclusiveMaximum { .. }
        | K::MultipleOf { .. }
        | K::Format { .. }
        | K::Pattern { .. } => ErrorCode::PropertyConstraintViolation,
        _ => ErrorCode::FormationViolation,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn code(action: &str, payload: Value) -> ErrorCode {
        validate(action, Direction::Request, &payload).unwrap_err().code
    }

    #[test]
    fn a_date_time_has_rfc_3339s_four_digit_year() {
        let heartbeat_answer = |at: &str| validate("Heartbeat", Direction::Response, &serde_json::json!({ "currentTime": at })).is_ok();
        assert!(heartbeat_answer("2026-12-06T09:00:00.123+01:00"));
        assert!(heartbeat_answer("0052-11-25T10:30:00Z"));
        for wrong in ["-052-11-25T10:30:00Z", "-0052-11-25T10:30:00Z", "2026-13-06T09:00:00Z", "20261-12-06T09:00:00Z"] {
            assert!(!heartbeat_answer(wrong), "{wrong}");
        }
    }

    #[test]
    fn every_schema_file_is_embedded_and_compiles() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut files: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).filter(|name| name.ends_with(".json")).collect();
        files.sort();
        let mut embedded: Vec<String> = SCHEMAS.iter().flat_map(|s| [format!("{}.json", s.action), format!("{}Response.json", s.action)]).collect();
        embedded.sort();
        assert_eq!(files, embedded, "schemas/ and the list in schemas.rs disagree");

        for s in SCHEMAS {
            for (name, text) in [(s.action.to_owned(), s.request), (format!("{}Response", s.action), s.response)] {
                let on_disk = std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap();
                assert_eq!(text, on_disk);
                compile(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        assert_eq!(SCHEMAS.len(), 39);
    }

    #[test]
    fn known_actions_are_those_with_a_schema() {
        assert!(is_known("BootNotification"));
        assert!(is_known("SignCertificate"));
        assert!(!is_known("BootNotificationResponse"));
        assert!(!is_known("bootnotification"));
        assert!(!is_known("TransactionEvent"));
        let unknown = validate("TransactionEvent", Direction::Request, &json!({})).unwrap_err();
        assert_eq!(unknown.code, ErrorCode::NotImplemented);
    }

    #[test]
    fn a_valid_payload_passes() {
        let boot = json!({"chargePointVendor": "Joule", "chargePointModel": "J1"});
        assert_eq!(validate("BootNotification", Direction::Request, &boot), Ok(()));
        assert_eq!(validate("Heartbeat", Direction::Request, &json!({})), Ok(()));
        let answer = json!({"status": "Accepted", "currentTime": "2024-05-01T10:00:00.123+02:00", "interval": 300});
        assert_eq!(validate("BootNotification", Direction::Response, &answer), Ok(()));
    }

    #[test]
    fn direction_selects_the_schema() {
        let boot = json!({"chargePointVendor": "Joule", "chargePointModel": "J1"});
        let wrong = validate("BootNotification", Direction::Response, &boot).unwrap_err();
        assert_eq!(wrong.code, ErrorCode::OccurenceConstraintViolation, "{wrong}");
        assert_eq!(wrong.description, r#"(root): "status" is a required property"#);
    }

    #[test]
    fn a_payload_that_is_not_an_object_is_a_formation_violation() {
        for payload in [json!([]), json!("x"), json!(1), json!(null), json!(true)] {
            assert_eq!(code("Heartbeat", payload), ErrorCode::FormationViolation);
        }
    }

    #[test]
    fn each_kind_of_violation_has_its_code_and_names_the_path() {
        let missing = validate("BootNotification", Direction::Request, &json!({"chargePointVendor": "Joule"})).unwrap_err();
        assert_eq!(missing.code, ErrorCode::OccurenceConstraintViolation);
        assert_eq!(missing.description, r#"(root): "chargePointModel" is a required property"#);

        let too_long = json!({"chargePointVendor": "A vendor name that is far too long", "chargePointModel": "J1"});
        let too_long = validate("BootNotification", Direction::Request, &too_long).unwrap_err();
        assert_eq!(too_long.code, ErrorCode::PropertyConstraintViolation);
        assert_eq!(too_long.description, r#"/chargePointVendor: "A vendor name that is far too long" is longer than 20 characters"#);

        let wrong_type =
            validate("StatusNotification", Direction::Request, &json!({"connectorId": "1", "errorCode": "NoError", "status": "Available"})).unwrap_err();
        assert_eq!(wrong_type.code, ErrorCode::TypeConstraintViolation);
        assert!(wrong_type.description.starts_with("/connectorId: "), "{wrong_type}");

        let bad_enum =
            validate("StatusNotification", Direction::Request, &json!({"connectorId": 1, "errorCode": "NoError", "status": "Sleeping"})).unwrap_err();
        assert_eq!(bad_enum.code, ErrorCode::PropertyConstraintViolation);
        assert!(bad_enum.description.starts_with("/status: "), "{bad_enum}");

        let extra = validate("Heartbeat", Direction::Request, &json!({"uptime": 5})).unwrap_err();
        assert_eq!(extra.code, ErrorCode::FormationViolation);
        assert!(extra.description.contains("uptime"), "{extra}");
    }

    #[test]
    fn nested_violations_name_the_nested_path() {
        let meter_values = json!({
            "connectorId": 1,
            "meterValue": [{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": [{"value": "12.5", "unit": "kWH"}]}]
        });
        let error = validate("MeterValues", Direction::Request, &meter_values).unwrap_err();
        assert_eq!(error.code, ErrorCode::PropertyConstraintViolation);
        assert!(error.description.starts_with("/meterValue/0/sampledValue/0/unit: "), "{error}");
    }

    #[test]
    fn value_constraints_are_property_constraint_violations() {
        let no_offset = json!({"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "2024-05-01T10:00:00"});
        assert_eq!(code("StartTransaction", no_offset), ErrorCode::PropertyConstraintViolation);
        let not_a_date = json!({"connectorId": 1, "idTag": "TAG", "meterStart": 0, "timestamp": "yesterday"});
        assert_eq!(code("StartTransaction", not_a_date), ErrorCode::PropertyConstraintViolation);

        let limit = |limit: Value| {
            json!({"connectorId": 1, "csChargingProfiles": {
                "chargingProfileId": 1, "stackLevel": 0, "chargingProfilePurpose": "TxDefaultProfile",
                "chargingProfileKind": "Relative",
                "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": [{"startPeriod": 0, "limit": limit}]}
            }})
        };
        assert_eq!(validate("SetChargingProfile", Direction::Request, &limit(json!(16.1))), Ok(()));
        assert_eq!(validate("SetChargingProfile", Direction::Request, &limit(json!(0.3))), Ok(()), "decimal, not binary, multiples");
        assert_eq!(code("SetChargingProfile", limit(json!(16.05))), ErrorCode::PropertyConstraintViolation);
    }

    #[test]
    fn list_cardinality_is_an_occurence_constraint_violation() {
        let empty = json!({"connectorId": 1, "meterValue": []});
        assert_eq!(code("MeterValues", empty), ErrorCode::OccurenceConstraintViolation);
    }

    #[test]
    fn a_huge_offending_value_is_not_echoed_whole() {
        let huge = "x".repeat(100_000);
        let error = validate("Authorize", Direction::Request, &json!({"idTag": huge})).unwrap_err();
        assert_eq!(error.code, ErrorCode::PropertyConstraintViolation);
        assert_eq!(error.description.chars().count(), MAX_DESCRIPTION_CHARS + 1);
        assert!(error.description.starts_with("/idTag: \"xxx"));
    }
}
