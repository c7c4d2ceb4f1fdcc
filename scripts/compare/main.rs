//! Run by scripts/compare-baseline.sh: the crate at an earlier commit
//! (`old`) against this checkout (`new`), side by side, interleaved.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::time::{Duration, Instant, SystemTime};

use hmac::{KeyInit, Mac};
use new::scheme::Scheme as _;
use old::scheme::Scheme as _;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// Nanoseconds per call of `f`, timed over batches long enough to read
/// (about 2 ms each).
fn batch_ns(f: &mut dyn FnMut() -> bool) -> f64 {
    let mut n = 1u64;
    loop {
        let start = Instant::now();
        for _ in 0..n {
            black_box(f());
        }
        let took = start.elapsed();
        if took > Duration::from_millis(2) {
            return took.as_nanos() as f64 / n as f64;
        }
        n *= 2;
    }
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Runs the arms round by round (each round every arm once, in turn) and
/// prints the median per arm and its ratio to the first arm.
fn compare(title: &str, arms: &mut [(&str, Box<dyn FnMut() -> bool + '_>)], rounds: usize) {
    let mut samples = vec![Vec::new(); arms.len()];
    for _ in 0..rounds {
        for (i, (_, f)) in arms.iter_mut().enumerate() {
            samples[i].push(batch_ns(f.as_mut()));
        }
    }
    let medians: Vec<f64> = samples.into_iter().map(median).collect();
    println!("\n{title}");
    for ((name, _), m) in arms.iter().zip(&medians) {
        println!("  {name:<44} {m:>12.1} ns   {:>6.2}x", m / medians[0]);
    }
}

fn main() {
    let rounds: usize = std::env::var("ROUNDS")
        .ok()
        .and_then(|r| r.parse().ok())
        .unwrap_or(21);
    let now = SystemTime::now();
    let old_scheme = old::scheme::StandardWebhooks::new(SECRET).unwrap();
    let new_scheme = new::scheme::StandardWebhooks::new(SECRET).unwrap();
    let sw = standardwebhooks::Webhook::new(SECRET).unwrap();
    let key = base64_key();
    for len in [64usize, 1024, 16 * 1024, 1024 * 1024] {
        let body = vec![b'x'; len];
        let request = new::sign::Signer::new(&new_scheme)
            .id("msg_p5jXN8AQM9LWM0D4loKWxJek")
            .timestamp(now)
            .request("/webhook", body.clone())
            .unwrap();
        let (head, body) = request.into_parts();
        let old_ctx = old::scheme::Context::new(now, old::scheme::Tolerance::default());
        let new_ctx = new::scheme::Context::new(now, new::scheme::Tolerance::default());
        let ts = head.headers["webhook-timestamp"].to_str().unwrap().to_owned();
        // Keyed once, cloned per call, as the crate does.
        let keyed = hmac::Hmac::<sha2::Sha256>::new_from_slice(&key).unwrap();
        let mut arms: Vec<(&str, Box<dyn FnMut() -> bool>)> = vec![
            (
                "bare pre-keyed HMAC-SHA256 of {id}.{ts}.{body}",
                Box::new(|| {
                    let mut mac = keyed.clone();
                    mac.update(b"msg_p5jXN8AQM9LWM0D4loKWxJek.");
                    mac.update(ts.as_bytes());
                    mac.update(b".");
                    mac.update(&body);
                    mac.finalize().into_bytes()[0] == 0
                }),
            ),
            (
                "old: StandardWebhooks::verify",
                Box::new(|| old_scheme.verify(&head, &body, &old_ctx).is_ok()),
            ),
            (
                "new: StandardWebhooks read + verify",
                Box::new(|| {
                    let read = new_scheme.read(&head, &new_ctx).unwrap();
                    new_scheme.verify(&head, read, &body, &new_ctx).is_ok()
                }),
            ),
            (
                "standardwebhooks 1.0.1 Webhook::verify",
                Box::new(|| sw.verify(&body, &head.headers).is_ok()),
            ),
        ];
        compare(&format!("Standard Webhooks, {len} B body"), &mut arms, rounds);
    }

    // Two presets on the generic HMAC engine: Stripe (timestamp in the
    // signature header, id in the JSON body) and GitHub (body only, id header).
    for len in [64usize, 1024] {
        let body = format!(r#"{{"id":"evt_1","object":"event","pad":"{}"}}"#, "x".repeat(len.saturating_sub(40)));
        let old_stripe = old::scheme::Stripe::new("whsec_test").unwrap();
        let new_stripe = new::scheme::Stripe::new("whsec_test").unwrap();
        let old_github = old::scheme::GitHub::new("gh").unwrap();
        let new_github = new::scheme::GitHub::new("gh").unwrap();
        let sign = |s: &dyn Fn(&mut http::Request<bytes::Bytes>)| {
            let mut r = http::Request::post("/hook").body(bytes::Bytes::from(body.clone())).unwrap();
            s(&mut r);
            r.into_parts()
        };
        let (stripe_head, stripe_body) = sign(&|r| {
            new::scheme::Sign::sign(&new_stripe, r, "evt_1", now).unwrap();
        });
        let (github_head, github_body) = sign(&|r| {
            new::scheme::Sign::sign(&new_github, r, "d-1", now).unwrap();
        });
        let old_ctx = old::scheme::Context::new(now, old::scheme::Tolerance::default());
        let new_ctx = new::scheme::Context::new(now, new::scheme::Tolerance::default());
        let mut arms: Vec<(&str, Box<dyn FnMut() -> bool>)> = vec![
            ("old: Stripe::verify", Box::new(|| old_stripe.verify(&stripe_head, &stripe_body, &old_ctx).is_ok())),
            ("new: Stripe read + verify", Box::new(|| {
                let r = new_stripe.read(&stripe_head, &new_ctx).unwrap();
                new_stripe.verify(&stripe_head, r, &stripe_body, &new_ctx).is_ok()
            })),
            ("old: GitHub::verify", Box::new(|| old_github.verify(&github_head, &github_body, &old_ctx).is_ok())),
            ("new: GitHub read + verify", Box::new(|| {
                let r = new_github.read(&github_head, &new_ctx).unwrap();
                new_github.verify(&github_head, r, &github_body, &new_ctx).is_ok()
            })),
        ];
        compare(&format!("HMAC engine presets, {len} B body"), &mut arms, rounds);
    }

    // The whole layer in process: a request through the layer to a handler
    // that answers 204 (no dedup store: verification, buffering, payload).
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    for len in [64usize, 1024] {
        use tower::{Layer, ServiceExt};
        let body = bytes::Bytes::from(format!(r#"{{"type":"x","pad":"{}"}}"#, "x".repeat(len.saturating_sub(22))));
        let request = new::sign::Signer::new(&new_scheme)
            .id("msg_layer")
            .timestamp(now)
            .request("/webhook", body)
            .unwrap();
        let (head, body) = request.into_parts();
        let handler = tower::service_fn(|_req: http::Request<http_body_util::Full<bytes::Bytes>>| async {
            let mut res = http::Response::new(http_body_util::Full::new(bytes::Bytes::new()));
            *res.status_mut() = http::StatusCode::NO_CONTENT;
            Ok::<_, std::convert::Infallible>(res)
        });
        let old_svc = old::WebhookLayer::new(old::scheme::StandardWebhooks::new(SECRET).unwrap())
            .without_dedup()
            .layer(handler);
        // The new layer leaves decoding to the handler (`Verified<T>`): this
        // one decodes a `Value`, as the old layer did before calling it.
        let decoding = tower::service_fn(|req: http::Request<http_body_util::Full<bytes::Bytes>>| async move {
            let (head, _) = req.into_parts();
            let decoded = new::Verified::<serde_json::Value>::from_parts(&head).is_ok();
            let mut res = http::Response::new(http_body_util::Full::new(bytes::Bytes::new()));
            *res.status_mut() = if decoded { http::StatusCode::NO_CONTENT } else { http::StatusCode::BAD_REQUEST };
            Ok::<_, std::convert::Infallible>(res)
        });
        let new_svc = new::WebhookLayer::new(new::scheme::StandardWebhooks::new(SECRET).unwrap())
            .without_dedup()
            .layer(decoding);
        let req = || http::Request::from_parts(head.clone(), http_body_util::Full::new(body.clone()));
        let mut arms: Vec<(&str, Box<dyn FnMut() -> bool>)> = vec![
            (
                "old: WebhookLayer (no store), Value payload",
                Box::new(|| rt.block_on(old_svc.clone().oneshot(req())).unwrap().status() == 204),
            ),
            (
                "new: WebhookLayer (no store), Value payload",
                Box::new(|| rt.block_on(new_svc.clone().oneshot(req())).unwrap().status() == 204),
            ),
        ];
        compare(&format!("The layer in process, {len} B body"), &mut arms, rounds);
    }

    // The memory store, filled to 1 M live ids, then reserve + commit of
    // fresh ids (the store is rebuilt before it would overflow).
    let lease = Duration::from_secs(60);
    let retention = Duration::from_secs(3600);
    let old_store = old::dedup::MemoryStore::builder().capacity(3_000_000).build();
    let new_store = new::dedup::MemoryStore::builder().capacity(3_000_000).build();
    for i in 0..1_000_000u64 {
        let key = format!("standard:k0123456789abcdef:id:msg_{i:016x}");
        let claim = old::dedup::Claim::new(lease, retention);
        old_store.reserve_now(&key, claim).unwrap();
        old_store.commit_now(&key, claim.token, retention);
        let claim = new::dedup::Claim::new(lease, retention);
        new_store.reserve_now(&key, claim).unwrap();
        new_store.commit_now(&key, claim.token, retention);
    }
    let mut next_old = 1_000_000u64;
    let mut next_new = 1_000_000u64;
    let mut arms: Vec<(&str, Box<dyn FnMut() -> bool>)> = vec![
        (
            "old: MemoryStore reserve_now + commit_now",
            Box::new(|| {
                next_old += 1;
                let key = format!("standard:k0123456789abcdef:id:msg_{next_old:016x}");
                let claim = old::dedup::Claim::new(lease, retention);
                old_store.reserve_now(&key, claim).is_ok()
                    && old_store.commit_now(&key, claim.token, retention)
            }),
        ),
        (
            "new: MemoryStore reserve_now + commit_now",
            Box::new(|| {
                next_new += 1;
                let key = format!("standard:k0123456789abcdef:id:msg_{next_new:016x}");
                let claim = new::dedup::Claim::new(lease, retention);
                new_store.reserve_now(&key, claim).is_ok()
                    && new_store.commit_now(&key, claim.token, retention)
            }),
        ),
    ];
    compare(
        "Memory store, 1 M live ids (and growing): reserve + commit of a fresh id",
        &mut arms,
        rounds.min(11),
    );
}

/// The key bytes of `SECRET` (base64 after `whsec_`).
fn base64_key() -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(SECRET.trim_start_matches("whsec_"))
        .unwrap()
}
