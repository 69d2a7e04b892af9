//! StopTransaction: always answered, applied once, with the meter values it carries.

use ocpp16::messages::{StopTransactionRequest, StopTransactionResponse};
use store::TransactionStop;

use super::authorize::id_tag_info;
use super::meter_values::samples;
use super::{Failure, Link, timestamp, wire_name};

pub async fn handle(link: &mut Link, request: StopTransactionRequest) -> Result<StopTransactionResponse, Failure> {
    let store = &link.server.store;
    let (org, cs) = (link.login.organization, link.login.chargestation);
    let stop = TransactionStop {
        transaction_id: i64::from(request.transaction_id),
        meter_stop_wh: i64::from(request.meter_stop),
        stopped_at: timestamp(&request.timestamp),
        reason: request.reason.as_ref().map(wire_name),
    };
    let transaction = store.stop_transaction(org, cs, &stop).await?;
    match (&transaction, &request.transaction_data) {
        (Some(t), Some(data)) => {
            store.record_meter_values(org, cs, t.connector_id, Some(t.transaction_id), &samples(data)).await?;
        }
        (None, _) => tracing::info!(%cs, transaction = stop.transaction_id, "a StopTransaction for a transaction Joule does not know"),
        _ => {}
    }
    let id_tag_info = match &request.id_tag {
        Some(tag) => Some(id_tag_info(store.authorize(org, cs, tag).await?.0)),
        None => None,
    };
    Ok(StopTransactionResponse { id_tag_info })
}
