//! `joule serve`: open the store, bind, serve until SIGINT or SIGTERM.

use std::future::Future;
use std::io::IsTerminal;
use std::sync::Arc;

use anyhow::Context;
use store::{Store, SystemClock};
use tokio::net::TcpListener;

use crate::app::App;
use crate::settings::{LogFormat, Settings};

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
    let app = App {
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
    app.run(shutdown).await?;
    store.close().await;
    tracing::info!("stopped");
    Ok(())
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
