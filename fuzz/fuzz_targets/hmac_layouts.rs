//! The generic HMAC engine (`HmacScheme::builder`) in layouts chosen by the
//! input: algorithm, encoding, prefix, list separator, where the timestamp
//! and id come from, and the signed content built from parts.
//!
//! Input: 6 layout bytes, then `signature header value \n timestamp header
//! value \n body`.
//!
//! Asserts: no panic in `read`, `verify` or `sign` for any layout and
//! any request; a request the engine signs itself verifies (when its body
//! carries what the layout reads from it); one changed body byte fails
//! whenever the layout signs the body.

#![no_main]

use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::Request;
use libfuzzer_sys::fuzz_target;
use tower_webhook::scheme::{
    Algorithm, Context, Encoding, HmacScheme, Part, Scheme, Sign, TimeUnit, Tolerance, VerifyError,
};
use tower_webhook::secret::{KeyRing, Secret};

const NOW: u64 = 1_700_000_000;
const SIG: &str = "x-sig";
const TS: &str = "x-ts";
const ID: &str = "x-id";

fn layout(b: &[u8; 6]) -> Option<(HmacScheme, bool)> {
    let mut builder = HmacScheme::builder("fuzz", SIG)
        .algorithm([Algorithm::Sha1, Algorithm::Sha256, Algorithm::Sha512][usize::from(b[0] % 3)])
        .encoding([Encoding::Hex, Encoding::Base64][usize::from(b[1] % 2)])
        .prefix(["", "sha256=", "v1="][usize::from(b[2] % 3)]);
    let separator = [None, Some(','), Some(' '), Some(';')][usize::from(b[3] % 4)];
    if let Some(sep) = separator {
        builder = builder.separator(sep);
    }
    let unit = [TimeUnit::Seconds, TimeUnit::Millis, TimeUnit::Rfc3339][usize::from(b[4] % 3)];
    let timestamp = b[4] / 3 % 4;
    builder = match timestamp {
        1 => builder.timestamp_header(TS, unit),
        // An entry of the signature header needs a list to live in.
        2 if separator.is_some() => builder.timestamp_entry("t=", unit),
        3 => builder.timestamp_json("/ts", unit),
        _ => builder,
    };
    let has_ts = timestamp == 1 || timestamp == 3 || (timestamp == 2 && separator.is_some());
    builder = if b[5] & 1 == 0 {
        builder.id_header(ID)
    } else {
        builder.id_json("/id")
    };
    let body_signed = b[5] & 2 == 0 || !has_ts;
    let parts: Vec<Part> = match (has_ts, b[5] >> 2 & 3) {
        (true, 0) => vec![Part::Timestamp, Part::Literal("."), Part::Body],
        (true, 1) => vec![
            Part::Literal("v0:"),
            Part::Timestamp,
            Part::Literal(":"),
            Part::Body,
        ],
        (true, 2) if !body_signed => vec![Part::Method, Part::Id, Part::Timestamp],
        (_, 3) => vec![Part::Id, Part::Literal("."), Part::Body],
        _ => vec![Part::Body],
    };
    let signs_body = parts.contains(&Part::Body);
    let ring = KeyRing::single(Secret::from_text("fuzz-secret").ok()?);
    builder
        .content(parts)
        .build(&ring)
        .ok()
        .map(|s| (s, signs_body))
}

fuzz_target!(|data: &[u8]| {
    let Some((choice, rest)) = data.split_first_chunk::<6>() else {
        return;
    };
    let Some((scheme, signs_body)) = layout(choice) else {
        return;
    };
    let mut fields = rest.splitn(3, |&b| b == b'\n');
    let sig = fields.next().unwrap_or(&[]);
    let ts = fields.next().unwrap_or(&[]);
    let body = fields.next().unwrap_or(&[]);
    let now = UNIX_EPOCH + Duration::from_secs(NOW);
    let ctx = Context::new(now, Tolerance::default());

    // Arbitrary request: never a panic, and never accepted by chance.
    let mut builder = Request::post("https://example.com/hook");
    if let Ok(v) = http::HeaderValue::from_bytes(sig) {
        builder = builder.header(SIG, v);
    }
    if let Ok(v) = http::HeaderValue::from_bytes(ts) {
        builder = builder.header(TS, v);
    }
    if let Ok((head, ())) = builder
        .header(ID, "evt_1")
        .body(())
        .map(Request::into_parts)
    {
        // The head read once, then the body verified against it (as the
        // layer does).
        if let Ok(read) = scheme.read(&head, &ctx) {
            let _ = scheme.verify(&head, read, body, &ctx);
        }
    }

    // Round trip: what the engine signs verifies; a changed body byte does not.
    let mut request = Request::post("https://example.com/hook")
        .body(Bytes::copy_from_slice(body))
        .expect("a static request builds");
    if scheme.sign(&mut request, "evt_1", now).is_err() {
        return; // e.g. the layout reads a timestamp the body does not carry
    }
    let (head, signed_body) = request.into_parts();
    match scheme.check(&head, &signed_body, &ctx) {
        Ok(_) => {}
        // Layouts that read the id or timestamp from a body that lacks them.
        Err(VerifyError::MalformedBody { .. }) => return,
        // A timestamp read from the body is the body's, whatever time the
        // signer was given: outside the window, it is rightly refused.
        Err(
            VerifyError::TooOld { header: "/ts", .. } | VerifyError::TooNew { header: "/ts", .. },
        ) => {
            return;
        }
        Err(e) => panic!("signed request refused: {e}"),
    }
    if signs_body && !signed_body.is_empty() {
        let mut changed = signed_body.to_vec();
        let i = usize::from(choice[0]) % changed.len();
        changed[i] ^= 1;
        assert!(
            scheme.check(&head, &changed, &ctx).is_err(),
            "changed body byte {i} still verifies"
        );
    }
});
