//! What every page shares: the document, the navigation, the notice an action left, the
//! answer to a refusal, lists' paging, and the zone a chargestation's times are shown in.

pub mod chargestations;
pub mod overview;
pub mod rates;
pub mod sessions;
pub mod wallets;
pub mod webhooks;

use std::collections::HashMap;

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use chrono_tz::Tz;
use domain::Id;
use maud::{DOCTYPE, Markup, html};
use serde_json::Value;

use crate::api::{Api, Refusal};
use crate::sign_in::{self, Operator};

/// A whole HTML document around `body`.
pub fn document(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · Joule" }
                link rel="stylesheet" href="/dashboard/assets/style.css";
                script src="/dashboard/assets/live.js" defer {}
            }
            body { (body) }
        }
    }
}

const SECTIONS: [(&str, &str); 7] = [
    ("/dashboard/", "Overview"),
    ("/dashboard/chargestations", "Chargestations"),
    ("/dashboard/sessions", "Sessions"),
    ("/dashboard/users", "Users & wallets"),
    ("/dashboard/rates", "Rates"),
    ("/dashboard/webhooks", "Webhooks"),
    ("/dashboard/events", "Events"),
];

/// A signed-in page: the navigation (`section` marked current), the notice of the last action,
/// then `content`.
pub fn page(operator: &Operator, section: &str, title: &str, content: Markup) -> Response {
    let body = html! {
        a.skip href="#main" { "Skip to content" }
        header.top {
            span.brand { "Joule" }
            span.org { (operator.org_name) }
            form.sign-out method="post" action="/dashboard/sign-out" {
                input type="hidden" name="form_token" value=(operator.form_token);
                button type="submit" { "Sign out" }
            }
        }
        nav aria-label="Sections" {
            ul {
                @for (href, name) in SECTIONS {
                    li { a href=(href) aria-current=[(name == section).then_some("page")] { (name) } }
                }
            }
        }
        main #main data-form-token=(operator.form_token) {
            @if let Some(notice) = &operator.notice {
                p.notice.refused[!notice.ok] role="status" { (notice.message) }
            }
            h1 { (title) }
            (content)
        }
    };
    let document = document(title, body);
    if operator.notice.is_some() { ([sign_in::notice_shown()], document).into_response() } else { document.into_response() }
}

/// What an action said, carried to the next page in a short-lived cookie.
pub struct Notice {
    pub ok: bool,
    pub message: String,
}

impl Notice {
    pub fn said(result: Result<String, Refusal>) -> Notice {
        match result {
            Ok(message) => Notice { ok: true, message },
            Err(refusal) => Notice { ok: false, message: refusal.message },
        }
    }

    /// As a cookie value: a flag and the message's bytes in hex.
    pub fn encode(&self) -> String {
        format!("{}{}", if self.ok { 1 } else { 0 }, hex::encode(self.message.as_bytes()))
    }

    pub fn decode(text: &str) -> Option<Notice> {
        let ok = match text.get(..1)? {
            "1" => true,
            "0" => false,
            _ => return None,
        };
        let message = String::from_utf8(hex::decode(text.get(1..)?).ok()?).ok()?;
        Some(Notice { ok, message })
    }
}

/// The API's refusal of what a page needed, as a page: its status and its message.
pub fn refused(operator: &Operator, section: &str, refusal: Refusal) -> Response {
    let mut response = page(operator, section, "Not available", html! { p.notice.refused role="alert" { (refusal.message) } });
    *response.status_mut() = refusal.status;
    response
}

pub async fn not_found() -> Response {
    (StatusCode::NOT_FOUND, document("Not found", html! { main { h1 { "Not found" } p { a href="/dashboard/" { "Back to the dashboard" } } } })).into_response()
}

/// A list's query string as the API takes it (`?status=started&page=2`), without the empty
/// fields a form sends for "any".
pub struct ListQuery(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ListQuery {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        Ok(ListQuery(query.split('&').filter(|pair| !pair.is_empty() && !pair.ends_with('=')).collect::<Vec<_>>().join("&")))
    }
}

/// A string field of an API object ("" when absent).
pub fn text<'a>(object: &'a Value, field: &str) -> &'a str {
    object[field].as_str().unwrap_or_default()
}

/// Links to the pages before and after this one of a list, keeping its filters. A full
/// page suggests there is another.
pub fn pager(path: &str, query: &str, shown: usize) -> Markup {
    let current: u32 = query_value(query, "page").and_then(|p| p.parse().ok()).unwrap_or(1).max(1);
    let limit: usize = query_value(query, "limit").and_then(|l| l.parse().ok()).unwrap_or(20);
    html! {
        nav.pager aria-label="Pages" {
            @if current > 1 { a href={ (path) "?" (with_page(query, current - 1)) } rel="prev" { "← Newer" } }
            span { "Page " (current) }
            @if shown >= limit { a href={ (path) "?" (with_page(query, current + 1)) } rel="next" { "Older →" } }
        }
    }
}

fn query_value<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query.split('&').filter_map(|pair| pair.split_once('=')).find(|(n, _)| *n == name).map(|(_, v)| v)
}

/// `query` with its `page` set to `page`.
fn with_page(query: &str, page: u32) -> String {
    let kept = query.split('&').filter(|pair| !pair.is_empty() && !pair.starts_with("page="));
    kept.map(str::to_string).chain([format!("page={page}")]).collect::<Vec<_>>().join("&")
}

/// The time zone of each chargestation, from its location; UTC where it has none.
pub struct Zones(HashMap<String, Tz>);

impl Zones {
    pub async fn load(api: &Api, org: Id) -> Result<Zones, Refusal> {
        let locations = api.list(org, "/v1.1/locations?limit=100").await?;
        let zone_of: HashMap<&str, Tz> = locations.iter().filter_map(|l| Some((l["_id"].as_str()?, l["timezone"].as_str()?.parse::<Tz>().ok()?))).collect();
        let stations = api.list(org, "/v1.1/chargestations?limit=100").await?;
        Ok(Zones(stations.iter().filter_map(|cs| Some((text(cs, "_id").to_string(), *zone_of.get(cs["location"].as_str()?)?))).collect()))
    }

    pub fn of(&self, chargestation: &str) -> Tz {
        self.0.get(chargestation).copied().unwrap_or(Tz::UTC)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notices_survive_their_cookie() {
        let notice = Notice { ok: false, message: "Session is not running; it is paused".into() };
        let decoded = Notice::decode(&notice.encode()).unwrap();
        assert_eq!((decoded.ok, decoded.message.as_str()), (false, "Session is not running; it is paused"));
        assert!(Notice::decode("2ab").is_none());
        assert!(Notice::decode("1zz").is_none());
    }

    #[test]
    fn paging_keeps_the_filters() {
        assert_eq!(with_page("status=started&page=2&limit=5", 3), "status=started&limit=5&page=3");
        assert_eq!(with_page("", 2), "page=2");
        assert_eq!(query_value("status=started&page=4", "page"), Some("4"));
    }
}
