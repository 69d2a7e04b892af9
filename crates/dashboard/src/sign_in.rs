//! Signing in with an organization's API key. The key is checked by the API itself (the
//! organization it opens is the one the dashboard then acts for) and never kept: the browser
//! gets a random token in an HTTP-only, Secure, SameSite=Strict cookie, the store its SHA-256.
//! Every form carries the sign-in's form token, checked before anything is done; the sign-in
//! form itself carries a token matched against a cookie of its own, so no other site can sign
//! a browser in.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{AppendHeaders, IntoResponse, Redirect, Response};
use axum::{Form, RequestPartsExt};
use domain::Id;
use maud::html;
use serde::Deserialize;
use store::SignIn;

use crate::Dashboard;
use crate::api::Caller;
use crate::pages::{self, Notice};

const COOKIE: &str = "joule_dashboard";
const SIGN_IN_COOKIE: &str = "joule_sign_in";
const NOTICE_COOKIE: &str = "joule_notice";
/// A sign-in lasts a working day.
const LIFETIME_S: i64 = 12 * 3600;

/// A signed-in operator of one organization.
pub struct Operator {
    pub org: Id,
    pub org_name: String,
    pub form_token: String,
    token_sha256: String,
    /// What the last action said, shown once.
    pub notice: Option<Notice>,
}

impl Operator {
    /// Whether a form carried this sign-in's token.
    pub fn check(&self, form_token: &str) -> Result<(), Expired> {
        if same(form_token.as_bytes(), self.form_token.as_bytes()) { Ok(()) } else { Err(Expired) }
    }
}

/// A form without its sign-in's token: from another page, another sign-in or another site.
pub struct Expired;

impl IntoResponse for Expired {
    fn into_response(self) -> Response {
        (StatusCode::FORBIDDEN, "This form has expired: reload the page and try again.").into_response()
    }
}

/// Compares in time independent of where the two differ.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Dashboard> for Operator {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &Dashboard) -> Result<Self, Response> {
        let headers: HeaderMap = parts.extract().await.unwrap_or_default();
        let token = cookie(&headers, COOKIE).ok_or_else(|| to_sign_in(&parts.method))?;
        let token_sha256 = api::secrets::sha256_hex(token.as_bytes());
        let signed_in = state.store.sign_in(&token_sha256).await.map_err(|e| {
            tracing::error!(error = %e, "could not read a dashboard sign-in");
            (StatusCode::SERVICE_UNAVAILABLE, "The dashboard is unavailable; try again").into_response()
        })?;
        let signed_in = signed_in.ok_or_else(|| to_sign_in(&parts.method))?;
        let notice = cookie(&headers, NOTICE_COOKIE).and_then(Notice::decode);
        Ok(Operator { org: signed_in.organization, org_name: signed_in.organization_name, form_token: signed_in.form_token, token_sha256, notice })
    }
}

/// Nothing without a sign-in: pages send the browser to sign in, anything else is a 401.
fn to_sign_in(method: &Method) -> Response {
    if method == Method::GET { Redirect::to("/dashboard/sign-in").into_response() } else { (StatusCode::UNAUTHORIZED, "Sign in first").into_response() }
}

fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value)
}

fn set_cookie(name: &str, value: &str, max_age_s: i64) -> (header::HeaderName, HeaderValue) {
    let text = format!("{name}={value}; Path=/dashboard; HttpOnly; Secure; SameSite=Strict; Max-Age={max_age_s}");
    (header::SET_COOKIE, HeaderValue::from_str(&text).expect("cookie values are hex"))
}

fn random_hex() -> String {
    hex::encode(rand::random::<[u8; 32]>())
}

/// After an action: back to `to`, with what the API said shown there once.
pub fn back_to(to: &str, notice: Notice) -> Response {
    ([set_cookie(NOTICE_COOKIE, &notice.encode(), 60)], Redirect::to(to)).into_response()
}

/// The header that forgets a notice once shown.
pub fn notice_shown() -> (header::HeaderName, HeaderValue) {
    set_cookie(NOTICE_COOKIE, "", 0)
}

pub async fn form() -> Response {
    sign_in_page(None, StatusCode::OK)
}

fn sign_in_page(refusal: Option<&str>, status: StatusCode) -> Response {
    let token = random_hex();
    let body = html! {
        main.sign-in {
            h1 { "Joule" }
            p { "Sign in with one of your organization's API keys. The key is checked and forgotten: this browser keeps only a sign-in cookie." }
            @if let Some(message) = refusal { p.notice.refused role="alert" { (message) } }
            form method="post" action="/dashboard/sign-in" {
                input type="hidden" name="form_token" value=(token);
                label for="api_key" { "API key" }
                input #api_key type="password" name="api_key" autocomplete="off" required autofocus;
                button type="submit" { "Sign in" }
            }
        }
    };
    (status, [set_cookie(SIGN_IN_COOKIE, &token, 600)], pages::document("Sign in", body)).into_response()
}

#[derive(Deserialize)]
pub struct SignInForm {
    api_key: String,
    form_token: String,
}

pub async fn submit(State(state): State<Dashboard>, headers: HeaderMap, Form(input): Form<SignInForm>) -> Response {
    if !cookie(&headers, SIGN_IN_COOKIE).is_some_and(|expected| same(expected.as_bytes(), input.form_token.as_bytes())) {
        return sign_in_page(Some("This form has expired: try again."), StatusCode::FORBIDDEN);
    }
    let key = input.api_key.trim();
    let org = match state.api.call(Caller::Key(key), Method::GET, "/v1.1/organization", None).await {
        Ok(org) => org,
        Err(refusal) => return sign_in_page(Some(&refusal.message), refusal.status),
    };
    let (Some(org_id), Some((key_id, _))) = (org["_id"].as_str().and_then(|id| id.parse::<Id>().ok()), api::secrets::split_api_key(key)) else {
        return sign_in_page(Some("Invalid API key"), StatusCode::UNAUTHORIZED);
    };
    let token = random_hex();
    let sign_in = SignIn {
        organization: org_id,
        organization_name: org["name"].as_str().unwrap_or_default().to_string(),
        api_key_id: key_id.to_string(),
        form_token: random_hex(),
        expires_at: state.store.now().millis() + LIFETIME_S * 1000,
    };
    if let Err(e) = state.store.create_sign_in(&api::secrets::sha256_hex(token.as_bytes()), &sign_in).await {
        tracing::error!(error = %e, "could not record a dashboard sign-in");
        return sign_in_page(Some("The dashboard is unavailable; try again"), StatusCode::SERVICE_UNAVAILABLE);
    }
    tracing::info!(organization = %org_id, api_key = key_id, "signed in to the dashboard");
    // Two cookies: appended, as an array of headers would keep only the last.
    (AppendHeaders([set_cookie(COOKIE, &token, LIFETIME_S), set_cookie(SIGN_IN_COOKIE, "", 0)]), Redirect::to("/dashboard/")).into_response()
}

#[derive(Deserialize)]
pub struct TokenForm {
    form_token: String,
}

pub async fn sign_out(State(state): State<Dashboard>, operator: Operator, Form(input): Form<TokenForm>) -> Response {
    if let Err(refused) = operator.check(&input.form_token) {
        return refused.into_response();
    }
    if let Err(e) = state.store.delete_sign_in(&operator.token_sha256).await {
        tracing::error!(error = %e, "could not end a dashboard sign-in");
        return (StatusCode::SERVICE_UNAVAILABLE, "The dashboard is unavailable; try again").into_response();
    }
    ([set_cookie(COOKIE, "", 0)], Redirect::to("/dashboard/sign-in")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookies_are_found_by_name_among_others() {
        let mut headers = HeaderMap::new();
        headers.append(header::COOKIE, HeaderValue::from_static("a=1; joule_dashboard=abc"));
        headers.append(header::COOKIE, HeaderValue::from_static("joule_notice=ff"));
        assert_eq!(cookie(&headers, COOKIE), Some("abc"));
        assert_eq!(cookie(&headers, NOTICE_COOKIE), Some("ff"));
        assert_eq!(cookie(&headers, "joule"), None);
    }

    #[test]
    fn tokens_match_only_whole() {
        assert!(same(b"abcd", b"abcd"));
        assert!(!same(b"abcd", b"abce"));
        assert!(!same(b"abc", b"abcd"));
        assert!(!same(b"", b"a"));
    }
}
