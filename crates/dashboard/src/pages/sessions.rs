//! Sessions: running ones first with their energy and their cost against the authorization,
//! one session with its events, and its actions (pause, resume, stop, soft end) through the
//! API's own endpoints.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use domain::Id;
use maud::{Markup, html};
use rust_decimal::Decimal;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ListQuery, Notice, Zones, page, pager, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::{decimal, duration, kw, kwh, money, time};
use crate::sign_in::{Operator, back_to};

const SECTION: &str = "Sessions";
const STATUSES: [&str; 5] = ["created", "started", "paused", "ended", "cancelled"];

pub async fn list(State(state): State<Dashboard>, operator: Operator, ListQuery(query): ListQuery) -> Response {
    let filtered = query.split('&').any(|p| p.starts_with("status="));
    let loaded = async {
        let mut running = Vec::new();
        if !filtered {
            running = state.api.list(operator.org, "/v1.1/sessions?status=started&limit=100").await?;
            running.extend(state.api.list(operator.org, "/v1.1/sessions?status=paused&limit=100").await?);
        }
        let all = state.api.list(operator.org, &format!("/v1.1/sessions?{query}")).await?;
        Ok::<_, Refusal>((running, all, Zones::load(&state.api, operator.org).await?))
    };
    let (running, all, zones) = match loaded.await {
        Ok(loaded) => loaded,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let content = html! {
        form.filters method="get" action="/dashboard/sessions" {
            label for="status" { "Status" }
            select #status name="status" {
                option value="" { "any" }
                @for s in STATUSES { option value=(s) selected[query.contains(&format!("status={s}"))] { (s) } }
            }
            button type="submit" { "Filter" }
        }
        section #sessions data-live="session. payment." data-tick="5" {
            @if !running.is_empty() {
                h2 { "Running" }
                (table(&running, &zones))
                h2 { "All sessions" }
            }
            (table(&all, &zones))
            (pager("/dashboard/sessions", &query, all.len()))
        }
    };
    page(&operator, SECTION, SECTION, content)
}

fn table(sessions: &[Value], zones: &Zones) -> Markup {
    html! {
        @if sessions.is_empty() { p { "No sessions." } }
        @else {
            table {
                thead { tr { th { "Session" } th { "Status" } th { "Started" } th { "Energy" } th { "Cost" } th { "Of the authorization" } } }
                tbody {
                    @for s in sessions {
                        tr {
                            td { a href={ "/dashboard/sessions/" (text(s, "_id")) } { (text(s, "_id")) } }
                            td { span.badge.(status_class(text(s, "status"))) { (text(s, "status")) } }
                            td { @if let Some(at) = s["startedAt"].as_str() { (time(at, zones.of(text(s, "chargestation")))) } }
                            td { (kwh(decimal(&s["metrics"]["energyConsumed"]))) }
                            td { (cost(s)) }
                            td { (authorization(s)) }
                        }
                    }
                }
            }
        }
    }
}

fn status_class(status: &str) -> &'static str {
    match status {
        "started" => "good",
        "paused" | "created" => "busy",
        "cancelled" => "bad",
        _ => "done",
    }
}

fn currency(session: &Value) -> &str {
    session["payment"]["currency"].as_str().or(session["cost"]["currency"].as_str()).unwrap_or("USD")
}

fn cost(session: &Value) -> String {
    money(decimal(&session["cost"]["amount"]), currency(session))
}

/// The cost so far against what was authorized, as a meter that turns high near the end.
fn authorization(session: &Value) -> Markup {
    let authorized = decimal(&session["payment"]["authorized_amount"]);
    if authorized.is_zero() {
        return html! { "—" };
    }
    let spent = decimal(&session["cost"]["amount"]).min(authorized);
    let share = (spent / authorized * Decimal::from(100)).round_dp(0);
    html! {
        meter min="0" max=(authorized) high=(authorized * Decimal::new(8, 1)) value=(spent) title={ (share) "% of " (money(authorized, currency(session))) } {}
        " " small { (share) "% of " (money(authorized, currency(session))) }
    }
}

pub async fn show(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>) -> Response {
    let loaded = async {
        let session = state.api.get(operator.org, &format!("/v1.1/sessions/{id}")).await?;
        let cs = text(&session, "chargestation").to_string();
        let events = state.api.list(operator.org, &format!("/v1.1/events?chargestation={cs}&limit=100")).await?;
        let curve = state.api.list(operator.org, &format!("/v1.1/sessions/{id}/curve?points={CHART_POINTS}")).await?;
        Ok::<_, Refusal>((session, events, curve, Zones::load(&state.api, operator.org).await?))
    };
    let (session, events, curve, zones) = match loaded.await {
        Ok(loaded) => loaded,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let zone = zones.of(text(&session, "chargestation"));
    let status = text(&session, "status");
    let running = matches!(status, "started" | "paused");
    let mine: Vec<&Value> = events.iter().filter(|e| e["data"]["_id"] == session["_id"] || e["data"]["session"] == session["_id"]).collect();
    let content = html! {
        section #session data-live="session. payment." data-tick="3" {
            dl.facts {
                dt { "Status" } dd { span.badge.(status_class(status)) #status { (status) } }
                dt { "Chargestation" } dd { a href={ "/dashboard/chargestations/" (text(&session, "chargestation")) } { "connector " (session["connector_id"]) } }
                dt { "Started" } dd { @if let Some(at) = session["startedAt"].as_str() { (time(at, zone)) } @else { "not yet" } }
                @if let Some(at) = session["endedAt"].as_str() { dt { "Ended" } dd { (time(at, zone)) } }
                dt { "Energy" } dd #energy { (kwh(decimal(&session["metrics"]["energyConsumed"]))) }
                dt { "Charging time" } dd { (duration(session["metrics"]["energyPeriod"].as_i64().unwrap_or_default())) }
                @if running {
                    dt { "Power" } dd #power { (kw(curve.last().map(|p| decimal(&p["power"])).unwrap_or_default())) }
                }
                dt { "Cost" } dd #cost { (cost(&session)) }
                dt { "Authorization" } dd { (authorization(&session)) }
                @if !session["payment"].is_null() {
                    dt { "Payment" } dd { (text(&session["payment"], "status")) ", captured " (money(decimal(&session["payment"]["captured_amount"]), currency(&session))) }
                }
                @if let Some(user) = session["user"].as_str() { dt { "Driver" } dd { a href={ "/dashboard/users/" (user) } { "user " (user) } } }
            }
            (chart(&curve, currency(&session)))
            @if running {
                div.actions {
                    @if status == "started" { (action(&operator, id, "pause", "Pause")) }
                    @if status == "paused" { (action(&operator, id, "resume", "Resume")) }
                    (action(&operator, id, "stop", "Stop"))
                    (action(&operator, id, "end", "End without the charger"))
                }
            }
            h2 { "Events" }
            ol.events {
                @for e in mine.iter().rev() {
                    li { time { (time(text(e, "createdAt"), zone)) } " " code { (text(e, "type")) } }
                }
            }
        }
    };
    page(&operator, SECTION, &format!("Session {id}"), content)
}

/// The chart's size in its own units; the stylesheet scales it to the page.
const CHART: (f64, f64) = (600.0, 180.0);
const CHART_POINTS: usize = 60;

/// Power (left scale) and cost (right scale) over the session's time, as an SVG drawn here.
fn chart(curve: &[Value], currency: &str) -> Markup {
    let number = |p: &Value, field: &str| decimal(&p[field]).to_string().parse::<f64>().unwrap_or(0.0);
    let at = |p: &Value| chrono::DateTime::parse_from_rfc3339(text(p, "timestamp")).map(|t| t.timestamp_millis() as f64).unwrap_or(0.0);
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else {
        return html! { p.hint { "The chart begins with the charger's first readings." } };
    };
    let (t0, span) = (at(first), (at(last) - at(first)).max(1.0));
    let max_power = curve.iter().map(|p| number(p, "power")).fold(1.0, f64::max);
    let max_cost = curve.iter().map(|p| number(p, "cost")).fold(0.01, f64::max);
    let line = |field: &str, max: f64| -> String {
        let point = |p: &Value| format!("{:.1},{:.1}", (at(p) - t0) / span * CHART.0, CHART.1 - number(p, field) / max * CHART.1);
        curve.iter().map(point).collect::<Vec<_>>().join(" ")
    };
    let final_cost = money(decimal(&last["cost"]), currency);
    let summary = format!("{} points; last power {:.1} kW, cost so far {final_cost}", curve.len(), number(last, "power") / 1000.0);
    html! {
        figure.chart {
            svg viewBox={ "0 0 " (CHART.0) " " (CHART.1) } role="img" aria-labelledby="chart-title chart-desc" preserveAspectRatio="none" {
                title #chart-title { "Power and cost over time" }
                desc #chart-desc { (summary) }
                polyline.power points=(line("power", max_power)) {}
                polyline.cost points=(line("cost", max_cost)) {}
            }
            figcaption {
                span.power { "Power" } " up to " (format!("{:.1}", max_power / 1000.0)) " kW · "
                span.cost { "Cost" } " up to " (money(decimal(&last["cost"]).max(Decimal::ZERO), currency))
            }
        }
    }
}

fn action(operator: &Operator, id: Id, action: &str, label: &str) -> Markup {
    html! {
        form method="post" action={ "/dashboard/sessions/" (id) "/" (action) } {
            input type="hidden" name="form_token" value=(operator.form_token);
            button type="submit" name="action" value=(action) { (label) }
        }
    }
}

#[derive(Deserialize)]
pub struct ActionForm {
    form_token: String,
}

pub async fn act(State(state): State<Dashboard>, operator: Operator, Path((id, action)): Path<(Id, String)>, Form(form): Form<ActionForm>) -> Response {
    if let Err(refused) = operator.check(&form.form_token) {
        return refused.into_response();
    }
    let here = format!("/dashboard/sessions/{id}");
    let Some(done) =
        [("pause", "Paused"), ("resume", "Resumed"), ("stop", "Asked the charger to stop"), ("end", "Ended")].into_iter().find(|(a, _)| *a == action)
    else {
        return back_to(&here, Notice { ok: false, message: format!("Unknown action {action:?}") });
    };
    let answered = state.api.post(operator.org, &format!("/v1.1/sessions/{id}/{action}"), json!({})).await;
    back_to(&here, Notice::said(answered.map(|s| format!("{}: the session is {}.", done.1, text(&s, "status")))))
}
