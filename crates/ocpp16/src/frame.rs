//! OCPP-J 1.6 framing (section 4), as `ocppj::frame` parses it, with OCPP 1.6's error codes:
//! not JSON, not an array, a message type other than 2, 3 or 4, or the wrong number of
//! elements is a `ProtocolError` (the message as a whole is not a complete OCPP-J message); an
//! element of the wrong kind is a `FormationViolation`.

use crate::ErrorCode;

pub type Frame = ocppj::Frame<ErrorCode>;
/// A text that is not an OCPP-J frame.
pub type FrameError = ocppj::FrameError<ErrorCode>;

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
