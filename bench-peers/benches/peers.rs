//! `StandardWebhooks`' `read` + `verify` (what the layer runs on a delivery;
//! `Scheme::check` is these two calls) against the `standardwebhooks`
//! crate's `verify` on the same signed message (the `svix` crate does not
//! build in this workspace; see BENCHMARKS.md), and against the bare
//! pre-keyed HMAC (the limit), for 64 B, 1 KiB, 16 KiB and 1 MiB bodies.
//!
//! `cargo bench -p bench-peers --bench peers` runs Criterion;
//! `cargo bench -p bench-peers --bench peers -- --ratios` prints the
//! interleaved ratios that BENCHMARKS.md quotes.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../../benches/common/mod.rs"]
mod common;

use std::hint::black_box;
use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use sha2::Sha256;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance, Verdict};
use tower_webhook::sign::Signer;

use common::{Arm, compare, json_body, ratios_mode};

const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];
const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

struct Fixture {
    ours: StandardWebhooks,
    sw: standardwebhooks::Webhook,
    keyed: Hmac<Sha256>,
    head: Parts,
    body: Bytes,
    prefix: Vec<u8>,
    ctx: Context,
}

fn fixture(len: usize) -> Fixture {
    let ours = StandardWebhooks::new(SECRET).unwrap();
    let now = SystemTime::now();
    let body = json_body(len);
    let (head, _) = Signer::new(&ours)
        .id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        .timestamp(now)
        .request("/webhook", body.clone())
        .unwrap()
        .into_parts();
    let mut prefix = head.headers["webhook-id"].as_bytes().to_vec();
    prefix.push(b'.');
    prefix.extend_from_slice(head.headers["webhook-timestamp"].as_bytes());
    prefix.push(b'.');
    let key = base64::engine::general_purpose::STANDARD
        .decode(&SECRET["whsec_".len()..])
        .unwrap();
    let f = Fixture {
        sw: standardwebhooks::Webhook::new(SECRET).unwrap(),
        keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(&key).unwrap(),
        ours,
        head,
        body,
        prefix,
        ctx: Context::new(now, Tolerance::default()),
    };
    // Every contender accepts the same delivery (ours as a delivery, not a
    // handshake's answer).
    assert!(matches!(
        f.ours.check(&f.head, &f.body, &f.ctx),
        Ok(Verdict::Deliver(_))
    ));
    assert!(run_ours(&f));
    assert!(run_sw(&f));
    let tag = base64::engine::general_purpose::STANDARD.encode(bare(&f));
    assert!(
        f.head.headers["webhook-signature"]
            .to_str()
            .unwrap()
            .contains(&tag)
    );
    f
}

fn bare(f: &Fixture) -> [u8; 32] {
    let mut mac = f.keyed.clone();
    mac.update(&f.prefix);
    mac.update(&f.body);
    mac.finalize().into_bytes().into()
}

/// `read` the head, then `verify` the body against what was read, as the
/// layer does.
fn run_ours(f: &Fixture) -> bool {
    f.ours
        .read(&f.head, &f.ctx)
        .and_then(|read| f.ours.verify(&f.head, read, &f.body, &f.ctx))
        .is_ok()
}

fn run_sw(f: &Fixture) -> bool {
    f.sw.verify(&f.body, &f.head.headers).is_ok()
}

fn size_name(len: usize) -> String {
    match len {
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

fn main() {
    if ratios_mode() {
        for len in SIZES {
            let f = fixture(len);
            compare(
                &format!("Standard Webhooks verify, {} body", size_name(len)),
                vec![
                    Arm::simple("bare HMAC (pre-keyed)", || bare(black_box(&f))),
                    Arm::simple("tower-webhook StandardWebhooks read + verify", || {
                        run_ours(black_box(&f))
                    }),
                    Arm::simple("standardwebhooks 1.0.1 Webhook::verify", || {
                        run_sw(black_box(&f))
                    }),
                ],
            );
        }
        return;
    }
    let mut c = Criterion::default().configure_from_args();
    let mut g = c.benchmark_group("peers/standard");
    for len in SIZES {
        let f = fixture(len);
        g.throughput(Throughput::Bytes(len as u64));
        g.bench_with_input(BenchmarkId::new("bare_hmac", len), &f, |b, f| {
            b.iter(|| bare(black_box(f)))
        });
        g.bench_with_input(BenchmarkId::new("tower_webhook", len), &f, |b, f| {
            b.iter(|| run_ours(black_box(f)))
        });
        g.bench_with_input(BenchmarkId::new("standardwebhooks", len), &f, |b, f| {
            b.iter(|| run_sw(black_box(f)))
        });
    }
    g.finish();
    c.final_summary();
}
