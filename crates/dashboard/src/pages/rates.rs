//! Rates: their price components and elements, and a quote calculator that prices an
//! activity with `POST /v1.1/rates/{id}/quote`, the code that prices sessions.

use axum::extract::{Path, Query, State};
use axum::response::Response;
use chrono::{NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;
use domain::Id;
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ListQuery, page, pager, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::{decimal, money};
use crate::sign_in::Operator;

const SECTION: &str = "Rates";

fn components(rate_currency: &str, components: &Value) -> Markup {
    html! {
        ul.components {
            @for c in components.as_array().into_iter().flatten() {
                li {
                    (text(c, "type")) " " (money(decimal(&c["price"]), rate_currency))
                    @match text(c, "type") { "ENERGY" => " per kWh", "TIME" | "PARKING_TIME" => " per hour", _ => " per session" }
                    @if !c["tax"].is_null() { ", +" (decimal(&c["tax"])) "% tax" }
                    @if !c["step_size"].is_null() { ", step " (c["step_size"]) }
                    @if !c["grace_period"].is_null() { ", " (c["grace_period"]) " h free" }
                }
            }
        }
    }
}

pub async fn list(State(state): State<Dashboard>, operator: Operator, ListQuery(query): ListQuery) -> Response {
    let rates = match state.api.list(operator.org, &format!("/v1.1/rates?{query}")).await {
        Ok(rates) => rates,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let content = html! {
        table {
            thead { tr { th { "Rate" } th { "Currency" } th { "Prices" } } }
            tbody {
                @for r in &rates {
                    tr {
                        td { a href={ "/dashboard/rates/" (text(r, "_id")) } { @if r["name"].is_string() { (text(r, "name")) } @else { (text(r, "_id")) } } }
                        td { (text(r, "currency")) }
                        td { (components(text(r, "currency"), &r["price_components"])) }
                    }
                }
            }
        }
        (pager("/dashboard/rates", &query, rates.len()))
    };
    page(&operator, SECTION, SECTION, content)
}

/// The quote calculator's question: so much energy over so long from a local time.
#[derive(Deserialize)]
pub struct QuoteForm {
    kwh: Option<Decimal>,
    minutes: Option<i64>,
    /// `YYYY-MM-DDTHH:MM` in `timezone`.
    start: Option<String>,
    timezone: Option<String>,
}

pub async fn show(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>, Query(form): Query<QuoteForm>) -> Response {
    let rate = match state.api.get(operator.org, &format!("/v1.1/rates/{id}")).await {
        Ok(rate) => rate,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let currency = text(&rate, "currency").to_string();
    let zone: Tz = form.timezone.as_deref().and_then(|z| z.parse().ok()).unwrap_or(Tz::UTC);
    let asked = form.kwh.zip(form.minutes);
    let quote = match asked {
        Some((kwh, minutes)) => Some(quote(&state, &operator, id, kwh, minutes, form.start.as_deref(), zone).await),
        None => None,
    };
    let content = html! {
        h2 { "Prices" }
        (components(&currency, &rate["price_components"]))
        @if !rate["minimum_amount"].is_null() { p { "At least " (money(decimal(&rate["minimum_amount"]), &currency)) " a session." } }
        @for (i, element) in rate["elements"].as_array().into_iter().flatten().enumerate() {
            h3 { "Element " (i + 1) }
            (components(&currency, &element["price_components"]))
            @if !element["restrictions"].is_null() { p.hint { "When: " code { (element["restrictions"].to_string()) } } }
        }
        h2 { "Quote" }
        form.quote method="get" action={ "/dashboard/rates/" (id) } {
            label for="kwh" { "Energy (kWh)" }
            input #kwh name="kwh" type="number" min="0" step="0.001" required value=[form.kwh];
            label for="minutes" { "Charging (minutes)" }
            input #minutes name="minutes" type="number" min="1" step="1" required value=[form.minutes];
            label for="start" { "Starting (local time)" }
            input #start name="start" type="datetime-local" value=[form.start.as_deref()];
            label for="timezone" { "Time zone" }
            input #timezone name="timezone" value=(zone.name());
            button type="submit" { "Quote" }
        }
        @match quote {
            Some(Ok(cost)) => p #quote role="status" { "This activity would cost " strong { (money(decimal(&cost["amount"]), &currency)) } "." },
            Some(Err(refusal)) => p.notice.refused role="alert" { (refusal.message) },
            None => {},
        }
    };
    page(&operator, SECTION, &format!("Rate {}", rate["name"].as_str().map_or(id.to_string(), String::from)), content)
}

async fn quote(state: &Dashboard, operator: &Operator, id: Id, kwh: Decimal, minutes: i64, start: Option<&str>, zone: Tz) -> Result<Value, Refusal> {
    let local = start.and_then(|s| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M").ok());
    let start = local.and_then(|l| zone.from_local_datetime(&l).earliest()).map(|t| t.with_timezone(&Utc)).unwrap_or_else(Utc::now);
    let end = start + chrono::Duration::minutes(minutes);
    let iso = |t: chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let activity = json!({
        "charging_activity": [{ "startTime": iso(start), "endTime": iso(end), "status": "Charging", "energy": kwh * Decimal::from(1000) }],
        "timezone": zone.name(),
    });
    state.api.post(operator.org, &format!("/v1.1/rates/{id}/quote"), activity).await
}
