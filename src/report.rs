//! What the layer tells about each delivery: one `tracing` span, the log
//! line of each answer it gives itself, and (feature `metrics`) counters and
//! a latency histogram through the `metrics` facade.
//!
//! The span is `webhook`, at `INFO`, with the fields `scheme`, `tenant`,
//! `event_id` (once verified), `outcome` and `status` (once answered). The
//! handler runs inside it, so its own log lines carry them.
//!
//! With feature `metrics`, each request counts once in
//! `webhook_deliveries_total` and once in the histogram
//! `webhook_request_duration_seconds`, both labelled `scheme` and
//! `outcome` (see [`Outcome::as_str`] for the values). Install any
//! recorder; with Prometheus (`metrics-exporter-prometheus`):
//!
//! ```text
//! metrics_exporter_prometheus::PrometheusBuilder::new()
//!     .with_http_listener(([0, 0, 0, 0], 9000))
//!     .install()?;
//! // then scrape :9000/metrics:
//! // webhook_deliveries_total{scheme="stripe",outcome="handled"} 1042
//! // webhook_deliveries_total{scheme="stripe",outcome="duplicate"} 17
//! // webhook_request_duration_seconds{scheme="stripe",outcome="handled",quantile="0.99"} 0.0042
//! ```

use std::time::Duration;

use tracing::{Level, Span, field};

use crate::rejection::Rejection;

/// How a request ended, as the span's `outcome` field and the metrics'
/// `outcome` label say.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Outcome {
    /// The handler answered 2xx: the event is committed.
    Handled,
    /// The handler answered otherwise (or failed): the sender retries.
    HandlerFailed,
    /// The layer answered a sender's endpoint handshake.
    Handshake,
    /// Already processed: acknowledged with 200.
    Duplicate,
    /// Being processed by another request: 409, the sender retries.
    InFlight,
    /// Refused: not verified, too large, wrong method, ...
    Rejected,
    /// The store, the key lookup or the budget could not serve it: 503.
    Unavailable,
    /// A wiring bug: 500.
    Misconfigured,
}

impl Outcome {
    /// The label: `handled`, `handler_failed`, `handshake`, `duplicate`,
    /// `in_flight`, `rejected`, `unavailable`, `misconfigured`.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Self::Handled => "handled",
            Self::HandlerFailed => "handler_failed",
            Self::Handshake => "handshake",
            Self::Duplicate => "duplicate",
            Self::InFlight => "in_flight",
            Self::Rejected => "rejected",
            Self::Unavailable => "unavailable",
            Self::Misconfigured => "misconfigured",
        }
    }

    pub(crate) fn of(rejection: &Rejection) -> Self {
        match rejection {
            Rejection::Duplicate { .. } => Self::Duplicate,
            Rejection::InFlight { .. } => Self::InFlight,
            r if r.is_unavailable() => Self::Unavailable,
            Rejection::NestedLayers => Self::Misconfigured,
            _ => Self::Rejected,
        }
    }
}

/// The span a request runs in; fields are recorded as they become known.
pub(crate) fn span() -> Span {
    tracing::info_span!(
        "webhook",
        scheme = field::Empty,
        tenant = field::Empty,
        event_id = field::Empty,
        outcome = field::Empty,
        status = field::Empty,
    )
}

/// Logs the layer's own answer `rejection` at the level its outcome calls
/// for: `INFO` for acknowledgements and retries, `ERROR` for what an
/// operator must fix, `refused` (configurable) for refusals.
pub(crate) fn rejected(rejection: &Rejection, refused: Level) {
    let status = rejection.status().as_u16();
    let level = match Outcome::of(rejection) {
        Outcome::Duplicate | Outcome::InFlight => Level::INFO,
        Outcome::Unavailable | Outcome::Misconfigured => Level::ERROR,
        _ => refused,
    };
    // `tracing`'s macros take a constant level.
    match level {
        Level::ERROR => {
            tracing::error!(status, reason = %rejection, "webhook delivery refused");
        }
        Level::WARN => tracing::warn!(status, reason = %rejection, "webhook delivery rejected"),
        Level::INFO => {
            tracing::info!(status, reason = %rejection, "webhook delivery not forwarded")
        }
        Level::DEBUG => {
            tracing::debug!(status, reason = %rejection, "webhook delivery rejected");
        }
        _ => tracing::trace!(status, reason = %rejection, "webhook delivery rejected"),
    }
}

/// Records how the request ended, on the span and (feature `metrics`) in
/// the counters and the histogram.
pub(crate) fn finished(
    span: &Span,
    scheme: &'static str,
    outcome: Outcome,
    status: Option<u16>,
    elapsed: Duration,
) {
    span.record("outcome", outcome.as_str());
    if let Some(status) = status {
        span.record("status", status);
    }
    #[cfg(feature = "metrics")]
    {
        let labels = [("scheme", scheme), ("outcome", outcome.as_str())];
        metrics::counter!("webhook_deliveries_total", &labels).increment(1);
        metrics::histogram!("webhook_request_duration_seconds", &labels)
            .record(elapsed.as_secs_f64());
    }
    #[cfg(not(feature = "metrics"))]
    let _ = (scheme, elapsed);
}
