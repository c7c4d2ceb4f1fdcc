//! The `metrics` feature: each request counts once in
//! `webhook_deliveries_total` and once in `webhook_request_duration_seconds`,
//! labelled by scheme and outcome.
#![cfg(feature = "metrics")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use http::StatusCode;
use metrics_util::debugging::{DebugValue, DebuggingRecorder};
use tower::{Layer, ServiceExt};

/// `(name, outcome label) -> value` of every counter and histogram count.
fn snapshot(recorder: &DebuggingRecorder) -> Vec<(String, String, u64)> {
    let mut out: Vec<_> = recorder
        .snapshotter()
        .snapshot()
        .into_vec()
        .into_iter()
        .map(|(key, _, _, value)| {
            let key = key.key();
            let outcome = key
                .labels()
                .find(|l| l.key() == "outcome")
                .map(|l| l.value().to_owned())
                .unwrap_or_default();
            let scheme = key
                .labels()
                .find(|l| l.key() == "scheme")
                .map(|l| l.value().to_owned());
            assert_eq!(scheme.as_deref(), Some("standard"));
            let n = match value {
                DebugValue::Counter(n) => n,
                DebugValue::Histogram(v) => v.len() as u64,
                DebugValue::Gauge(_) => panic!("no gauges"),
            };
            (key.name().to_owned(), outcome, n)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn counters_and_the_latency_histogram_move_per_outcome() {
    let recorder = DebuggingRecorder::new();
    let snapshotter_source = &recorder;
    metrics::with_local_recorder(snapshotter_source, || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let f = fixture();
            let h = Counter::new(StatusCode::NO_CONTENT);
            let svc = f.layer.clone().layer(h.service());
            assert_eq!(
                svc.clone()
                    .oneshot(signed("m1", "{}"))
                    .await
                    .unwrap()
                    .status(),
                204
            );
            assert_eq!(
                svc.clone()
                    .oneshot(signed("m1", "{}"))
                    .await
                    .unwrap()
                    .status(),
                200
            );
            let mut forged = signed("m2", "{}");
            forged.headers_mut().remove("webhook-signature");
            assert_eq!(svc.oneshot(forged).await.unwrap().status(), 401);
        });
    });
    let seen = snapshot(&recorder);
    let expect = |name: &str, outcome: &str| (name.to_owned(), outcome.to_owned(), 1);
    assert_eq!(
        seen,
        [
            expect("webhook_deliveries_total", "duplicate"),
            expect("webhook_deliveries_total", "handled"),
            expect("webhook_deliveries_total", "rejected"),
            expect("webhook_request_duration_seconds", "duplicate"),
            expect("webhook_request_duration_seconds", "handled"),
            expect("webhook_request_duration_seconds", "rejected"),
        ]
    );
}
