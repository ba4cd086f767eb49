//! The accept loop of both plain HTTP and TLS: connection limits and timeouts.
//!
//! Every accepted TCP connection (handshaken with rustls first when serving TLS) is served by
//! hyper's HTTP/1 + HTTP/2 connection builder with upgrades (`WebSockets`). Around it:
//!
//! * a **connection cap** ([`Limits::max_connections`]): a new connection over the cap, or an
//!   accept that fails for lack of file descriptors, first closes the connection that has been
//!   idle (no request in flight) the longest; with none idle, the listener waits for one to
//!   end (new clients wait in the kernel's accept queue). A WebSocket keeps its slot until it
//!   closes and is never closed to make room;
//! * a **header-read timeout**: a connection that has not delivered a complete first request
//!   head in [`Limits::header_read_timeout`] is closed;
//! * an **idle timeout**: a connection with no request in flight for
//!   [`Limits::idle_timeout`] is closed (HTTP/1 keep-alive and HTTP/2 alike).
//!
//! Without these, 400 connections that never sent a byte held 400 descriptors for good, and
//! under a 256 open-file limit the emulator stopped answering until they closed.

use axum::body::Body;
use axum::extract::connect_info::ConnectInfo;
use axum::Router;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use rustls::ServerConfig;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;
use tower::ServiceExt;

use crate::state::Shared;

/// A client that opened TCP but does not finish the TLS handshake in this time is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Connection limits (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Limits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
}

/// One live connection, as the cap and the timeouts see it. Shared by the connection's task
/// and, once upgraded, by its WebSocket task (as a request extension).
#[derive(Debug)]
pub(crate) struct ConnSlot {
    id: u64,
    opened: Instant,
    in_flight: AtomicUsize,
    /// Milliseconds after `opened` of the last request start or end.
    last_change_ms: AtomicU64,
    got_request: AtomicBool,
    /// Set once the connection became a WebSocket: never idle, never evicted.
    upgraded: AtomicBool,
    close: CancellationToken,
    registry: Arc<Registry>,
    _permit: OwnedSemaphorePermit,
}

impl ConnSlot {
    fn now_ms(&self) -> u64 {
        u64::try_from(self.opened.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    fn touch(&self) {
        self.last_change_ms.store(self.now_ms(), Ordering::Relaxed);
    }

    /// The connection now carries a WebSocket: it keeps its slot until the socket ends.
    pub(crate) fn mark_upgraded(&self) {
        self.upgraded.store(true, Ordering::Relaxed);
    }

    /// When this connection became idle, if it is idle.
    fn idle_since(&self) -> Option<Instant> {
        if self.upgraded.load(Ordering::Relaxed) || self.in_flight.load(Ordering::Relaxed) > 0 {
            return None;
        }
        Some(self.opened + Duration::from_millis(self.last_change_ms.load(Ordering::Relaxed)))
    }
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        self.registry.remove(self.id);
    }
}

/// Live connections, for evicting the longest idle one.
#[derive(Debug, Default)]
struct Registry {
    next_id: AtomicU64,
    conns: Mutex<HashMap<u64, std::sync::Weak<ConnSlot>>>,
}

impl Registry {
    fn remove(&self, id: u64) {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .remove(&id);
    }

    fn insert(&self, slot: &Arc<ConnSlot>) {
        self.conns
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .insert(slot.id, Arc::downgrade(slot));
    }

    /// Closes the connection idle the longest; false when none is idle.
    fn evict_idle(&self) -> bool {
        let victim = {
            let conns = self
                .conns
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            conns
                .values()
                .filter_map(std::sync::Weak::upgrade)
                .filter(|c| !c.close.is_cancelled())
                .filter_map(|c| c.idle_since().map(|t| (t, c)))
                .min_by_key(|(t, _)| *t)
                .map(|(_, c)| c)
        };
        match victim {
            Some(c) => {
                tracing::debug!("connection limit reached: closing the longest idle connection");
                c.close.cancel();
                true
            }
            None => false,
        }
    }
}

/// Accepts until `cancel`, then stops accepting, asks every open HTTP connection to finish
/// (idle ones close at once) and waits for them. Upgraded `WebSockets` are the emulator's own
/// tasks and end on `cancel` by themselves.
pub(crate) async fn serve(
    listener: TcpListener,
    tls: Option<Arc<ServerConfig>>,
    app: Router,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) -> std::io::Result<()> {
    let limits = shared.settings.limits;
    let acceptor = tls.map(TlsAcceptor::from);
    let graceful = GracefulShutdown::new();
    let mut builder = auto::Builder::new(TokioExecutor::new());
    // hyper's HTTP/1 header-read timer runs while it waits for a request head, between
    // keep-alive requests too: it is the idle bound of HTTP/1 once a first request came.
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.idle_timeout);
    builder.http2().enable_connect_protocol();
    let semaphore = Arc::new(Semaphore::new(limits.max_connections));
    let registry = Arc::new(Registry::default());
    loop {
        // A slot first: over the cap, make room by closing an idle connection, or wait.
        let permit = match semaphore.clone().try_acquire_owned() {
            Ok(p) => p,
            Err(_) => {
                registry.evict_idle();
                tokio::select! {
                    _ = cancel.cancelled() => break,
                    p = semaphore.clone().acquire_owned() => match p {
                        Ok(p) => p,
                        Err(_) => break,
                    },
                }
            }
        };
        let accepted = tokio::select! {
            _ = cancel.cancelled() => break,
            accepted = listener.accept() => accepted,
        };
        let (tcp, remote) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Per-connection failures (reset before accept) say nothing about the
                // listener. Out of descriptors: close an idle connection, else back off.
                tracing::debug!(error = %e, "accept failed");
                if !is_connection_error(&e) && !registry.evict_idle() {
                    tokio::select! {
                        _ = cancel.cancelled() => break,
                        _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                    }
                } else if !is_connection_error(&e) {
                    // Let the evicted connection's task close its socket.
                    tokio::task::yield_now().await;
                }
                continue;
            }
        };
        // Event frames are small: do not let Nagle hold them back.
        let _ = tcp.set_nodelay(true);
        let slot = Arc::new(ConnSlot {
            id: registry.next_id.fetch_add(1, Ordering::Relaxed),
            opened: Instant::now(),
            in_flight: AtomicUsize::new(0),
            last_change_ms: AtomicU64::new(0),
            got_request: AtomicBool::new(false),
            upgraded: AtomicBool::new(false),
            close: cancel.child_token(),
            registry: registry.clone(),
            _permit: permit,
        });
        registry.insert(&slot);
        let conn = Conn {
            acceptor: acceptor.clone(),
            app: app.clone(),
            shared: shared.clone(),
            builder: builder.clone(),
            limits,
        };
        tokio::spawn(conn.serve(tcp, remote, slot, graceful.watcher()));
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}

/// What each connection task needs from the accept loop.
struct Conn {
    acceptor: Option<TlsAcceptor>,
    app: Router,
    /// For the guest message posts answered without the router (`rest::fast_send`).
    shared: Arc<Shared>,
    builder: auto::Builder<TokioExecutor>,
    limits: Limits,
}

impl Conn {
    /// Serves one accepted connection (after the TLS handshake, when serving TLS) until it
    /// ends, is closed to make room, or the server shuts down.
    async fn serve(
        self,
        tcp: tokio::net::TcpStream,
        remote: SocketAddr,
        slot: Arc<ConnSlot>,
        watcher: hyper_util::server::graceful::Watcher,
    ) {
        let Conn {
            acceptor,
            app,
            shared,
            builder,
            limits,
        } = self;
        let close = slot.close.clone();
        let deadline = slot.opened + limits.header_read_timeout;
        let io = match acceptor {
            None => Io::Plain(tcp),
            Some(acceptor) => {
                let handshake = tokio::select! {
                    _ = close.cancelled() => return,
                    _ = tokio::time::sleep_until(deadline) => return,
                    h = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)) => h,
                };
                match handshake {
                    Ok(Ok(stream)) => Io::Tls(Box::new(stream)),
                    Ok(Err(e)) => {
                        tracing::debug!(%remote, error = %e, "TLS handshake failed");
                        return;
                    }
                    Err(_) => {
                        tracing::debug!(%remote, "TLS handshake timed out");
                        return;
                    }
                }
            }
        };
        let service_slot = slot.clone();
        let service = hyper::service::service_fn(move |req: http::Request<Incoming>| {
            let slot = service_slot.clone();
            slot.got_request.store(true, Ordering::Relaxed);
            slot.in_flight.fetch_add(1, Ordering::Relaxed);
            slot.touch();
            let mut req = req.map(Body::new);
            // The direct answer needs neither extension (the routes' extractors do).
            let fast = crate::rest::fast_send_applies(&shared, &req);
            if fast.is_none() {
                req.extensions_mut().insert(ConnectInfo(remote));
                req.extensions_mut().insert(slot.clone());
            }
            let (app, shared) = (app.clone(), shared.clone());
            async move {
                let out = match fast {
                    Some(member) => Ok(crate::rest::fast_send(&shared, req, member).await),
                    None => app.oneshot(req).await,
                };
                slot.in_flight.fetch_sub(1, Ordering::Relaxed);
                slot.touch();
                out
            }
        });
        match io {
            Io::Plain(tcp) => {
                let c = builder.serve_connection_with_upgrades(TokioIo::new(tcp), service);
                watch_connection(watcher.watch(c), &slot, limits, remote).await;
            }
            Io::Tls(tls) => {
                let c = builder.serve_connection_with_upgrades(TokioIo::new(*tls), service);
                watch_connection(watcher.watch(c), &slot, limits, remote).await;
            }
        }
    }
}

enum Io {
    Plain(tokio::net::TcpStream),
    Tls(Box<tokio_rustls::server::TlsStream<tokio::net::TcpStream>>),
}

/// Runs a connection until it ends, or closes it when it is evicted, when its first request
/// head is late, or when it has been idle too long.
async fn watch_connection<F, E>(conn: F, slot: &ConnSlot, limits: Limits, remote: SocketAddr)
where
    F: std::future::Future<Output = Result<(), E>>,
    E: std::fmt::Display,
{
    tokio::pin!(conn);
    loop {
        let next_check = if !slot.got_request.load(Ordering::Relaxed) {
            slot.opened + limits.header_read_timeout
        } else {
            match slot.idle_since() {
                Some(t) => t + limits.idle_timeout,
                // Busy: look again after a full idle period.
                None => Instant::now() + limits.idle_timeout,
            }
        };
        tokio::select! {
            r = &mut conn => {
                if let Err(e) = r {
                    tracing::trace!(%remote, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = slot.close.cancelled() => return,
            _ = tokio::time::sleep_until(next_check) => {
                if !slot.got_request.load(Ordering::Relaxed) {
                    tracing::debug!(%remote, "no request head within the header-read timeout: closing");
                    return;
                }
                if slot.idle_since().is_some_and(|t| t + limits.idle_timeout <= Instant::now()) {
                    tracing::debug!(%remote, "idle timeout: closing");
                    return;
                }
            }
        }
    }
}

fn is_connection_error(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}
