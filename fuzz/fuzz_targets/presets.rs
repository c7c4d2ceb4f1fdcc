//! Every sender preset of `scheme::PRESETS`, built through `scheme::by_name`,
//! over arbitrary requests: the whole `Scheme` surface (`handshake`,
//! `check_head`, `verify`, `sign`). The fuzz crate enables the `ed25519` and
//! `sendgrid` features, so the asymmetric presets are in the list (last).
//!
//! Input: 1 byte preset index (mod `PRESETS.len()`), then
//! `secret \n METHOD [?query] \n name: value \n ... \n\n body`.
//!
//! Asserts: no panic on any entry point; only `GET` requests get a handshake
//! answer before the body (LinkedIn's: only for a UUID code, JSON holding
//! the code and a hex HMAC); no error message contains the
//! secret (when it is at least 8 bytes);
//! what a preset signs (fixed id, the clock's time) verifies (unless the
//! preset reads a field the fuzzed body lacks), and does not
//! once one byte of the body changes (except for presets that do not sign the
//! body: the GitLab-style token).

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{
    Context, PRESETS, PresetOptions, Scheme, Tolerance, VerifyError, by_name,
};

const NOW: u64 = 1_700_000_000;
const PUBLIC_URL: &str = "https://example.com/webhook";
const VERIFY_TOKEN: &str = "fuzz-verify-token";

fn options() -> PresetOptions {
    PresetOptions::new()
        .public_url(PUBLIC_URL)
        .verify_token(VERIFY_TOKEN)
}

/// A key every preset's `by_name` accepts: a vector's. The asymmetric
/// presets take keys, not `whsec_` secrets (the Ed25519 one a secret key, so
/// that it signs too).
fn vector_key(name: &str) -> &'static str {
    match name {
        "standard-ed25519" => {
            "whsk_6Xb/dCcHpPea21PS1N9VY/NZW723CEc77N4rJCubMbfVKIDij2HKpMKkioLlX0dRqSKJp4AJ6p9lMicMFs6Kvg=="
        }
        "sendgrid" => {
            "MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEEDr2LjtURuePQzplybdC+u4CwrqDqBaWjcMMsTbhdbcwHBcepxo7yAQGhHPTnlvFYPAZFceEu/1FwCM/QmGUhA=="
        }
        _ => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let name = PRESETS[usize::from(pick) % PRESETS.len()];
    let mut lines = rest.splitn(2, |&b| b == b'\n');
    let Ok(secret) = std::str::from_utf8(lines.next().unwrap_or(&[])) else {
        return;
    };
    let request = lines.next().unwrap_or(&[]);

    let scheme = match by_name(name, secret, &options()) {
        Ok(s) => s,
        Err(e) => {
            let msg = e.to_string();
            if secret.trim().len() >= 8 {
                assert!(
                    !msg.contains(secret.trim()),
                    "{name}: error quotes the secret: {msg}"
                );
            }
            return;
        }
    };
    assert_eq!(scheme.name(), name);
    // The request: method line, header lines, blank line, body.
    let (head_text, body) = match request.windows(2).position(|w| w == b"\n\n") {
        Some(i) => (&request[..i], &request[i + 2..]),
        None => (request, &[][..]),
    };
    let mut head_lines = head_text.split(|&b| b == b'\n');
    // `METHOD` or `METHOD ?query` (the GET verification requests).
    let first = head_lines.next().unwrap_or(b"POST");
    let (method, query) = match first.iter().position(|&b| b == b' ') {
        Some(i) => (&first[..i], first.get(i + 1..).unwrap_or(&[])),
        None => (first, &[][..]),
    };
    let method = Method::from_bytes(method).unwrap_or(Method::POST);
    let uri = match std::str::from_utf8(query) {
        Ok(q) if q.starts_with('?') => format!("{PUBLIC_URL}{q}"),
        _ => PUBLIC_URL.to_owned(),
    };
    let mut builder = Request::builder().method(method.clone()).uri(uri);
    for line in head_lines {
        let (n, v) = match line.windows(2).position(|w| w == b": ") {
            Some(i) => (&line[..i], &line[i + 2..]),
            None => (line, &[][..]),
        };
        if let (Ok(n), Ok(v)) = (HeaderName::from_bytes(n), HeaderValue::from_bytes(v)) {
            builder = builder.header(n, v);
        }
    }
    let Ok(req) = builder.body(()) else { return };
    let (head, ()) = req.into_parts();
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let ctx = Context::new(now, Tolerance::default());

    if let Some(answer) = scheme.handshake(&head, None) {
        assert_eq!(method, Method::GET, "{name}: a handshake answered to {method}");
        assert_eq!(answer.status(), 200);
        if name == "linkedin" {
            // `{"challengeCode": <the code>, "challengeResponse": <hex HMAC>}`,
            // valid JSON whatever the code holds.
            let json: serde_json::Value =
                serde_json::from_slice(answer.body()).expect("the answer is JSON");
            let code = json["challengeCode"].as_str().expect("a code");
            // Only LinkedIn's form is answered (SECURITY.md, "Handshakes are
            // never oracles").
            let uuid = code.len() == 36
                && code.bytes().enumerate().all(|(i, b)| match i {
                    8 | 13 | 18 | 23 => b == b'-',
                    _ => b.is_ascii_hexdigit(),
                });
            assert!(uuid, "{name}: answered the code {code:?}, not a UUID");
            let response = json["challengeResponse"].as_str().expect("a response");
            assert!(
                response.len() == 64 && response.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{name}: response {response:?}"
            );
        }
    }
    // The same request against the same preset with another secret: text
    // found in its errors too comes from the templates or the request, not
    // from the secret.
    let other = by_name(name, vector_key(name), &options())
        .expect("every preset takes its vector's key");
    let messages = |s: &dyn Scheme| {
        let mut out = String::new();
        if let Err(e) = s.check_head(&head, &ctx) {
            out.push_str(&e.to_string());
        }
        if let Err(e) = s.verify(&head, body, &ctx) {
            out.push_str(&e.to_string());
        }
        out
    };
    let mine = messages(&*scheme);
    let theirs = messages(&*other);
    let s = secret.trim();
    if s.len() >= 8 && !theirs.contains(s) {
        assert!(!mine.contains(s), "{name}: error quotes the secret: {mine}");
    }
    let _ = scheme.handshake(&head, Some(body));

    // A GitLab-style token goes into a header as it is, and the receiver
    // reads headers as visible ASCII: a non-ASCII token is accepted by
    // `by_name` but can never verify (noted in SECURITY.md, left to the
    // senders branch). Skip the round trip for those.
    if name == "gitlab" && !secret.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return;
    }
    // Sign the fuzzed body as the sender would; it must verify.
    let mut signed = Request::post(PUBLIC_URL)
        .header("content-type", "application/json")
        .body(Bytes::copy_from_slice(body))
        .expect("static parts");
    if scheme.sign(&mut signed, "evt_1", now).is_err() {
        return;
    }
    let (head, signed_body) = signed.into_parts();
    let verified = scheme.verify(&head, &signed_body, &ctx);
    // Presets that read a field from the body (Linear's timestamp, ...) sign
    // any body but cannot verify one that lacks the field.
    if matches!(verified, Err(VerifyError::MalformedBody { .. })) {
        return;
    }
    assert!(
        verified.is_ok(),
        "{name}: own signature refused: {verified:?}"
    );
    if name != "gitlab" && !signed_body.is_empty() {
        let mut tampered = signed_body.to_vec();
        tampered[0] ^= 1;
        assert!(
            scheme.verify(&head, &tampered, &ctx).is_err(),
            "{name}: verifies with a changed body"
        );
    }
});
