//! The loopback load-test server: an axum app whose handler does nothing,
//! with or without the layer. Listens on 127.0.0.1 only, on one thread.
//!
//! `bench_server bare|bare-body|layer|layer-nostore|layer-redis <port>`;
//! `bare` answers without reading the body, `bare-body` reads it and parses
//! the same `Event` the layer hands over (what a handler without the layer
//! does anyway); `layer-redis` uses the Redis at `REDIS_URL` (default
//! `redis://127.0.0.1:6379`) as dedup store.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use axum::routing::post;
use bench_peers::{Event, SECRET};
use tower_webhook::dedup::{MemoryStore, RedisStore};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::{Verified, WebhookLayer, endpoint};

async fn bare() -> StatusCode {
    StatusCode::NO_CONTENT
}

async fn parsed(body: bytes::Bytes) -> StatusCode {
    match serde_json::from_slice::<Event>(&body) {
        Ok(event) => {
            std::hint::black_box(&event);
            StatusCode::NO_CONTENT
        }
        Err(_) => StatusCode::BAD_REQUEST,
    }
}

async fn typed(Verified(event, _): Verified<Event>) -> StatusCode {
    std::hint::black_box(&event);
    StatusCode::NO_CONTENT
}

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "bare".into());
    let port: u16 = args.next().and_then(|p| p.parse().ok()).unwrap_or(3999);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let layer = WebhookLayer::new(StandardWebhooks::new(SECRET).unwrap())
            // The requests are signed before the run starts.
            .tolerance(Duration::from_secs(3600));
        let app = match mode.as_str() {
            "bare" => Router::new().route("/webhook", post(bare)),
            "bare-body" => Router::new().route("/webhook", post(parsed)),
            "layer" => Router::new().route(
                "/webhook",
                // Sized for the run: every request is a fresh id.
                endpoint(
                    layer.dedup(MemoryStore::builder().capacity(4_000_000).build()),
                    typed,
                ),
            ),
            // The layer without a dedup store: its verification and typed
            // payload alone.
            "layer-nostore" => {
                Router::new().route("/webhook", endpoint(layer.without_dedup(), typed))
            }
            "layer-redis" => {
                let url =
                    std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379".into());
                let store = RedisStore::connect(&url).await.unwrap();
                Router::new().route("/webhook", endpoint(layer.dedup(store), typed))
            }
            other => panic!("unknown mode {other}"),
        };
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        eprintln!("bench_server {mode} listening on 127.0.0.1:{port}");
        axum::serve(listener, app).await.unwrap();
    });
}
