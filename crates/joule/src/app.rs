//! The application: one Joule node as a value, which `joule serve`, `joule demo` and the tests
//! all start the same way.

use std::future::Future;

use ocpp_server::{OcppConfig, OcppServer};
use store::Store;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

use crate::http::{self, HttpLimits};

/// The HTTP server's limits and the API's body deadline.
#[derive(Clone, Copy, Debug)]
pub struct HttpSettings {
    pub limits: HttpLimits,
    pub body_timeout: std::time::Duration,
    /// How long a stopping server waits for its connections and requests.
    pub shutdown_timeout: std::time::Duration,
}

/// One Joule node: the REST API and the OCPP endpoint on one listener, the session runner, the
/// node's part among the nodes (lease, routed calls), the webhook dispatcher, the top-up expiry
/// runner and the retention runner. `joule serve` runs one until a signal, `joule demo` one in
/// its own process, and tests as many as they need, each on port 0 (`App::new`, `App::start`).
pub struct App {
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

impl App {
    /// A node on `listener` with the defaults of `joule serve`, a platform-admin token, and
    /// webhooks allowed to private addresses (test receivers listen on 127.0.0.1).
    pub fn new(store: Store, listener: TcpListener, admin_token: &str) -> App {
        let defaults = crate::settings::Settings::default();
        App {
            store,
            listener,
            tls: None,
            ocpp: defaults.ocpp(),
            http: defaults.http(),
            admin_token: Some(admin_token.to_string()),
            public_url: None,
            webhooks: webhooks::DispatcherConfig { allow_private: true, ..Default::default() },
            stripe: Default::default(),
            retention: Default::default(),
        }
    }

    /// Starts, and runs in the background until `Running::stop`.
    pub async fn start(self) -> anyhow::Result<Running> {
        let begun = self.begin().await?;
        let (address, ocpp) = (begun.address, begun.ocpp.clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let task = tokio::spawn(begun.serve(async {
            let _ = stopped.await;
        }));
        Ok(Running { address, ocpp, stop: Some(stop), task })
    }

    /// Serves until `shutdown` resolves, then stops: no new connection is taken, every charger
    /// connection is closed (1001) and records its end, requests in flight finish; all within
    /// `http.shutdown_timeout`, after which what is left is dropped. The caller closes the store.
    pub async fn run(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        self.begin().await?.serve(shutdown).await
    }

    /// Joins the nodes and starts the runners; the listener is not served yet.
    async fn begin(self) -> anyhow::Result<Begun> {
        let address = self.listener.local_addr()?;
        let (http, ws) = if self.tls.is_some() { ("https", "wss") } else { ("http", "ws") };
        let public_ws_url = self.public_url.unwrap_or_else(|| format!("{ws}://{address}"));
        let node = self.store.node();
        // Only what no live node holds: the chargers of nodes whose lease ran out (on SQLite,
        // which is one node, every earlier run's at once).
        let lost = self.store.join_nodes(self.ocpp.node_lease).await? + self.store.bury_dead_nodes().await?;
        if lost > 0 {
            tracing::info!(chargestations = lost, "marked offline the chargers no live node holds");
        }
        metrics::gauge!("joule_node_info", "node" => node.to_string()).set(1.0);
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
        let runner = ocpp_server::session_watch::spawn(ocpp.clone(), told.clone());
        let nodes = ocpp_server::nodes::spawn(ocpp.clone(), told);
        let api = api::router(self.store.clone(), ocpp.clone(), config);
        // The dashboard acts through the API's own router, beside it.
        let router = api.clone().merge(dashboard::router(self.store.clone(), api));
        tracing::info!(%address, ?backend, %node, "listening on {http}://{address}");
        Ok(Begun {
            address,
            listener: self.listener,
            tls: self.tls,
            http: self.http,
            router,
            ocpp,
            chargers,
            connections,
            stop,
            runners: [runner, nodes, dispatcher, expiry, retention],
        })
    }
}

/// A node whose runners run and whose listener is about to be served.
struct Begun {
    address: std::net::SocketAddr,
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    http: HttpSettings,
    router: axum::Router,
    ocpp: OcppServer,
    /// The chargers' own pool, closed last.
    chargers: Store,
    connections: Connections,
    stop: tokio::sync::watch::Sender<bool>,
    runners: [tokio::task::JoinHandle<()>; 5],
}

impl Begun {
    async fn serve(self, shutdown: impl Future<Output = ()> + Send + 'static) -> anyhow::Result<()> {
        let ocpp = self.ocpp;
        let (signalled, stopping) = tokio::sync::oneshot::channel();
        let shutdown = async move {
            shutdown.await;
            let _ = signalled.send(());
        };
        let serving = http::serve(self.listener, self.tls, self.router, self.http.limits, shutdown);
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
        let _ = self.stop.send(true);
        for mut task in self.runners {
            if tokio::time::timeout(self.http.shutdown_timeout, &mut task).await.is_err() {
                task.abort();
                let _ = task.await;
            }
        }
        if let Err(e) = ocpp.store.leave_nodes().await {
            tracing::error!(error = %e, "could not take this node off record; its lease runs out instead");
        }
        self.chargers.close().await;
        drop(self.connections);
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

/// An `App` started in the background (`App::start`).
pub struct Running {
    pub address: std::net::SocketAddr,
    /// Its central system: the chargers' registry and store, and the session runner's state.
    pub ocpp: OcppServer,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
}

impl Running {
    /// Stops the node as a signal would, and waits until it has.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        (&mut self.task).await?
    }
}
