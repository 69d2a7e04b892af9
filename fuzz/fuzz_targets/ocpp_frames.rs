//! A charger's WebSocket text, as the OCPP endpoint takes it: framing, schema validation and the
//! typed decoding of every action, plus the meter value bound. Nothing may panic; a frame
//! written back parses to itself, and a decoded message encodes to a schema-valid payload.

#![no_main]

use domain::transaction::meter_value;
use libfuzzer_sys::fuzz_target;
use ocpp16::messages::{self, Action, MeterValue};
use ocpp16::{Direction, Frame, validate};
use rust_decimal::Decimal;
use serde_json::Value;

/// Decodes `payload` as `A`'s request and response; what decodes must encode back to a payload
/// its schema accepts.
fn decode<A: Action>(payload: &Value) {
    if let Ok(request) = messages::decode_request::<A>(payload) {
        let again = serde_json::to_value(&request).expect("a request encodes");
        assert!(validate(A::NAME, Direction::Request, &again).is_ok(), "{} request re-encodes invalid: {again}", A::NAME);
    }
    if let Ok(response) = messages::decode_response::<A>(payload) {
        let again = serde_json::to_value(&response).expect("a response encodes");
        assert!(validate(A::NAME, Direction::Response, &again).is_ok(), "{} response re-encodes invalid: {again}", A::NAME);
    }
}

/// Every sampled value through the bound Joule applies before storing it.
fn bound(meter_values: &[MeterValue]) {
    for sample in meter_values.iter().flat_map(|mv| &mv.sampled_value) {
        if let Ok(value) = sample.value.trim().parse::<Decimal>() {
            for factor in [Decimal::ONE, Decimal::ONE_THOUSAND] {
                if let Some(v) = meter_value(value, factor) {
                    assert!(v.abs() <= domain::transaction::MAX_METER_VALUE);
                }
            }
        }
    }
}

macro_rules! dispatch {
    ($action:expr, $payload:expr, $($name:ident),+ $(,)?) => {
        match $action {
            $(stringify!($name) => decode::<messages::$name>($payload),)+
            _ => {}
        }
    };
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let Ok(frame) = Frame::parse(text) else { return };
    assert_eq!(Frame::parse(&frame.to_text()).as_ref(), Ok(&frame), "a frame written back parses to itself");
    let Frame::Call { action, payload, .. } = &frame else { return };
    if ocpp16::is_known(action) {
        let _ = validate(action, Direction::Request, payload);
    }
    dispatch!(
        action.as_str(),
        payload,
        Authorize,
        BootNotification,
        CancelReservation,
        ChangeAvailability,
        ChangeConfiguration,
        ClearCache,
        ClearChargingProfile,
        DataTransfer,
        DiagnosticsStatusNotification,
        FirmwareStatusNotification,
        GetCompositeSchedule,
        GetConfiguration,
        GetDiagnostics,
        GetLocalListVersion,
        Heartbeat,
        MeterValues,
        RemoteStartTransaction,
        RemoteStopTransaction,
        ReserveNow,
        Reset,
        SendLocalList,
        SetChargingProfile,
        StartTransaction,
        StatusNotification,
        StopTransaction,
        TriggerMessage,
        UnlockConnector,
        UpdateFirmware,
    );
    if let Ok(request) = messages::decode_request::<messages::MeterValues>(payload) {
        bound(&request.meter_value);
    }
    if let Ok(request) = messages::decode_request::<messages::StopTransaction>(payload) {
        bound(request.transaction_data.as_deref().unwrap_or_default());
    }
});
