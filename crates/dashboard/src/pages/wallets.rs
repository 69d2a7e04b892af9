//! Drivers and their wallets: balances, each wallet's ledger, and manual adjustments with a
//! reason, through `POST /v1.1/wallets/{id}/adjustments`.

use axum::Form;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use domain::Id;
use maud::html;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{ListQuery, Notice, page, pager, refused, text};
use crate::Dashboard;
use crate::api::Refusal;
use crate::format::{cents, parse_cents, signed_cents, time};
use crate::sign_in::{Operator, back_to};

const SECTION: &str = "Users & wallets";

fn name(user: &Value) -> String {
    let full = format!("{} {}", text(user, "firstname"), text(user, "lastname"));
    if full.trim().is_empty() { text(user, "_id").to_string() } else { full.trim().to_string() }
}

fn balance(wallet: &Value, field: &str) -> String {
    cents(wallet[field].as_i64().unwrap_or_default(), text(wallet, "currency"))
}

pub async fn users(State(state): State<Dashboard>, operator: Operator, ListQuery(query): ListQuery) -> Response {
    let users = match state.api.list(operator.org, &format!("/v1.1/users?{query}")).await {
        Ok(users) => users,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let content = html! {
        section #users data-live="wallet. user." {
            table {
                thead { tr { th { "Driver" } th { "Email" } th { "Balance" } th { "Available" } } }
                tbody {
                    @for u in &users {
                        tr {
                            td { a href={ "/dashboard/users/" (text(u, "_id")) } { (name(u)) } }
                            td { (text(u, "email")) }
                            @if u["wallet"].is_object() {
                                td { (balance(&u["wallet"], "balance")) } td { (balance(&u["wallet"], "available_balance")) }
                            } @else { td { "no wallet" } td {} }
                        }
                    }
                }
            }
            (pager("/dashboard/users", &query, users.len()))
        }
    };
    page(&operator, SECTION, SECTION, content)
}

pub async fn user(State(state): State<Dashboard>, operator: Operator, Path(id): Path<Id>, ListQuery(query): ListQuery) -> Response {
    let loaded = async {
        let user = state.api.get(operator.org, &format!("/v1.1/users/{id}")).await?;
        let ledger = match user["wallet"]["_id"].as_str() {
            Some(wallet) => state.api.list(operator.org, &format!("/v1.1/wallets/{wallet}/transactions?{query}")).await?,
            None => Vec::new(),
        };
        Ok::<_, Refusal>((user, ledger))
    };
    let (user, ledger) = match loaded.await {
        Ok(loaded) => loaded,
        Err(refusal) => return refused(&operator, SECTION, refusal),
    };
    let wallet = &user["wallet"];
    let currency = text(wallet, "currency");
    let zone = chrono_tz::Tz::UTC;
    let content = html! {
        @if !wallet.is_object() { p { "No wallet: one is made with " code { "POST /v1.1/users/{id}/wallet" } "." } }
        @else {
            section #wallet data-live="wallet." {
                dl.facts {
                    dt { "Email" } dd { (text(&user, "email")) }
                    dt { "Balance" } dd #balance { (balance(wallet, "balance")) }
                    dt { "Available" } dd #available { (balance(wallet, "available_balance")) }
                }
                h2 { "Ledger" }
                table #ledger {
                    thead { tr { th { "When (UTC)" } th { "Entry" } th.num { "Amount" } th.num { "Balance after" } th { "Reference" } } }
                    tbody {
                        @for entry in &ledger {
                            tr {
                                td { (time(text(entry, "createdAt"), zone)) }
                                td { (text(entry, "type")) }
                                td.num { (signed_cents(entry["amount"].as_i64().unwrap_or_default(), currency)) }
                                td.num { (cents(entry["balance_after"].as_i64().unwrap_or_default(), currency)) }
                                td { (text(entry, "reference")) }
                            }
                        }
                    }
                }
                (pager(&format!("/dashboard/users/{id}"), &query, ledger.len()))
            }
            h2 { "Adjust the balance" }
            form.adjust method="post" action={ "/dashboard/wallets/" (text(wallet, "_id")) "/adjustments" } {
                input type="hidden" name="form_token" value=(operator.form_token);
                input type="hidden" name="user" value=(id);
                label for="amount" { "Amount (" (currency.to_uppercase()) ", negative to debit)" }
                input #amount name="amount" inputmode="decimal" required placeholder="10.00";
                label for="reason" { "Reason" }
                input #reason name="reason" required maxlength="200";
                button type="submit" { "Adjust" }
            }
        }
    };
    page(&operator, SECTION, &name(&user), content)
}

#[derive(Deserialize)]
pub struct AdjustForm {
    form_token: String,
    user: Id,
    amount: String,
    reason: String,
}

pub async fn adjust(State(state): State<Dashboard>, operator: Operator, Path(wallet): Path<Id>, Form(form): Form<AdjustForm>) -> Response {
    if let Err(refused) = operator.check(&form.form_token) {
        return refused.into_response();
    }
    let here = format!("/dashboard/users/{}", form.user);
    let Some(amount) = parse_cents(&form.amount) else {
        return back_to(&here, Notice { ok: false, message: format!("{:?} is not an amount of money, such as 10.00 or -2.50", form.amount) });
    };
    let answered = state.api.post(operator.org, &format!("/v1.1/wallets/{wallet}/adjustments"), json!({ "amount": amount, "reason": form.reason })).await;
    back_to(
        &here,
        Notice::said(answered.map(|a| {
            let currency = text(&a["wallet"], "currency");
            format!("Adjusted by {}: the balance is now {}.", signed_cents(amount, currency), balance(&a["wallet"], "balance"))
        })),
    )
}
