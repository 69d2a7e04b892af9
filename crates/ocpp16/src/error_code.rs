//! The error codes of a CALLERROR (OCPP-J 1.6, section 4.2.3), spelled exactly as the
//! specification spells them, "OccurenceConstraintViolation" included.

ocppj::error_codes! {
    pub enum ErrorCode {
        /// The action is not known by the receiver.
        NotImplemented,
        /// The action is recognized but not supported by the receiver.
        NotSupported,
        /// The receiver failed while handling a valid request.
        InternalError,
        /// The payload for the action is incomplete.
        ProtocolError,
        /// The receiver refuses to handle the request for security reasons.
        SecurityError,
        /// The payload is syntactically incorrect or does not conform to the action's PDU structure.
        FormationViolation,
        /// The payload is syntactically correct but a field holds a value out of its allowed set.
        PropertyConstraintViolation,
        /// The payload is syntactically correct but a field occurs too few or too many times.
        OccurenceConstraintViolation,
        /// The payload is syntactically correct but a field has the wrong data type.
        TypeConstraintViolation,
        /// Any other error.
        GenericError,
    }
}

impl ocppj::Codes for ErrorCode {
    const NOT_A_MESSAGE: Self = ErrorCode::ProtocolError;
    const UNKNOWN_MESSAGE_TYPE: Self = ErrorCode::ProtocolError;
    const FORMAT: Self = ErrorCode::FormationViolation;
    const TYPE_CONSTRAINT: Self = ErrorCode::TypeConstraintViolation;
    const OCCURRENCE: Self = ErrorCode::OccurenceConstraintViolation;
    const PROPERTY_CONSTRAINT: Self = ErrorCode::PropertyConstraintViolation;
    const NOT_IMPLEMENTED: Self = ErrorCode::NotImplemented;
    const INTERNAL_ERROR: Self = ErrorCode::InternalError;
    const SECURITY_ERROR: Self = ErrorCode::SecurityError;

    fn parse(text: &str) -> Option<Self> {
        ErrorCode::parse(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_round_trip_through_parse_and_serde() {
        for &code in ErrorCode::ALL {
            assert_eq!(ErrorCode::parse(code.as_str()), Some(code));
            assert_eq!(serde_json::to_value(code).unwrap(), code.as_str());
            assert_eq!(serde_json::from_value::<ErrorCode>(code.as_str().into()).unwrap(), code);
        }
        assert_eq!(ErrorCode::parse("OccurrenceConstraintViolation"), None);
        assert_eq!(ErrorCode::parse("FormatViolation"), None);
    }
}
