//! Round trip: what the crate's signer produces verifies, among noise
//! entries, and matches the reference HMAC; one flipped bit anywhere in the
//! body, id, timestamp or signature makes it fail.
//!
//! Input: 1 byte noise entries before the signature (mod 16), 1 byte after
//! (mod 16), 1 byte what to flip (0 body, 1 id, 2 timestamp, 3 signature,
//! else nothing), 2 bytes which bit (u16 LE, modulo the field's bits), 1 byte
//! timestamp skew in seconds (i8), then `id \0 body` (id bytes are mapped
//! into visible ASCII without spaces and dots).

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use base64::Engine as _;
use bytes::Bytes;
use fuzz_support::{NOW, SECRET, key, reference_signature};
use http::HeaderValue;
use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{Context, Scheme, StandardWebhooks, Tolerance, VerifyError};
use tower_webhook::sign::Signer;

/// The most entries a signature header may list: 32 (the crate's
/// `MAX_SIGNATURES`, private since the 1.0 shape; `StandardWebhooks`' docs
/// and SECURITY.md state the figure).
const MAX_SIGNATURES: usize = 32;

/// An entry that can never match: another version, garbage, or a v1 entry
/// holding a tag derived from its index (not the content's).
fn noise(i: usize) -> String {
    match i % 4 {
        0 => "v1a,hnO3f9T8Ytu9HwrXslvumlUpqtNVqkhqw/enGzPCXe5BdqzCInXqYXFymVJaA7AZdpXwVLPo3mNl8EM+m7TBAg==".into(),
        1 => format!("v2,{}", "x".repeat(i)),
        2 => format!("v1,{}", base64::engine::general_purpose::STANDARD.encode([i as u8; 32])),
        _ => "v1,".into(),
    }
}

fn flip(bytes: &mut [u8], bit: usize) {
    if !bytes.is_empty() {
        let bit = bit % (bytes.len() * 8);
        bytes[bit / 8] ^= 1 << (bit % 8);
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let before = usize::from(data[0] % 16);
    let after = usize::from(data[1] % 16);
    let target = data[2];
    let bit = usize::from(u16::from_le_bytes([data[3], data[4]]));
    let skew = i64::from(data[5] as i8);
    let rest = &data[6..];
    let (id, body) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    // Visible ASCII without space and without `.` (the signed-content
    // separator, which event ids may not contain).
    let id: String = id
        .iter()
        .take(256)
        .map(|b| match char::from(0x21 + b % 94) {
            '.' => '_',
            c => c,
        })
        .collect();
    if id.is_empty() {
        return;
    }
    let ts = NOW + skew;

    let scheme = StandardWebhooks::new(SECRET).expect("valid secret");
    let now = UNIX_EPOCH + Duration::from_secs(NOW as u64);
    let ctx = Context::new(now, Tolerance::default());
    let signed = Signer::new(&scheme)
        .id(id.clone())
        .timestamp(UNIX_EPOCH + Duration::from_secs(ts as u64))
        .request("/webhook", Bytes::copy_from_slice(body))
        .expect("a visible-ASCII id signs");
    let (mut head, body) = signed.into_parts();

    // The signer agrees with the reference.
    let ts_text = ts.to_string();
    let expected = reference_signature(&key(), id.as_bytes(), ts_text.as_bytes(), &body);
    let entry = format!("v1,{expected}");
    assert_eq!(head.headers["webhook-signature"], entry.as_str());

    // Surround it with noise.
    let mut entries: Vec<String> = (0..before).map(noise).collect();
    entries.push(entry.clone());
    entries.extend((0..after).map(|i| noise(i + before)));
    let header = entries.join(" ");
    head.headers.insert(
        "webhook-signature",
        HeaderValue::from_str(&header).expect("ASCII"),
    );
    let result = scheme.check(&head, &body, &ctx);
    if entries.len() > MAX_SIGNATURES {
        assert!(
            matches!(result, Err(VerifyError::TooManySignatures { .. })),
            "{result:?}"
        );
        return;
    }
    let envelope = result
        .expect("a signed delivery verifies among noise")
        .envelope()
        .expect("a delivery, never a handshake's answer");
    assert_eq!(envelope.id.as_deref(), Some(id.as_str()));
    assert_eq!(
        envelope.timestamp,
        Some(UNIX_EPOCH + Duration::from_secs(ts as u64))
    );

    // One flipped bit.
    let mut body = body.to_vec();
    match target {
        0 if !body.is_empty() => flip(&mut body, bit),
        1 => {
            let mut v = id.into_bytes();
            flip(&mut v, bit);
            match HeaderValue::from_bytes(&v) {
                Ok(v) => head.headers.insert("webhook-id", v),
                Err(_) => return, // not a header value any stack would deliver
            };
        }
        2 => {
            let mut v = ts_text.into_bytes();
            flip(&mut v, bit);
            match HeaderValue::from_bytes(&v) {
                Ok(v) => head.headers.insert("webhook-timestamp", v),
                Err(_) => return,
            };
        }
        3 => {
            // Flip a bit inside the 44 base64 characters of the real entry.
            let mut v = expected.into_bytes();
            flip(&mut v, bit);
            let mut flipped = entries.clone();
            flipped[before] = format!("v1,{}", String::from_utf8_lossy(&v));
            match HeaderValue::from_str(&flipped.join(" ")) {
                Ok(v) => head.headers.insert("webhook-signature", v),
                Err(_) => return,
            };
        }
        _ => return,
    }
    let tampered = scheme.check(&head, &body, &ctx);
    assert!(
        tampered.is_err(),
        "one flipped bit still verifies (target {target}, bit {bit})"
    );
});
