//! StatusNotification: a connector's (or, for connector 0, the chargestation's) status.

use domain::connector::ConnectorStatus;
use ocpp16::ErrorCode;
use ocpp16::messages::{StatusNotificationRequest, StatusNotificationResponse};
use store::Presence;

use super::{Failure, Link, timestamp, wire_name};

pub async fn handle(link: &mut Link, request: StatusNotificationRequest) -> Result<StatusNotificationResponse, Failure> {
    let name = wire_name(&request.status);
    let status = ConnectorStatus::parse(&name).ok_or_else(|| Failure::new(ErrorCode::PropertyConstraintViolation, format!("unknown status {name}")))?;
    let connector_id =
        u32::try_from(request.connector_id).map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "connectorId must not be negative"))?;
    // A status the charger queued while offline carries its own time; late ones lose.
    let at = request.timestamp.as_ref().map(timestamp).unwrap_or_else(|| link.now());
    link.server.presence.record(link.login.organization, link.login.chargestation, Presence::Status { connector_id, status, at }).await?;
    // A status labels the time of the sessions on the connector: their live state is read again.
    let on_connector: Vec<i64> = link.live.iter().filter(|(_, k)| k.live.facts().session.connector_id == connector_id).map(|(t, _)| *t).collect();
    for transaction in on_connector {
        link.keep_live(transaction).await?;
    }
    Ok(StatusNotificationResponse {})
}
