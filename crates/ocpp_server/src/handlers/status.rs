//! StatusNotification: a connector's (or, for connector 0, the chargestation's) status.

use domain::connector::ConnectorStatus;
use ocpp16::ErrorCode;
use ocpp16::messages::{StatusNotificationRequest, StatusNotificationResponse};

use super::{Failure, Link, timestamp, wire_name};

pub async fn handle(link: &mut Link, request: StatusNotificationRequest) -> Result<StatusNotificationResponse, Failure> {
    let name = wire_name(&request.status);
    let status = ConnectorStatus::parse(&name).ok_or_else(|| Failure::new(ErrorCode::PropertyConstraintViolation, format!("unknown status {name}")))?;
    let connector_id =
        u32::try_from(request.connector_id).map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "connectorId must not be negative"))?;
    // A status the charger queued while offline carries its own time; late ones lose.
    let at = request.timestamp.as_ref().map(timestamp).unwrap_or_else(|| link.now());
    link.record_status(connector_id, status, at).await?;
    Ok(StatusNotificationResponse {})
}
