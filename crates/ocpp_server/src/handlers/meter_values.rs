//! MeterValues: readings stored with their timestamps, units normalized.

use domain::Timestamp;
use domain::transaction::{MAX_METER_VALUE, meter_value};
use ocpp16::ErrorCode;
use ocpp16::messages::{MeterValue, MeterValuesRequest, MeterValuesResponse, ValueFormat};
use ocppj::Codes;
use rust_decimal::Decimal;
use session::live::Reading;
use session::upkeep::Occasion;
use store::{ENERGY_REGISTER, Readings, Sample, SessionProgress};

use tokio::time::Instant;

use super::{Failure, Kept, Link, timestamp, wire_name};
use crate::session_watch;

/// A value in a unit Joule stores, and the factor from the unit it came in.
pub(crate) fn normalized_unit(unit: &str) -> (&str, Decimal) {
    match unit {
        "kWh" => ("Wh", Decimal::ONE_THOUSAND),
        "kW" => ("W", Decimal::ONE_THOUSAND),
        "kvarh" => ("varh", Decimal::ONE_THOUSAND),
        "kvar" => ("var", Decimal::ONE_THOUSAND),
        "kVA" => ("VA", Decimal::ONE_THOUSAND),
        other => (other, Decimal::ONE),
    }
}

pub(crate) fn out_of_bounds<C: Codes>(what: &str) -> Failure<C> {
    Failure::new(C::PROPERTY_CONSTRAINT, format!("{what} is beyond {MAX_METER_VALUE} Wh or W"))
}

/// A meter register (StartTransaction's meterStart, StopTransaction's meterStop) in Wh,
/// refused beyond the bound like any sample.
pub fn register(value: i64, what: &str) -> Result<i64, Failure> {
    meter_value(Decimal::from(value), Decimal::ONE).map(|_| value).ok_or_else(|| out_of_bounds(what))
}

/// The samples worth storing: plain numbers (signed data is kept by the charger), with the
/// defaults OCPP gives an absent measurand (the energy register) and unit (Wh). A value beyond
/// the bound once in Joule's unit refuses the whole message.
pub fn samples(meter_values: &[MeterValue]) -> Result<Vec<Sample>, Failure> {
    let mut out = Vec::new();
    for mv in meter_values {
        for sv in &mv.sampled_value {
            if sv.format == Some(ValueFormat::SignedData) {
                continue;
            }
            let Ok(value) = sv.value.trim().parse::<Decimal>() else { continue };
            let measurand = sv.measurand.as_ref().map(wire_name).unwrap_or_else(|| ENERGY_REGISTER.to_string());
            let unit = sv.unit.as_ref().map(wire_name).unwrap_or_else(|| "Wh".into());
            let (unit, factor) = normalized_unit(&unit);
            let value = meter_value(value, factor).ok_or_else(|| out_of_bounds(&format!("the sampled value `{}` {unit}", sv.value.trim())))?;
            out.push(Sample {
                sampled_at: timestamp(&mv.timestamp),
                measurand,
                phase: sv.phase.as_ref().map(wire_name),
                context: sv.context.as_ref().map(wire_name),
                unit: unit.to_string(),
                value: value.normalize().to_string(),
            });
        }
    }
    Ok(out)
}

pub async fn handle(link: &mut Link, request: MeterValuesRequest) -> Result<MeterValuesResponse, Failure> {
    let connector_id =
        u32::try_from(request.connector_id).map_err(|_| Failure::new(ErrorCode::PropertyConstraintViolation, "connectorId must not be negative"))?;
    record(link, connector_id, request.transaction_id, samples(&request.meter_value)?).await?;
    Ok(MeterValuesResponse {})
}

/// Stores readings of a connector, of a transaction (Joule's number for it) if they have one,
/// whichever OCPP version brought them.
pub(crate) async fn record<C: Codes>(link: &mut Link, connector_id: u32, transaction: Option<i64>, samples: Vec<Sample>) -> Result<(), Failure<C>> {
    match transaction {
        Some(transaction) if kept_live(link, transaction).await? => record_live(link, connector_id, transaction, samples).await,
        transaction => record_stored(link, connector_id, transaction, samples).await,
    }
}

/// Whether the transaction has a running session, kept live on the link (read if it is not yet).
async fn kept_live<C: Codes>(link: &mut Link, transaction: i64) -> Result<bool, Failure<C>> {
    Ok(link.live.contains_key(&transaction) || link.keep_live(transaction).await?)
}

/// Readings of a live session: checked and priced in memory, written with other connections'
/// readings in one commit, then decided on by session intelligence.
async fn record_live<C: Codes>(link: &mut Link, connector_id: u32, transaction: i64, samples: Vec<Sample>) -> Result<(), Failure<C>> {
    let server = link.server.clone();
    let (org, cs) = (link.login.organization, link.login.chargestation);
    let now = server.store.now();
    // Which samples are kept: every one but the register readings the live session leaves out.
    let mut keep = Vec::with_capacity(samples.len());
    for (i, sample) in samples.iter().enumerate() {
        let taken = match register_wh(sample) {
            Some(wh) => take_reading(link, transaction, &samples[..i], &keep, sample.sampled_at, wh, now).await?,
            None => Some(true),
        };
        match taken {
            Some(taken) => keep.push(taken),
            // The session ended meanwhile: the message is stored as readings of no running session.
            None => return record_stored(link, connector_id, Some(transaction), samples).await,
        }
    }
    let samples: Vec<Sample> = samples.into_iter().zip(keep).filter_map(|(s, keep)| keep.then_some(s)).collect();
    let Some(Kept { live, .. }) = link.live.get_mut(&transaction) else { return Ok(()) };
    if samples.is_empty() {
        link.seen();
        return Ok(());
    }
    let session = live.facts().session.id;
    let progress = live.progress();
    if let Some(e) = &progress.unpriced {
        tracing::error!(error = %e, %session, "a session's activity cannot be priced; it is shown without a cost");
    }
    let announce = server.memory.update_due(session, now, server.config.session_update_interval);
    // A 2.0.1 charger is told the running cost (CostUpdated), at most once a minute.
    let cost_update = match (&live.facts().transaction.ocpp_id, &progress.cost) {
        (Some(ocpp_id), Some(cost)) if server.memory.cost_update_due(session, cost.amount, now) => Some((ocpp_id.clone(), cost.amount)),
        _ => None,
    };
    let progress = SessionProgress { session, cost: progress.cost, metrics: progress.metrics, announce, known_updated_at: live.facts().session.updated_at };
    let written = match server
        .writer
        .write(Readings { organization: org, chargestation: cs, connector_id, transaction_id: transaction, samples, received_at: now, progress })
        .await
    {
        Ok(written) => written,
        Err(e) => {
            link.live.remove(&transaction);
            return Err(e.into());
        }
    };
    if announce && written.session_running {
        server.memory.announced(session, now, server.config.session_update_interval);
    }
    // Something else changed the session (a pause, a stop asked through the API, its end): it
    // is read again before deciding on it.
    if written.changed_elsewhere && !link.keep_live(transaction).await? {
        return Ok(());
    }
    if !written.session_running {
        link.live.remove(&transaction);
        return Ok(());
    }
    if let Some((ocpp_id, amount)) = cost_update {
        let server = server.clone();
        tokio::spawn(async move {
            let told = server.call(cs, "CostUpdated", serde_json::json!({ "totalCost": amount, "transactionId": ocpp_id })).await;
            if let Err(e) = told {
                tracing::info!(error = %e, "the charger was not told the session's cost");
            }
        });
    }
    let Some(kept) = link.live.get_mut(&transaction) else { return Ok(()) };
    kept.live.stored_at(written.updated_at);
    // Session intelligence decides on every report, not only on its timer; a stop it asked
    // for goes out again.
    let again = session_watch::check_live(&server, &kept.live, Occasion::Report).await?;
    kept.look_at = Instant::now() + again;
    Ok(())
}

/// Gives a register reading to the transaction's live session: whether it is kept, `None` if
/// the session no longer runs. A session that needs its whole history is read again, with the
/// message's `earlier` samples it kept (`kept`), which are not stored yet.
async fn take_reading<C: Codes>(
    link: &mut Link,
    transaction: i64,
    earlier: &[Sample],
    kept: &[bool],
    at: Timestamp,
    wh: Decimal,
    now: Timestamp,
) -> Result<Option<bool>, Failure<C>> {
    let Some(live) = link.live.get_mut(&transaction).map(|k| &mut k.live) else { return Ok(None) };
    let mut taken = live.reading(at, wh, now);
    if taken == Reading::NeedsHistory {
        let unstored: Vec<_> = earlier.iter().zip(kept).filter(|(_, kept)| **kept).filter_map(|(s, _)| Some((s.sampled_at, register_wh(s)?))).collect();
        if !link.keep_live_with(transaction, &unstored, now).await? {
            return Ok(None);
        }
        let Some(live) = link.live.get_mut(&transaction).map(|k| &mut k.live) else { return Ok(None) };
        taken = live.reading(at, wh, now);
    }
    match taken {
        Reading::Taken => Ok(Some(true)),
        Reading::Dip => Ok(Some(false)),
        // A session read afresh holds every reading so far.
        Reading::NeedsHistory => Err(Failure::new(C::INTERNAL_ERROR, "a session read afresh lacked its history")),
    }
}

/// The value of an energy register sample, in Wh.
pub(crate) fn register_wh(s: &Sample) -> Option<Decimal> {
    if s.measurand == ENERGY_REGISTER && s.phase.is_none() { s.value.parse().ok() } else { None }
}

/// Readings of no running session (no transaction, a transaction without a session, or one
/// already stopped): stored as they are, one transaction each.
async fn record_stored<C: Codes>(link: &mut Link, connector_id: u32, transaction: Option<i64>, samples: Vec<Sample>) -> Result<(), Failure<C>> {
    link.seen();
    let server = &link.server;
    let now = server.store.now();
    let announce = |session| server.memory.update_due(session, now, server.config.session_update_interval);
    let recorded = server.store.record_meter_values(link.login.organization, link.login.chargestation, connector_id, transaction, &samples, &announce).await?;
    if let Some(facts) = recorded.session {
        if recorded.announced {
            server.memory.announced(facts.session.id, now, server.config.session_update_interval);
        }
        session_watch::check(server, &facts, Occasion::Report).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reading(json: &str) -> Result<Vec<Sample>, Failure> {
        samples(&serde_json::from_str::<Vec<MeterValue>>(json).unwrap())
    }

    #[test]
    fn units_are_normalized_and_defaults_applied() {
        let s = reading(
            r#"[{"timestamp":"2026-11-25T10:00:00Z","sampledValue":[
            {"value":"12.5","unit":"kWh","measurand":"Energy.Active.Import.Register"},
            {"value":"7.2","unit":"kW","measurand":"Power.Active.Import"},
            {"value":"1500"},
            {"value":"abc"},
            {"value":"0A1B","format":"SignedData"}]}]"#,
        )
        .unwrap();
        assert_eq!(s.len(), 3);
        assert_eq!((s[0].unit.as_str(), s[0].value.as_str()), ("Wh", "12500"));
        assert_eq!((s[1].measurand.as_str(), s[1].unit.as_str(), s[1].value.as_str()), ("Power.Active.Import", "W", "7200"));
        assert_eq!((s[2].measurand.as_str(), s[2].unit.as_str()), (ENERGY_REGISTER, "Wh"));
    }

    #[test]
    fn values_beyond_the_bound_refuse_the_message() {
        for (value, unit) in [("100000000000000000000000000", "kWh"), ("1000000000.5", "kW"), ("1000000000001", "Wh")] {
            let json = format!(r#"[{{"timestamp":"2026-11-25T10:00:00Z","sampledValue":[{{"value":"1"}},{{"value":"{value}","unit":"{unit}"}}]}}]"#);
            assert_eq!(reading(&json).unwrap_err().code, ErrorCode::PropertyConstraintViolation, "{value} {unit}");
        }
        assert_eq!(register(1_000_000_000_001, "meterStop").unwrap_err().code, ErrorCode::PropertyConstraintViolation);
        assert_eq!(register(1_000_000_000_000, "meterStop").unwrap(), 1_000_000_000_000);
    }
}
