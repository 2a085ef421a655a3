//! The connections a server accepts, held to account.
//!
//! * **How many.** Each accepted connection holds a permit of one
//!   semaphore of `max_connections` permits until it is dropped (closed by
//!   either side). The accept loop takes a permit *before* it accepts, so
//!   at the limit the server simply stops accepting: further connections
//!   wait in the kernel's listen backlog and are served, in order, as
//!   permits come back. Nothing is refused and no task is spent on them.
//! * **Silent connections.** A connection that sends nothing would hold its
//!   permit forever (hyper waits for the HTTP/2 preface without a deadline),
//!   so a connection must deliver its first [`HANDSHAKE_BYTES`] bytes within
//!   the handshake timeout or its reads fail and hyper closes it. That is
//!   the HTTP/2 client preface, and less than any TLS ClientHello, so a
//!   client that means to talk always passes.
//! * **Nagle.** TCP_NODELAY is set: tonic sets it only on listeners it
//!   binds itself, and without it a small reply waits ~40 ms for the
//!   client's delayed ACK.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::transport::server::{Connected, TcpConnectInfo};

use crate::ConnectionLimits;

/// Bytes a new connection must send within the handshake timeout: the
/// length of the HTTP/2 client preface (`PRI * HTTP/2.0…`).
const HANDSHAKE_BYTES: usize = 24;

/// How long the accept loop pauses after an accept error (e.g. out of file
/// descriptors), which would otherwise repeat at once.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(50);

/// The connections of `listener`, at most `limits.max_connections` at once.
pub(crate) fn incoming(
    listener: TcpListener,
    limits: &ConnectionLimits,
) -> impl tokio_stream::Stream<Item = io::Result<Connection>> + Send + 'static {
    let permits = Arc::new(Semaphore::new(limits.max_connections.get()));
    let handshake_timeout = limits.handshake_timeout;
    futures_util::stream::unfold((listener, permits), move |(listener, permits)| async move {
        // The semaphore is never closed.
        let permit = Arc::clone(&permits).acquire_owned().await.ok()?;
        let accepted = match listener.accept().await {
            Ok((stream, _)) => {
                if let Err(error) = stream.set_nodelay(true) {
                    tracing::debug!(%error, "Could not set TCP_NODELAY.");
                }
                Ok(Connection::new(stream, permit, handshake_timeout))
            }
            Err(error) => {
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                Err(error)
            }
        };
        Some((accepted, (listener, permits)))
    })
}

/// An accepted TCP connection holding its permit.
#[derive(Debug)]
pub(crate) struct Connection {
    stream: TcpStream,
    _permit: OwnedSemaphorePermit,
    /// Until [`HANDSHAKE_BYTES`] have arrived: when the peer must have sent them.
    handshake: Option<Pin<Box<tokio::time::Sleep>>>,
    /// Handshake bytes still expected.
    awaiting: usize,
}

impl Connection {
    fn new(stream: TcpStream, permit: OwnedSemaphorePermit, handshake_timeout: Option<Duration>) -> Self {
        let handshake = handshake_timeout.map(|timeout| Box::pin(tokio::time::sleep(timeout)));
        Self { stream, _permit: permit, handshake, awaiting: HANDSHAKE_BYTES }
    }
}

impl AsyncRead for Connection {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let this = &mut *self;
        let before = buf.filled().len();
        let read = Pin::new(&mut this.stream).poll_read(cx, buf);
        if let Some(deadline) = &mut this.handshake {
            this.awaiting = this.awaiting.saturating_sub(buf.filled().len() - before);
            if this.awaiting == 0 {
                this.handshake = None;
            } else if read.is_pending() && deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the peer did not start talking within the handshake timeout",
                )));
            }
        }
        read
    }
}

impl AsyncWrite for Connection {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.stream).poll_shutdown(cx)
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.stream.connect_info()
    }
}
