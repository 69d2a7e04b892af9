//! Webhooks and events: the endpoints, each one's delivery attempts with their outcome, the
//! organization's events, and redelivery of an event through `POST /v1.1/events/{id}/redeliver`
//! (to one endpoint, or to every endpoint whose patterns match it).

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use domain::Id;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ListQuery, Notice, page, pager, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::time;
use crate::sign_in::{Operator, back_to};

const SECTION: &str = "Webhooks";
const EVENTS: &str = "Events";

pub async fn list(State(state): State<Dashboard>, operator: Operator, ListQuery(query): ListQuery) -> Response {
    let endpoints = match state.api.list(operator.org, &format!("/v1.1/webhooks?{query}")).await {
        Ok(endpoints) => endpoints,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let content = html! {
        @if endpoints.is_empty() { p { "No endpoints: add one with " code { "POST /v1.1/webhooks" } "." } }
        table {
            thead { tr { th { "Endpoint" } th { "Events" } th { "State" } } }
            tbody {
                @for w in &endpoints {
                    tr {
                        td { a href={ "/dashboard/webhooks/" (text(w, "_id")) } { (text(w, "url")) } }
                        td { @for e in w["events"].as_array().into_iter().flatten() { code { (e.as_str().unwrap_or_default()) } " " } }
                        td { @if w["enabled"] == true { span.badge.good { "enabled" } } @else { span.badge.bad { "disabled" } " " (text(w, "disabled_reason")) } }
                    }
                }
            }
        }
        (pager("/dashboard/webhooks", &query, endpoints.len()))
    };
    page(&operator, SECTION, SECTION, content)
}

pub async fn show(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>, ListQuery(query): ListQuery) -> Response {
    let loaded = async {
        let endpoint = state.api.get(operator.org, &format!("/v1.1/webhooks/{id}")).await?;
        let attempts = state.api.list(operator.org, &format!("/v1.1/webhooks/{id}/deliveries?{query}")).await?;
        Ok::<_, Refusal>((endpoint, attempts))
    };
    let (endpoint, attempts) = match loaded.await {
        Ok(loaded) => loaded,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let zone = chrono_tz::Tz::UTC;
    let content = html! {
        p { "Delivers " @for e in endpoint["events"].as_array().into_iter().flatten() { code { (e.as_str().unwrap_or_default()) } " " } "to " code { (text(&endpoint, "url")) } "." }
        section #deliveries data-live="webhook." data-tick="10" {
            table {
                thead { tr { th { "When (UTC)" } th { "Event" } th { "Attempt" } th { "Outcome" } th { "" } } }
                tbody {
                    @for a in &attempts {
                        tr {
                            td { (time(text(a, "createdAt"), zone)) }
                            td { code { (text(a, "type")) } }
                            td { (a["attempt"]) }
                            td {
                                span.badge.(if text(a, "status") == "succeeded" { "good" } else if text(a, "status") == "failed" { "bad" } else { "busy" }) { (text(a, "status")) }
                                " " @if let Some(code) = a["response_status"].as_u64() { "HTTP " (code) } " " (text(a, "error"))
                                @if let Some(next) = a["nextRetryAt"].as_str() { " · next try " (time(next, zone)) }
                            }
                            td {
                                form method="post" action={ "/dashboard/events/" (text(a, "event")) "/redeliver" } {
                                    input type="hidden" name="form_token" value=(operator.form_token);
                                    input type="hidden" name="webhook" value=(id);
                                    button type="submit" { "Redeliver" }
                                }
                            }
                        }
                    }
                }
            }
            (pager(&format!("/dashboard/webhooks/{id}"), &query, attempts.len()))
        }
    };
    page(&operator, SECTION, &format!("Webhook {}", text(&endpoint, "url")), content)
}

pub async fn events(State(state): State<Dashboard>, operator: Operator, ListQuery(query): ListQuery) -> Response {
    let events = match state.api.list(operator.org, &format!("/v1.1/events?{query}")).await {
        Ok(events) => events,
        Err(refusal) => return refused(&operator, EVENTS, refusal),
    };
    let zone = chrono_tz::Tz::UTC;
    let content = html! {
        form.filters method="get" action="/dashboard/events" {
            label for="type" { "Type" }
            input #type name="type" placeholder="session.ended";
            button type="submit" { "Filter" }
        }
        section #events data-live="session. payment. wallet. chargestation. connector. webhook." {
            table {
                thead { tr { th { "When (UTC)" } th { "Event" } th { "About" } th { "" } } }
                tbody {
                    @for e in &events {
                        tr {
                            td { (time(text(e, "createdAt"), zone)) }
                            td { code { (text(e, "type")) } }
                            td { (about(e)) }
                            td {
                                form method="post" action={ "/dashboard/events/" (text(e, "_id")) "/redeliver" } {
                                    input type="hidden" name="form_token" value=(operator.form_token);
                                    button type="submit" { "Redeliver" }
                                }
                            }
                        }
                    }
                }
            }
            (pager("/dashboard/events", &query, events.len()))
        }
    };
    page(&operator, EVENTS, EVENTS, content)
}

/// A link to what an event is about, where the dashboard has a page for it.
fn about(event: &Value) -> Markup {
    let id = text(&event["data"], "_id");
    let page = match text(event, "object") {
        "session" => Some("sessions"),
        "chargestation" => Some("chargestations"),
        "rate" => Some("rates"),
        "webhook" => Some("webhooks"),
        _ => None,
    };
    html! {
        @match page {
            Some(page) if !id.is_empty() => a href={ "/dashboard/" (page) "/" (id) } { (text(event, "object")) " " (id) },
            _ => (text(event, "object")),
        }
    }
}

#[derive(Deserialize)]
pub struct RedeliverForm {
    form_token: String,
    /// Only to this endpoint; else to every endpoint whose patterns match.
    webhook: Option<Id>,
}

pub async fn redeliver(State(state): State<Dashboard>, operator: Operator, Path(event): Path<Id>, Form(form): Form<RedeliverForm>) -> Response {
    if let Err(refused) = operator.check(&form.form_token) {
        return refused.into_response();
    }
    let answered = state.api.post(operator.org, &format!("/v1.1/events/{event}/redeliver"), json!({ "webhook": form.webhook })).await;
    let back = form.webhook.map_or("/dashboard/events".to_string(), |w| format!("/dashboard/webhooks/{w}"));
    let said = answered.map(|deliveries| {
        let n = deliveries.as_array().map_or(0, Vec::len);
        format!("Event {event}: {n} {} queued.", if n == 1 { "delivery" } else { "deliveries" })
    });
    back_to(&back, Notice::said(said))
}
