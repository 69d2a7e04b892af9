//! The HTTP/1.1 server under the API and the OCPP endpoint, over TCP or TLS: hyper with
//! upgrades (WebSockets), a deadline for request headers, and a cap on open connections,
//! WebSockets and TLS handshakes included.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use axum::extract::ConnectInfo;
use axum::serve::Listener;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

#[derive(Clone, Copy, Debug)]
pub struct HttpLimits {
    /// A request's headers must arrive within this; it is also how long an idle keep-alive
    /// connection stays open.
    pub header_timeout: Duration,
    /// Connections open at once, WebSockets included; one more is answered 503 and closed.
    pub max_connections: usize,
}

/// What a connection over the cap is told before it is closed.
const TOO_MANY: &[u8] =
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n\r\ntoo many connections\n";

/// A TLS client that has not finished its handshake by then is dropped.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves `router` (over TLS with `tls`) until `shutdown` resolves, then lets the requests in
/// flight finish. A connection takes its slot when accepted, before any TLS handshake, so
/// handshakes in progress count too and never hold up `accept`.
pub async fn serve(mut listener: TcpListener, tls: Option<TlsAcceptor>, router: Router, limits: HttpLimits, shutdown: impl Future<Output = ()>) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping `stop` tells connections to finish; `finished` resolves when all have.
    let (stop, stopping) = watch::channel(());
    let (finished, open) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = Listener::accept(&mut listener) => accepted,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            metrics::counter!("joule_http_connections_refused_total").increment(1);
            // A TLS client could not read a plain answer; it is only closed.
            if tls.is_none() {
                tokio::spawn(refuse(tcp));
            }
            continue;
        };
        let (router, tls, stopping, open) = (router.clone(), tls.clone(), stopping.clone(), open.clone());
        tokio::spawn(async move {
            handle(tcp, slot, peer, tls, router, limits, stopping).await;
            drop(open);
        });
    }
    drop(listener);
    drop(stop);
    drop(open);
    finished.closed().await;
}

/// Takes a connection through its TLS handshake, if any, and serves it.
async fn handle(
    tcp: TcpStream,
    slot: OwnedSemaphorePermit,
    peer: SocketAddr,
    tls: Option<TlsAcceptor>,
    router: Router,
    limits: HttpLimits,
    mut stopping: watch::Receiver<()>,
) {
    let Some(acceptor) = tls else {
        return serve_connection(Counted::new(tcp, slot), peer, router, limits, stopping).await;
    };
    let handshake = tokio::select! {
        done = tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => done,
        // A stopping server does not wait for handshakes in progress.
        _ = stopping.changed() => return,
    };
    match handshake {
        Ok(Ok(io)) => serve_connection(Counted::new(io, slot), peer, router, limits, stopping).await,
        Ok(Err(e)) => tracing::debug!(%peer, error = %e, "TLS handshake failed"),
        Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
    }
}

/// Serves one connection's requests, and its upgrade if it asks for one, until it closes or
/// the server stops.
async fn serve_connection<T>(io: Counted<T>, peer: SocketAddr, router: Router, limits: HttpLimits, mut stopping: watch::Receiver<()>)
where
    T: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        router.clone().oneshot(request)
    });
    let connection =
        http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).serve_connection(TokioIo::new(io), service).with_upgrades();
    let mut connection = pin!(connection);
    tokio::select! {
        _ = connection.as_mut() => {}
        _ = stopping.changed() => {
            connection.as_mut().graceful_shutdown();
            let _ = connection.await;
        }
    }
}

/// Tells a connection over the cap so, briefly, and closes it.
async fn refuse(mut io: impl AsyncWrite + Unpin) {
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        io.write_all(TOO_MANY).await?;
        io.shutdown().await
    })
    .await;
}

/// A connection holding its slot: the slot is freed when the connection is dropped, which for
/// an upgraded one (a charger's WebSocket) is when the WebSocket closes.
struct Counted<T> {
    // Fields drop in order: the slot is free before the socket closes, so a client that saw
    // the close finds it free.
    _slot: OwnedSemaphorePermit,
    io: T,
}

impl<T> Counted<T> {
    fn new(io: T, slot: OwnedSemaphorePermit) -> Counted<T> {
        metrics::gauge!("joule_http_connections").increment(1);
        Counted { _slot: slot, io }
    }
}

impl<T> Drop for Counted<T> {
    fn drop(&mut self) {
        metrics::gauge!("joule_http_connections").decrement(1);
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for Counted<T> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for Counted<T> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_write_vectored(mut self: Pin<&mut Self>, cx: &mut Context<'_>, bufs: &[io::IoSlice<'_>]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}
