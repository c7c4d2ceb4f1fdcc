//! The demo receiver: `POST /webhook` behind the verifying layer.
//!
//! ```text
//! cargo run --example receiver
//! ```
//!
//! Environment: `WEBHOOK_BIND` (default `127.0.0.1:3000`), `WEBHOOK_SCHEME`
//! (default `standard`), `WEBHOOK_SECRET` (default: the published development
//! secret, with a warning), `WEBHOOK_TOLERANCE_SECS` (300), `WEBHOOK_MAX_BODY`
//! (1048576), `WEBHOOK_PUBLIC_URL` (for schemes that sign the URL),
//! `WEBHOOK_VERIFY_TOKEN` (for `meta`'s verification request),
//! `WEBHOOK_REDIS_URL` (share dedup between replicas; build with `--features redis`),
//! `WEBHOOK_DATABASE_URL` (dedup in PostgreSQL, and each event written to the
//! table `webhook_events` in the same transaction as its dedup record: exactly
//! once, see it with `psql -c 'SELECT * FROM webhook_events'`; build with
//! `--features postgres`; it takes the place of `WEBHOOK_REDIS_URL`).
//!
//! `WEBHOOK_SCHEME=discord` (build with `--features discord`) takes the
//! application's hex public key as `WEBHOOK_SECRET` and answers Discord's
//! `PING`s itself, once their signature verified.
//!
//! `WEBHOOK_SCHEME=salesforce` (build with `--features salesforce`) takes
//! the allowed `OrganizationId`s, comma-separated, as `WEBHOOK_SECRET`
//! (Salesforce signs nothing: put the receiver behind TLS that requires
//! Salesforce's client certificate), hands the handler the typed
//! `OutboundMessage`, and answers Salesforce's SOAP acknowledgement. Its
//! line on stdout is `{"id": [<notification ids>], "payload": <the message>}`.
//!
//! For each event the handler receives it prints exactly one line of JSON to
//! stdout, `{"id": "<event id>", "event": "<event type>", "payload": <the
//! payload>}`; logs go to stderr.

#[path = "common/mod.rs"]
mod common;

use std::error::Error;
use std::io::Write;
use std::time::Duration;

use axum::{Router, http::StatusCode};
use serde_json::{Value, json};
#[cfg(feature = "salesforce")]
use tower_webhook::scheme::OutboundMessage;
use tower_webhook::{Verified, WebhookLayer, endpoint};
use tracing_subscriber::EnvFilter;

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

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .init();
    let config = common::Config::from_env()?;
    let layer = WebhookLayer::new(config.scheme()?)
        .tolerance(config.tolerance)
        .max_body(config.max_body)
        // Every body in flight shares 64 MiB; a body not in after 30 s
        // gets 408 (these are the defaults, spelled out).
        .max_buffered(64 * 1024 * 1024)
        .body_timeout(Some(Duration::from_secs(30)));
    // WEBHOOK_REDIS_URL: share the dedup store between replicas.
    #[cfg(feature = "redis")]
    let layer = match &config.redis_url {
        Some(url) => layer.dedup(
            tower_webhook::dedup::RedisStore::connect(url)
                .await
                .map_err(|e| format!("WEBHOOK_REDIS_URL: {e}"))?,
        ),
        None => layer,
    };
    #[cfg(not(feature = "redis"))]
    if config.redis_url.is_some() {
        return Err(
            "WEBHOOK_REDIS_URL is set, but this build lacks the `redis` feature \
                    (cargo run --example receiver --features redis)"
                .into(),
        );
    }
    // `endpoint`: the route gets its own layer, for every method (GET
    // handshakes included).
    let database_url = std::env::var("WEBHOOK_DATABASE_URL").ok();
    let app = match (config.scheme_name.trim(), database_url) {
        (_, Some(url)) => database_app(layer, &url).await?,
        // XML, read into its own type; the layer answers the acknowledgement.
        #[cfg(feature = "salesforce")]
        ("salesforce", None) => Router::new().route("/webhook", endpoint(layer, handle_salesforce)),
        _ => Router::new().route("/webhook", endpoint(layer, handle)),
    };
    let listener = tokio::net::TcpListener::bind(&config.bind)
        .await
        .map_err(|e| format!("cannot bind WEBHOOK_BIND={}: {e}", config.bind))?;
    tracing::info!(
        addr = %listener.local_addr()?,
        scheme = %config.scheme_name,
        "receiving webhooks on POST /webhook"
    );
    axum::serve(listener, app).await?;
    Ok(())
}

/// `WEBHOOK_DATABASE_URL`: the dedup store in PostgreSQL, and a handler that
/// writes each event into `webhook_events` and commits the delivery in the
/// same transaction.
#[cfg(feature = "postgres")]
async fn database_app(
    layer: WebhookLayer<tower_webhook::scheme::AnyScheme>,
    url: &str,
) -> Result<Router, Box<dyn Error>> {
    use tower_webhook::dedup::PostgresStore;
    let store = PostgresStore::connect(url)
        .await
        .map_err(|e| format!("WEBHOOK_DATABASE_URL: {e}"))?;
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
async fn database_app(
    _: WebhookLayer<tower_webhook::scheme::AnyScheme>,
    _: &str,
) -> Result<Router, Box<dyn Error>> {
    Err(
        "WEBHOOK_DATABASE_URL is set, but this build lacks the `postgres` feature \
         (cargo run --example receiver --features postgres)"
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
