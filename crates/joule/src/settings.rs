//! Settings: defaults, then an optional TOML file, then environment (`DATABASE_URL`, then
//! `JOULE_*`), then command-line flags; each overrides the one before.

use std::path::PathBuf;

use clap::{Args, ValueEnum};
use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    Pretty,
    Json,
}

#[derive(Args, Debug, Default)]
pub struct ServeArgs {
    /// TOML settings file (see `joule default-config`).
    #[arg(long, env = "JOULE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Address to listen on; port 0 picks a free port.
    #[arg(long)]
    pub listen: Option<String>,
    /// `sqlite://PATH` (default `sqlite://joule.db`) or `postgres://...`.
    #[arg(long)]
    pub database_url: Option<String>,
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Log filter, as in RUST_LOG (`info`, `joule=debug,info`).
    #[arg(long)]
    pub log_level: Option<String>,
    /// Base URL chargers use to reach this server (`wss://csms.example.com`); defaults to
    /// `ws://` and the listening address.
    #[arg(long)]
    pub public_url: Option<String>,
    /// PEM certificate chain: serve HTTPS and WSS (OCPP security profile 2).
    #[arg(long)]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert`.
    #[arg(long)]
    pub tls_key: Option<PathBuf>,
}

#[derive(Clone, Serialize, Deserialize)]
pub struct Settings {
    pub listen: String,
    pub database_url: String,
    pub log_format: LogFormat,
    pub log_level: String,
    pub public_url: Option<String>,
    pub tls_cert: Option<PathBuf>,
    pub tls_key: Option<PathBuf>,
    /// Only from the environment (`JOULE_ADMIN_TOKEN`) or the file: never a flag, so it does
    /// not show in process lists.
    pub admin_token: Option<String>,
    /// HeartbeatInterval given to chargers, seconds.
    pub heartbeat_interval: u32,
    /// How long a charger has to answer a command, seconds.
    pub call_timeout: u64,
    /// Seconds between WebSocket pings; a charger silent for twice this is dropped.
    pub ping_interval: u64,
    /// Seconds a charger has to start a session Joule asked it to start.
    pub start_timeout: u64,
    /// A running session is announced (`session.updated`) on its first reading, then at most
    /// once every this many seconds while readings arrive.
    pub session_update_interval: u64,
    /// Seconds between re-sends of a stop Joule decided, until the charger reports the end.
    pub stop_retry_interval: u64,
    /// Seconds of silence from the charger about a session after which Joule ends it.
    pub session_stale_after: u64,
    /// Webhook deliveries in flight at once on this node.
    pub webhook_concurrency: usize,
    /// Multiplies the webhook retry schedule (5 s ... 24 h). 1 in production; tests and
    /// staging set it lower to see retries and disabling in seconds.
    pub webhook_retry_scale: f64,
    /// Whether webhook endpoints may be on loopback, private (RFC 1918, IPv6 ULA), link-local,
    /// carrier-grade NAT and other non-public addresses. Off: an organization could otherwise
    /// make Joule reach the operator's network. Turn on for on-premises receivers and tests.
    pub webhook_allow_private: bool,
    /// Stripe's API base URL (`https://api.stripe.com`; Joule appends `/v1/...`), or a local
    /// fake such as localstripe in tests.
    pub stripe_api_base: String,
    /// Seconds a top-up may wait for its payment before it expires.
    pub top_up_lifetime: u64,
    /// Seconds a client has to send a request's headers; also how long an idle keep-alive
    /// connection stays open.
    pub http_header_timeout: u64,
    /// Seconds a client has to send a request's body (408 otherwise).
    pub http_body_timeout: u64,
    /// HTTP connections open at once on this node, chargers' WebSockets included; one more is
    /// answered 503. Keep it below the open-file limit (`ulimit -n`).
    pub max_connections: usize,
    /// Charger connections open at once on this node (within `max_connections`); one more is
    /// answered 503.
    pub max_chargers: usize,
    /// Charger WebSocket handshakes in progress at once (credentials read and checked); one
    /// more waits for a turn, then is answered 503 before any database work.
    pub max_handshakes: usize,
    /// Seconds a charger handshake beyond `max_handshakes` waits for a turn; 0 refuses it at once.
    pub handshake_wait: u64,
    /// Seconds a stopping server gives its charger connections and requests to finish.
    pub shutdown_timeout: u64,
    /// Seconds of this node's lease among the nodes sharing a PostgreSQL database, renewed
    /// every third of it: a node silent for longer is dead, and its chargers are marked
    /// offline unless they connected to another node.
    pub node_lease: u64,
    /// Charger password (Argon2) checks running at once on this node.
    pub charger_auth_concurrency: usize,
    /// Days meter values are kept (those of a running transaction always are); 0 keeps them.
    pub retention_meter_values_days: u32,
    /// Days events are kept (with their finished webhook deliveries; an event still being
    /// delivered is kept); 0 keeps them.
    pub retention_events_days: u32,
    /// Days webhook delivery attempts are kept; 0 keeps them.
    pub retention_delivery_attempts_days: u32,
}

impl Settings {
    pub fn ocpp(&self) -> ocpp_server::OcppConfig {
        ocpp_server::OcppConfig {
            heartbeat_interval_s: self.heartbeat_interval,
            call_timeout: std::time::Duration::from_secs(self.call_timeout),
            ping_interval: std::time::Duration::from_secs(self.ping_interval.max(1)),
            ping_timeout: std::time::Duration::from_secs(self.ping_interval.max(1)),
            start_timeout: std::time::Duration::from_secs(self.start_timeout),
            auth: ocpp_server::AuthLimits { concurrent_checks: self.charger_auth_concurrency.max(1), ..ocpp_server::AuthLimits::default() },
            session_update_interval: std::time::Duration::from_secs(self.session_update_interval),
            stop_retry_interval: std::time::Duration::from_secs(self.stop_retry_interval.max(1)),
            session_stale_after: std::time::Duration::from_secs(self.session_stale_after.max(1)),
            max_chargers: self.max_chargers.max(1),
            max_handshakes: self.max_handshakes.max(1),
            handshake_wait: std::time::Duration::from_secs(self.handshake_wait),
            node_lease: std::time::Duration::from_secs(self.node_lease.max(1)),
            ..ocpp_server::OcppConfig::default()
        }
    }

    pub fn http(&self) -> crate::app::HttpSettings {
        crate::app::HttpSettings {
            limits: crate::http::HttpLimits {
                header_timeout: std::time::Duration::from_secs(self.http_header_timeout.max(1)),
                max_connections: self.max_connections.max(1),
            },
            body_timeout: std::time::Duration::from_secs(self.http_body_timeout.max(1)),
            shutdown_timeout: std::time::Duration::from_secs(self.shutdown_timeout),
        }
    }

    pub fn webhooks(&self) -> webhooks::DispatcherConfig {
        webhooks::DispatcherConfig {
            concurrency: self.webhook_concurrency.max(1),
            retry_scale: self.webhook_retry_scale.max(0.0),
            allow_private: self.webhook_allow_private,
            ..webhooks::DispatcherConfig::default()
        }
    }

    pub fn retention(&self) -> store::Retention {
        store::Retention {
            meter_values_days: self.retention_meter_values_days,
            events_days: self.retention_events_days,
            delivery_attempts_days: self.retention_delivery_attempts_days,
        }
    }

    pub fn stripe(&self) -> stripe::StripeConfig {
        stripe::StripeConfig {
            api_base: self.stripe_api_base.clone(),
            top_up_lifetime: std::time::Duration::from_secs(self.top_up_lifetime.max(1)),
            ..stripe::StripeConfig::default()
        }
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("listen", &self.listen)
            .field("database_url", &store::dialect::redact(&self.database_url))
            .field("log_format", &self.log_format)
            .field("log_level", &self.log_level)
            .field("public_url", &self.public_url)
            .field("tls_cert", &self.tls_cert)
            .field("admin_token", &self.admin_token.as_ref().map(|_| "<hidden>"))
            .field("heartbeat_interval", &self.heartbeat_interval)
            .field("call_timeout", &self.call_timeout)
            .field("ping_interval", &self.ping_interval)
            .field("session_update_interval", &self.session_update_interval)
            .field("stop_retry_interval", &self.stop_retry_interval)
            .field("session_stale_after", &self.session_stale_after)
            .field("webhook_concurrency", &self.webhook_concurrency)
            .field("webhook_retry_scale", &self.webhook_retry_scale)
            .field("webhook_allow_private", &self.webhook_allow_private)
            .field("stripe_api_base", &self.stripe_api_base)
            .field("top_up_lifetime", &self.top_up_lifetime)
            .field("http_header_timeout", &self.http_header_timeout)
            .field("http_body_timeout", &self.http_body_timeout)
            .field("max_connections", &self.max_connections)
            .field("max_chargers", &self.max_chargers)
            .field("max_handshakes", &self.max_handshakes)
            .field("handshake_wait", &self.handshake_wait)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("node_lease", &self.node_lease)
            .field("charger_auth_concurrency", &self.charger_auth_concurrency)
            .field("retention", &self.retention())
            .finish()
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://joule.db".into(),
            log_format: LogFormat::Pretty,
            log_level: "info".into(),
            public_url: None,
            tls_cert: None,
            tls_key: None,
            admin_token: None,
            heartbeat_interval: 300,
            call_timeout: 30,
            ping_interval: 30,
            start_timeout: 120,
            session_update_interval: 30,
            stop_retry_interval: 30,
            session_stale_after: 86_400,
            webhook_concurrency: 256,
            webhook_retry_scale: 1.0,
            webhook_allow_private: false,
            stripe_api_base: "https://api.stripe.com".into(),
            top_up_lifetime: 24 * 3600,
            http_header_timeout: 10,
            http_body_timeout: 30,
            // Room for about 19,000 chargers beside the API's clients. The open-file limit must be
            // higher (with room for the database) for this cap, not `accept`, to be what refuses.
            max_connections: 20_000,
            // 500 of them left for the API's clients.
            max_chargers: 19_500,
            max_handshakes: 256,
            handshake_wait: 5,
            shutdown_timeout: 10,
            node_lease: 15,
            charger_auth_concurrency: 2,
            retention_meter_values_days: 400,
            retention_events_days: 30,
            retention_delivery_attempts_days: 30,
        }
    }
}

/// The flags that were given, as a settings layer.
#[derive(Serialize)]
struct Flags<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    listen: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    database_url: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_format: Option<LogFormat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    log_level: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public_url: Option<&'a String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_cert: Option<&'a PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tls_key: Option<&'a PathBuf>,
}

impl Settings {
    pub fn load(args: &ServeArgs) -> anyhow::Result<Settings> {
        let mut figment = Figment::from(Serialized::defaults(Settings::default()));
        if let Some(path) = &args.config {
            if !path.exists() {
                anyhow::bail!("settings file {} does not exist", path.display());
            }
            figment = figment.merge(Toml::file(path));
        }
        let flags = Flags {
            listen: args.listen.as_ref(),
            database_url: args.database_url.as_ref(),
            log_format: args.log_format,
            log_level: args.log_level.as_ref(),
            public_url: args.public_url.as_ref(),
            tls_cert: args.tls_cert.as_ref(),
            tls_key: args.tls_key.as_ref(),
        };
        let settings: Settings = figment
            .merge(Env::raw().only(&["DATABASE_URL"]).map(|_| "database_url".into()))
            .merge(Env::prefixed("JOULE_").ignore(&["CONFIG"]))
            .merge(Serialized::defaults(flags))
            .extract()?;
        Ok(settings)
    }
}

pub const EXAMPLE: &str = r#"# Joule settings. Every key is optional; environment variables JOULE_<KEY> (upper case)
# override this file, and command-line flags override both.

# Address of the REST API and the OCPP endpoint. Port 0 picks a free port.
listen = "127.0.0.1:8080"

# sqlite://PATH (created and migrated on start) or postgres://USER:PASSWORD@HOST/DB.
# DATABASE_URL is read too.
database_url = "sqlite://joule.db"

# pretty or json
log_format = "pretty"
log_level = "info"

# Base URL chargers use to reach this server; defaults to ws:// and the listening address.
# public_url = "wss://csms.example.com"

# OCPP: the HeartbeatInterval chargers are given, how long they have to answer a command,
# and how often they are pinged (one silent for two intervals is dropped), all in seconds.
heartbeat_interval = 300
call_timeout = 30
ping_interval = 30
# Seconds a charger has to start a session before it is cancelled and its hold released.
start_timeout = 120
# A running session's session.updated event: on its first reading, then at most once every
# this many seconds while readings arrive.
session_update_interval = 30
# Seconds between re-sends of a stop Joule decided, until the charger reports the end.
stop_retry_interval = 30
# Seconds of silence from a charger about a session after which Joule ends it.
session_stale_after = 86400

# Webhooks: deliveries in flight at once on this node (32 at most to one endpoint), and a
# factor on the retry schedule (5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 14 h, 20 h, 24 h). Keep the
# factor at 1 in production; tests set it lower (0.001 makes the schedule last 4.5 minutes).
webhook_concurrency = 256
webhook_retry_scale = 1.0
# Whether webhook URLs may be or resolve to loopback, private, link-local, carrier-grade NAT
# and other non-public addresses (checked at creation and at every delivery). Only for
# on-premises receivers: otherwise an organization could reach this network's services.
webhook_allow_private = false

# Stripe top-ups: Stripe's API (Joule appends /v1/...; tests point it at localstripe), and the
# seconds a top-up may wait for its payment before it expires and its PaymentIntent is
# cancelled. Each organization sets its own Stripe keys with PATCH /v1.1/organization.
stripe_api_base = "https://api.stripe.com"
top_up_lifetime = 86400

# HTTP: seconds a client has to send a request's headers (also how long an idle keep-alive
# connection stays open) and its body (408 otherwise), and the connections open at once,
# chargers' WebSockets included (one more is answered 503; keep it below `ulimit -n`).
http_header_timeout = 10
http_body_timeout = 30
max_connections = 20000
# Of those, charger connections at once, and charger handshakes in progress (credentials being
# checked): one more of either is answered 503 with Retry-After before any database work, a
# handshake after waiting up to `handshake_wait` seconds for a turn.
max_chargers = 19500
max_handshakes = 256
handshake_wait = 5
# Seconds a stopping server (SIGTERM, SIGINT) gives its charger connections, closed with a
# WebSocket close frame, and requests in flight to finish before it closes the database.
shutdown_timeout = 10
# Seconds of a node's lease among the nodes sharing a PostgreSQL database (renewed every third
# of it): once a node's lease runs out, its chargers that did not connect to another node are
# marked offline.
node_lease = 15

# Charger passwords (Argon2) checked at once on this node. Failed logins are throttled: 10 per
# endpoint or 50 per source address in a minute, then 429 until the minute ends.
charger_auth_concurrency = 2
# Retention, in days (0 keeps for ever): meter values (never those of a running transaction),
# events (with their finished webhook deliveries; never one still being delivered) and webhook
# delivery attempts. Expired rows are deleted hourly in batches of 1000.
retention_meter_values_days = 400
retention_events_days = 30
retention_delivery_attempts_days = 30

# Serve HTTPS and WSS (OCPP security profile 2) with this PEM certificate chain and key.
# tls_cert = "/etc/joule/cert.pem"
# tls_key = "/etc/joule/key.pem"

# Enables the platform-admin API (/v1.1/organizations). Prefer JOULE_ADMIN_TOKEN.
# admin_token = "a long random string"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses_to_the_defaults() {
        let example: Settings = Figment::from(Serialized::defaults(Settings::default())).merge(Toml::string(EXAMPLE)).extract().unwrap();
        let defaults = Settings::default();
        assert_eq!((example.listen, example.database_url, example.log_format), (defaults.listen, defaults.database_url, defaults.log_format));
    }

    #[test]
    fn debug_output_hides_secrets() {
        let s = Settings { admin_token: Some("t0ps3cret".into()), database_url: "postgres://u:pw123@h/db".into(), ..Settings::default() };
        let shown = format!("{s:?}");
        assert!(!shown.contains("t0ps3cret") && !shown.contains("pw123"), "{shown}");
    }

    #[test]
    #[allow(clippy::result_large_err, reason = "figment's Jail fixes the closure's error type")]
    fn each_layer_overrides_the_one_before() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("joule.toml", "listen = \"127.0.0.1:1\"\ndatabase_url = \"sqlite://file.db\"\nlog_level = \"debug\"\n")?;
            jail.set_env("DATABASE_URL", "postgres://env/plain");
            jail.set_env("JOULE_LISTEN", "127.0.0.1:2");
            jail.set_env("JOULE_ADMIN_TOKEN", "from-env");
            let args = ServeArgs { config: Some("joule.toml".into()), log_level: Some("warn".into()), ..ServeArgs::default() };
            let s = Settings::load(&args).map_err(|e| e.to_string())?;
            assert_eq!(s.listen, "127.0.0.1:2", "env over file");
            assert_eq!(s.database_url, "postgres://env/plain", "DATABASE_URL over file");
            assert_eq!(s.log_level, "warn", "flag over file");
            assert_eq!(s.admin_token.as_deref(), Some("from-env"));
            jail.set_env("JOULE_DATABASE_URL", "postgres://env/joule");
            let args = ServeArgs { config: Some("joule.toml".into()), listen: Some("127.0.0.1:3".into()), ..ServeArgs::default() };
            let s = Settings::load(&args).map_err(|e| e.to_string())?;
            assert_eq!(s.database_url, "postgres://env/joule", "JOULE_DATABASE_URL over DATABASE_URL");
            assert_eq!(s.listen, "127.0.0.1:3", "flag over env");
            Ok(())
        });
    }

    #[test]
    fn a_missing_settings_file_is_an_error() {
        let args = ServeArgs { config: Some("/nonexistent/joule.toml".into()), ..ServeArgs::default() };
        assert!(Settings::load(&args).is_err());
    }
}
