//! Verification cost of each preset against the limit: a bare HMAC-SHA256
//! over the same signed bytes with a pre-keyed state (clone + update +
//! finalize), for payloads of 64 B, 1 KiB, 16 KiB and 1 MiB.
//!
//! `cargo bench --bench verify` runs Criterion; `cargo bench --bench verify --
//! --ratios` prints interleaved ratios (see `common/mod.rs`).
//!
//! Adding a preset (Stripe, GitHub, ...) is one more entry in [`presets`]:
//! its scheme, its raw key, and the bytes its sender signs around the body.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::hint::black_box;
use std::time::SystemTime;

use base64::Engine as _;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use http::request::Parts;
use sha2::Sha256;
use tower_webhook::scheme::sha256_mac::PreKeyed;
use tower_webhook::scheme::{Context, GitHub, Scheme, StandardWebhooks, Stripe, Tolerance};
use tower_webhook::sign::Signer;

use common::{Arm, compare, json_body, ratios_mode};

pub const SIZES: [usize; 4] = [64, 1024, 16 * 1024, 1024 * 1024];
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// A sender preset and what its bare-HMAC limit feeds.
struct Preset {
    name: &'static str,
    scheme: Box<dyn Scheme>,
    /// The raw HMAC key the sender and the bare arm use.
    key: Vec<u8>,
    /// The signed bytes before and after the body, read from a signed head.
    around: fn(&Parts) -> (Vec<u8>, Vec<u8>),
}

fn header(head: &Parts, name: &str) -> Vec<u8> {
    head.headers[name].as_bytes().to_vec()
}

/// The value after `name=` in a `name=value,...` header.
fn entry(head: &Parts, header: &str, name: &str) -> Vec<u8> {
    let value = head.headers[header].to_str().unwrap();
    value
        .split(',')
        .find_map(|e| e.strip_prefix(name))
        .unwrap()
        .as_bytes()
        .to_vec()
}

const TEXT_SECRET: &str = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";

fn presets() -> Vec<Preset> {
    vec![
        Preset {
            name: "standard",
            scheme: Box::new(StandardWebhooks::new(STANDARD_SECRET).unwrap()),
            key: base64::engine::general_purpose::STANDARD
                .decode(&STANDARD_SECRET["whsec_".len()..])
                .unwrap(),
            // `{id}.{timestamp}.{body}`
            around: |head| {
                let mut before = header(head, "webhook-id");
                before.push(b'.');
                before.extend(header(head, "webhook-timestamp"));
                before.push(b'.');
                (before, Vec::new())
            },
        },
        Preset {
            name: "stripe",
            scheme: Box::new(Stripe::new(TEXT_SECRET).unwrap()),
            key: TEXT_SECRET.as_bytes().to_vec(),
            // `{t}.{body}`; the event id is read from the body's JSON.
            around: |head| {
                let mut before = entry(head, "stripe-signature", "t=");
                before.push(b'.');
                (before, Vec::new())
            },
        },
        Preset {
            name: "github",
            scheme: Box::new(GitHub::new(TEXT_SECRET).unwrap()),
            key: TEXT_SECRET.as_bytes().to_vec(),
            // The body alone.
            around: |_| (Vec::new(), Vec::new()),
        },
    ]
}

/// One signed delivery of `len` bytes, ready for both arms.
struct Fixture {
    head: Parts,
    body: Bytes,
    before: Vec<u8>,
    after: Vec<u8>,
    keyed: Hmac<Sha256>,
    /// The same key for the crate's own HMAC-SHA256 (`scheme::sha256_mac`).
    lean: PreKeyed,
    ctx: Context,
}

fn fixture(p: &Preset, len: usize) -> Fixture {
    let now = SystemTime::now();
    let body = json_body(len);
    let req = Signer::new(&*p.scheme)
        .id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
        .timestamp(now)
        .request("/webhook", body.clone())
        .unwrap();
    let (head, _) = req.into_parts();
    let (before, after) = (p.around)(&head);
    let f = Fixture {
        head,
        body,
        before,
        after,
        keyed: <Hmac<Sha256> as KeyInit>::new_from_slice(&p.key).unwrap(),
        lean: PreKeyed::new(&p.key),
        // `verify` checks the timestamp against `ctx.now`, fixed here.
        ctx: Context::new(now, Tolerance::default()),
    };
    // Both arms must agree that the delivery verifies.
    assert!(p.scheme.verify(&f.head, &f.body, &f.ctx).is_ok());
    let tag = bare(&f);
    assert_eq!(lean(&f), tag, "both HMACs must agree");
    assert!(
        p.scheme.sign_tag_check(&f, &tag),
        "the bare arm must compute the sender's tag"
    );
    f
}

/// The limit: clone of a pre-keyed state, the signed bytes, finalize.
#[inline(never)]
fn bare(f: &Fixture) -> [u8; 32] {
    let mut mac = f.keyed.clone();
    mac.update(&f.before);
    mac.update(&f.body);
    mac.update(&f.after);
    mac.finalize().into_bytes().into()
}

/// The same signed bytes through `tower_webhook::scheme::sha256_mac`, the
/// HMAC-SHA256 that `StandardWebhooks` uses.
#[inline(never)]
fn lean(f: &Fixture) -> [u8; 32] {
    let mut mac = f.lean.start();
    mac.update(&f.before);
    mac.update(&f.body);
    mac.update(&f.after);
    mac.finish()
}

/// Checks the bare arm's tag by signing the same delivery again.
trait TagCheck {
    fn sign_tag_check(&self, f: &Fixture, tag: &[u8; 32]) -> bool;
}

impl TagCheck for Box<dyn Scheme> {
    fn sign_tag_check(&self, f: &Fixture, tag: &[u8; 32]) -> bool {
        // Every preset puts its tag in a header as base64 or hex; accept either.
        let b64 = base64::engine::general_purpose::STANDARD.encode(tag);
        let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
        f.head
            .headers
            .values()
            .filter_map(|v| v.to_str().ok())
            .any(|v| v.contains(&b64) || v.contains(&hex))
    }
}

#[inline(never)]
fn ours(p: &Preset, f: &Fixture) -> bool {
    p.scheme.verify(&f.head, &f.body, &f.ctx).is_ok()
}

fn size_name(len: usize) -> String {
    match len {
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

fn run_ratios() {
    for p in presets() {
        for len in SIZES {
            let f = fixture(&p, len);
            compare(
                &format!("verify `{}`, {} body", p.name, size_name(len)),
                vec![
                    Arm::simple("bare HMAC (pre-keyed)", || bare(black_box(&f))),
                    Arm::simple(format!("{}::verify", p.name), || ours(&p, black_box(&f))),
                    Arm::simple("sha256_mac (pre-keyed)", || lean(black_box(&f))),
                ],
            );
        }
    }
}

fn run_criterion() {
    let mut c = Criterion::default().configure_from_args();
    for p in presets() {
        let mut g = c.benchmark_group(format!("verify/{}", p.name));
        for len in SIZES {
            let f = fixture(&p, len);
            g.throughput(Throughput::Bytes(len as u64));
            g.bench_with_input(BenchmarkId::new("bare_hmac", len), &f, |b, f| {
                b.iter(|| bare(black_box(f)))
            });
            g.bench_with_input(BenchmarkId::new("ours", len), &f, |b, f| {
                b.iter(|| ours(&p, black_box(f)))
            });
        }
        g.finish();
    }
    c.final_summary();
}

/// `-- --profile <bytes>`: runs `StandardWebhooks::verify` and the bare HMAC,
/// alternately, in a loop for
/// `BENCH_SECS` seconds (default 5), for `perf record` or callgrind.
fn profile_size() -> Option<usize> {
    let args: Vec<String> = std::env::args().collect();
    let i = args.iter().position(|a| a == "--profile")?;
    args.get(i + 1)?.parse().ok()
}

fn run_profile(len: usize) {
    let secs: u64 = std::env::var("BENCH_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5);
    let p = &presets()[0];
    let f = fixture(p, len);
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs() < secs {
        for _ in 0..1000 {
            black_box(ours(p, black_box(&f)));
            black_box(bare(black_box(&f)));
        }
        n += 1000;
    }
    println!("{n} verifications and bare HMACs of {len} B");
}

fn main() {
    if let Some(len) = profile_size() {
        run_profile(len);
    } else if ratios_mode() {
        run_ratios();
    } else {
        run_criterion();
    }
}
