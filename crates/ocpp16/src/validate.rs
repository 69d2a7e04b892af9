//! Checks a payload against its action's official OCPP 1.6 schema and answers with the error
//! code a CALLERROR for it would carry: `ocppj::validate`'s rules with OCPP-J 1.6's spelling
//! of the codes (`ErrorCode`'s `Codes`).

use std::sync::LazyLock;

use ocppj::SchemaSet;
use serde_json::Value;

pub use ocppj::Direction;

use crate::ErrorCode;
use crate::schemas::SCHEMAS;

/// Why a payload was refused, ready to become a CALLERROR.
pub type Violation = ocppj::Violation<ErrorCode>;

/// The OCPP 1.6 schemas, and those of its security extension.
pub(crate) static SCHEMA_SET: LazyLock<SchemaSet> = LazyLock::new(|| SchemaSet::new(SCHEMAS));

/// The version's schemas, for what checks payloads of either version alike.
pub fn schema_set() -> &'static SchemaSet {
    &SCHEMA_SET
}

/// Whether `action` has a schema (the OCPP 1.6 actions and those of its security extension).
pub fn is_known(action: &str) -> bool {
    SCHEMA_SET.is_known(action)
}

/// Checks `payload` against the schema of `action` in `direction`. The first violation found
/// is reported.
pub fn validate(action: &str, direction: Direction, payload: &Value) -> Result<(), Violation> {
    SCHEMA_SET.validate(action, direction, payload)
}

/// The official schema of `action`'s payload in `direction`, as JSON: what the API documents
/// for the commands it forwards.
pub fn schema(action: &str, direction: Direction) -> Option<Value> {
    SCHEMA_SET.schema(action, direction)
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
                ocppj::validate::compile(text).unwrap_or_else(|e| panic!("{name}: {e}"));
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
        assert_eq!(error.description.chars().count(), ocppj::validate::MAX_DESCRIPTION_CHARS + 1);
        assert!(error.description.starts_with("/idTag: \"xxx"));
    }
}
