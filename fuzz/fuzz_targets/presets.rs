//! Every sender preset of `scheme::PRESETS`, built through `scheme::by_name`,
//! over arbitrary requests: the whole `Scheme` surface (`challenge`, `read`,
//! `verify`, `check`) and `Sign::sign`. The fuzz crate enables the `ed25519`,
//! `sendgrid`, `discord` and `salesforce` features, so the asymmetric
//! presets and Salesforce are in the list (last).
//!
//! Input: 1 byte preset index (mod `PRESETS.len()`), then
//! `secret \n METHOD [?query] \n name: value \n ... \n\n body`.
//!
//! Asserts: no panic on any entry point; only `GET` requests get a handshake
//! answer before the body (LinkedIn's: only for a UUID code, JSON holding
//! the code and a hex HMAC); no error message quotes the secret (when it is
//! at least 8 bytes; text that other secrets' messages hold too is the
//! template's, see `quotes_secret`);
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
    AnyScheme, Context, PRESETS, PresetOptions, Scheme, Sign, Tolerance, VerifyError, by_name,
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
        // RFC 8032 TEST 1's seed and public key (signs too).
        "discord" => {
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        }
        // Salesforce signs nothing: its "secret" is the OrganizationId allow-list.
        "salesforce" => "00D5e000000KQ2eEAG",
        // The published-key senders' "secrets" are their settings: eBay's
        // OAuth client credentials, SNS's allowed topics, PayPal's webhook id.
        "ebay" => "client-id:client-secret",
        "sns" => "arn:aws:sns:us-west-2:123456789012:MyTopic",
        "paypal" => "1JE4291016473214C",
        _ => "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    }
}

/// Which characters of a secret its twin moves.
#[derive(Clone, Copy)]
enum Moved {
    First,
    Last,
    Every,
}

/// ASCII punctuation, in the order a twin moves it.
const PUNCTUATION: &[u8] = b"!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";

/// `secret` with characters moved to the next of their class (`z` to `a`,
/// `Z` to `A`, `9` to `0`): the first, the last or every letter and digit
/// (its punctuation instead when it has none). Everything else (length,
/// spaces, other characters) is kept.
fn twin(secret: &str, moved: Moved) -> String {
    let next = |c: char| match c {
        'z' => 'a',
        'Z' => 'A',
        '9' => '0',
        c if c.is_ascii_alphanumeric() => char::from(c as u8 + 1),
        c => match PUNCTUATION.iter().position(|&p| char::from(p) == c) {
            Some(i) => char::from(PUNCTUATION[(i + 1) % PUNCTUATION.len()]),
            None => c,
        },
    };
    let positions = |class: fn(&char) -> bool| -> Vec<usize> {
        secret
            .char_indices()
            .filter(|(_, c)| class(c))
            .map(|(i, _)| i)
            .collect()
    };
    let mut movable = positions(char::is_ascii_alphanumeric);
    if movable.is_empty() {
        movable = positions(char::is_ascii_punctuation);
    }
    let chosen: &[usize] = match moved {
        Moved::First => movable.get(..1).unwrap_or(&[]),
        Moved::Last => movable
            .get(movable.len().saturating_sub(1)..)
            .unwrap_or(&[]),
        Moved::Every => &movable,
    };
    secret
        .char_indices()
        .map(|(i, c)| if chosen.contains(&i) { next(c) } else { c })
        .collect()
}

/// Whether `message`, produced for `secret`, quotes it: it holds the
/// (trimmed) secret, and the messages produced the same way for different
/// secrets of the same shape do not. A fixed message can hold a short
/// secret by chance (`ification` in "verification key"): then the other
/// secrets' messages hold it too, and it is template text, not a leak. A
/// message that quotes its secret holds the twin in its place, not the
/// secret, so a real leak is still caught (whatever path the twin takes).
///
/// Same shape: the same length, spaces and other characters, letters and
/// digits (or, without any, punctuation) moved within their class, so that
/// the twin takes the path the secret took as far as possible (a base64
/// alphabet, a length, a `whsec_` or `-----BEGIN` prefix). As one change can
/// still move a twin onto another path (base64's last symbol, a DER byte, a
/// prefix), three twins are tried (first, last, every such character
/// moved); the secret counts as template text if any of their messages
/// holds it. A secret of spaces and non-ASCII characters only has no twin:
/// finding it in a message counts as a leak.
fn quotes_secret(secret: &str, message: &str, message_for: impl Fn(&str) -> String) -> bool {
    let s = secret.trim();
    if s.len() < 8 || !message.contains(s) {
        return false;
    }
    ![Moved::First, Moved::Last, Moved::Every]
        .into_iter()
        .map(|m| twin(secret, m))
        .filter(|t| t != secret)
        .any(|t| message_for(&t).contains(s))
}

/// `by_name`'s error message for `secret` (empty when it builds).
fn config_message(name: &str, secret: &str) -> String {
    by_name(name, secret, &options())
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default()
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
            assert!(
                !quotes_secret(secret, &msg, |t| config_message(name, t)),
                "{name}: error quotes the secret: {msg}"
            );
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

    if let Some(answer) = scheme.challenge(&head) {
        assert_eq!(
            method,
            Method::GET,
            "{name}: a handshake answered to {method}"
        );
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
                response.len() == 64
                    && response
                        .bytes()
                        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
                "{name}: response {response:?}"
            );
        }
    }
    // The same request against the same preset with another secret: text
    // found in its errors too comes from the templates or the request, not
    // from the secret.
    let other =
        by_name(name, vector_key(name), &options()).expect("every preset takes its vector's key");
    // `read` (the head, once), then `verify` (the body against what was
    // read), as the layer runs them: the error of the first that refuses.
    // A signed handshake's answer (`Verdict::Answer`) comes from `verify`
    // too (before the reshape, `handshake(&head, Some(body))`).
    let messages = |s: &AnyScheme| match s.read(&head, &ctx) {
        Err(e) => e.to_string(),
        Ok(read) => s
            .verify(&head, read, body, &ctx)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default(),
    };
    let mine = messages(&scheme);
    let theirs = messages(&other);
    let s = secret.trim();
    if s.len() >= 8 && !theirs.contains(s) {
        assert!(!mine.contains(s), "{name}: error quotes the secret: {mine}");
    }

    // A GitLab-style token goes into a header as it is, and the receiver
    // reads headers as visible ASCII: a non-ASCII token is accepted by
    // `by_name` but can never verify (noted in SECURITY.md, left to the
    // senders branch). Skip the round trip for those.
    if name == "gitlab" && !secret.bytes().all(|b| (0x20..0x7f).contains(&b)) {
        return;
    }
    // Salesforce signs nothing ("signing" sets the content type): there is
    // no round trip to check; its reader has a target of its own
    // (`salesforce_xml`).
    if name == "salesforce" {
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
    let verified = scheme.check(&head, &signed_body, &ctx);
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
            scheme.check(&head, &tampered, &ctx).is_err(),
            "{name}: verifies with a changed body"
        );
    }
});
