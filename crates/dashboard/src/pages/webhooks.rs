//! Webhooks: the endpoints, each one's delivery attempts with their outcome, and redelivery of
//! an event through `POST /v1.1/events/{id}/redeliver`.

use axum::Form;
use axum::extract::{Path, RawQuery, State};
use axum::response::{IntoResponse, Response};
use domain::Id;
use maud::html;
use serde::Deserialize;
use serde_json::json;

use super::{Notice, page, pager, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::time;
use crate::sign_in::{Operator, back_to};

const SECTION: &str = "Webhooks";

pub async fn list(State(state): State<Dashboard>, operator: Operator, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
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

pub async fn show(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
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

#[derive(Deserialize)]
pub struct RedeliverForm {
    form_token: String,
    webhook: Id,
}

pub async fn redeliver(State(state): State<Dashboard>, operator: Operator, Path(event): Path<Id>, Form(form): Form<RedeliverForm>) -> Response {
    if let Err(refused) = operator.check(&form.form_token) {
        return refused.into_response();
    }
    let answered = state.api.post(operator.org, &format!("/v1.1/events/{event}/redeliver"), json!({ "webhook": form.webhook })).await;
    back_to(&format!("/dashboard/webhooks/{}", form.webhook), Notice::said(answered.map(|_| format!("Event {event} is queued for delivery again."))))
}
