//! StopTransaction: always answered, applied once, with the meter values it carries.

use ocpp16::messages::{StopTransactionRequest, StopTransactionResponse};
use store::TransactionStop;

use super::authorize::id_tag_info;
use super::meter_values::{register, samples};
use super::{Failure, Link, timestamp, wire_name};

pub async fn handle(link: &mut Link, request: StopTransactionRequest) -> Result<StopTransactionResponse, Failure> {
    let store = &link.server.store;
    let (org, cs) = (link.login.organization, link.login.chargestation);
    let stop = TransactionStop {
        transaction_id: request.transaction_id,
        meter_stop_wh: register(request.meter_stop, "meterStop")?,
        stopped_at: timestamp(&request.timestamp),
        reason: request.reason.as_ref().map(wire_name),
    };
    let data = request.transaction_data.as_deref().map(samples).transpose()?.unwrap_or_default();
    link.live.remove(&stop.transaction_id);
    match store.stop_transaction(org, cs, &stop, &data).await? {
        Some(stopped) => stopped.ended.iter().for_each(crate::count_operator_loss),
        None => tracing::info!(transaction = stop.transaction_id, "a StopTransaction for a transaction Joule does not know"),
    }
    let id_tag_info = match &request.id_tag {
        Some(tag) => Some(id_tag_info(store.identify(org, cs, tag).await?.0)),
        None => None,
    };
    Ok(StopTransactionResponse { id_tag_info })
}
