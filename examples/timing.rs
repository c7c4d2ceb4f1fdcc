//! A dudect-style timing test of signature verification (not part of the
//! test suite: it needs a release build, a quiet machine and seconds).
//!
//! ```text
//! cargo run --release --example timing            # 500 000 samples per class
//! cargo run --release --example timing -- 2000000
//! ```
//!
//! Two classes of forged `webhook-signature` values, crafted from the real
//! tag of a delivery: one that differs from it in the first byte (0 leading
//! bytes right) and one that differs only in the last byte (31 leading bytes
//! right). Both fail. Samples come in pairs, one of each class in random
//! order (so both classes see the same moments of the machine's load), each
//! verification timed with `Instant`. Welch's t-statistic
//! compares the two classes' times, over all samples and over the samples
//! under several percentiles (cropping the scheduler's outliers, as dudect
//! does); the largest |t| is reported. |t| < 4.5 means no detectable
//! difference.
//!
//! To show the harness can see a leak at all, the same measurement is run on
//! a control verifier that does the same work (HMAC-SHA256 over the same
//! content, base64 decoding) but compares with an early-exit byte loop. It
//! must show |t| well above 4.5; if it does not, the machine is too noisy for
//! the run to mean anything and the example says so.
//!
//! Exit status: 0 when the layer shows no leak and the control does;
//! 1 when the layer's |t| reaches 4.5; 2 when the control shows nothing.

use std::hint::black_box;
use std::time::{Duration, Instant, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderValue;
use http::request::Parts;
use sha2::Sha256;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance};
use tower_webhook::sign::Signer;

const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const NOW: u64 = 1_700_000_000;
const THRESHOLD: f64 = 4.5;

/// xorshift64*: the class order, reproducible and cheap.
struct Rng(u64);

impl Rng {
    fn bit(&mut self) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 63) as usize
    }
}

/// Welch's t between two samples.
fn welch(a: &[f64], b: &[f64]) -> f64 {
    let stats = |x: &[f64]| {
        let n = x.len() as f64;
        let mean = x.iter().sum::<f64>() / n;
        let var = x.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0);
        (n, mean, var)
    };
    let (na, ma, va) = stats(a);
    let (nb, mb, vb) = stats(b);
    (ma - mb) / (va / na + vb / nb).sqrt()
}

/// The largest |t| over all samples and over those under several
/// percentiles of the pooled times; also the class means (ns) of all samples.
fn analyse(times: &[Vec<f64>; 2]) -> (f64, f64, f64) {
    let mut pooled: Vec<f64> = times[0].iter().chain(&times[1]).copied().collect();
    pooled.sort_by(f64::total_cmp);
    let mut worst = 0.0f64;
    for pct in [1.0, 0.99, 0.95, 0.9, 0.75, 0.5] {
        let cut = pooled[((pooled.len() - 1) as f64 * pct) as usize];
        let a: Vec<f64> = times[0].iter().copied().filter(|t| *t <= cut).collect();
        let b: Vec<f64> = times[1].iter().copied().filter(|t| *t <= cut).collect();
        if a.len() > 100 && b.len() > 100 {
            worst = worst.max(welch(&a, &b).abs());
        }
    }
    let mean = |x: &[f64]| x.iter().sum::<f64>() / x.len() as f64;
    (worst, mean(&times[0]), mean(&times[1]))
}

/// Times `verify` (the scheme's `read` + `verify`) on the two classes,
/// interleaved in random order. Before each sample, and outside the timed
/// region, the class's signature header is written into the one request
/// head, so both classes are verified from the same memory and differ only
/// in content.
fn measure(
    samples: usize,
    head: &mut Parts,
    candidates: &[Vec<u8>; 2],
    verify: impl Fn(&Parts) -> bool,
) -> [Vec<f64>; 2] {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut times = [Vec::with_capacity(samples), Vec::with_capacity(samples)];
    let set = |head: &mut Parts, class: usize| {
        // Base64 is ASCII: never the empty fallback.
        let value = HeaderValue::from_bytes(&candidates[class])
            .unwrap_or_else(|_| HeaderValue::from_static(""));
        head.headers.insert("webhook-signature", value);
    };
    // Warm up caches and the branch predictor on both classes.
    for i in 0..10_000 {
        set(head, i % 2);
        black_box(verify(head));
    }
    // Samples come in pairs, one of each class, in random order: both
    // classes see the same moments of the machine's load.
    while times[0].len() < samples {
        let first = rng.bit();
        for class in [first, 1 - first] {
            set(head, class);
            let head = black_box(&*head);
            let start = Instant::now();
            let ok = verify(head);
            let elapsed = start.elapsed();
            assert!(!black_box(ok), "a forged signature verified");
            times[class].push(elapsed.as_nanos() as f64);
        }
    }
    times
}

/// A verifier doing the same work as the scheme but comparing with an
/// early-exit loop: the positive control.
fn leaky_verify(key: &[u8], head: &Parts, body: &[u8]) -> bool {
    let h = &head.headers;
    let (Some(id), Some(ts), Some(sig)) = (
        h.get("webhook-id"),
        h.get("webhook-timestamp"),
        h.get("webhook-signature"),
    ) else {
        return false;
    };
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(key) else {
        return false;
    };
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(ts.as_bytes());
    mac.update(b".");
    mac.update(body);
    let tag = mac.finalize().into_bytes();
    let mut candidate = [0u8; 33];
    let Some(encoded) = sig.as_bytes().strip_prefix(b"v1,") else {
        return false;
    };
    if B64.decode_slice(encoded, &mut candidate) != Ok(32) {
        return false;
    }
    for i in 0..32 {
        if black_box(tag[i]) != black_box(candidate[i]) {
            return false;
        }
    }
    true
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let samples: usize = match std::env::args().nth(1) {
        Some(n) => n.parse()?,
        None => 500_000,
    };
    let scheme = StandardWebhooks::new(SECRET)?;
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let ctx = Context::new(now, Tolerance::default());
    let body = Bytes::from_static(br#"{"type":"invoice.paid","data":{"id":"in_1"}}"#);
    let signed = Signer::new(&scheme)
        .id("msg_timing")
        .timestamp(now)
        .request("/webhook", body.clone())?;
    let real = signed.headers()["webhook-signature"].to_str()?.to_owned();
    let tag = B64.decode(real.trim_start_matches("v1,"))?;

    // Class 0: first byte wrong (0 leading bytes right).
    // Class 1: last byte wrong (31 leading bytes right).
    let forged = |wrong: usize| {
        let mut t = tag.clone();
        t[wrong] ^= 0x5a;
        format!("v1,{}", B64.encode(&t)).into_bytes()
    };
    let classes = [forged(0), forged(31)];
    let (mut head, _) = signed.into_parts();
    let key = B64.decode(SECRET.trim_start_matches("whsec_"))?;
    let report = |name: &str, times: &[Vec<f64>; 2]| {
        let (t, m0, m1) = analyse(times);
        println!("{name:<34} |t| = {t:8.2}   mean ns: class 0 {m0:8.1}, class 1 {m1:8.1}");
        t
    };

    println!("samples per class: {samples}");
    // A/A: both classes the same forged value; shows the harness's own bias.
    let same = [classes[0].clone(), classes[0].clone()];
    // What the layer runs: `read` the head (the signature candidates), then
    // `verify` the body against what was read.
    let verify = |h: &Parts| {
        scheme
            .read(h, &ctx)
            .and_then(|read| scheme.verify(h, read, &body, &ctx))
            .is_ok()
    };
    report(
        "A/A (same value in both classes)",
        &measure(samples, &mut head, &same, verify),
    );
    let t_control = report(
        "control (early-exit compare)",
        &measure(samples, &mut head, &classes, |h| {
            leaky_verify(&key, h, &body)
        }),
    );
    let t_layer = report(
        "StandardWebhooks read + verify",
        &measure(samples, &mut head, &classes, verify),
    );

    if t_layer >= THRESHOLD {
        println!("LEAK: verification time depends on how many leading bytes are right");
        std::process::exit(1);
    }
    if t_control < THRESHOLD {
        println!(
            "INCONCLUSIVE: the control shows no leak either; the machine is too noisy, use more samples"
        );
        std::process::exit(2);
    }
    println!("no detectable leak (|t| < {THRESHOLD}); the control's leak is detected");
    Ok(())
}
