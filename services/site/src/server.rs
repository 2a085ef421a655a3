//! The site's HTTP server: hyper's connection builder in an accept loop of
//! our own, because `axum::serve` bounds neither how long a request head may
//! take nor how long a connection may sit silent, nor how many are open.
//!
//! * **Header read timeout**: hyper's HTTP/1 timer runs from the moment it
//!   waits for a request head until the head is complete, so a client that
//!   sends "GET / HTTP/1.1\r\nHost: x\r\n" and stops (or trickles a byte at a
//!   time) is cut off. On a kept-alive connection hyper starts that timer as
//!   soon as it waits for the next request, so it also bounds the quiet
//!   between requests. Before hyper knows the protocol (it reads the first
//!   bytes to tell HTTP/1 from HTTP/2 prior knowledge), no timer of its own
//!   runs; so a connection whose first request head is not complete within
//!   the same timeout of being accepted is closed here.
//! * **Idle timeout**: a connection on which no byte moves in either
//!   direction for this long is closed, whatever state it is in: an HTTP/2
//!   connection with nothing to do, a client that stopped reading a
//!   response, a handler that went quiet. Every read and write on the socket
//!   counts as activity; nothing else does.
//! * **Connection bound**: each connection holds a slot from a semaphore
//!   while it lives; with none free the loop stops accepting, and newcomers
//!   wait in the kernel's listen backlog instead of taking file descriptors.
//! * **Shutdown**: the loop stops accepting, every connection is told to
//!   finish its request in flight and close, and the server returns once the
//!   last one has; the idle timeout bounds how long a stalled client can
//!   delay that.

use std::convert::Infallible;
use std::future::Future;
use std::io;
use std::num::NonZeroUsize;
use std::pin::{Pin, pin};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::http::Request;
use axum::response::Response;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};

use crate::SiteError;

/// How the site's HTTP server treats connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServerLimits {
    /// How long a client may take to send a complete request head, counted
    /// from when the server starts waiting for it (see the module docs);
    /// `None`: unbounded.
    pub header_read_timeout: Option<Duration>,
    /// A connection on which no byte moves in either direction for this
    /// long is closed; `None`: never.
    pub idle_timeout: Option<Duration>,
    /// Connections open at once; further ones wait to be accepted.
    pub max_connections: NonZeroUsize,
}

impl Default for ServerLimits {
    /// 10 s for a request head (ample for any real client, short for a
    /// slowloris), 60 s of silence, 1024 connections (far below the usual
    /// descriptor limit, far above what a 2-core site serves at once).
    fn default() -> Self {
        ServerLimits {
            header_read_timeout: Some(Duration::from_secs(10)),
            idle_timeout: Some(Duration::from_secs(60)),
            max_connections: NonZeroUsize::new(1024).expect("not zero"),
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves,
/// then lets the open connections finish.
pub(crate) async fn run<F>(
    router: Router,
    limits: ServerLimits,
    listener: TcpListener,
    shutdown: F,
) -> Result<(), SiteError>
where
    F: Future<Output = ()> + Send + 'static,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new()).header_read_timeout(limits.header_read_timeout);
    let builder = Arc::new(builder);
    let slots = Arc::new(Semaphore::new(limits.max_connections.get()));
    // Each connection holds a receiver: a value sent asks them to finish,
    // and the sender sees when the last one is gone.
    let (stop, _) = watch::channel(());
    let mut shutdown = pin!(shutdown);
    let mut full = false;
    loop {
        let slot = match slots.clone().try_acquire_owned() {
            Ok(slot) => {
                full = false;
                slot
            }
            Err(_) => {
                if !full {
                    tracing::warn!(
                        max_connections = limits.max_connections,
                        "Site has every connection slot taken; new connections wait."
                    );
                    full = true;
                }
                tokio::select! {
                    slot = slots.clone().acquire_owned() => slot.expect("the slots are never closed"),
                    () = &mut shutdown => break,
                }
            }
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    accept_failed(&error).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        // Pages go out in one write or a few; do not hold them back.
        let _ = stream.set_nodelay(true);
        tokio::spawn(connection(builder.clone(), stream, router.clone(), limits, stop.subscribe(), slot));
    }
    drop(listener);
    let open = stop.receiver_count();
    if open > 0 {
        tracing::info!(connections = open, "Site finishing its open connections.");
    }
    let _ = stop.send(());
    stop.closed().await;
    Ok(())
}

/// Connection-level errors are the client's business; anything else (out
/// of file descriptors) would spin, so the loop waits a second.
async fn accept_failed(error: &io::Error) {
    if matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused | io::ErrorKind::ConnectionAborted | io::ErrorKind::ConnectionReset
    ) {
        return;
    }
    tracing::error!(error = %error, "Site could not accept a connection.");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// Serves one connection until it ends, falls silent, takes too long over
/// its first request head, or is told to stop.
async fn connection(
    builder: Arc<auto::Builder<TokioExecutor>>,
    stream: TcpStream,
    router: Router,
    limits: ServerLimits,
    mut stop: watch::Receiver<()>,
    _slot: OwnedSemaphorePermit,
) {
    let activity = Arc::new(Activity::new());
    let io = TokioIo::new(Watched { stream, activity: activity.clone() });
    let service = TowerToHyperService::new(Counted { router, activity: activity.clone() });
    let mut conn = pin!(builder.serve_connection(io, service));
    let mut silent = pin!(silent_for(&activity, limits.idle_timeout));
    let mut no_first_request = pin!(no_first_request(&activity, limits.header_read_timeout));
    let mut stopping = false;
    loop {
        tokio::select! {
            result = conn.as_mut() => {
                if let Err(error) = result {
                    tracing::debug!(error = %error, "Site connection ended with an error.");
                }
                return;
            }
            () = &mut silent => {
                tracing::debug!(idle = ?limits.idle_timeout, "Site closed a silent connection.");
                return;
            }
            () = &mut no_first_request => {
                tracing::debug!(timeout = ?limits.header_read_timeout, "Site closed a connection that sent no request.");
                return;
            }
            _ = stop.changed(), if !stopping => {
                stopping = true;
                conn.as_mut().graceful_shutdown();
            }
        }
    }
}

/// What a connection has done: when a byte last moved, how many requests
/// reached the router.
#[derive(Debug)]
struct Activity {
    opened: Instant,
    /// Milliseconds after `opened` of the last read or write.
    last: AtomicU64,
    requests: AtomicU64,
}

impl Activity {
    fn new() -> Activity {
        Activity { opened: Instant::now(), last: AtomicU64::new(0), requests: AtomicU64::new(0) }
    }

    fn touch(&self) {
        let millis = u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX);
        self.last.fetch_max(millis, Ordering::Relaxed);
    }

    /// How long no byte has moved.
    fn quiet(&self) -> Duration {
        self.opened.elapsed().saturating_sub(Duration::from_millis(self.last.load(Ordering::Relaxed)))
    }
}

/// Resolves once no byte has moved for `timeout`; never without one.
async fn silent_for(activity: &Activity, timeout: Option<Duration>) {
    let Some(timeout) = timeout else { return std::future::pending().await };
    loop {
        let quiet = activity.quiet();
        if quiet >= timeout {
            return;
        }
        tokio::time::sleep(timeout - quiet).await;
    }
}

/// Resolves when no request head was complete `timeout` after the
/// connection opened; never otherwise.
async fn no_first_request(activity: &Activity, timeout: Option<Duration>) {
    let Some(timeout) = timeout else { return std::future::pending().await };
    tokio::time::sleep(timeout).await;
    if activity.requests.load(Ordering::Relaxed) == 0 {
        return;
    }
    std::future::pending::<()>().await;
}

/// The socket, noting every byte that moves.
#[derive(Debug)]
struct Watched {
    stream: TcpStream,
    activity: Arc<Activity>,
}

impl AsyncRead for Watched {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let poll = Pin::new(&mut this.stream).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            this.activity.touch();
        }
        poll
    }
}

impl AsyncWrite for Watched {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        poll
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let poll = Pin::new(&mut this.stream).poll_write_vectored(cx, data);
        if matches!(poll, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.touch();
        }
        poll
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// The router, counting the requests of one connection.
#[derive(Debug, Clone)]
struct Counted {
    router: Router,
    activity: Arc<Activity>,
}

impl<B> tower_service::Service<Request<B>> for Counted
where
    Router: tower_service::Service<Request<B>, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = <Router as tower_service::Service<Request<B>>>::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        tower_service::Service::<Request<B>>::poll_ready(&mut self.router, cx)
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        self.activity.requests.fetch_add(1, Ordering::Relaxed);
        self.router.call(request)
    }
}
