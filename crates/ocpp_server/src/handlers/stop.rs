//! StopTransaction: always answered, applied once, with the meter values it carries.

use domain::Currency;
use ocpp16::messages::{StopTransactionRequest, StopTransactionResponse};
use rust_decimal::Decimal;
use session::intelligence::learn_stop_latency_s;
use store::{Bill, SessionFacts, TransactionStop};

use crate::pricing;

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
    if store.stop_transaction(org, cs, &stop, &data, &bill).await?.is_none() {
        tracing::info!(%cs, transaction = stop.transaction_id, "a StopTransaction for a transaction Joule does not know");
    }
    let id_tag_info = match &request.id_tag {
        Some(tag) => Some(id_tag_info(store.authorize(org, cs, tag).await?.0)),
        None => None,
    };
    Ok(StopTransactionResponse { id_tag_info })
}

/// Prices an ended session from its meter readings with the tariff engine (the same code as
/// quotes), settles its wallet payment (captured = min(cost, authorized)), and learns the
/// charger's stop latency when Joule had asked it to stop.
fn bill(end: &SessionFacts) -> Bill {
    let activity = pricing::activity(end);
    let cost = pricing::cost(end, &activity);
    let amount = cost.as_ref().map_or(Decimal::ZERO, |c| c.amount);
    let (held, currency) = match &end.session.payment {
        Some(p) => (p.held(), Currency::parse(&p.currency).unwrap_or(Currency::USD)),
        None => (domain::Cents::ZERO, Currency::USD),
    };
    let settled = session::settlement::settle(amount, held, currency);
    if settled.uncollected_amount > Decimal::ZERO {
        // The operator's loss: what the session cost beyond its authorization.
        let cents = settled.uncollected_amount.checked_mul(Decimal::from(10i64.pow(currency.exponent()))).and_then(|c| u64::try_from(c.trunc()).ok());
        metrics::counter!("joule_operator_loss_minor_units_total", "currency" => currency.lowercase()).increment(cents.unwrap_or(u64::MAX));
    }
    let stopped_at = end.transaction.stopped_at.unwrap_or(end.transaction.started_at);
    let stop_latency_s = end.session.stop_requested.as_ref().map(|asked| learn_stop_latency_s(end.stop_latency_s, stopped_at.millis() - asked.at.millis()));
    Bill {
        cost: cost.map(|c| serde_json::to_value(c).unwrap_or_default()).unwrap_or_default(),
        metrics: pricing::metrics(end, &activity),
        captured: settled.captured,
        captured_amount: settled.captured_amount,
        uncollected_amount: settled.uncollected_amount,
        stop_latency_s,
    }
}
