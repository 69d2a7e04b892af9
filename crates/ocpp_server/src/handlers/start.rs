//! StartTransaction: a transaction began at the charger; Joule gives it its id, and a card's
//! start its session (paid from the wallet of the card's user, if it has one).

use domain::token::Authorization;
use ocpp16::ErrorCode;
use ocpp16::messages::{StartTransactionRequest, StartTransactionResponse};
use store::TransactionStart;

use super::authorize::id_tag_info;
use super::meter_values::register;
use super::{Failure, Link, timestamp};

pub async fn handle(link: &mut Link, request: StartTransactionRequest) -> Result<StartTransactionResponse, Failure> {
    let store = &link.server.store;
    let meter_start_wh = register(request.meter_start, "meterStart")?;
    let (authorization, token) = store.identify(link.login.organization, link.login.chargestation, &request.id_tag).await?;
    let start = TransactionStart {
        ocpp_id: None,
        connector_id: u32::try_from(request.connector_id)
            .map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "connectorId must not be negative"))?,
        id_tag: request.id_tag.clone(),
        meter_start_wh,
        started_at: timestamp(&request.timestamp),
        reservation_id: request.reservation_id,
    };
    // Only an accepted token makes the transaction a session; the charger stops the others.
    let card = token.filter(|_| authorization == Authorization::Accepted);
    let started = store.start_transaction(link.login.organization, link.login.chargestation, &start, card.as_ref()).await?;
    let transaction_id = started.transaction.transaction_id;
    // Its session, if it has one, is looked after from now on by this connection.
    link.keep_live(transaction_id).await?;
    let authorization = if started.blocked { Authorization::Blocked } else { authorization };
    Ok(StartTransactionResponse { id_tag_info: id_tag_info(authorization), transaction_id })
}
