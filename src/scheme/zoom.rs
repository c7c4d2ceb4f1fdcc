//! [Zoom](https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events).

use bytes::Bytes;

use super::handshake::{json_response, unanswerable};
use super::hmac::{Answer, hmac_preset};
use super::json::Field;
use super::{HmacScheme, Part, TimeUnit, hex};

/// The longest `plainToken` answered, in characters (Zoom's are 22).
const MAX_PLAIN_TOKEN_LEN: usize = 128;

/// Whether `token` has the form of Zoom's plainTokens: 1 to
/// [`MAX_PLAIN_TOKEN_LEN`] bytes of `[A-Za-z0-9_-]`. No such token holds the
/// `:` of signed content `v0:{ts}:{body}`.
fn is_plain_token(token: &str) -> bool {
    (1..=MAX_PLAIN_TOKEN_LEN).contains(&token.len())
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The answer to a verified body, if it is an `endpoint.url_validation`:
/// the plainToken and its HMAC (newest secret) in hex, or 400 when the
/// plainToken is not of Zoom's form.
fn url_validation(scheme: &HmacScheme, fields: &[Option<Field>]) -> Option<http::Response<Bytes>> {
    let [event, plain] = fields else {
        return None;
    };
    if event.as_ref()?.as_str()? != "endpoint.url_validation" {
        return None;
    }
    match plain.as_ref().and_then(Field::as_str) {
        Some(plain) if is_plain_token(plain) => json_response(&serde_json::json!({
            "plainToken": plain,
            "encryptedToken": hex(&scheme.tag_first(plain.as_bytes())),
        })),
        _ => unanswerable("zoom"),
    }
}

hmac_preset! {
    /// [Zoom](https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events).
    ///
    /// - Headers `x-zm-signature: v0=<hex>` and `x-zm-request-timestamp` (Unix
    ///   seconds, checked against the tolerance).
    /// - Signed content: `v0:{timestamp}:{body}`, HMAC-SHA256 keyed with the
    ///   app's secret token (its text).
    /// - Handshake: the signed `endpoint.url_validation` POST (recognised by
    ///   the signed body's `event`) is answered with `{"plainToken": ...,
    ///   "encryptedToken": hex(HMAC-SHA256(secret token, plainToken))}`, with
    ///   the newest secret, without calling the handler. Only a plainToken of
    ///   Zoom's form is answered: 1 to 128 characters of
    ///   `[A-Za-z0-9_-]` (Zoom's are 22-character base64url-like strings such
    ///   as `qgg8vlvZRS6UYooatFL8Aw`). A url_validation with any other
    ///   plainToken is refused with 400 and does not reach the handler either.
    /// - **Why the `encryptedToken` is never a signature.** It is
    ///   `hex(HMAC(secret, plainToken))`, and a signature the verifier accepts is
    ///   `v0=` + `hex(HMAC(secret, "v0:{ts}:{body}"))` for some active secret.
    ///   HMAC-SHA256 collisions aside, the two are equal only if plainToken is
    ///   the signed content `v0:{ts}:{body}`, which holds `:`; a plainToken of
    ///   Zoom's form never does. (plainToken comes from a body Zoom signed, so
    ///   only Zoom could ask; the form check makes the answer provably safe
    ///   whatever it asks.)
    /// - No event id: the layer dedups on the body's hash.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Context, Scheme, Tolerance, Zoom};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Zoom::new("zoom-secret-token")?;
    /// let now = SystemTime::now();
    /// let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event":"endpoint.url_validation"}"#;
    /// let (head, body) = Signer::new(&scheme).timestamp(now).request("/zoom", body)?.into_parts();
    /// let answer = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.answer().expect("a url validation");
    /// assert!(answer.body().starts_with(br#"{"encryptedToken":""#));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Zoom};
    /// assert_eq!(Zoom::new("token")?.name(), "zoom");
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Zoom,
    |ring| HmacScheme::builder("zoom", "x-zm-signature")
        .event_json("/event")
        .prefix("v0=")
        .timestamp_header("x-zm-request-timestamp", TimeUnit::Seconds)
        .content([Part::Literal("v0:"), Part::Timestamp, Part::Literal(":"), Part::Body])
        .answer(Answer {
            fields: &["/event", "/payload/plainToken"],
            answer: url_validation,
        })
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::{Context, Scheme, Tolerance};
    use std::time::{Duration, UNIX_EPOCH};

    /// `body` as Zoom signs it: the layer's answer, if it is a handshake.
    fn answer(body: &[u8]) -> Option<http::Response<Bytes>> {
        let s = Zoom::new("secret").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let (head, body) = crate::sign::Signer::new(&s)
            .timestamp(now)
            .request("/", body.to_vec())
            .unwrap()
            .into_parts();
        s.check(&head, &body, &Context::new(now, Tolerance::default()))
            .unwrap()
            .answer()
    }

    #[test]
    fn url_validation_answer() {
        let s = Zoom::new("secret").unwrap();
        let head = http::Request::post("/").body(()).unwrap().into_parts().0;
        let body = br#"{"payload":{"plainToken":"abc"},"event":"endpoint.url_validation"}"#;
        let answered = answer(body).unwrap();
        let json: serde_json::Value = serde_json::from_slice(answered.body()).unwrap();
        assert_eq!(json["plainToken"], "abc");
        let expected = crate::scheme::hex(&crate::scheme::test_support::hmac_sha256(
            "secret",
            &[b"abc"],
        ));
        assert_eq!(json["encryptedToken"], expected.as_str());
        assert!(answer(br#"{"event":"meeting.started"}"#).is_none());
        assert!(s.challenge(&head).is_none());
    }

    #[test]
    fn plain_token_form() {
        for ok in [
            "qgg8vlvZRS6UYooatFL8Aw",
            "a",
            "A-_9",
            &"z".repeat(MAX_PLAIN_TOKEN_LEN),
        ] {
            assert!(is_plain_token(ok), "{ok}");
        }
        for bad in [
            "",
            "v0:1700000000:{}",
            "v0:",
            "a:b",
            "a b",
            "a+b/c=",
            "a.b",
            "\\u0061",
            "\u{e9}",
            &"z".repeat(MAX_PLAIN_TOKEN_LEN + 1),
        ] {
            assert!(!is_plain_token(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_url_validation_is_answered_only_for_zoom_tokens_and_never_reaches_the_handler() {
        let status = |body: String| answer(body.as_bytes()).map(|r| r.status().as_u16());
        let validation = |token: &str| {
            format!(r#"{{"payload":{{"plainToken":{token}}},"event":"endpoint.url_validation"}}"#)
        };
        assert_eq!(status(validation(r#""qgg8vlvZRS6UYooatFL8Aw""#)), Some(200));
        for bad in [
            r#""v0:1700000000:{\"event\":\"meeting.deleted\"}""#,
            r#""""#,
            "7",
            "null",
            r#""a b""#,
        ] {
            assert_eq!(status(validation(bad)), Some(400), "{bad}");
        }
        assert_eq!(
            status(r#"{"event":"endpoint.url_validation"}"#.to_owned()),
            Some(400)
        );
        // Recognised by the body's `event`, escaped or not.
        assert_eq!(
            status(
                r#"{"event":"endpoint.url\u005fvalidation","payload":{"plainToken":"abc"}}"#
                    .to_owned()
            ),
            Some(200)
        );
        assert_eq!(
            status(
                r#"{"event":"meeting.started","payload":{"plainToken":"endpoint.url_validation"}}"#
                    .to_owned()
            ),
            None
        );
    }
}
