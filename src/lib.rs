//! Receive webhooks safely: a tower [`Layer`](tower_layer::Layer) that
//! buffers the body under a hard limit, verifies the sender's signature and
//! timestamp in constant time, deduplicates by event id, and hands the
//! handler a typed, verified payload.
//!
//! # Quickstart (axum)
//!
#![cfg_attr(feature = "axum", doc = "```no_run")]
#![cfg_attr(not(feature = "axum"), doc = "```ignore")]
//! use axum::{http::StatusCode, Router};
//! use serde::Deserialize;
//! use tower_webhook::{endpoint, scheme::StandardWebhooks, Verified, WebhookLayer};
//!
//! #[derive(Deserialize)]
//! struct Event { r#type: String, data: serde_json::Value }
//!
//! async fn handle(Verified(event, delivery): Verified<Event>) -> StatusCode {
//!     // only verified, first-seen deliveries get here, inside their span
//!     tracing::info!(r#type = %event.r#type, "received");
//!     StatusCode::NO_CONTENT
//! }
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let layer = WebhookLayer::new(StandardWebhooks::new(std::env::var("WEBHOOK_SECRET")?)?)
//!     .max_body(256 * 1024)
//!     .tolerance(std::time::Duration::from_secs(300));
//!
//! // `endpoint`: this route, and only it, behind the layer, for every method.
//! let app: Router = Router::new().route("/webhooks/billing", endpoint(layer, handle));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! axum::serve(listener, app).await?;
//! # Ok(()) }
//! ```
//!
//! The README has a two-endpoint app (Stripe and GitHub, Redis, JSON
//! rejections) and a test of an endpoint; both are compiled as doc tests.
//!
//! # The API at a glance
//!
//! | item | what it is |
//! |---|---|
//! | [`WebhookLayer`] | the layer and its builder: body limits, tolerance, dedup store, lease, retention, namespace, clock, rejection hook, log level |
//! | `endpoint` (feature `axum`) | a route's handler behind its own layer, for every method |
//! | [`Webhook`], [`ResponseFuture`], [`WebhookBody`], [`BoxBody`] | the service the layer makes, its future and response bodies |
//! | [`Verified`], [`Delivery`], [`Event`], [`IdKind`] | the payload decoded as the handler asks, and the facts about its delivery (axum extractors with feature `axum`) |
//! | [`VerifiedRejection`] | why `Verified<T>` could not be extracted (400 / 500) |
//! | [`Rejection`], [`RejectionResponse`] | why the layer answered instead of the handler, and what the hook may return; [`scheme::VerifyError`], [`dedup::StoreError`], [`resolver::ResolveError`] are its causes |
//! | [`scheme::Scheme`], [`scheme::Sign`] | how a sender signs: read the head once, verify the body; sign (tests) |
//! | [`scheme::HmacScheme`] | the configurable HMAC engine ([`scheme::HmacScheme::builder`]) for senders without a preset |
//! | [`scheme::StandardWebhooks`], [`scheme::Stripe`], [`scheme::GitHub`], ... | one preset per sender; [`scheme::by_name`] and [`scheme::PRESETS`] from configuration |
//! | `keys::KeyFetcher`, `keys::KeyRequest`, `keys::UrlPolicy`, `keys::HttpsClient`, `keys::CacheSettings`, `keys::CertificateTrust` | (features `published-keys`, `sns`, `paypal`, `ebay`) key discovery for the senders that publish their keys: the URL policy checked before any connection, an HTTPS-only rustls client, a bounded clock-driven cache (single-flight, negative entries, a fetch rate limit), the chain and name of fetched certificates |
//! | `scheme::Ebay`, `scheme::Sns`, `scheme::PayPal` | (features `ebay`, `sns`, `paypal`) the senders whose key a delivery names: fetched, cached, verified again |
//! | [`dedup::DedupStore`] | the reserve / commit / release contract; [`dedup::MemoryStore`] (default), `dedup::RedisStore` (feature `redis`), `dedup::PostgresStore` (feature `postgres`) |
//! | `dedup::TxCommit` | (feature `postgres`) the delivery committed inside the handler's own transaction: exactly-once effects |
//! | [`resolver::Resolver`], [`resolver::TenantKeys`] | per-tenant keys, looked up and cached |
//! | [`secret::Secret`], [`secret::KeyRing`] | secrets and rotation, zeroized, never printed |
//! | [`sign::Signer`] | deliveries signed as the sender does, for your tests |
//! | [`clock::Clock`], [`clock::ManualClock`] | where time comes from; move it in tests instead of sleeping |
//! | [`payload::Decode`], [`payload::Tagged`] | how a verified delivery becomes the handler's type |
//!
//! # What the layer answers
//!
//! | situation | status | handler called | dedup store |
//! |---|---|---|---|
//! | method is not POST (and no handshake of the scheme) | 405 | no | untouched |
//! | an endpoint handshake of the configured sender | the answer the sender expects | no | untouched |
//! | `Content-Length` over the limit, or the body grows over it | 413 | no | untouched |
//! | body stream errors / client goes away | 400 | no | untouched |
//! | body not complete within the body timeout (`.body_timeout`, 30 s) | 408 | no | untouched |
//! | bodies in flight over the budget (`.max_buffered`, 64 MiB) | 503 + `Retry-After` | no | untouched |
//! | signature header missing or malformed | 401 | no | untouched |
//! | no signature matches any active secret | 401 | no | untouched |
//! | timestamp older or newer than the tolerance | 401 | no | untouched |
//! | verified, event id already completed | 200 | no | untouched |
//! | verified, same event id being processed right now | 409 + `Retry-After` | no | untouched |
//! | verified, store unreachable | 503 + `Retry-After` (fail closed) | no | — |
//! | two layers wrap the route and the outer verified it ([`Rejection::NestedLayers`]) | 500 | no | untouched |
//! | key server unreachable or slow, or the fetch rate limit reached (eBay, SNS, PayPal) | 503 + `Retry-After` ([`Rejection::KeyUnavailable`]) | no | untouched |
//! | a key the server does not know, a key URL outside the sender's policy, an expired or untrusted certificate | 401 | no | untouched |
//! | verified, fresh id | the handler's answer (`Verified<T>` that does not decode: 400) | yes | reserve → commit on 2xx, release otherwise, on panic, and when the future is dropped |
//!
//! The layer never answers 410 (senders disable endpoints that do). Each of
//! its own answers carries a [`Rejection`] in the response extensions and is
//! logged once with `tracing`; bodies say little, logs say everything except
//! secrets and signatures.
//!
//! # Observability
//!
//! Each request runs in a `webhook` span (`scheme`, `tenant`, `event_id`,
//! `outcome`, `status`) at `INFO`, with the handler inside it. Refusals are
//! logged at `WARN` ([`WebhookLayer::rejection_log_level`]), store and key
//! lookup failures at `ERROR`, acknowledgements at `INFO`. With the feature
//! `metrics`, `webhook_deliveries_total` (a counter) and
//! `webhook_request_duration_seconds` (a histogram), labelled `scheme` and
//! `outcome`, go to whatever `metrics` recorder is installed; the README
//! shows Prometheus.
//!
//! # Caveats
//!
//! - Schemes without a signed timestamp (GitHub, Shopify, Square, PagerDuty,
//!   Twilio, GitLab, ...; see `SENDERS.md`) cannot refuse an old replay by
//!   time; the dedup retention is their only replay guard.
//! - The default [`MemoryStore`](dedup::MemoryStore) sees one process only;
//!   share a store across replicas.
//! - The handler's 2xx is what commits an event: do the work (or enqueue it
//!   durably) before answering, or commit the event in the handler's own
//!   PostgreSQL transaction (`dedup::TxCommit`, feature `postgres`).
//!
//! # Feature flags
//!
//! - `axum` (default): `endpoint`, the [`Verified`] and [`Delivery`]
//!   extractors, `IntoResponse` for [`Rejection`] and [`VerifiedRejection`].
//! - `metrics`: counters and a latency histogram through the `metrics` facade.
//! - `redis`: `dedup::RedisStore`, a dedup store shared by several replicas.
//! - `redis-cluster`: `RedisStore` on a Redis Cluster as well.
//! - `postgres`: `dedup::PostgresStore`, a dedup store in PostgreSQL (sqlx
//!   0.8) whose commit can join the handler's transaction
//!   (`dedup::TxCommit`), for exactly-once effects.
//! - `ed25519`: `scheme::StandardWebhooksEd25519`, Standard Webhooks'
//!   asymmetric `v1a` (Ed25519) signatures, verified with the sender's
//!   `whpk_` public key (preset `standard-ed25519`; adds `ed25519-dalek`).
//! - `sendgrid`: `scheme::SendGrid`, the Twilio SendGrid Event Webhook (ECDSA
//!   P-256 over the timestamp and body; preset `sendgrid`; adds `p256`).
//! - `discord`: `scheme::Discord`, Discord interactions and webhook events
//!   (Ed25519 over the timestamp and body, `PING`s answered after
//!   verification; preset `discord`; adds `ed25519-dalek`).
//! - `salesforce`: `scheme::Salesforce`, Salesforce Outbound Messages (SOAP
//!   XML read by a hardened `quick-xml` reader, an `OrganizationId`
//!   allow-list, the SOAP acknowledgement answered by the layer; preset
//!   `salesforce`; adds `quick-xml`). Salesforce signs nothing: see
//!   `SENDERS.md` for what the allow-list and the TLS client certificate
//!   prove.
//! - `published-keys`: the `keys` module's fetcher, cache and HTTPS client
//!   (rustls with `ring` and `webpki-roots`, hyper's HTTP/1 client; no
//!   OpenSSL), shared by the three features below, which enable it.
//! - `ebay`: `scheme::Ebay`, the eBay Notification API (ECDSA P-256 over the
//!   raw body, the key fetched by `kid` with an OAuth client-credentials
//!   token, the `challenge_code` handshake; preset `ebay`; adds `p256`).
//! - `sns`: `scheme::Sns`, AWS SNS HTTP(S) notifications (RSA over the
//!   canonical message, the certificate fetched from `SigningCertURL` and
//!   checked for its chain and name, subscriptions confirmed for allowed
//!   topics only; preset `sns`; adds `rsa`, `x509-cert`, `rustls-webpki`).
//! - `paypal`: `scheme::PayPal`, PayPal webhooks (RSA over
//!   `id|time|webhook id|crc32(body)`, the certificate fetched from
//!   `PAYPAL-CERT-URL` and checked for its chain and name; preset `paypal`;
//!   adds `rsa`, `x509-cert`, `crc32fast`, `rustls-webpki`).
//!
//! - `cli`: the `tower-webhook` command (`cargo install tower-webhook
//!   --features cli`): `sign`, `send`, `verify` and `listen` for every
//!   preset; it adds nothing to the library.
//!
//! Without its feature, `scheme::by_name` answers a preset name with
//! `SchemeConfigError::FeatureDisabled`, which names the feature to enable.

#![forbid(unsafe_code)]
#![cfg_attr(docsrs, feature(doc_cfg))]
#![warn(missing_docs)]

mod body;
mod budget;
pub mod clock;
pub mod dedup;
#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub mod extract;
mod future;
pub mod keys;
mod layer;
pub mod payload;
mod rejection;
mod report;
mod reservation;
pub mod resolver;
pub mod scheme;
pub mod secret;
mod service;
pub mod sign;
mod verified;

#[cfg(feature = "axum")]
#[cfg_attr(docsrs, doc(cfg(feature = "axum")))]
pub use extract::endpoint;
pub use future::{BoxBody, BoxError, ResponseFuture, WebhookBody};
pub use layer::{
    DEFAULT_BODY_TIMEOUT, DEFAULT_LEASE, DEFAULT_MAX_BODY, DEFAULT_MAX_BUFFERED,
    DEFAULT_UNTIMED_RETENTION, WebhookLayer,
};
pub use rejection::{Rejection, RejectionResponse};
pub use service::Webhook;
pub use verified::{Delivery, Event, IdKind, Verified, VerifiedRejection};

/// The README's code, compiled and run as doc tests.
#[cfg(all(doctest, feature = "axum", feature = "redis"))]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;
