//! The whole layer in process: arbitrary methods, headers and bodies, several
//! requests per input against one layer (fixed secret, `ManualClock`, a
//! small memory store behind a counting wrapper, a handler that records its
//! calls), checked against an independent reference verifier.
//!
//! Input: up to 8 requests separated by `\n~~~\n`. Each is
//!
//! ```text
//! METHOD SECONDS_TO_ADVANCE_THE_CLOCK
//! name: value
//! ...
//!
//! body bytes
//! ```
//!
//! A header value containing `{{sig}}` has it replaced by
//! `v1,<reference signature>` over that family's (`webhook-` or `svix-`) id
//! and timestamp headers and the body, so the fuzzer reaches the accepting
//! paths too. The path is always `/webhook` (the default dedup namespace is
//! the path; see SECURITY.md).
//!
//! Asserts, per request: no panic, no hang; the handler is called at most
//! once, and only when the reference (HMAC-SHA256 over `{id}.{ts}.{body}`
//! with the hmac/sha2 crates, compared to the `v1` entries; timestamp within
//! 300 s of the clock; POST; body within the limit) says the request is
//! validly signed, with the id the reference read; a signed delivery (id
//! and timestamp) is never handled successfully twice; a request refused
//! before verification (401, 405, 413, 400) performs zero store operations; a `Duplicate` answer only for an
//! id handled before; and every request that a strict reading of the spec
//! accepts reaches the handler unless it is a duplicate or the store is full.

#![no_main]

use std::collections::HashSet;
use std::future::poll_fn;
use std::time::{SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use fuzz_support::{
    CountingStore, Handler, NOW, SECRET, TOLERANCE_SECS, block_on, canonical_seconds,
    is_visible_ascii, key, lists_v1, reference_signature,
};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request};
use http_body_util::Full;
use libfuzzer_sys::fuzz_target;
use tower_layer::Layer;
use tower_service::Service;
use tower_webhook::clock::{Clock, ManualClock};
use tower_webhook::dedup::{MemoryStore, StoreError};
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::{Rejection, WebhookLayer};

/// Whole seconds since the Unix epoch, floored (the crate's
/// `clock::unix_seconds`, private since the 1.0 shape).
fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => {
            let d = e.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            if d.subsec_nanos() == 0 {
                -secs
            } else {
                -secs - 1
            }
        }
    }
}

const MAX_BODY: usize = 256;
const CAPACITY: usize = 4;
const SEPARATOR: &[u8] = b"\n~~~\n";

struct Raw<'a> {
    method: &'a [u8],
    advance: u64,
    headers: Vec<(&'a [u8], &'a [u8])>,
    body: &'a [u8],
}

fn split<'a>(mut data: &'a [u8], sep: &[u8]) -> Vec<&'a [u8]> {
    let mut out = Vec::new();
    while let Some(i) = data.windows(sep.len()).position(|w| w == sep) {
        out.push(&data[..i]);
        data = &data[i + sep.len()..];
    }
    out.push(data);
    out
}

fn parse(text: &[u8]) -> Raw<'_> {
    let (head, body) = match text.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&text[..i], &text[i + 2..]),
        None => (text, &[][..]),
    };
    let mut lines = head.split(|&b| b == b'\n');
    let first = lines.next().unwrap_or(&[]);
    let mut words = first.splitn(2, |&b| b == b' ');
    let method = words.next().unwrap_or(&[]);
    let advance = words
        .next()
        .and_then(|w| std::str::from_utf8(w).ok())
        .and_then(|w| w.parse::<u64>().ok())
        .unwrap_or(0)
        .min(100_000);
    let headers = lines
        .map(|line| match line.windows(2).position(|w| w == b": ") {
            Some(i) => (&line[..i], &line[i + 2..]),
            None => (line, &[][..]),
        })
        .collect();
    Raw {
        method,
        advance,
        headers,
        body,
    }
}

/// The header family a Standard Webhooks receiver reads: `webhook-*`
/// unless only `svix-signature` is present.
fn family(headers: &HeaderMap) -> &'static str {
    if headers.contains_key("webhook-signature") || !headers.contains_key("svix-signature") {
        "webhook-"
    } else {
        "svix-"
    }
}

fn first<'h>(headers: &'h HeaderMap, name: &str) -> &'h [u8] {
    headers.get(name).map(HeaderValue::as_bytes).unwrap_or(&[])
}

/// The three headers of `family`, first values.
fn triple<'h>(headers: &'h HeaderMap, family: &str) -> (&'h [u8], &'h [u8], &'h [u8]) {
    (
        first(headers, &format!("{family}id")),
        first(headers, &format!("{family}timestamp")),
        first(headers, &format!("{family}signature")),
    )
}

/// Lenient: the first values sign the body and the timestamp is in the window.
fn reference_signed(headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let (id, ts, sig) = triple(headers, family(headers));
    let in_window = std::str::from_utf8(ts)
        .ok()
        .and_then(|t| t.parse::<i128>().ok())
        .is_some_and(|t| (t - i128::from(now)).abs() <= i128::from(TOLERANCE_SECS));
    in_window && lists_v1(sig, &reference_signature(&key(), id, ts, body))
}

/// Strict: everything a conforming sender sends, exactly once.
fn strictly_valid(method: &Method, headers: &HeaderMap, body: &[u8], now: i64) -> bool {
    let fam = family(headers);
    let once = ["id", "timestamp", "signature"]
        .iter()
        .all(|n| headers.get_all(format!("{fam}{n}")).iter().count() == 1);
    let cl: Vec<_> = headers.get_all("content-length").iter().collect();
    let cl_ok =
        cl.is_empty() || (cl.len() == 1 && cl[0].as_bytes() == body.len().to_string().as_bytes());
    let (id, ts, sig) = triple(headers, fam);
    let entries = sig.split(|&b| b == b' ').filter(|e| !e.is_empty()).count();
    method == Method::POST
        && body.len() <= MAX_BODY
        && once
        && cl_ok
        && (1..=256).contains(&id.len())
        && id.iter().all(|&b| is_visible_ascii(b) && b != b'.')
        && canonical_seconds(ts).is_some_and(|t| (t - now).abs() <= TOLERANCE_SECS)
        && sig.iter().all(|&b| is_visible_ascii(b))
        && (1..=32).contains(&entries)
        && lists_v1(sig, &reference_signature(&key(), id, ts, body))
}

fn build(raw: &Raw<'_>) -> Option<Request<Full<Bytes>>> {
    let method = Method::from_bytes(raw.method).ok()?;
    let mut headers: Vec<(HeaderName, Vec<u8>)> = Vec::new();
    for (name, value) in &raw.headers {
        let Ok(name) = HeaderName::from_bytes(name) else {
            continue;
        };
        headers.push((name, value.to_vec()));
    }
    // Expand `{{sig}}` with the reference signature over the family's
    // first id and timestamp values.
    let lookup = |headers: &[(HeaderName, Vec<u8>)], name: &str| {
        headers
            .iter()
            .find(|(n, _)| n.as_str() == name)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let snapshot = headers.clone();
    for (name, value) in &mut headers {
        let Some(at) = value.windows(7).position(|w| w == b"{{sig}}") else {
            continue;
        };
        let fam = if name.as_str().starts_with("svix-") {
            "svix-"
        } else {
            "webhook-"
        };
        let id = lookup(&snapshot, &format!("{fam}id"));
        let ts = lookup(&snapshot, &format!("{fam}timestamp"));
        let sig = format!("v1,{}", reference_signature(&key(), &id, &ts, raw.body));
        value.splice(at..at + 7, sig.into_bytes());
    }
    let mut builder = Request::builder().method(method).uri("/webhook");
    for (name, value) in headers {
        let Ok(value) = HeaderValue::from_bytes(&value) else {
            continue;
        };
        builder = builder.header(name, value);
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(raw.body)))
        .ok()
}

fuzz_target!(|data: &[u8]| {
    let clock = ManualClock::at_unix(NOW);
    let store = CountingStore::new(
        MemoryStore::builder()
            .capacity(CAPACITY)
            .clock(clock.clone())
            .build(),
    );
    let handler = Handler::default();
    let layer = WebhookLayer::new(StandardWebhooks::new(SECRET).expect("valid secret"))
        .clock(clock.clone())
        .dedup(store.clone())
        .max_body(MAX_BODY);
    let mut svc = layer.layer(handler.clone());
    // (id, timestamp) pairs the handler answered 2xx to, and their ids.
    let mut handled_ok: HashSet<(Vec<u8>, Vec<u8>)> = HashSet::new();
    let mut handled_ids: HashSet<Vec<u8>> = HashSet::new();

    for text in split(data, SEPARATOR).into_iter().take(8) {
        let raw = parse(text);
        clock.advance(std::time::Duration::from_secs(raw.advance));
        let Some(request) = build(&raw) else { continue };
        let now = unix_seconds(clock.now());
        let method = request.method().clone();
        let headers = request.headers().clone();
        let body = raw.body;
        let signed = method == Method::POST
            && body.len() <= MAX_BODY
            && reference_signed(&headers, body, now);
        let strict = strictly_valid(&method, &headers, body, now);
        let (id, ts, _) = triple(&headers, family(&headers));

        let ops_before = store.ops();
        let calls_before = handler.calls().len();
        block_on(poll_fn(|cx| {
            Service::<Request<Full<Bytes>>>::poll_ready(&mut svc, cx)
        }))
        .expect("infallible");
        let response = block_on(svc.call(request)).expect("infallible");
        let calls = handler.calls();
        let new_calls = &calls[calls_before..];
        let rejection = response.extensions().get::<Rejection>().cloned();
        assert!(
            new_calls.len() <= 1,
            "handler called {} times",
            new_calls.len()
        );

        if let [call] = new_calls {
            assert!(rejection.is_none());
            assert_eq!(response.status(), call.status);
            assert!(signed, "handler reached by a request the reference refuses");
            assert_eq!(call.id.as_deref().map(str::as_bytes), Some(id));
            if call.status.is_success() {
                // The same signed delivery (id and timestamp) twice is a
                // replay. The same id with a new timestamp is the sender's
                // own retry, accepted once the id's retention has ended.
                let fresh = handled_ok.insert((id.to_vec(), ts.to_vec()));
                assert!(fresh, "delivery {id:?} at {ts:?} handled twice");
                handled_ids.insert(id.to_vec());
            }
        }
        match &rejection {
            None => assert_eq!(
                new_calls.len(),
                1,
                "an answer that is neither handler's nor a rejection"
            ),
            Some(
                Rejection::Unverified(_)
                | Rejection::MethodNotAllowed(_)
                | Rejection::PayloadTooLarge { .. }
                | Rejection::BodyRead(_),
            ) => {
                assert_eq!(store.ops(), ops_before, "store touched by {rejection:?}");
                assert!(!strict, "strictly valid request refused: {rejection:?}");
            }
            Some(Rejection::Duplicate { id: dup }) => {
                assert!(signed);
                assert!(
                    handled_ids.contains(dup.as_bytes()),
                    "duplicate of an id never handled"
                );
            }
            Some(Rejection::Store(StoreError::Full { .. })) => assert!(signed),
            Some(other) => panic!("unexpected rejection {other:?}"),
        }
        if response.status().is_success() {
            assert!(signed, "2xx for a request the reference refuses");
        }
        assert!(store.inner.len() <= CAPACITY);
    }
});
