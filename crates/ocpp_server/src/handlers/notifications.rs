//! Firmware and diagnostics progress: acknowledged and logged.

use ocpp16::messages::{
    DiagnosticsStatusNotificationRequest, DiagnosticsStatusNotificationResponse, FirmwareStatusNotificationRequest, FirmwareStatusNotificationResponse,
};

use super::{Failure, Link, wire_name};

pub async fn firmware(link: &mut Link, request: FirmwareStatusNotificationRequest) -> Result<FirmwareStatusNotificationResponse, Failure> {
    tracing::info!(cs = %link.login.chargestation, status = %wire_name(&request.status), "firmware status");
    Ok(FirmwareStatusNotificationResponse {})
}

pub async fn diagnostics(link: &mut Link, request: DiagnosticsStatusNotificationRequest) -> Result<DiagnosticsStatusNotificationResponse, Failure> {
    tracing::info!(cs = %link.login.chargestation, status = %wire_name(&request.status), "diagnostics status");
    Ok(DiagnosticsStatusNotificationResponse {})
}
