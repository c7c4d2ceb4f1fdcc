//! The demo receiver: `POST /webhook` behind the verifying layer. For each
//! event the handler receives it prints exactly one line of JSON to stdout,
//! `{"id": "<event id>", "event": "<event type>", "payload": <the
//! payload>}`; logs go to stderr, in colour only when stderr is a terminal.
//!
//! Shared by `tower-webhook listen` and `examples/receiver.rs`: neither
//! reads its settings here, each passes them in [`Settings`].

use std::error::Error;
use std::io::{IsTerminal, Write};
use std::net::SocketAddr;
use std::time::Duration;

use axum::{Router, http::StatusCode};
use serde_json::{Value, json};
#[cfg(feature = "salesforce")]
use tower_webhook::scheme::OutboundMessage;
use tower_webhook::scheme::{AnyScheme, Scheme};
use tower_webhook::{Verified, WebhookLayer, endpoint};
use tracing_subscriber::EnvFilter;

/// What the receiver runs with.
pub struct Settings {
    /// The sender's scheme.
    pub scheme: AnyScheme,
    /// Accepted timestamp distance, both directions.
    pub tolerance: Duration,
    /// The body limit in bytes.
    pub max_body: usize,
    /// Share dedup between replicas through this Redis (feature `redis`).
    pub redis_url: Option<String>,
    /// Dedup in this PostgreSQL, each event written to `webhook_events` in
    /// the transaction that commits it (feature `postgres`; takes the place
    /// of `redis_url`).
    pub database_url: Option<String>,
}

/// Logs to stderr at `info` (or `RUST_LOG`), plain text when stderr is
/// not a terminal (a file, a pipe): no colour codes in captured logs.
pub fn init_logs() {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
}

/// Binds the listening socket (port 0: any free port).
pub async fn bind(addr: &str) -> Result<tokio::net::TcpListener, Box<dyn Error>> {
    tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| format!("cannot listen on {addr}: {e}").into())
}

/// The URL the receiver answers on, for a listener bound to `addr`.
pub fn webhook_url(addr: SocketAddr) -> String {
    format!("http://{addr}/webhook")
}

/// Serves `POST /webhook` (and the sender's handshakes, any method) on
/// `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    settings: Settings,
) -> Result<(), Box<dyn Error>> {
    let scheme_name = settings.scheme.name();
    let layer = WebhookLayer::new(settings.scheme)
        .tolerance(settings.tolerance)
        .max_body(settings.max_body)
        // Every body in flight shares 64 MiB; a body not in after 30 s
        // gets 408 (these are the defaults, spelled out).
        .max_buffered(64 * 1024 * 1024)
        .body_timeout(Some(Duration::from_secs(30)));
    #[cfg(feature = "redis")]
    let layer = match (&settings.redis_url, &settings.database_url) {
        (Some(url), None) => layer.dedup(
            tower_webhook::dedup::RedisStore::connect(url)
                .await
                .map_err(|e| format!("the Redis URL: {e}"))?,
        ),
        _ => layer,
    };
    #[cfg(not(feature = "redis"))]
    if settings.redis_url.is_some() {
        return Err(
            "a Redis URL is set, but this build lacks the `redis` feature \
             (cargo install tower-webhook --features cli,redis; \
             cargo run --example receiver --features redis)"
                .into(),
        );
    }
    // `endpoint`: the route gets its own layer, for every method (GET
    // handshakes included).
    let app = match (scheme_name, settings.database_url) {
        (_, Some(url)) => database_app(layer, &url).await?,
        // XML, read into its own type; the layer answers the acknowledgement.
        #[cfg(feature = "salesforce")]
        ("salesforce", None) => Router::new().route("/webhook", endpoint(layer, handle_salesforce)),
        _ => Router::new().route("/webhook", endpoint(layer, handle)),
    };
    tracing::info!(
        addr = %listener.local_addr()?,
        scheme = %scheme_name,
        "receiving webhooks on POST /webhook"
    );
    axum::serve(listener, app).await?;
    Ok(())
}

async fn handle(Verified(payload, delivery): Verified<Value>) -> StatusCode {
    // The handler runs inside the delivery's `webhook` span: this line
    // carries the scheme and event id without adding them by hand.
    tracing::info!("handling");
    let event = delivery.event().map(|e| e.name);
    let line = json!({ "id": delivery.id, "event": event, "payload": payload });
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        Ok(()) => StatusCode::NO_CONTENT,
        // Not recorded: answer an error so the sender retries.
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// One line per outbound message: its notification ids and its fields (the
/// `SessionId` is never serialized).
#[cfg(feature = "salesforce")]
async fn handle_salesforce(Verified(message, _): Verified<OutboundMessage>) -> StatusCode {
    let ids: Vec<&str> = message.notification_ids().collect();
    let line = json!({ "id": ids, "payload": message });
    let mut out = std::io::stdout().lock();
    match writeln!(out, "{line}").and_then(|()| out.flush()) {
        // Any 2xx: the layer answers Salesforce's acknowledgement.
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// A database URL: the dedup store in PostgreSQL, and a handler that
/// writes each event into `webhook_events` and commits the delivery in the
/// same transaction.
#[cfg(feature = "postgres")]
async fn database_app(layer: WebhookLayer<AnyScheme>, url: &str) -> Result<Router, Box<dyn Error>> {
    use tower_webhook::dedup::PostgresStore;
    let store = PostgresStore::connect(url)
        .await
        .map_err(|e| format!("the database URL: {e}"))?;
    store.migrate().await?;
    let db = store.pool().clone();
    sqlx::query(
        "CREATE TABLE IF NOT EXISTS webhook_events (\
         event_id text, payload jsonb NOT NULL, received_at timestamptz NOT NULL DEFAULT now())",
    )
    .execute(&db)
    .await?;
    Ok(Router::new()
        .route(
            "/webhook",
            endpoint(layer.dedup(store), handle_in_transaction),
        )
        .with_state(db))
}

#[cfg(not(feature = "postgres"))]
async fn database_app(_: WebhookLayer<AnyScheme>, _: &str) -> Result<Router, Box<dyn Error>> {
    Err(
        "a database URL is set, but this build lacks the `postgres` feature \
         (cargo install tower-webhook --features cli,postgres; \
         cargo run --example receiver --features postgres)"
            .into(),
    )
}

#[cfg(feature = "postgres")]
async fn handle_in_transaction(
    axum::extract::State(db): axum::extract::State<sqlx::PgPool>,
    commit: tower_webhook::dedup::TxCommit,
    Verified(payload, delivery): Verified<Value>,
) -> StatusCode {
    let stored = async {
        let mut tx = db.begin().await?;
        sqlx::query("INSERT INTO webhook_events (event_id, payload) VALUES ($1, $2::jsonb)")
            .bind(delivery.id.clone())
            .bind(payload.to_string())
            .execute(&mut *tx)
            .await?;
        commit.commit_in(&mut tx).await?;
        tx.commit().await?;
        Ok::<_, Box<dyn Error + Send + Sync>>(())
    };
    match stored.await {
        Ok(()) => handle(Verified(payload, delivery)).await,
        Err(e) => {
            // Rolled back: the layer releases the delivery and the sender retries.
            tracing::warn!(error = %e, "event not stored");
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}
