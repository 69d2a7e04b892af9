//! Chargestations: each one's connection, protocol and connectors live, and one
//! chargestation's connectors, recent transactions and commands (reset, unlock, trigger,
//! availability) in its OCPP version's words.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use domain::Id;
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ListQuery, Notice, Zones, page, pager, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::time;
use crate::sign_in::{Operator, back_to};

const SECTION: &str = "Chargestations";

pub async fn list(State(state): State<Dashboard>, operator: Operator, ListQuery(query): ListQuery) -> Response {
    let loaded = async {
        let stations = state.api.list(operator.org, &format!("/v1.1/chargestations?{query}")).await?;
        Ok::<_, Refusal>((stations, Zones::load(&state.api, operator.org).await?))
    };
    let (stations, zones) = match loaded.await {
        Ok(loaded) => loaded,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let content = html! {
        section #stations data-live="chargestation. connector." {
            @if stations.is_empty() { p { "No chargestations yet: create one with " code { "POST /v1.1/chargestations" } "." } }
            @else {
                table {
                    thead { tr { th { "Chargestation" } th { "Connection" } th { "Protocol" } th { "Connectors" } th { "Last contact" } } }
                    tbody {
                        @for cs in &stations {
                            tr {
                                td { a href={ "/dashboard/chargestations/" (text(cs, "_id")) } { (text(cs, "endpoint")) } }
                                td { (online(cs)) }
                                td { (text(cs, "protocol")) }
                                td { (connector_badges(cs)) }
                                td { (last_contact(cs, &zones)) }
                            }
                        }
                    }
                }
            }
            (pager("/dashboard/chargestations", &query, stations.len()))
        }
    };
    page(&operator, SECTION, SECTION, content)
}

fn online(cs: &Value) -> Markup {
    html! { @if cs["online"] == true { span.badge.good { "online" } } @else { span.badge.bad { "offline" } } }
}

fn connector_badges(cs: &Value) -> Markup {
    let connectors = cs["connectors"].as_array().cloned().unwrap_or_default();
    html! {
        @for c in &connectors {
            span.badge.(status_class(text(c, "status"))) title={ "Connector " (c["connector_id"]) } { (c["connector_id"]) " " (text(c, "status")) } " "
        }
    }
}

fn last_contact(cs: &Value, zones: &Zones) -> Markup {
    let zone = zones.of(text(cs, "_id"));
    html! { @match cs["lastMessageAt"].as_str() { Some(at) => (time(at, zone)), None => "never" } }
}

/// How a connector status is coloured.
pub fn status_class(status: &str) -> &'static str {
    match status {
        "Available" => "good",
        "Charging" | "Preparing" | "Finishing" | "SuspendedEV" | "SuspendedEVSE" | "Reserved" => "busy",
        _ => "bad",
    }
}

pub async fn show(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>) -> Response {
    let loaded = async {
        let cs = state.api.get(operator.org, &format!("/v1.1/chargestations/{id}")).await?;
        let transactions = state.api.list(operator.org, &format!("/v1.1/chargestations/{id}/transactions?limit=10")).await?;
        Ok::<_, Refusal>((cs, transactions, Zones::load(&state.api, operator.org).await?))
    };
    let (cs, transactions, zones) = match loaded.await {
        Ok(loaded) => loaded,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let zone = zones.of(&id.to_string());
    let connectors = cs["connectors"].as_array().cloned().unwrap_or_default();
    let v201 = text(&cs, "protocol") == "ocpp2.0.1";
    let content = html! {
        section #station data-live="chargestation. connector. session." {
            dl.facts {
                dt { "Connection" } dd { (online(&cs)) }
                dt { "Protocol" } dd { (text(&cs, "protocol")) }
                dt { "Registration" } dd { (text(&cs, "registration")) }
                dt { "Last contact" } dd { (last_contact(&cs, &zones)) }
                dt { "Charger" } dd { (text(&cs["bootInfo"], "chargePointVendor")) " " (text(&cs["bootInfo"], "chargePointModel")) }
            }
            h2 { "Connectors" }
            table {
                thead { tr { th { "Connector" } th { "Status" } th { "Power" } th { "Rate" } } }
                tbody {
                    @for c in &connectors {
                        tr {
                            td { (c["connector_id"]) }
                            td { span.badge.(status_class(text(c, "status"))) { (text(c, "status")) } }
                            td { @if let Some(kw) = c["power"].as_f64() { (kw) " kW" } }
                            td { @if let Some(rate) = c["rate"].as_str() { a href={ "/dashboard/rates/" (rate) } { "rate" } } }
                        }
                    }
                }
            }
            h2 { "Recent transactions" }
            table {
                thead { tr { th { "Transaction" } th { "Connector" } th { "idTag" } th { "Started" } th { "Stopped" } th { "Session" } } }
                tbody {
                    @for t in &transactions {
                        tr {
                            td { (t["transactionId"]) }
                            td { (t["connector_id"]) }
                            td { (text(t, "idTag")) }
                            td { (time(text(t, "startedAt"), zone)) }
                            td { @if let Some(at) = t["stoppedAt"].as_str() { (time(at, zone)) " " (text(t, "stopReason")) } @else { "running" } }
                            td { @if let Some(s) = t["session"].as_str() { a href={ "/dashboard/sessions/" (s) } { "session" } } }
                        }
                    }
                }
            }
        }
        h2 { "Commands" }
        p.hint { "Each goes to the charger at once, as " code { "POST /v1.1/chargestations/{id}/commands/{Action}" } " does; its answer is shown above." }
        div.commands {
            (command_form(&operator, id, "reset", "Reset", html! {
                label for="reset-kind" { "Kind" }
                select #reset-kind name="value" {
                    @if v201 { option value="OnIdle" { "OnIdle" } option value="Immediate" { "Immediate" } }
                    @else { option value="Soft" { "Soft" } option value="Hard" { "Hard" } }
                }
            }))
            (command_form(&operator, id, "unlock", "Unlock", connector_select("unlock", &connectors, false)))
            (command_form(&operator, id, "trigger", "Trigger", html! {
                label for="trigger-message" { "Message" }
                select #trigger-message name="value" {
                    @for m in ["StatusNotification", "Heartbeat", "BootNotification", "MeterValues"] { option value=(m) { (m) } }
                }
                (connector_select("trigger", &connectors, true))
            }))
            (command_form(&operator, id, "availability", "Set availability", html! {
                label for="availability-kind" { "Availability" }
                select #availability-kind name="value" { option value="Operative" { "Operative" } option value="Inoperative" { "Inoperative" } }
                (connector_select("availability", &connectors, true))
            }))
        }
    };
    page(&operator, SECTION, &format!("Chargestation {}", text(&cs, "endpoint")), content)
}

fn command_form(operator: &Operator, id: Id, command: &str, label: &str, fields: Markup) -> Markup {
    html! {
        form.command method="post" action={ "/dashboard/chargestations/" (id) "/commands" } {
            input type="hidden" name="form_token" value=(operator.form_token);
            input type="hidden" name="command" value=(command);
            fieldset { legend { (label) } (fields) button type="submit" { (label) } }
        }
    }
}

fn connector_select(prefix: &str, connectors: &[Value], whole: bool) -> Markup {
    html! {
        label for={ (prefix) "-connector" } { "Connector" }
        select id={ (prefix) "-connector" } name="connector" {
            @if whole { option value="0" { "the whole chargestation" } }
            @for c in connectors { option value=(c["connector_id"]) { (c["connector_id"]) } }
            @if connectors.is_empty() && !whole { option value="1" { "1" } }
        }
    }
}

#[derive(Deserialize)]
pub struct CommandForm {
    form_token: String,
    command: String,
    value: Option<String>,
    connector: Option<u32>,
}

pub async fn command(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>, Form(form): Form<CommandForm>) -> Response {
    if let Err(refused) = operator.check(&form.form_token) {
        return refused.into_response();
    }
    let here = format!("/dashboard/chargestations/{id}");
    let cs = match state.api.get(operator.org, &format!("/v1.1/chargestations/{id}")).await {
        Ok(cs) => cs,
        Err(refusal) => return back_to(&here, Notice::said(Err(refusal))),
    };
    let Some((action, payload)) = ocpp_command(text(&cs, "protocol") == "ocpp2.0.1", &form) else {
        return back_to(&here, Notice { ok: false, message: format!("Unknown command {:?}", form.command) });
    };
    let answered = state.api.post(operator.org, &format!("/v1.1/chargestations/{id}/commands/{action}"), payload).await;
    back_to(&here, Notice::said(answered.map(|answer| format!("{action}: the charger answered {}", answer["status"].as_str().unwrap_or("with no status")))))
}

/// The OCPP action and payload of a command in the charger's version.
fn ocpp_command(v201: bool, form: &CommandForm) -> Option<(&'static str, Value)> {
    let value = form.value.as_deref().unwrap_or_default();
    let connector = form.connector.unwrap_or(0);
    Some(match (form.command.as_str(), v201) {
        ("reset", _) => ("Reset", json!({ "type": value })),
        ("unlock", false) => ("UnlockConnector", json!({ "connectorId": connector.max(1) })),
        ("unlock", true) => ("UnlockConnector", json!({ "evseId": connector.max(1), "connectorId": 1 })),
        ("trigger", false) if connector > 0 => ("TriggerMessage", json!({ "requestedMessage": value, "connectorId": connector })),
        ("trigger", false) => ("TriggerMessage", json!({ "requestedMessage": value })),
        ("trigger", true) if connector > 0 => ("TriggerMessage", json!({ "requestedMessage": value, "evse": { "id": connector } })),
        ("trigger", true) => ("TriggerMessage", json!({ "requestedMessage": value })),
        ("availability", false) => ("ChangeAvailability", json!({ "connectorId": connector, "type": value })),
        ("availability", true) if connector > 0 => ("ChangeAvailability", json!({ "operationalStatus": value, "evse": { "id": connector } })),
        ("availability", true) => ("ChangeAvailability", json!({ "operationalStatus": value })),
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(command: &str, value: &str, connector: u32) -> CommandForm {
        CommandForm { form_token: String::new(), command: command.into(), value: Some(value.into()), connector: Some(connector) }
    }

    #[test]
    fn commands_are_said_in_the_chargers_version() {
        assert_eq!(ocpp_command(false, &form("unlock", "", 2)), Some(("UnlockConnector", json!({"connectorId": 2}))));
        assert_eq!(ocpp_command(true, &form("unlock", "", 2)), Some(("UnlockConnector", json!({"evseId": 2, "connectorId": 1}))));
        assert_eq!(ocpp_command(true, &form("availability", "Inoperative", 0)), Some(("ChangeAvailability", json!({"operationalStatus": "Inoperative"}))));
        assert_eq!(ocpp_command(false, &form("trigger", "Heartbeat", 0)), Some(("TriggerMessage", json!({"requestedMessage": "Heartbeat"}))));
        assert_eq!(ocpp_command(false, &form("explode", "", 0)), None);
    }
}
