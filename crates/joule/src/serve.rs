//! `joule serve`: open the store, bind, serve until SIGINT or SIGTERM.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use ocpp_server::{OcppConfig, OcppServer};
use store::{Store, SystemClock};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::http::{self, HttpLimits};
use crate::settings::{LogFormat, Settings};

/// The HTTP server's limits and the API's body deadline.
#[derive(Clone, Copy, Debug)]
pub struct HttpSettings {
    pub limits: HttpLimits,
    pub body_timeout: std::time::Duration,
    /// How long a stopping server waits for its connections and requests.
    pub shutdown_timeout: std::time::Duration,
}

/// Logs go to stdout: JSON, one object per line, or text for people, coloured only when stdout
/// is a terminal (a file or a pipe gets no escape codes) and `NO_COLOR` is not set.
fn init_logs(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let colour = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_ansi(colour);
    match settings.log_format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Pretty => builder.init(),
    }
}

pub async fn run(settings: Settings) -> anyhow::Result<()> {
    init_logs(&settings);
    let shutdown = shutdown_signal()?;
    let store = Store::connect(&settings.database_url, Arc::new(SystemClock))
        .await
        .with_context(|| format!("opening the database {}", store::dialect::redact(&settings.database_url)))?;
    let _sole = store.claim_sole_server()?;
    if settings.admin_token.is_none()
        && let Some((org, key)) = api::create_first_organization(&store).await?
    {
        println!("Created the default organization {} ({}).", org.name, org.id);
        println!("Its API key, shown only this once: {key}");
    }
    let listener = TcpListener::bind(&settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let server = Server {
        store: store.clone(),
        listener,
        tls,
        ocpp: settings.ocpp(),
        http: settings.http(),
        admin_token: settings.admin_token.clone(),
        public_url: settings.public_url.clone(),
        webhooks: settings.webhooks(),
        stripe: settings.stripe(),
        retention: settings.retention(),
    };
    server.run(shutdown).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// One Joule server: the REST API and the OCPP endpoint on one listener, the session runner,
/// the webhook dispatcher, the top-up expiry runner and the retention runner. `joule serve` runs one until a signal,
/// `joule demo` one in its own process.
pub struct Server {
    pub store: Store,
    pub listener: TcpListener,
    pub tls: Option<TlsAcceptor>,
    pub ocpp: OcppConfig,
    pub http: HttpSettings,
    pub admin_token: Option<String>,
    /// Where chargers reach the server; `ws://` or `wss://` and the listening address if unset.
    pub public_url: Option<String>,
    pub webhooks: webhooks::DispatcherConfig,
    /// Where Stripe is, and how long top-ups wait for their payment.
    pub stripe: stripe::StripeConfig,
    /// How long old rows are kept.
    pub retention: store::Retention,
}

impl Server {
    /// Serves until `shutdown` resolves, then stops: no new connection is taken, every charger
    /// connection is closed (1001) and records its end, requests in flight finish; all within
    /// `http.shutdown_timeout`, after which what is left is dropped. The caller closes the store.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let address = self.listener.local_addr()?;
        let (http, ws) = if self.tls.is_some() { ("https", "wss") } else { ("http", "ws") };
        let public_ws_url = self.public_url.unwrap_or_else(|| format!("{ws}://{address}"));
        let lost = self.store.connections_lost().await?;
        if lost > 0 {
            tracing::info!(chargestations = lost, "marked offline the chargers an earlier run left online");
        }
        // The runners are told to stop, and finish what they are writing, before the store
        // closes.
        let (stop, told) = tokio::sync::watch::channel(false);
        let expiry = stripe::TopUps::new(self.store.clone(), self.stripe.client(), self.stripe.top_up_lifetime)
            .spawn_expiry(self.stripe.expiry_interval(), told.clone());
        let config = api::ApiConfig {
            admin_token: self.admin_token,
            public_ws_url,
            listen_addresses: vec![address],
            stripe: self.stripe,
            body_timeout: self.http.body_timeout,
            webhook_allow_private: self.webhooks.allow_private,
        };
        let backend = self.store.backend();
        let dispatcher = webhooks::spawn(self.store.clone(), self.webhooks, told.clone());
        let retention = crate::retention::spawn(self.store.clone(), self.retention, told.clone());
        // Chargers read and write through a pool of their own: a fleet reconnecting at once
        // queued the API's requests behind thousands of its reads (seconds in a boot storm).
        let chargers = self.store.with_own_pool(self.store.connections()).await?;
        let runtime = tokio::runtime::Builder::new_multi_thread().thread_name("chargers").enable_all().build()?;
        let ocpp = OcppServer::new(chargers.clone(), self.ocpp).on_runtime(runtime.handle().clone());
        let connections = Connections(Some(runtime));
        let runner = ocpp_server::session_watch::spawn(ocpp.clone(), told);
        let router = api::router(self.store.clone(), ocpp.clone(), config);
        tracing::info!(%address, ?backend, "listening on {http}://{address}");
        let (signalled, stopping) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            shutdown.await;
            let _ = signalled.send(());
        };
        let serving = http::serve(self.listener, self.tls, router, self.http.limits, shutdown);
        let mut serving = std::pin::pin!(serving);
        // The HTTP server stops taking connections on the signal and then waits for its
        // requests; chargers' WebSockets are no longer its own once upgraded, so they are told
        // here, at the same time.
        let served = tokio::select! {
            () = &mut serving => true,
            _ = stopping => false,
        };
        let connected = ocpp.registry.close_all();
        tracing::info!(chargers = connected.len(), "closing the charger connections");
        let finished = async {
            if !served {
                serving.await;
            }
            ocpp.registry.all_closed().await;
            ocpp.presence.flush().await;
            // Their ends, recorded together (a transaction each would outlast the stop).
            let at = ocpp.store.now();
            let connected: Vec<_> = connected.into_iter().map(|(org, cs)| (org, cs, at)).collect();
            match ocpp.store.connections_ended(&connected).await {
                Ok(ended) => tracing::info!(chargers = ended, "recorded the charger connections' ends"),
                Err(e) => tracing::error!(error = %e, "could not record the charger connections' ends; the next start does"),
            }
        };
        if tokio::time::timeout(self.http.shutdown_timeout, finished).await.is_err() {
            let left = ocpp.registry.seated();
            tracing::warn!(chargers = left, "stopping without waiting any longer for charger connections and requests");
        }
        // The runners would otherwise go on using a store its owner is about to close: each is
        // told, and waited for until it has stopped. One that does not within the bound is
        // aborted, whatever it was doing.
        let _ = stop.send(true);
        for mut task in [runner, dispatcher, expiry, retention] {
            if tokio::time::timeout(self.http.shutdown_timeout, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        chargers.close().await;
        drop(connections);
        Ok(())
    }
}

/// The runtime the chargers' connections run on (`OcppServer::on_runtime`). A runtime may not be
/// dropped where a task runs (it would wait for its threads there): this one lets its threads
/// go in the background, whichever way `run` ends.
struct Connections(Option<tokio::runtime::Runtime>);

impl Drop for Connections {
    fn drop(&mut self) {
        if let Some(runtime) = self.0.take() {
            runtime.shutdown_background();
        }
    }
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives right after startup is not lost.
fn shutdown_signal() -> std::io::Result<impl Future<Output = ()>> {
    #[cfg(unix)]
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    #[cfg(unix)]
    let mut interrupt = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::interrupt())?;
    Ok(async move {
        #[cfg(unix)]
        tokio::select! {
            _ = terminate.recv() => {},
            _ = interrupt.recv() => {},
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
        tracing::info!("shutting down");
    })
}
