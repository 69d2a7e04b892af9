//! The official OCPP 1.6 JSON schemas, embedded at compile time (see `schemas/SOURCE.md`).
//!
//! Every action has two files, `<Action>.json` for the request and `<Action>Response.json` for
//! the response; listing the action once here embeds both, and a test checks that this list
//! and the directory agree.

use ocppj::Schemas;

macro_rules! schemas {
    ($($action:literal),* $(,)?) => {
        pub(crate) const SCHEMAS: &[Schemas] = &[
            $(
                Schemas {
                    action: $action,
                    request: include_str!(concat!("../schemas/", $action, ".json")),
                    response: include_str!(concat!("../schemas/", $action, "Response.json")),
                },
            )*
        ];
    };
}

schemas![
    // OCPP 1.6 core and its feature profiles (draft-04 schemas).
    "Authorize",
    "BootNotification",
    "CancelReservation",
    "ChangeAvailability",
    "ChangeConfiguration",
    "ClearCache",
    "ClearChargingProfile",
    "DataTransfer",
    "DiagnosticsStatusNotification",
    "FirmwareStatusNotification",
    "GetCompositeSchedule",
    "GetConfiguration",
    "GetDiagnostics",
    "GetLocalListVersion",
    "Heartbeat",
    "MeterValues",
    "RemoteStartTransaction",
    "RemoteStopTransaction",
    "ReserveNow",
    "Reset",
    "SendLocalList",
    "SetChargingProfile",
    "StartTransaction",
    "StatusNotification",
    "StopTransaction",
    "TriggerMessage",
    "UnlockConnector",
    "UpdateFirmware",
    // The OCPP 1.6 security extension (draft-06 schemas): validated, not yet typed.
    "CertificateSigned",
    "DeleteCertificate",
    "ExtendedTriggerMessage",
    "GetInstalledCertificateIds",
    "GetLog",
    "InstallCertificate",
    "LogStatusNotification",
    "SecurityEventNotification",
    "SignCertificate",
    "SignedFirmwareStatusNotification",
    "SignedUpdateFirmware",
];
