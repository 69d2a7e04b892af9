//! The HTTP/1.1 server under the API and the OCPP endpoint: hyper with upgrades (WebSockets),
//! a deadline for request headers, and a cap on open connections, WebSockets included.

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
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
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

/// Serves `router` until `shutdown` resolves, then lets the requests in flight finish.
pub async fn serve<L>(mut listener: L, router: Router, limits: HttpLimits, shutdown: impl Future<Output = ()>) -> io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
{
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    // Dropping `stop` tells connections to finish; `finished` resolves when all have.
    let (stop, stopping) = watch::channel(());
    let (finished, open) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    loop {
        let (io, peer) = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            tokio::spawn(refuse(io));
            continue;
        };
        let router = router.clone();
        let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            router.clone().oneshot(request)
        });
        let (mut stopping, open) = (stopping.clone(), open.clone());
        tokio::spawn(async move {
            let io = TokioIo::new(Counted { io, _slot: slot });
            let connection =
                http1::Builder::new().timer(TokioTimer::new()).header_read_timeout(limits.header_timeout).serve_connection(io, service).with_upgrades();
            let mut connection = pin!(connection);
            tokio::select! {
                _ = connection.as_mut() => {}
                _ = stopping.changed() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = connection.await;
                }
            }
            drop(open);
        });
    }
    drop(listener);
    drop(stop);
    drop(open);
    finished.closed().await;
    Ok(())
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
    io: T,
    _slot: OwnedSemaphorePermit,
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
