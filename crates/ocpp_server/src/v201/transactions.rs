//! TransactionEvent: OCPP 2.0.1's transactions, taken as the charger sends them and recorded
//! with 1.6's use cases. The charger names a transaction with a string (`ocpp_id`); Joule
//! numbers it as it numbers 1.6's, and the session engine knows only that number. The first
//! event Joule hears of a transaction starts it (a Started event, or any other of a
//! transaction it missed), its readings go the way of 1.6's MeterValues, Ended stops it.

use domain::connector::ConnectorStatus as Status;
use domain::token::Authorization;
use domain::transaction::meter_value;
use ocpp201::ErrorCode;
use ocpp201::messages::{ChargingState, MeterValue, TransactionEventRequest, TransactionEventResponse, TransactionEventType};
use rust_decimal::Decimal;
use store::{ENERGY_REGISTER, Sample, TransactionStart, TransactionStop};

use super::{Failure, id_token_info};
use crate::handlers::meter_values::{normalized_unit, out_of_bounds, record, register_wh};
use crate::handlers::{Link, timestamp, wire_name};

pub async fn handle(link: &mut Link, request: TransactionEventRequest) -> Result<TransactionEventResponse, Failure> {
    let (org, cs) = (link.login.organization, link.login.chargestation);
    let store = link.server.store.clone();
    let samples = samples(request.meter_value.as_deref().unwrap_or_default())?;
    let at = timestamp(&request.timestamp);
    let id_tag = request.id_token.as_ref().map(|t| t.id_token.clone());
    let (mut authorization, token) = match &id_tag {
        Some(tag) => store.identify(org, cs, tag).await?,
        None => (Authorization::Accepted, None),
    };
    let ocpp_id = request.transaction_info.transaction_id.clone();
    let connector_id = match &request.evse {
        Some(evse) => {
            u32::try_from(evse.id).ok().filter(|&id| id > 0).ok_or_else(|| Failure::new(ErrorCode::PropertyConstraintViolation, "evse.id must be 1 or more"))?
        }
        None => 0,
    };
    // A running session's transaction is on the link: most events need no read.
    let live = link.live.values().map(|k| &k.live.facts().transaction).find(|t| t.ocpp_id.as_deref() == Some(ocpp_id.as_str())).cloned();
    let known = match live {
        Some(live) => Some(live),
        None => store.transaction_by_ocpp_id(org, cs, &ocpp_id).await?,
    };
    let transaction = match known {
        // An accepted card whose transaction has no session was refused when it started: a
        // retried event is answered the same.
        Some(known) => {
            if token.is_some() && authorization == Authorization::Accepted && id_tag.as_deref() == Some(known.id_tag.as_str()) && known.session.is_none() {
                authorization = Authorization::Blocked;
            }
            known
        }
        None => {
            let first_register = samples.iter().find_map(register_wh).unwrap_or_default();
            let start = TransactionStart {
                ocpp_id: Some(ocpp_id),
                // A transaction first heard of without its EVSE is put on the first one.
                connector_id: connector_id.max(1),
                id_tag: id_tag.clone().unwrap_or_default(),
                meter_start_wh: wh(first_register)?,
                started_at: at,
                reservation_id: request.reservation_id,
            };
            let card = token.filter(|_| authorization == Authorization::Accepted);
            let started = store.start_transaction(org, cs, &start, card.as_ref()).await?;
            if started.blocked {
                authorization = Authorization::Blocked;
            }
            started.transaction
        }
    };
    let number = transaction.transaction_id;
    if let Some(state) = request.transaction_info.charging_state {
        let status = match state {
            ChargingState::Charging => Status::Charging,
            ChargingState::SuspendedEV => Status::SuspendedEV,
            ChargingState::SuspendedEVSE => Status::SuspendedEVSE,
            ChargingState::EVConnected | ChargingState::Idle => Status::Preparing,
        };
        if link.charging_states.insert(number, status) != Some(status) {
            link.record_status(transaction.connector_id, status, at).await?;
        }
    }
    let mut total_cost = None;
    if request.event_type == TransactionEventType::Ended {
        let last = samples.iter().filter_map(register_wh).next_back();
        let stop = TransactionStop {
            transaction_id: number,
            meter_stop_wh: wh(last.unwrap_or_else(|| last_reading(link, number).unwrap_or(Decimal::from(transaction.meter_start))))?,
            stopped_at: at,
            reason: request.transaction_info.stopped_reason.as_ref().map(wire_name),
        };
        link.live.remove(&number);
        link.charging_states.remove(&number);
        if let Some(stopped) = store.stop_transaction(org, cs, &stop, &samples).await? {
            stopped.ended.iter().for_each(crate::count_operator_loss);
            total_cost = stopped.ended.and_then(|s| s.cost).and_then(|cost| serde_json::from_value(cost["amount"].clone()).ok());
        }
    } else if samples.is_empty() {
        link.seen();
    } else {
        // Read into the link with the first readings (`record`), kept there after.
        record(link, transaction.connector_id, Some(number), samples).await?;
    }
    Ok(TransactionEventResponse { total_cost, id_token_info: request.id_token.map(|_| id_token_info(authorization)) })
}

/// The last register reading of the transaction's live session, if it has one.
fn last_reading(link: &Link, transaction: i64) -> Option<Decimal> {
    link.live.get(&transaction).and_then(|k| k.live.facts().readings.last()).map(|(_, wh)| *wh)
}

/// A register in whole Wh, as transactions keep their meter.
fn wh(value: Decimal) -> Result<i64, Failure> {
    i64::try_from(value.round()).map_err(|_| out_of_bounds("the energy register"))
}

/// The readings of 2.0.1's meter values as Joule stores them: the energy register by default,
/// each value scaled by its unit's multiplier and normalized (kWh to Wh...); signed values are
/// kept by the charger. A value beyond the bound refuses the message.
fn samples(meter_values: &[MeterValue]) -> Result<Vec<Sample>, Failure> {
    let mut out = Vec::new();
    for mv in meter_values {
        for sv in &mv.sampled_value {
            let unit = sv.unit_of_measure.as_ref().and_then(|u| u.unit.clone()).unwrap_or_else(|| "Wh".into());
            let multiplier = sv.unit_of_measure.as_ref().and_then(|u| u.multiplier).unwrap_or(0);
            let scale = match multiplier {
                0..=9 => Decimal::from(10i64.pow(multiplier as u32)),
                -9..=-1 => Decimal::new(1, multiplier.unsigned_abs() as u32),
                _ => return Err(Failure::new(ErrorCode::PropertyConstraintViolation, format!("a unit multiplier of {multiplier} is out of range"))),
            };
            let (unit, factor) = normalized_unit(&unit);
            let value = sv
                .value
                .checked_mul(scale)
                .and_then(|v| meter_value(v, factor))
                .ok_or_else(|| out_of_bounds(&format!("the sampled value `{}` {unit}", sv.value)))?;
            out.push(Sample {
                sampled_at: timestamp(&mv.timestamp),
                measurand: sv.measurand.clone().unwrap_or_else(|| ENERGY_REGISTER.to_string()),
                phase: sv.phase.clone(),
                context: sv.context.clone(),
                unit: unit.to_string(),
                value: value.normalize().to_string(),
            });
        }
    }
    Ok(out)
}
