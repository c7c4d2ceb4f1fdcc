//! The same layer in a plain tower `ServiceBuilder`, served by hyper, without axum.
//!
//! ```text
//! cargo run --example tower_stack
//! ```
//!
//! Listens on `WEBHOOK_BIND` (default `127.0.0.1:3000`) and answers every path.

#[path = "common/mod.rs"]
mod common;

use std::convert::Infallible;
use std::error::Error;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Request, Response, StatusCode};
use http_body_util::Full;
use hyper::server::conn::http1::Builder;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::sync::Semaphore;
use tower::ServiceBuilder;
use tower_webhook::{Verified, WebhookLayer};

async fn handle(request: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, Infallible> {
    let (head, _body) = request.into_parts();
    // The payload type is named here, where it is used.
    let status = match Verified::<serde_json::Value>::from_parts(&head) {
        Ok(Verified(payload, delivery)) => {
            println!(
                "{}",
                serde_json::json!({ "id": delivery.id, "payload": payload })
            );
            StatusCode::NO_CONTENT
        }
        Err(e) => e.status(),
    };
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = status;
    Ok(response)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    let config = common::Config::from_env()?;
    let service = ServiceBuilder::new()
        // A last resort for the whole request, handler included.
        .timeout(Duration::from_secs(60))
        .layer(
            WebhookLayer::new(config.scheme()?)
                .tolerance(config.tolerance)
                .max_body(config.max_body)
                // All bodies in flight together, and each body's deadline.
                .max_buffered(64 * 1024 * 1024)
                .body_timeout(Some(Duration::from_secs(30))),
        )
        .service_fn(handle);
    let listener = tokio::net::TcpListener::bind(&config.bind).await?;
    eprintln!("listening on {}", listener.local_addr()?);
    // What the layer cannot see: open connections and slow headers.
    let connections = Arc::new(Semaphore::new(1024));
    loop {
        let permit = Arc::clone(&connections).acquire_owned().await?;
        let (stream, _) = listener.accept().await?;
        let service = TowerToHyperService::new(service.clone());
        tokio::spawn(async move {
            if let Err(e) = Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), service)
                .await
            {
                eprintln!("connection error: {e}");
            }
            drop(permit);
        });
    }
}
