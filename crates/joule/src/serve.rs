//! `joule serve`: open the store, bind, serve until SIGINT or SIGTERM.

use std::sync::Arc;

use anyhow::Context;
use ocpp_server::OcppServer;
use store::{Store, SystemClock};
use tokio::net::TcpListener;

use crate::settings::{LogFormat, Settings};

fn init_logs(settings: &Settings) {
    let filter = tracing_subscriber::EnvFilter::try_new(&settings.log_level).unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter);
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
    if settings.admin_token.is_none() {
        if let Some((org, key)) = api::create_first_organization(&store).await? {
            println!("Created the default organization {} ({}).", org.name, org.id);
            println!("Its API key, shown only this once: {key}");
        }
    }
    let listener = TcpListener::bind(&settings.listen).await.with_context(|| format!("binding {}", settings.listen))?;
    let address = listener.local_addr()?;
    let tls = match (&settings.tls_cert, &settings.tls_key) {
        (Some(cert), Some(key)) => Some(crate::tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let (http, ws) = if tls.is_some() { ("https", "wss") } else { ("http", "ws") };
    let public_ws_url = settings.public_url.clone().unwrap_or_else(|| format!("{ws}://{address}"));
    let config = api::ApiConfig { admin_token: settings.admin_token.clone(), public_ws_url, listen_addresses: vec![address] };
    let ocpp = OcppServer::new(store.clone(), settings.ocpp());
    ocpp_server::session_watch::spawn(ocpp.clone());
    let router = api::router(ocpp, config);
    tracing::info!(%address, backend = ?store.backend(), "listening on {http}://{address}");
    match tls {
        Some(acceptor) => axum::serve(crate::tls::TlsListener::new(listener, acceptor)?, router).with_graceful_shutdown(shutdown).await?,
        None => axum::serve(listener, router).with_graceful_shutdown(shutdown).await?,
    }
    store.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on SIGINT or SIGTERM. The handlers are installed when this is called, not when the
/// future is first polled, so a signal that arrives right after startup is not lost.
fn shutdown_signal() -> std::io::Result<impl std::future::Future<Output = ()>> {
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
