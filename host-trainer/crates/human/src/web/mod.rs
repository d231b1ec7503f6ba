//! The local web UI for people: `sonomask review` (accept or reject weak
//! labels with one key each) and `sonomask annotate` (drag the handles of a
//! fan or rectangle to draw an HQ label).
//!
//! One small axum server per session, bound to loopback by default. What it
//! guards against, and how:
//!
//! - **Other users and web pages on the same machine**: a random 256-bit
//!   session token is printed with the URL; every API call and the page
//!   itself need it (`X-Sonomask-Token` header or `token` query parameter:
//!   `<img>` cannot send headers). Missing → 401, wrong → 403. A foreign web
//!   page cannot read the token, so DNS rebinding and cross-site requests get
//!   nothing. A browser's call from a page of another origin (its `Origin`
//!   is not this server) is refused with 403 even with the token, in case the
//!   URL leaked.
//! - **Path traversal**: nothing is served from a path taken from the
//!   request. Clip ids must be in the dataset's manifest (which only allows
//!   `[A-Za-z0-9_-]`), frame numbers must be below the clip's frame count,
//!   and the only other files are the embedded assets, looked up by name in a
//!   fixed table.
//! - **Large or malformed bodies**: bodies are limited to [`BODY_LIMIT`]
//!   bytes (413); bad JSON or values are a 4xx with a JSON `{"error": …}`
//!   message. Handlers return errors, they do not panic; blocking work runs on
//!   the blocking pool and a failure there is a 500, not a dead server.
//! - **Lost decisions**: a decision is appended to the journal and fsynced
//!   before the response is sent, and the page advances only on that
//!   response; a `kill -9` loses nothing the page showed as saved. A client
//!   that lost a reply may send the call again with the same `request` id;
//!   it is not written twice ([`review`]).
//!
//! The page is plain HTML/JS/CSS embedded in the binary ([`assets`]): no
//! build step, nothing fetched from elsewhere.

pub mod annotate;
pub mod assets;
mod auth;
mod error;
pub mod images;
pub mod review;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;

pub use auth::Token;
pub use error::ApiError;

/// Largest accepted request body. A decision is ~100 bytes, a drawing of
/// four regions ~1 KiB.
pub const BODY_LIMIT: usize = 16 * 1024;

/// Default address: loopback, a free port.
pub const DEFAULT_BIND: &str = "127.0.0.1:0";

/// Errors starting or running a server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("cannot listen on {addr}")]
    Bind {
        addr: SocketAddr,
        #[source]
        source: std::io::Error,
    },
    #[error("web server")]
    Io(#[from] std::io::Error),
}

/// A bound, not yet serving, server: its URL is known (so it can be printed)
/// before requests are taken.
pub struct Bound {
    listener: tokio::net::TcpListener,
    router: Router,
    url: String,
    runtime: tokio::runtime::Runtime,
}

impl Bound {
    /// The page's address, token included.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Serves until the process is interrupted (Ctrl-C).
    pub fn serve(self) -> Result<(), ServeError> {
        let Bound {
            listener,
            router,
            runtime,
            ..
        } = self;
        runtime.block_on(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async {
                    let _ = tokio::signal::ctrl_c().await;
                })
                .await
        })?;
        Ok(())
    }
}

/// Binds `addr` and prepares `router` (already carrying its state) with the
/// body limit. A non-loopback `addr` is allowed (the caller warns): the
/// token still guards every call, but the traffic is plain HTTP.
pub fn bind(addr: SocketAddr, router: Router, token: &Token) -> Result<Bound, ServeError> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(addr))
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local = listener.local_addr()?;
    let host = match local {
        SocketAddr::V4(a) => a.ip().to_string(),
        SocketAddr::V6(a) => format!("[{}]", a.ip()),
    };
    let url = format!("http://{host}:{}/?token={}", local.port(), token.as_str());
    Ok(Bound {
        listener,
        router: with_limits(router),
        url,
        runtime,
    })
}

/// The body limit every router gets (also used by the in-process tests).
pub fn with_limits(router: Router) -> Router {
    router.layer(DefaultBodyLimit::max(BODY_LIMIT))
}

/// Runs blocking work (file reads, PNG encoding, fsync) off the async
/// workers; a panic there becomes a 500 instead of a dropped connection.
pub(crate) async fn blocking<T, F>(f: F) -> Result<T, ApiError>
where
    F: FnOnce() -> Result<T, ApiError> + Send + 'static,
    T: Send + 'static,
{
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
}

/// Shared by both UIs: the session token and the dataset.
pub struct Common {
    pub token: Token,
    pub data: sonomask_data::dataset::Dataset,
    pub images: images::ImageCache,
}

impl Common {
    pub fn new(token: Token, data: sonomask_data::dataset::Dataset) -> Arc<Self> {
        Arc::new(Self {
            token,
            data,
            images: images::ImageCache::new(24),
        })
    }
}

#[cfg(test)]
mod tests;
