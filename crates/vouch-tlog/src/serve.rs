//! Read-only HTTP serving of a log (C2SP tlog-tiles paths): `GET /checkpoint` and
//! `GET /tile/...`. [`router`] is public so that `vouch serve` can mount it.

use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::store::TileStore;

/// The router serving the log in `store`.
pub fn router(store: Arc<dyn TileStore>) -> Router {
    Router::new()
        .route("/checkpoint", get(checkpoint))
        .route("/tile/{*path}", get(tile))
        .with_state(store)
}

fn respond(bytes: Vec<u8>, content_type: &'static str, cache: &'static str) -> Response {
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    r
}

/// `GET /checkpoint`: the latest checkpoint (also mounted elsewhere, e.g. Rekor v2 paths).
pub async fn checkpoint(State(store): State<Arc<dyn TileStore>>) -> Response {
    match tokio::task::spawn_blocking(move || store.get("checkpoint")).await {
        Ok(Ok(Some(b))) => respond(b, "text/plain; charset=utf-8", "no-cache"),
        Ok(Ok(None)) => StatusCode::NOT_FOUND.into_response(),
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// `GET /tile/{*path}`: a tile or entry bundle.
pub async fn tile(State(store): State<Arc<dyn TileStore>>, Path(path): Path<String>) -> Response {
    let full = format!("tile/{path}");
    let immutable = !full.contains(".p/");
    match tokio::task::spawn_blocking(move || store.get(&full)).await {
        Ok(Ok(Some(b))) => respond(
            b,
            "application/octet-stream",
            // Full tiles never change; partial tiles are superseded, never rewritten.
            if immutable {
                "public, max-age=31536000, immutable"
            } else {
                "public, max-age=3600"
            },
        ),
        Ok(Ok(None)) => StatusCode::NOT_FOUND.into_response(),
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::InvalidInput => {
            StatusCode::BAD_REQUEST.into_response()
        }
        _ => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
    }
}

/// Serves `store` on `addr` until the process ends, on its own Tokio runtime; `ready` is
/// called with the bound address (useful with port 0).
pub fn serve_blocking(
    store: Arc<dyn TileStore>,
    addr: &str,
    ready: impl FnOnce(std::net::SocketAddr),
) -> std::io::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(addr).await?;
        ready(listener.local_addr()?);
        axum::serve(listener, router(store)).await
    })
}
