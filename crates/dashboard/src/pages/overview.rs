//! The network at a glance: chargers online, sessions running, today's energy and revenue, and
//! what needs a look (webhooks failing, sessions stuck).

use axum::extract::State;
use axum::response::Response;
use chrono::{Duration, Utc};
use maud::html;
use rust_decimal::Decimal;
use serde_json::Value;

use super::{page, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::{decimal, kwh, money};
use crate::sign_in::Operator;

/// A session still waiting for its charger this long is stuck.
const STUCK_AFTER: Duration = Duration::minutes(2);

struct Glance {
    online: usize,
    offline: usize,
    running: Vec<Value>,
    ended_today: Vec<Value>,
    stuck: Vec<Value>,
    failing_webhooks: Vec<Value>,
}

pub async fn show(State(state): State<Dashboard>, operator: Operator) -> Response {
    match glance(&state, &operator).await {
        Ok(glance) => render(&operator, glance),
        Err(refusal) => refused(&operator, "Overview", refusal),
    }
}

async fn glance(state: &Dashboard, operator: &Operator) -> Result<Glance, Refusal> {
    let (api, org) = (&state.api, operator.org);
    let stations = api.list(org, "/v1.1/chargestations?limit=100").await?;
    let online = stations.iter().filter(|cs| cs["online"] == true).count();
    let mut running = api.list(org, "/v1.1/sessions?status=started&limit=100").await?;
    running.extend(api.list(org, "/v1.1/sessions?status=paused&limit=100").await?);
    let midnight = Utc::now().date_naive().and_hms_opt(0, 0, 0).unwrap_or_default().and_utc();
    let since = midnight.format("%Y-%m-%dT%H:%M:%S%.3fZ");
    let ended_today = api.list(org, &format!("/v1.1/sessions?status=ended&limit=100&createdAt%5Bgte%5D={since}")).await?;
    let waiting = api.list(org, "/v1.1/sessions?status=created&limit=100").await?;
    let stuck_before = (Utc::now() - STUCK_AFTER).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string();
    let stuck = waiting
        .into_iter()
        .filter(|s| text(s, "createdAt") < stuck_before.as_str())
        .chain(running.iter().filter(|s| !s["stop_requested"].is_null()).cloned())
        .collect();
    let mut failing_webhooks = Vec::new();
    for endpoint in api.list(org, "/v1.1/webhooks?limit=100").await? {
        let attempts = api.list(org, &format!("/v1.1/webhooks/{}/deliveries?limit=20", text(&endpoint, "_id"))).await?;
        if endpoint["enabled"] == false || attempts.first().is_some_and(|a| text(a, "status") == "failed") {
            failing_webhooks.push(endpoint);
        }
    }
    Ok(Glance { online, offline: stations.len() - online, running, ended_today, stuck, failing_webhooks })
}

fn render(operator: &Operator, g: Glance) -> Response {
    let energy: Decimal = g.ended_today.iter().map(|s| decimal(&s["metrics"]["energyConsumed"])).sum();
    let currency = g.ended_today.iter().find_map(|s| s["cost"]["currency"].as_str()).unwrap_or("USD");
    let revenue: Decimal = g.ended_today.iter().map(|s| decimal(&s["cost"]["amount"])).sum();
    let content = html! {
        section #glance.cards data-live="chargestation. session. connector." aria-label="The network now" {
            a.card href="/dashboard/chargestations" { strong { (g.online) } " online" br; small { (g.offline) " offline" } }
            a.card href="/dashboard/sessions?status=started" { strong { (g.running.len()) } " running" br; small { "sessions" } }
            div.card { strong { (kwh(energy)) } br; small { "delivered today (UTC), " (g.ended_today.len()) " sessions ended" } }
            div.card { strong { (money(revenue, currency)) } br; small { "revenue today (UTC)" } }
        }
        section #problems data-live="session. webhook." {
            h2 { "Needs a look" }
            @if g.stuck.is_empty() && g.failing_webhooks.is_empty() {
                p { "Nothing: every webhook endpoint delivers and no session is stuck." }
            }
            ul {
                @for s in &g.stuck {
                    li { a href={ "/dashboard/sessions/" (text(s, "_id")) } { "Session " (text(s, "_id")) } ": "
                        @if s["stop_requested"].is_null() { "still waiting for its charger to start" } @else { "asked to stop, still running" } }
                }
                @for w in &g.failing_webhooks {
                    li { a href={ "/dashboard/webhooks/" (text(w, "_id")) } { (text(w, "url")) } ": "
                        @if w["enabled"] == false { "disabled (" (text(w, "disabled_reason")) ")" } @else { "its last delivery failed" } }
                }
            }
        }
    };
    page(operator, "Overview", "Overview", content)
}
