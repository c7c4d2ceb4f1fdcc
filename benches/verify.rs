//! Verification cost of each HMAC sender preset against the limit: a bare
//! HMAC over the same signed bytes with a pre-keyed state (clone + update +
//! finalize), with the preset's own hash (HMAC-SHA256 for all but Intercom,
//! whose limit is a bare HMAC-SHA1).
//!
//! `cargo bench --bench verify` runs Criterion; `cargo bench --bench verify --
//! --ratios` prints interleaved ratios (see `common/mod.rs`).
//!
//! Covered, with the bytes each sender signs (`+` joins; keys are the
//! secret's text unless said otherwise):
//!
//! - 64 B, 1 KiB, 16 KiB and 1 MiB bodies: `standard` (`{id}.{ts}.` + body,
//!   key = the base64 after `whsec_`), `stripe` (`{t}.` + body), `github`
//!   (body).
//! - 64 B and 1 KiB bodies only, to keep the run short (in both modes;
//!   with the defaults the ratios grow by about 30 tables of a quarter of a
//!   second each, Criterion by 60 benchmarks):
//!   - body alone: `shopify`, `pagerduty`, `dropbox`, `linear` (its
//!     timestamp is inside the body), `typeform`, `meta`;
//!   - `v0:{ts}:` + body: `slack`, `zoom`;
//!   - `{ts}:` + body: `paddle`; `{t}.` + body: `calendly`;
//!   - `{message id}{timestamp}` + body: `twitch`;
//!   - `{url}` + body: `square`; `POST{url}` + body + `{ts}`: `hubspot`
//!     (both given the public URL `https://example.com/webhook`; their
//!     `verify` tries it as configured and with `:443`, so it computes two
//!     HMACs where the bare arm computes one);
//!   - `hmacsha256=` + body: `linkedin` in its default configuration (both
//!     readings accepted; it signs the prefixed one, which `verify` tries
//!     first);
//!   - body, HMAC-**SHA1**: `intercom`, against a bare HMAC-SHA1.
//!
//! Left out, with no bare HMAC over "something + body + something" to
//! compare with:
//!
//! - `twilio`: HMAC-SHA1 over the URL followed by the sorted, decoded form
//!   parameters (`{name}{value}`), or, for other bodies, over the URL whose
//!   query carries the body's SHA-256; the body is never fed to the HMAC as
//!   sent.
//! - `mailgun`: HMAC-SHA256 of `{timestamp}{token}`, fields read from inside
//!   the body; the rest of the body is not signed.
//! - `gitlab` and `Token::header`: a shared token compared with the secret,
//!   no HMAC at all.
//! - `standard-ed25519` and `sendgrid` (feature-gated): public-key
//!   signatures (Ed25519, ECDSA P-256), no HMAC to compare with.
//!
//! Every body is JSON of exactly the given size and carries what the sender
//! puts in it (its event id, Linear's `webhookTimestamp`), so the preset does
//! the work of a real delivery. The clock is fixed (`ctx.now` = the signing
//! time).
//!
//! The preset's arm times what the layer runs on a delivery: `Scheme::read`
//! (the head, parsed once) then `Scheme::verify` (the body against what was
//! read), with the same `Context` (the layer takes a second clock reading
//! for `verify`; the clock is fixed here). `Scheme::check` is exactly these
//! two calls (no preset overrides it), so it is not timed apart.
//!
//! Adding a preset is one more entry in [`presets`]: its scheme, its raw key,
//! the JSON members of its body, and the bytes its sender signs around the
//! body.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

mod common;

use std::hint::black_box;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput};
use hmac::{Hmac, KeyInit, Mac};
use http::Request;
use http::request::Parts;
use sha1::Sha1;
use sha2::Sha256;
use tower_webhook::scheme::{
    Calendly, Context, Dropbox, GitHub, HubSpot, Intercom, Linear, LinkedIn, Meta, Paddle,
    PagerDuty, Shopify, Sign, Slack, Square, StandardWebhooks, Stripe, Tolerance, Twitch, Typeform,
    Verdict, VerifyError, Zoom,
};
use tower_webhook::sign::Signer;

use common::{Arm, compare, ratios_mode};

/// Body sizes of `standard`, `stripe` and `github`.
pub const SIZES: &[usize] = &[64, 1024, 16 * 1024, 1024 * 1024];
/// Body sizes of the other presets.
pub const SMALL_SIZES: &[usize] = &[64, 1024];
const STANDARD_SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
const TEXT_SECRET: &str = "whsec_5WbX5kEWLlfzsGNjH64I8lOOqUB6e8FH";
/// The public URL of the presets that sign it; requests go to its path.
const PUBLIC_URL: &str = "https://example.com/webhook";
/// The signing time and `ctx.now` (Unix seconds).
const NOW_SECS: u64 = 1_700_000_000;

/// The body's event id where Stripe and Intercom put it (the other presets
/// that read no body field get the same body).
const EVENT_ID: &str = r#""id":"evt_1NLh6bLkdIwHu7ix""#;

/// The hash of a preset's HMAC.
#[derive(Clone, Copy)]
enum Hash {
    Sha256,
    Sha1,
}

/// A preset behind one virtual call, as `Box<dyn Scheme>` was before
/// `Scheme` had an associated `Head` type. Not `AnyScheme` (the run-time
/// choice): it boxes the head it reads, an allocation per delivery that the
/// layer, generic over its scheme, does not make. Implemented for each
/// concrete preset, so the timed code is the preset's own `read` + `verify`.
trait Verifier {
    /// `body` signed by the preset as its sender would, at `now`.
    fn signed(&self, now: SystemTime, body: Bytes) -> Request<Bytes>;
    /// What the layer runs on a delivery: `read` the head, then `verify` the
    /// body against what was read.
    fn read_then_verify(
        &self,
        head: &Parts,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError>;
}

impl<S: Sign> Verifier for S {
    fn signed(&self, now: SystemTime, body: Bytes) -> Request<Bytes> {
        Signer::new(self)
            .id("msg_2KWPBgLlAfxdpx2AI54pPJ85f4W")
            .timestamp(now)
            .request("/webhook", body)
            .unwrap()
    }

    fn read_then_verify(
        &self,
        head: &Parts,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        let read = self.read(head, ctx)?;
        self.verify(head, read, body, ctx)
    }
}

/// A sender preset and what its bare-HMAC limit feeds.
struct Preset {
    name: &'static str,
    scheme: Box<dyn Verifier>,
    /// The raw HMAC key the sender and the bare arm use.
    key: Vec<u8>,
    hash: Hash,
    /// Body sizes to measure.
    sizes: &'static [usize],
    /// The JSON members the body starts with, before the filler.
    fields: &'static str,
    /// The signed bytes before and after the body, read from a signed head.
    around: fn(&Parts) -> (Vec<u8>, Vec<u8>),
}

/// A preset keyed with [`TEXT_SECRET`]'s text, HMAC-SHA256, [`SMALL_SIZES`].
fn text_preset(
    name: &'static str,
    scheme: impl Sign,
    fields: &'static str,
    around: fn(&Parts) -> (Vec<u8>, Vec<u8>),
) -> Preset {
    Preset {
        name,
        scheme: Box::new(scheme),
        key: TEXT_SECRET.as_bytes().to_vec(),
        hash: Hash::Sha256,
        sizes: SMALL_SIZES,
        fields,
        around,
    }
}

fn header(head: &Parts, name: &str) -> Vec<u8> {
    head.headers[name].as_bytes().to_vec()
}

/// The value after `name` in a `name=value<sep>...` header.
fn entry(head: &Parts, header: &str, sep: char, name: &str) -> Vec<u8> {
    let value = head.headers[header].to_str().unwrap();
    value
        .split(sep)
        .find_map(|e| e.strip_prefix(name))
        .unwrap()
        .as_bytes()
        .to_vec()
}

fn concat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// The body alone.
fn body_only(_: &Parts) -> (Vec<u8>, Vec<u8>) {
    (Vec::new(), Vec::new())
}

fn presets() -> Vec<Preset> {
    vec![
        Preset {
            name: "standard",
            scheme: Box::new(StandardWebhooks::new(STANDARD_SECRET).unwrap()),
            key: base64::engine::general_purpose::STANDARD
                .decode(&STANDARD_SECRET["whsec_".len()..])
                .unwrap(),
            hash: Hash::Sha256,
            sizes: SIZES,
            fields: EVENT_ID,
            // `{id}.{timestamp}.{body}`
            around: |head| {
                let before = concat(&[
                    &header(head, "webhook-id"),
                    b".",
                    &header(head, "webhook-timestamp"),
                    b".",
                ]);
                (before, Vec::new())
            },
        },
        Preset {
            sizes: SIZES,
            // `{t}.{body}`; the event id is read from the body's JSON.
            ..text_preset(
                "stripe",
                Stripe::new(TEXT_SECRET).unwrap(),
                EVENT_ID,
                |head| {
                    let before = concat(&[&entry(head, "stripe-signature", ',', "t="), b"."]);
                    (before, Vec::new())
                },
            )
        },
        Preset {
            sizes: SIZES,
            ..text_preset(
                "github",
                GitHub::new(TEXT_SECRET).unwrap(),
                EVENT_ID,
                body_only,
            )
        },
        text_preset(
            "shopify",
            Shopify::new(TEXT_SECRET).unwrap(),
            EVENT_ID,
            body_only,
        ),
        // `v0:{ts}:{body}`
        text_preset(
            "slack",
            Slack::new(TEXT_SECRET).unwrap(),
            r#""event_id":"Ev08MFMKH6","type":"event_callback""#,
            |head| {
                let ts = header(head, "x-slack-request-timestamp");
                (concat(&[b"v0:", &ts, b":"]), Vec::new())
            },
        ),
        // `{url}{body}`
        text_preset(
            "square",
            Square::new(TEXT_SECRET, PUBLIC_URL).unwrap(),
            r#""event_id":"6a8f5f28-54a1-4eb0-a98a-3111513fd4fc""#,
            |_| (PUBLIC_URL.as_bytes().to_vec(), Vec::new()),
        ),
        // `{method}{url}{body}{ts}`
        text_preset(
            "hubspot",
            HubSpot::new(TEXT_SECRET, PUBLIC_URL).unwrap(),
            EVENT_ID,
            |head| {
                let before = concat(&[head.method.as_str().as_bytes(), PUBLIC_URL.as_bytes()]);
                (before, header(head, "x-hubspot-request-timestamp"))
            },
        ),
        // `{ts}:{body}`
        text_preset(
            "paddle",
            Paddle::new(TEXT_SECRET).unwrap(),
            r#""notification_id":"ntf_01h8441jn5pcwrfhwh78jqt8hk""#,
            |head| {
                let before = concat(&[&entry(head, "paddle-signature", ';', "ts="), b":"]);
                (before, Vec::new())
            },
        ),
        text_preset(
            "pagerduty",
            PagerDuty::new(TEXT_SECRET).unwrap(),
            r#""event":{"id":"01DEN0T1WNUN6Q8X3KXJ6CRRP4"}"#,
            body_only,
        ),
        text_preset(
            "dropbox",
            Dropbox::new(TEXT_SECRET).unwrap(),
            EVENT_ID,
            body_only,
        ),
        // The timestamp is in the body (Unix ms), the id in a header.
        text_preset(
            "linear",
            Linear::new(TEXT_SECRET).unwrap(),
            r#""webhookTimestamp":1700000000000"#,
            body_only,
        ),
        text_preset(
            "typeform",
            Typeform::new(TEXT_SECRET).unwrap(),
            r#""event_id":"01HB2Z9XK3Q7DM6N5XWQ4G0JTR""#,
            body_only,
        ),
        // `{t}.{body}`
        text_preset(
            "calendly",
            Calendly::new(TEXT_SECRET).unwrap(),
            EVENT_ID,
            |head| {
                let t = entry(head, "calendly-webhook-signature", ',', "t=");
                (concat(&[&t, b"."]), Vec::new())
            },
        ),
        // `v0:{ts}:{body}`
        text_preset("zoom", Zoom::new(TEXT_SECRET).unwrap(), EVENT_ID, |head| {
            let ts = header(head, "x-zm-request-timestamp");
            (concat(&[b"v0:", &ts, b":"]), Vec::new())
        }),
        // `{message id}{timestamp}{body}`
        text_preset(
            "twitch",
            Twitch::new(TEXT_SECRET).unwrap(),
            EVENT_ID,
            |head| {
                let before = concat(&[
                    &header(head, "twitch-eventsub-message-id"),
                    &header(head, "twitch-eventsub-message-timestamp"),
                ]);
                (before, Vec::new())
            },
        ),
        text_preset("meta", Meta::new(TEXT_SECRET).unwrap(), EVENT_ID, body_only),
        // Both readings accepted (the default); the prefixed one is signed
        // and tried first: `hmacsha256={body}`.
        text_preset(
            "linkedin",
            LinkedIn::new(TEXT_SECRET).unwrap(),
            r#""notificationId":4387123"#,
            |_| (b"hmacsha256=".to_vec(), Vec::new()),
        ),
        // HMAC-SHA1 of the body.
        Preset {
            hash: Hash::Sha1,
            ..text_preset(
                "intercom",
                Intercom::new(TEXT_SECRET).unwrap(),
                EVENT_ID,
                body_only,
            )
        },
    ]
}

/// A pre-keyed state of the bare arm.
enum Keyed {
    Sha256(Hmac<Sha256>),
    Sha1(Hmac<Sha1>),
}

/// One signed delivery of `len` bytes, ready for every arm.
struct Fixture {
    head: Parts,
    body: Bytes,
    before: Vec<u8>,
    after: Vec<u8>,
    keyed: Keyed,
    ctx: Context,
}

/// `{<fields>,"data":"xxx..."}`, exactly `len` bytes.
fn json_body(fields: &str, len: usize) -> Bytes {
    let open = format!(r#"{{{fields},"data":""#);
    let fill = len
        .checked_sub(open.len() + 2)
        .expect("the body's fields fit in its size");
    let mut s = String::with_capacity(len);
    s.push_str(&open);
    s.extend(std::iter::repeat_n('x', fill));
    s.push_str(r#""}"#);
    Bytes::from(s)
}

fn fixture(p: &Preset, len: usize) -> Fixture {
    let now = UNIX_EPOCH + Duration::from_secs(NOW_SECS);
    let body = json_body(p.fields, len);
    assert_eq!(body.len(), len);
    let (head, _) = p.scheme.signed(now, body.clone()).into_parts();
    let (before, after) = (p.around)(&head);
    let keyed = match p.hash {
        Hash::Sha256 => Keyed::Sha256(KeyInit::new_from_slice(&p.key).unwrap()),
        Hash::Sha1 => Keyed::Sha1(KeyInit::new_from_slice(&p.key).unwrap()),
    };
    let f = Fixture {
        head,
        body,
        before,
        after,
        keyed,
        // `read` and `verify` check the timestamp against `ctx.now`, fixed
        // here.
        ctx: Context::new(now, Tolerance::default()),
    };
    // Every arm must agree that the delivery verifies, as a delivery (not a
    // handshake's answer).
    let verdict = p.scheme.read_then_verify(&f.head, &f.body, &f.ctx);
    assert!(
        matches!(verdict, Ok(Verdict::Deliver(_))),
        "{}: the signed delivery must verify: {verdict:?}",
        p.name
    );
    assert!(ours(p, &f));
    let tag = bare_tag(&f);
    if let Hash::Sha256 = p.hash {}
    assert!(
        tag_in_headers(&f.head, &tag),
        "{}: the bare arm must compute the sender's tag",
        p.name
    );
    f
}

/// The limit: clone of a pre-keyed state, the signed bytes, finalize.
#[inline(never)]
fn bare<M: Mac + Clone>(keyed: &M, f: &Fixture) -> hmac::digest::Output<M> {
    let mut mac = keyed.clone();
    mac.update(&f.before);
    mac.update(&f.body);
    mac.update(&f.after);
    mac.finalize().into_bytes()
}

/// The bare arm's tag, whatever the hash (for the checks, not timed).
fn bare_tag(f: &Fixture) -> Vec<u8> {
    match &f.keyed {
        Keyed::Sha256(k) => bare(k, f).to_vec(),
        Keyed::Sha1(k) => bare(k, f).to_vec(),
    }
}

/// The bare arm, timed back to back.
fn bare_arm(f: &Fixture) -> Arm<'_> {
    match &f.keyed {
        Keyed::Sha256(k) => Arm::simple("bare HMAC (pre-keyed)", move || {
            bare(black_box(k), black_box(f))
        }),
        Keyed::Sha1(k) => Arm::simple("bare HMAC-SHA1 (pre-keyed)", move || {
            bare(black_box(k), black_box(f))
        }),
    }
}

/// Whether `tag` is in a header of the signed request: every preset puts it
/// there as base64 or hex, so the bare arm computes the sender's tag.
fn tag_in_headers(head: &Parts, tag: &[u8]) -> bool {
    let b64 = base64::engine::general_purpose::STANDARD.encode(tag);
    let hex: String = tag.iter().map(|b| format!("{b:02x}")).collect();
    head.headers
        .values()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(&b64) || v.contains(&hex))
}

/// The preset's arm: `read` + `verify`, as the layer runs them.
#[inline(never)]
fn ours(p: &Preset, f: &Fixture) -> bool {
    p.scheme.read_then_verify(&f.head, &f.body, &f.ctx).is_ok()
}

fn size_name(len: usize) -> String {
    match len {
        n if n >= 1 << 20 => format!("{} MiB", n >> 20),
        n if n >= 1 << 10 => format!("{} KiB", n >> 10),
        n => format!("{n} B"),
    }
}

fn run_ratios() {
    // `BENCH_ONLY=standard,stripe` measures those presets only.
    let only = std::env::var("BENCH_ONLY").ok();
    let wanted = |name: &str| {
        only.as_deref()
            .is_none_or(|o| o.split(',').any(|n| n == name))
    };
    for p in presets().into_iter().filter(|p| wanted(p.name)) {
        for &len in p.sizes {
            let f = fixture(&p, len);
            // The first arm is the ratios' reference.
            let arms = vec![
                bare_arm(&f),
                Arm::simple(format!("{} read + verify", p.name), || {
                    ours(&p, black_box(&f))
                }),
            ];
            compare(
                &format!("verify `{}`, {} body", p.name, size_name(len)),
                arms,
            );
        }
    }
}

fn run_criterion() {
    let mut c = Criterion::default().configure_from_args();
    for p in presets() {
        let mut g = c.benchmark_group(format!("verify/{}", p.name));
        for &len in p.sizes {
            let f = fixture(&p, len);
            g.throughput(Throughput::Bytes(len as u64));
            let id = BenchmarkId::new("bare_hmac", len);
            match &f.keyed {
                Keyed::Sha256(k) => {
                    g.bench_with_input(id, &f, |b, f| b.iter(|| bare(black_box(k), black_box(f))))
                }
                Keyed::Sha1(k) => {
                    g.bench_with_input(id, &f, |b, f| b.iter(|| bare(black_box(k), black_box(f))))
                }
            };
            g.bench_with_input(BenchmarkId::new("ours", len), &f, |b, f| {
                b.iter(|| ours(&p, black_box(f)))
            });
        }
        g.finish();
    }
    c.final_summary();
}

/// `-- --profile <bytes>`: runs `StandardWebhooks`' `read` + `verify` (or
/// the preset `BENCH_PRESET` names) and the bare HMAC, alternately, in a
/// loop for `BENCH_SECS` seconds (default 5), for `perf record` or
/// callgrind.
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
    // `BENCH_PRESET=github` profiles another HMAC-SHA256 preset.
    let name = std::env::var("BENCH_PRESET").unwrap_or_else(|_| "standard".into());
    let all = presets();
    let p = all
        .iter()
        .find(|p| p.name == name)
        .expect("BENCH_PRESET names a preset");
    let f = fixture(p, len);
    let Keyed::Sha256(k) = &f.keyed else {
        panic!("{name} is not HMAC-SHA256")
    };
    let start = std::time::Instant::now();
    let mut n = 0u64;
    while start.elapsed().as_secs() < secs {
        for _ in 0..1000 {
            black_box(ours(p, black_box(&f)));
            black_box(bare(black_box(k), black_box(&f)));
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
