//! Webhook endpoints: where an organization wants its events POSTed, which events, and the
//! secret that signs them.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use serde::{Deserialize, Serialize};
use url::{Host, Url};
use utoipa::ToSchema;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::{RefOr, Schema};

use crate::invalid::optional_text;
use crate::schema::{or_null, refined, text};
use crate::user::nullable;
use crate::{Id, Invalid, Timestamp};

/// The object names events are about; an event pattern must name one of them.
pub const EVENT_OBJECTS: &[&str] =
    &["organization", "user", "wallet", "location", "chargestation", "connector", "rate", "token", "session", "payment", "top_up", "webhook_endpoint"];

const MAX_PATTERNS: usize = 100;
const MAX_URL_LEN: usize = 2048;

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ToSchema)]
pub struct WebhookEndpoint {
    #[serde(rename = "_id")]
    pub id: Id,
    pub url: String,
    /// Event patterns: exact types (`payment.captured`), `<object>.*` or `*`.
    pub events: Vec<String>,
    pub description: Option<String>,
    /// Only enabled endpoints receive events.
    pub enabled: bool,
    /// Why Joule disabled the endpoint (a 410 answer, or failing for the whole retry
    /// schedule); `null` while enabled or when disabled through the API.
    pub disabled_reason: Option<String>,
    #[serde(rename = "createdAt")]
    pub created_at: Timestamp,
    #[serde(rename = "updatedAt")]
    pub updated_at: Timestamp,
}

impl WebhookEndpoint {
    /// Whether this endpoint wants an event of type `kind` created at `at`: events older than
    /// the endpoint are not sent to it.
    pub fn wants(&self, kind: &str, at: Timestamp) -> bool {
        self.enabled && at >= self.created_at && self.events.iter().any(|p| pattern_matches(p, kind))
    }

    /// Turns the endpoint off for `reason`.
    pub fn disable(&mut self, reason: &str, now: Timestamp) {
        self.enabled = false;
        self.disabled_reason = Some(reason.to_string());
        self.updated_at = now;
    }
}

/// The answer to creating an endpoint or rotating its secret: the only times the secret is shown.
#[derive(Serialize, ToSchema)]
pub struct WebhookWithSecret {
    #[serde(flatten)]
    pub endpoint: WebhookEndpoint,
    /// `whsec_` and the base64 key: keep it, it is not shown again (a replay of the request
    /// with its `Idempotency-Key` shows null).
    #[schema(nullable)]
    pub secret: String,
}

impl std::fmt::Debug for WebhookWithSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookWithSecret").field("endpoint", &self.endpoint).field("secret", &"whsec_…").finish()
    }
}

/// `*` matches every type, `session.*` every type under `session.`, anything else itself.
pub fn pattern_matches(pattern: &str, kind: &str) -> bool {
    match pattern.strip_suffix('*') {
        Some("") => true,
        Some(prefix) => kind.starts_with(prefix),
        None => pattern == kind,
    }
}

/// A pattern is `*`, `<object>.*` or `<object>.<name>[.<name>]`, names of `a-z` and `_`.
fn pattern(field: &str, raw: &str) -> Result<String, Invalid> {
    let wrong = || Invalid::new(field, format!("`{raw}` is not an event type, `<object>.*` or `*`"));
    if raw == "*" {
        return Ok(raw.to_string());
    }
    let mut parts = raw.split('.');
    let object = parts.next().unwrap_or("");
    if !EVENT_OBJECTS.contains(&object) {
        return Err(Invalid::new(field, format!("`{raw}` names no known object (one of {})", EVENT_OBJECTS.join(", "))));
    }
    let rest: Vec<&str> = parts.collect();
    let name = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase() || b == b'_');
    match rest.as_slice() {
        ["*"] => Ok(raw.to_string()),
        [] => Err(wrong()),
        names if names.len() <= 2 && names.iter().all(name) => Ok(raw.to_string()),
        _ => Err(wrong()),
    }
}

fn patterns(raw: &[String]) -> Result<Vec<String>, Invalid> {
    if raw.is_empty() {
        return Err(Invalid::new("events", "must name at least one event type or pattern"));
    }
    if raw.len() > MAX_PATTERNS {
        return Err(Invalid::new("events", format!("must have at most {MAX_PATTERNS} patterns")));
    }
    let mut out: Vec<String> = Vec::with_capacity(raw.len());
    for (i, p) in raw.iter().enumerate() {
        let p = pattern(&format!("events[{i}]"), p)?;
        if !out.contains(&p) {
            out.push(p);
        }
    }
    Ok(out)
}

/// Where the server itself can be reached: webhooks must not point there.
#[derive(Clone, Debug, Default)]
pub struct OwnAddresses {
    /// The addresses the server listens on.
    pub listen: Vec<SocketAddr>,
    /// Public base URLs it is reached at (`wss://csms.example.com`).
    pub public: Vec<String>,
}

impl OwnAddresses {
    /// Whether `url` reaches this server: its public host and port, or a listen address (a
    /// loopback or unspecified listen address stands for every loopback address and
    /// `localhost`). Host names are compared as written: nothing is resolved here.
    pub fn includes(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else { return false };
        let ip = match &host {
            Host::Ipv4(ip) => Some(IpAddr::V4(*ip)),
            Host::Ipv6(ip) => Some(IpAddr::V6(*ip)),
            Host::Domain(d) if d.eq_ignore_ascii_case("localhost") || d.to_ascii_lowercase().ends_with(".localhost") => Some(IpAddr::V4(Ipv4Addr::LOCALHOST)),
            Host::Domain(_) => None,
        };
        let local = |ip: IpAddr| ip.is_loopback() || ip.is_unspecified();
        let listening = ip.is_some_and(|ip| {
            self.listen.iter().any(|own| {
                own.port() == port && (own.ip() == ip || (local(own.ip()) && local(ip)) || (own.ip().is_unspecified() && ip == IpAddr::V6(Ipv6Addr::LOCALHOST)))
            })
        });
        let public = self
            .public
            .iter()
            .filter_map(|p| Url::parse(p).ok())
            .any(|p| p.host_str().is_some_and(|h| url.host_str().is_some_and(|u| h.eq_ignore_ascii_case(u))) && public_port(&p) == Some(port));
        listening || public
    }
}

/// `ws`/`wss` public URLs are the same server over `http`/`https`.
fn public_port(url: &Url) -> Option<u16> {
    url.port().or(match url.scheme() {
        "ws" | "http" => Some(80),
        "wss" | "https" => Some(443),
        _ => None,
    })
}

/// An absolute `http` or `https` URL without credentials that does not point at this server.
pub fn webhook_url(raw: &str, own: &OwnAddresses) -> Result<String, Invalid> {
    let field = "url";
    if raw.len() > MAX_URL_LEN {
        return Err(Invalid::new(field, format!("must be at most {MAX_URL_LEN} characters")));
    }
    let url = Url::parse(raw.trim()).map_err(|e| Invalid::new(field, format!("must be an absolute http or https URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Invalid::new(field, format!("must use http or https, not `{}`", url.scheme())));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Invalid::new(field, "must name a host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Invalid::new(field, "must not carry credentials"));
    }
    if own.includes(&url) {
        return Err(Invalid::new(field, "must not point at this server"));
    }
    Ok(url.to_string())
}

/// `POST /v1.1/webhooks` (needs `url` and `events`) and `PATCH /v1.1/webhooks/{id}`.
#[derive(Deserialize, Debug, Default, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookInput {
    /// An absolute `http` or `https` URL, at most 2048 characters, without credentials, not
    /// pointing at this server. Unless the server allows it (`webhook_allow_private`), its host
    /// must not be or resolve to a loopback, private, link-local, carrier-grade NAT, multicast,
    /// unspecified, broadcast, documentation or reserved address; every delivery checks this again.
    #[schema(schema_with = url_schema)]
    pub url: Option<String>,
    /// Event patterns: `session.ended`, `session.*`, `*`.
    #[schema(schema_with = events_schema)]
    pub events: Option<Vec<String>>,
    #[serde(default, deserialize_with = "nullable")]
    #[schema(schema_with = description_schema)]
    pub description: Option<Option<String>>,
    /// `false` stops deliveries (events recorded meanwhile are not sent to it); `true` resumes
    /// the pending ones.
    pub enabled: Option<bool>,
}

fn url_schema() -> RefOr<Schema> {
    let url = ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_URL_LEN));
    or_null(url.pattern(Some(r"^https?://[^/?#@\x00-\x20\x7f]+([/?#][^\x00-\x20\x7f]*)?$")))
}

/// What [`pattern`] accepts.
fn events_schema() -> RefOr<Schema> {
    let pattern = format!(r"^(\*|({})\.(\*|[a-z_]+(\.[a-z_]+)?))$", EVENT_OBJECTS.join("|"));
    let item = ObjectBuilder::new().schema_type(Type::String).pattern(Some(pattern));
    or_null(ArrayBuilder::new().items(item).min_items(Some(1)).max_items(Some(MAX_PATTERNS)))
}

fn description_schema() -> RefOr<Schema> {
    or_null(text(500))
}

refined! {
    /// `POST /v1.1/webhooks`: an endpoint needs its `url` and `events`.
    NewWebhook = WebhookInput, required &["url", "events"], keywords []
}

impl WebhookInput {
    pub fn apply(self, mut endpoint: WebhookEndpoint, own: &OwnAddresses, now: Timestamp) -> Result<WebhookEndpoint, Invalid> {
        if let Some(url) = &self.url {
            endpoint.url = webhook_url(url, own)?;
        }
        if let Some(events) = &self.events {
            endpoint.events = patterns(events)?;
        }
        if let Some(d) = self.description {
            endpoint.description = optional_text("description", d.as_deref(), 500)?;
        }
        if let Some(enabled) = self.enabled {
            if enabled != endpoint.enabled {
                endpoint.disabled_reason = None;
            }
            endpoint.enabled = enabled;
        }
        endpoint.updated_at = now;
        Ok(endpoint)
    }

    pub fn create(self, id: Id, own: &OwnAddresses, now: Timestamp) -> Result<WebhookEndpoint, Invalid> {
        if self.url.is_none() {
            return Err(Invalid::new("url", "is required"));
        }
        if self.events.is_none() {
            return Err(Invalid::new("events", "is required"));
        }
        let blank = WebhookEndpoint {
            id,
            url: String::new(),
            events: Vec::new(),
            description: None,
            enabled: true,
            disabled_reason: None,
            created_at: now,
            updated_at: now,
        };
        self.apply(blank, own, now)
    }
}

/// A signing secret, `whsec_` and the base64 of its key (Standard Webhooks). Never shown by
/// `Debug`, never serialized: it leaves the server only in the answer that creates it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

const SECRET_PREFIX: &str = "whsec_";

impl Secret {
    /// A secret whose key is these (random) bytes.
    pub fn from_key(key: &[u8]) -> Secret {
        Secret(format!("{SECRET_PREFIX}{}", BASE64.encode(key)))
    }

    /// A stored secret; `None` if it does not have the shape of one.
    pub fn parse(raw: &str) -> Option<Secret> {
        let key = BASE64.decode(raw.strip_prefix(SECRET_PREFIX)?).ok()?;
        (!key.is_empty()).then(|| Secret(raw.to_string()))
    }

    /// The HMAC key.
    pub fn key(&self) -> Vec<u8> {
        BASE64.decode(&self.0[SECRET_PREFIX.len()..]).unwrap_or_default()
    }

    /// The secret itself, to store or to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(whsec_<hidden>)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(json: &str) -> WebhookInput {
        serde_json::from_str(json).unwrap()
    }

    fn own() -> OwnAddresses {
        OwnAddresses { listen: vec!["127.0.0.1:8080".parse().unwrap()], public: vec!["wss://csms.example.com".into()] }
    }

    fn create(json: &str) -> Result<WebhookEndpoint, Invalid> {
        input(json).create(Id::from_parts(1, [0; 5], 1), &own(), Timestamp::from_millis(1000))
    }

    #[test]
    fn patterns_match_exact_types_prefixes_and_everything() {
        assert!(pattern_matches("*", "session.payment.captured"));
        assert!(pattern_matches("session.*", "session.payment.captured"));
        assert!(pattern_matches("payment.captured", "payment.captured"));
        assert!(!pattern_matches("payment.captured", "payment.canceled"));
        assert!(!pattern_matches("session.*", "sessions.created"));
        assert!(!pattern_matches("session.*", "session"));
    }

    #[test]
    fn endpoints_want_matching_events_from_their_creation_on_while_enabled() {
        let mut e = create(r#"{"url":"https://example.com/hook","events":["session.*","wallet.updated"]}"#).unwrap();
        assert!(e.wants("session.ended", Timestamp::from_millis(1000)));
        assert!(!e.wants("session.ended", Timestamp::from_millis(999)));
        assert!(!e.wants("wallet.created", Timestamp::from_millis(2000)));
        e.disable("gone", Timestamp::from_millis(2000));
        assert!(!e.wants("session.ended", Timestamp::from_millis(3000)));
    }

    #[test]
    fn invalid_input_names_its_field() {
        let field = |json: &str| create(json).unwrap_err().field;
        assert_eq!(field(r#"{"events":["*"]}"#), "url");
        assert_eq!(field(r#"{"url":"https://example.com"}"#), "events");
        assert_eq!(field(r#"{"url":"ftp://example.com","events":["*"]}"#), "url");
        assert_eq!(field(r#"{"url":"file:///etc/passwd","events":["*"]}"#), "url");
        assert_eq!(field(r#"{"url":"not a url","events":["*"]}"#), "url");
        assert_eq!(field(r#"{"url":"https://u:p@example.com","events":["*"]}"#), "url");
        assert_eq!(field(r#"{"url":"https://example.com","events":[]}"#), "events");
        assert_eq!(field(r#"{"url":"https://example.com","events":["*","sesion.*"]}"#), "events[1]");
        assert_eq!(field(r#"{"url":"https://example.com","events":["session"]}"#), "events[0]");
        assert_eq!(field(r#"{"url":"https://example.com","events":["session.*.x"]}"#), "events[0]");
        assert_eq!(field(r#"{"url":"https://example.com","events":["*"],"description":""}"#), "description");
        assert!(create(r#"{"url":"https://example.com","events":["session.payment.captured","payment.captured","*","session.*"]}"#).is_ok());
    }

    #[test]
    fn urls_to_this_server_are_refused_and_other_local_ports_are_not() {
        for url in [
            "http://127.0.0.1:8080/x",
            "http://localhost:8080",
            "http://[::1]:8080",
            "http://127.0.0.2:8080",
            "https://csms.example.com/hooks",
            "http://CSMS.example.com:443",
        ] {
            assert_eq!(create(&format!(r#"{{"url":"{url}","events":["*"]}}"#)).unwrap_err().message, "must not point at this server", "{url}");
        }
        for url in ["http://127.0.0.1:9000/x", "http://localhost:8081", "https://csms.example.com:8443", "https://hooks.example.com"] {
            assert!(create(&format!(r#"{{"url":"{url}","events":["*"]}}"#)).is_ok(), "{url}");
        }
        let anywhere = OwnAddresses { listen: vec!["0.0.0.0:8080".parse().unwrap()], public: vec![] };
        assert!(anywhere.includes(&Url::parse("http://127.0.0.1:8080").unwrap()));
        assert!(anywhere.includes(&Url::parse("http://[::1]:8080").unwrap()));
        assert!(!anywhere.includes(&Url::parse("http://127.0.0.1:8081").unwrap()));
    }

    #[test]
    fn patches_change_only_what_they_name() {
        let e = create(r#"{"url":"https://example.com/hook","events":["*"],"description":"mine"}"#).unwrap();
        let mut off = e.clone();
        off.disable("Answered 410 Gone", Timestamp::from_millis(2000));
        let on = input(r#"{"enabled":true}"#).apply(off, &own(), Timestamp::from_millis(3000)).unwrap();
        assert!(on.enabled && on.disabled_reason.is_none());
        assert_eq!((&on.url, &on.events, &on.description), (&e.url, &e.events, &e.description));
        let cleared = input(r#"{"description":null}"#).apply(e, &own(), Timestamp::from_millis(3000)).unwrap();
        assert_eq!(cleared.description, None);
    }

    #[test]
    fn secrets_round_trip_and_stay_hidden() {
        let s = Secret::from_key(&[7; 32]);
        assert!(s.expose().starts_with("whsec_"));
        assert_eq!(Secret::parse(s.expose()), Some(s.clone()));
        assert_eq!(s.key(), vec![7; 32]);
        assert!(!format!("{s:?}").contains(&s.expose()[6..]));
        assert_eq!(Secret::parse("whsec_!!"), None);
        assert_eq!(Secret::parse("sk_abc"), None);
    }
}
