//! Firmware and diagnostics progress: acknowledged and logged.

use ocpp16::messages::{
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse, FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse,
};

use super::{Failure, wire_name};

pub fn firmware(request: FirmwareStatusNotificationRequest) -> Result<FirmwareStatusNotificationResponse, Failure> {
    tracing::info!(status = %wire_name(&request.status), "firmware status");
    Ok(FirmwareStatusNotificationResponse {})
}

pub fn diagnostics(request: DiagnosticsStatusNotificationRequest) -> Result<DiagnosticsStatusNotificationResponse, Failure> {
    tracing::info!(status = %wire_name(&request.status), "diagnostics status");
    Ok(DiagnosticsStatusNotificationResponse {})
}
