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

use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};

use super::{MAX_ID_LEN, MAX_SIGNATURES};
use crate::scheme::util::parse_unix_digits_bytes;
use crate::scheme::{Context, Envelope, SignError, VerifyError, check_timestamp};

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
}

impl<'h> Head<'h> {
    /// Reads the headers of `head` and checks id and timestamp.
    pub(super) fn read(head: &'h Parts, ctx: &Context) -> Result<Self, VerifyError> {
        let found = Found::scan(&head.headers);
        let (names, base) = if found.count[2] > 0 || found.count[5] == 0 {
            (&WEBHOOK, 0)
        } else {
            (&SVIX, 3)
        };
        let id = event_id(names.id, found.required(base, names.id)?)?;
        let timestamp = found.required(base + 1, names.timestamp)?;
        let signature = found.required(base + 2, names.signature)?;
        let timestamp_secs = parse_unix_digits_bytes(names.timestamp, timestamp, 12)?;
        check_timestamp(names.timestamp, timestamp_secs.saturating_mul(1000), ctx)?;
        check_signatures(names.signature, signature)?;
        Ok(Head {
            names,
            id,
            timestamp,
            timestamp_secs,
            signature,
        })
    }

    /// The non-empty entries of the signature header.
    pub(super) fn entries(&self) -> impl Iterator<Item = &'h [u8]> + use<'h> {
        entries(self.signature)
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
        Envelope {
            id: Some(self.id.to_owned()),
            timestamp: Some(crate::clock::from_unix_millis(
                self.timestamp_secs.saturating_mul(1000),
            )),
        }
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
    /// How many times each appears (saturating).
    count: [u8; 6],
}

impl<'h> Found<'h> {
    fn scan(headers: &'h HeaderMap) -> Self {
        let mut found = Found {
            first: [None; 6],
            count: [0; 6],
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
            if found.first[i].is_none() {
                found.first[i] = Some(value);
            }
            found.count[i] = found.count[i].saturating_add(1);
        }
        found
    }

    /// The value of header `i`, which must appear exactly once, in ASCII.
    ///
    /// `HeaderValue` holds no control character but tab, so ASCII is what
    /// `HeaderValue::to_str` accepts (the rules of
    /// [`single_header`](crate::scheme::single_header)), checked a word at a
    /// time rather than a byte at a time.
    fn required(&self, i: usize, name: &'static str) -> Result<&'h [u8], VerifyError> {
        let Some(value) = self.first[i] else {
            return Err(VerifyError::MissingHeader { header: name });
        };
        if self.count[i] > 1 {
            return Err(VerifyError::MalformedHeader {
                header: name,
                reason: "it appears more than once",
            });
        }
        let bytes = value.as_bytes();
        if !bytes.is_ascii() {
            return Err(VerifyError::MalformedHeader {
                header: name,
                reason: "it is not visible ASCII",
            });
        }
        Ok(bytes)
    }
}

/// Checks the event id: not empty, at most [`MAX_ID_LEN`] bytes, visible
/// ASCII (space and tab included, as `HeaderValue::to_str` has it), and
/// without `.`, in one pass over its bytes.
fn event_id<'h>(header: &'static str, id: &'h [u8]) -> Result<&'h str, VerifyError> {
    let bad = |reason| VerifyError::MalformedHeader { header, reason };
    if id.is_empty() {
        return Err(bad("the event id is empty"));
    }
    // `.` separates the parts of the signed content `{id}.{ts}.{body}`.
    // An id holding one would make that framing ambiguous: a delivery
    // (id `a`, body `{ts2}.{rest}`) could be re-framed as a different,
    // equally valid one (id `a.{ts}`, timestamp `ts2`, body `rest`) that
    // escapes dedup and hands the handler another body.
    let mut dot = false;
    let mut invisible = false;
    for &b in id {
        dot |= b == b'.';
        invisible |= !(b' '..=b'~').contains(&b) && b != b'\t';
    }
    if invisible {
        return Err(bad("it is not visible ASCII"));
    }
    if dot {
        return Err(bad(
            "the event id contains `.`, the separator of the signed content",
        ));
    }
    if id.len() > MAX_ID_LEN {
        return Err(bad("the event id is longer than 256 bytes"));
    }
    std::str::from_utf8(id).map_err(|_| bad("it is not visible ASCII"))
}

/// The non-empty entries of a signature header.
fn entries(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value.split(|&b| b == b' ').filter(|e| !e.is_empty())
}

/// Refuses a signature header with no entry or more than [`MAX_SIGNATURES`].
fn check_signatures(header: &'static str, value: &[u8]) -> Result<(), VerifyError> {
    match entries(value).take(MAX_SIGNATURES + 1).count() {
        0 => Err(VerifyError::MalformedHeader {
            header,
            reason: "it holds no signature",
        }),
        n if n > MAX_SIGNATURES => Err(VerifyError::TooManySignatures {
            header,
            max: MAX_SIGNATURES,
        }),
        _ => Ok(()),
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
