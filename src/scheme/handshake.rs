//! Shared pieces of the endpoint handshakes the layer answers itself.
//!
//! The rule every handshake follows: an answer the layer gives by itself
//! must never be usable as a signature the verifier accepts, and a signed
//! handshake message must never reach the handler under another, unsigned,
//! label. Concretely:
//!
//! - an answer that holds a MAC (Zoom's `encryptedToken`, LinkedIn's
//!   `challengeResponse`) is given only for a challenge of the exact form the
//!   sender uses, and that form can never be the signed content of a
//!   delivery the verifier accepts (each sender's module says why);
//! - an answer that only echoes (Slack, Twitch, Dropbox, Meta) holds nothing
//!   but bytes the requester sent, or the sender signed: no secret goes into
//!   it, so it tells the requester nothing it did not have. Echoes are
//!   bounded ([`MAX_CHALLENGE_LEN`]) printable ASCII;
//! - a signed handshake message is recognised from its signed body alone,
//!   never from a header, and never reaches the handler: one whose challenge
//!   cannot be answered is refused with 400 ([`unanswerable`]).
//!
//! SECURITY.md ("Handshakes are never oracles") gives the argument for each
//! sender and the tests that show it.

use bytes::Bytes;
use http::request::Parts;

/// The longest challenge echoed back in a handshake, in bytes; senders use
/// a few dozen. Longer ones, and ones that are not printable ASCII, are not
/// answered: a `GET` is then answered 405, and a signed handshake message
/// 400 (it never reaches the handler).
pub(crate) const MAX_CHALLENGE_LEN: usize = 1024;

/// The first value of query parameter `name`, decoded.
pub(crate) fn query_param(head: &Parts, name: &str) -> Option<String> {
    let query = head.uri.query()?;
    let pairs: Vec<(String, String)> = serde_urlencoded::from_str(query).ok()?;
    pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v)
}

/// A 200 answer with `body` as `content_type`, never sniffed as HTML.
pub(crate) fn text_response(
    body: String,
    content_type: &'static str,
) -> Option<http::Response<Bytes>> {
    http::Response::builder()
        .status(http::StatusCode::OK)
        .header(http::header::CONTENT_TYPE, content_type)
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Bytes::from(body))
        .ok()
}

/// A 200 JSON answer.
pub(crate) fn json_response(value: &serde_json::Value) -> Option<http::Response<Bytes>> {
    text_response(value.to_string(), "application/json")
}

/// `challenge` if it may be echoed: 1 to [`MAX_CHALLENGE_LEN`] bytes of
/// printable ASCII (space to `~`). Senders' challenges are short random
/// alphanumeric strings or numbers.
pub(crate) fn printable(challenge: &str) -> Option<&str> {
    let ok = !challenge.is_empty()
        && challenge.len() <= MAX_CHALLENGE_LEN
        && challenge.bytes().all(|b| (0x20..=0x7e).contains(&b));
    ok.then_some(challenge)
}

/// The answer to a signed handshake message whose challenge is not of the
/// form the sender uses: 400, so that the message is neither answered nor
/// handed to the handler.
pub(crate) fn unanswerable(sender: &'static str) -> Option<http::Response<Bytes>> {
    tracing::warn!(
        scheme = sender,
        "signed endpoint handshake with a challenge not of the sender's form: refused (400)"
    );
    http::Response::builder()
        .status(http::StatusCode::BAD_REQUEST)
        .header(http::header::CONTENT_TYPE, "text/plain")
        .header(http::header::X_CONTENT_TYPE_OPTIONS, "nosniff")
        .body(Bytes::from_static(
            b"endpoint handshake not answered: its challenge is not of the form the sender uses\n",
        ))
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_is_bounded_visible_ascii_or_space() {
        for ok in [
            "a",
            "a b",
            "1158201444",
            "~!\"<>",
            &"x".repeat(MAX_CHALLENGE_LEN),
        ] {
            assert_eq!(printable(ok), Some(ok), "{ok:?}");
        }
        for bad in [
            "",
            "a\nb",
            "a\tb",
            "\u{7f}",
            "d\u{e9}j\u{e0}",
            "\0",
            &"x".repeat(MAX_CHALLENGE_LEN + 1),
        ] {
            assert_eq!(printable(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unanswerable_is_a_plain_400() {
        let r = unanswerable("x").unwrap();
        assert_eq!(r.status(), 400);
        assert_eq!(r.headers()["content-type"], "text/plain");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    }
}
