//! The headers of a Standard Webhooks delivery, read and checked once for
//! both signature families: `v1` (HMAC-SHA256, [`StandardWebhooks`]) and
//! `v1a` (Ed25519, `StandardWebhooksEd25519`).
//!
//! Everything here is about the envelope, not the signature: which header
//! family (`webhook-*` or Svix's `svix-*`) is in use, the event id rules, the
//! timestamp and its tolerance, the entries of the signature header and their
//! count, and writing the three headers when signing.
//!
//! [`StandardWebhooks`]: super::StandardWebhooks

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};

use super::{MAX_ID_LEN, MAX_SIGNATURES};
use crate::scheme::util::{check_age, parse_unix_digits_bytes};
use crate::scheme::{Context, Envelope, SignError, VerifyError};

/// The names of one header family.
pub(super) struct Names {
    pub(super) id: &'static str,
    pub(super) timestamp: &'static str,
    pub(super) signature: &'static str,
}

/// The specification's headers, also the ones written when signing.
pub(super) const WEBHOOK: Names = Names {
    id: "webhook-id",
    timestamp: "webhook-timestamp",
    signature: "webhook-signature",
};

/// Svix's headers, read when `webhook-signature` is absent.
const SVIX: Names = Names {
    id: "svix-id",
    timestamp: "svix-timestamp",
    signature: "svix-signature",
};

/// The three headers, read and checked: the id follows the id rules, the
/// timestamp lies within the tolerance, and the signature header holds 1 to
/// [`MAX_SIGNATURES`] entries of ASCII.
pub(super) struct Head<'h> {
    pub(super) names: &'static Names,
    pub(super) id: &'h str,
    pub(super) timestamp: &'h [u8],
    pub(super) timestamp_secs: i64,
    pub(super) signature: &'h [u8],
    /// Whether the signature header is one entry (it holds no space).
    sole: bool,
}

impl<'h> Head<'h> {
    /// Reads the headers of `head` and checks id and timestamp.
    pub(super) fn read(head: &'h Parts, ctx: &Context) -> Result<Self, VerifyError> {
        let found = Found::scan(&head.headers);
        let (names, base) = if found.has(2) || !found.has(5) {
            (&WEBHOOK, 0)
        } else {
            (&SVIX, 3)
        };
        let id = event_id(names.id, found.once(base, names.id)?)?;
        let timestamp = found.once(base + 1, names.timestamp)?.as_bytes();
        let signature = found.once(base + 2, names.signature)?.as_bytes();
        let timestamp_secs = match parse_unix_digits_bytes(names.timestamp, timestamp, 12) {
            Ok(secs) => secs,
            // The digits check refuses every other byte; name non-ASCII as
            // such, as for the other two headers.
            Err(_) if !timestamp.is_ascii() => return Err(not_ascii(names.timestamp)),
            Err(e) => return Err(e),
        };
        check_age(names.timestamp, timestamp_secs.saturating_mul(1000), ctx)?;
        if !signature.is_ascii() {
            return Err(not_ascii(names.signature));
        }
        let sole = check_signatures(names.signature, signature)?;
        Ok(Head {
            names,
            id,
            timestamp,
            timestamp_secs,
            signature,
            sole,
        })
    }

    /// The non-empty entries of the signature header. A header that is one
    /// entry and no space (what senders send outside a key rotation, found
    /// by `read`) is handed out whole, without splitting.
    pub(super) fn entries(&self) -> impl Iterator<Item = &'h [u8]> + use<'h> {
        let (sole, split) = if self.sole {
            (Some(self.signature), None)
        } else {
            (None, Some(entries(self.signature)))
        };
        sole.into_iter().chain(split.into_iter().flatten())
    }

    /// The signed content's parts, in order: `{id}.{timestamp}.{body}`.
    pub(super) fn signed_parts<'b>(&self, body: &'b [u8]) -> [&'b [u8]; 5]
    where
        'h: 'b,
    {
        [self.id.as_bytes(), b".", self.timestamp, b".", body]
    }

    /// The envelope of a delivery whose signature verified.
    pub(super) fn envelope(&self) -> Envelope {
        // Whole seconds, at most 12 digits: no division by 1000 and no
        // overflow (the fallback is never taken).
        Envelope::signed_id(self.id).with_timestamp(
            UNIX_EPOCH
                .checked_add(Duration::from_secs(self.timestamp_secs.unsigned_abs()))
                .unwrap_or_else(|| {
                    crate::clock::from_unix_millis(self.timestamp_secs.saturating_mul(1000))
                }),
        )
    }
}

/// The six headers the schemes read, found in one pass over the header map.
///
/// One pass comparing names replaces four to five `HeaderMap` look-ups by
/// `&str`, each of which parses and hashes the name: measured (perf, 64 B
/// delivery), those look-ups took about a third of `verify`'s samples.
struct Found<'h> {
    /// First value of `webhook-id`, `-timestamp`, `-signature`, then `svix-*`.
    first: [Option<&'h HeaderValue>; 6],
    /// Bit `i`: header `i` appears.
    seen: u8,
    /// Bit `i`: header `i` appears more than once.
    repeated: u8,
}

impl<'h> Found<'h> {
    fn scan(headers: &'h HeaderMap) -> Self {
        let mut found = Found {
            first: [None; 6],
            seen: 0,
            repeated: 0,
        };
        for (name, value) in headers {
            let i = match name.as_str() {
                "webhook-id" => 0,
                "webhook-timestamp" => 1,
                "webhook-signature" => 2,
                "svix-id" => 3,
                "svix-timestamp" => 4,
                "svix-signature" => 5,
                _ => continue,
            };
            // Bit masks rather than an array of counts: the compiler keeps
            // them in registers (perf showed the byte counts' loads stall).
            let bit = 1u8 << i;
            if found.seen & bit == 0 {
                found.first[i] = Some(value);
            }
            found.repeated |= found.seen & bit;
            found.seen |= bit;
        }
        found
    }

    /// Whether header `i` appears.
    fn has(&self, i: usize) -> bool {
        self.seen & (1 << i) != 0
    }

    /// The value of header `i`, which must appear exactly once.
    fn once(&self, i: usize, name: &'static str) -> Result<&'h HeaderValue, VerifyError> {
        let Some(value) = self.first[i] else {
            return Err(VerifyError::MissingHeader { header: name });
        };
        if self.repeated & (1 << i) != 0 {
            return Err(VerifyError::MalformedHeader {
                header: name,
                reason: "it appears more than once",
            });
        }
        Ok(value)
    }
}

/// The error for a header value that is not visible ASCII.
///
/// `HeaderValue` holds no control character but tab, so for its bytes ASCII
/// is what `HeaderValue::to_str` accepts (the rules of
/// [`single_header`](crate::scheme::single_header)).
fn not_ascii(header: &'static str) -> VerifyError {
    VerifyError::MalformedHeader {
        header,
        reason: "it is not visible ASCII",
    }
}

/// Checks the event id: visible ASCII (space and tab included, as
/// `HeaderValue::to_str` has it), not empty, at most [`MAX_ID_LEN`] bytes,
/// and without `.`.
fn event_id<'h>(header: &'static str, value: &'h HeaderValue) -> Result<&'h str, VerifyError> {
    let bad = |reason| VerifyError::MalformedHeader { header, reason };
    // One pass over the bytes: visible ASCII, then the `str`.
    let id = value.to_str().map_err(|_| not_ascii(header))?;
    if id.is_empty() {
        return Err(bad("the event id is empty"));
    }
    // `.` separates the parts of the signed content `{id}.{ts}.{body}`.
    // An id holding one would make that framing ambiguous: a delivery
    // (id `a`, body `{ts2}.{rest}`) could be re-framed as a different,
    // equally valid one (id `a.{ts}`, timestamp `ts2`, body `rest`) that
    // escapes dedup and hands the handler another body.
    if holds(id.as_bytes(), b'.') {
        return Err(bad(
            "the event id contains `.`, the separator of the signed content",
        ));
    }
    if id.len() > MAX_ID_LEN {
        return Err(bad("the event id is longer than 256 bytes"));
    }
    Ok(id)
}

/// Whether `bytes` holds `byte`. No early exit, so the compiler vectorises
/// it: for header values (tens of bytes) it is faster than `contains`'s
/// `memchr`, which perf showed at 1.5 % of a 64 B `verify` for two calls.
fn holds(bytes: &[u8], byte: u8) -> bool {
    bytes.iter().fold(false, |found, &b| found | (b == byte))
}

/// The non-empty entries of a signature header.
fn entries(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b' ').filter(|e| !e.is_empty())
}

/// Refuses a signature header with no entry or more than
/// [`MAX_SIGNATURES`]; returns whether it is a single entry (no space).
fn check_signatures(header: &'static str, value: &[u8]) -> Result<bool, VerifyError> {
    // One entry and no space: what senders send outside a key rotation,
    // found without splitting the header.
    if !value.is_empty() && !holds(value, b' ') {
        return Ok(true);
    }
    match entries(value).take(MAX_SIGNATURES + 1).count() {
        0 => Err(VerifyError::MalformedHeader {
            header,
            reason: "it holds no signature",
        }),
        n if n > MAX_SIGNATURES => Err(VerifyError::TooManySignatures {
            header,
            max: MAX_SIGNATURES,
        }),
        _ => Ok(false),
    }
}

/// Refuses to sign an event id the verifier would refuse (see [`Head::read`]).
pub(super) fn check_sign_id(id: &str) -> Result<(), SignError> {
    if id.contains('.') {
        return Err(SignError::Invalid(format!(
            "event id {id:?} contains `.`, the separator of the signed content"
        )));
    }
    Ok(())
}

/// Calls `sign` with the parts of the signed content of `request` as event
/// `id` at `timestamp`, and writes the three `webhook-*` headers, the
/// signature header holding the space-separated entries `sign` returns.
pub(super) fn sign_request(
    request: &mut http::Request<Bytes>,
    id: &str,
    timestamp: SystemTime,
    sign: impl FnOnce(&[&[u8]; 5]) -> Result<Vec<String>, SignError>,
) -> Result<(), SignError> {
    check_sign_id(id)?;
    let ts = crate::clock::unix_seconds(timestamp).to_string();
    let body = request.body().clone();
    let signature = sign(&[id.as_bytes(), b".", ts.as_bytes(), b".", &body])?.join(" ");
    let value = |v: &str| {
        HeaderValue::from_str(v).map_err(|_| SignError::Invalid(format!("header value {v:?}")))
    };
    let headers = request.headers_mut();
    headers.insert(WEBHOOK.id, value(id)?);
    headers.insert(WEBHOOK.timestamp, value(&ts)?);
    headers.insert(WEBHOOK.signature, value(&signature)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_signatures_counts_entries_not_spaces() {
        let h = "webhook-signature";
        // One entry, no space: the shortcut.
        assert_eq!(check_signatures(h, b"v1,abc"), Ok(true));
        // Spaces around or between entries: split.
        assert_eq!(check_signatures(h, b" v1,abc "), Ok(false));
        assert_eq!(check_signatures(h, b"v1,a   v1,b"), Ok(false));
        for empty in [&b""[..], b" ", b"     "] {
            assert!(
                matches!(
                    check_signatures(h, empty),
                    Err(VerifyError::MalformedHeader { .. })
                ),
                "{empty:?}"
            );
        }
        // The limit is on entries: many spaces around few entries pass,
        // one entry too many fails however it is spaced.
        let spaced = format!("{}v1,a{}", " ".repeat(100), " ".repeat(100));
        assert_eq!(check_signatures(h, spaced.as_bytes()), Ok(false));
        let full = vec!["v1,a"; MAX_SIGNATURES].join("  ");
        assert_eq!(check_signatures(h, full.as_bytes()), Ok(false));
        let over = vec!["v1,a"; MAX_SIGNATURES + 1].join(" ");
        assert!(matches!(
            check_signatures(h, over.as_bytes()),
            Err(VerifyError::TooManySignatures { .. })
        ));
    }

    #[test]
    fn a_header_without_spaces_is_one_entry_unsplit() {
        let head = |sig: &str| {
            http::Request::post("/")
                .header("webhook-id", "msg_1")
                .header("webhook-timestamp", "1000")
                .header("webhook-signature", sig)
                .body(())
                .map(|r| r.into_parts().0)
        };
        let ctx = Context::new(
            std::time::UNIX_EPOCH + std::time::Duration::from_secs(1000),
            crate::scheme::Tolerance::default(),
        );
        let one = head("v1,abc").unwrap();
        let h = Head::read(&one, &ctx).unwrap();
        assert!(h.sole);
        assert_eq!(h.entries().collect::<Vec<_>>(), [&b"v1,abc"[..]]);
        let two = head("v1,abc v1,def").unwrap();
        let h = Head::read(&two, &ctx).unwrap();
        assert!(!h.sole);
        assert_eq!(h.entries().count(), 2);
        let padded = head("v1,abc ").unwrap();
        let h = Head::read(&padded, &ctx).unwrap();
        assert!(!h.sole);
        assert_eq!(h.entries().collect::<Vec<_>>(), [&b"v1,abc"[..]]);
    }
}
