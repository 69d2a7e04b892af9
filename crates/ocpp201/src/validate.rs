//! Checks a payload against its action's official OCPP 2.0.1 schema and answers with the error
//! code a CALLERROR for it would carry: `ocppj::validate`'s rules with OCPP-J 2.0.1's codes.

use std::sync::LazyLock;

use ocppj::SchemaSet;
use serde_json::Value;

pub use ocppj::Direction;

use crate::ErrorCode;
use crate::schemas::SCHEMAS;

/// Why a payload was refused, ready to become a CALLERROR.
pub type Violation = ocppj::Violation<ErrorCode>;

pub(crate) static SCHEMA_SET: LazyLock<SchemaSet> = LazyLock::new(|| SchemaSet::new(SCHEMAS));

/// The version's schemas, for what checks payloads of either version alike.
pub fn schema_set() -> &'static SchemaSet {
    &SCHEMA_SET
}

/// Whether `action` is an OCPP 2.0.1 action.
pub fn is_known(action: &str) -> bool {
    SCHEMA_SET.is_known(action)
}

/// Checks `payload` against the schema of `action` in `direction`. The first violation found
/// is reported.
pub fn validate(action: &str, direction: Direction, payload: &Value) -> Result<(), Violation> {
    SCHEMA_SET.validate(action, direction, payload)
}

/// The official schema of `action`'s payload in `direction`, as JSON.
pub fn schema(action: &str, direction: Direction) -> Option<Value> {
    SCHEMA_SET.schema(action, direction)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn every_schema_file_is_embedded_and_compiles() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("schemas");
        let mut files: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|entry| entry.unwrap().file_name().into_string().unwrap()).filter(|name| name.ends_with(".json")).collect();
        files.sort();
        let mut embedded: Vec<String> = SCHEMAS.iter().flat_map(|s| [format!("{}Request.json", s.action), format!("{}Response.json", s.action)]).collect();
        embedded.sort();
        assert_eq!(files, embedded, "schemas/ and the list in schemas.rs disagree");
        for s in SCHEMAS {
            for (name, text) in [(format!("{}Request", s.action), s.request), (format!("{}Response", s.action), s.response)] {
                assert_eq!(text, std::fs::read_to_string(dir.join(format!("{name}.json"))).unwrap());
                ocppj::validate::compile(text).unwrap_or_else(|e| panic!("{name}: {e}"));
            }
        }
        assert_eq!(SCHEMAS.len(), 64);
    }

    #[test]
    fn violations_carry_2_0_1_codes() {
        let code = |action: &str, payload: Value| validate(action, Direction::Request, &payload).unwrap_err().code;
        assert_eq!(code("TransactionEvent", json!([])), ErrorCode::FormatViolation);
        assert_eq!(code("StartTransaction", json!({})), ErrorCode::NotImplemented, "a 1.6 action is unknown to 2.0.1");
        assert_eq!(code("Heartbeat", json!({"uptime": 5})), ErrorCode::FormatViolation);
        let status = |evse: Value, status: &str| json!({"timestamp": "2026-12-07T10:00:00Z", "connectorStatus": status, "evseId": evse, "connectorId": 1});
        assert_eq!(code("StatusNotification", status(json!("1"), "Available")), ErrorCode::TypeConstraintViolation);
        assert_eq!(code("StatusNotification", status(json!(1), "Charging")), ErrorCode::PropertyConstraintViolation, "Charging is 1.6's");
        assert_eq!(code("BootNotification", json!({"reason": "PowerUp"})), ErrorCode::OccurrenceConstraintViolation);
        // customData may carry anything a vendor adds.
        let custom = json!({"customData": {"vendorId": "ACME", "anything": [1, 2]}});
        assert_eq!(validate("Heartbeat", Direction::Request, &custom), Ok(()));
    }

    #[test]
    fn malformed_frames_carry_2_0_1_codes() {
        let refused = |text: &str| crate::Frame::parse(text).unwrap_err().code;
        assert_eq!(refused("nope"), ErrorCode::RpcFrameworkError);
        assert_eq!(refused(r#"[2, "1", "Heartbeat"]"#), ErrorCode::RpcFrameworkError);
        assert_eq!(refused(r#"[5, "1", "Heartbeat", {}]"#), ErrorCode::MessageTypeNotSupported);
        assert_eq!(refused(r#"[2, 1, "Heartbeat", {}]"#), ErrorCode::FormatViolation);
        assert_eq!(refused(r#"[4, "1", "FormationViolation", "", {}]"#), ErrorCode::FormatViolation, "1.6's spelling is not a 2.0.1 code");
        let error = crate::Frame::call_error("1", ErrorCode::OccurrenceConstraintViolation, "x").to_text();
        assert_eq!(error, r#"[4,"1","OccurrenceConstraintViolation","x",{}]"#);
    }
}
