//! Meta (Facebook, Instagram, WhatsApp, Messenger) webhooks.

use bytes::Bytes;
use http::request::Parts;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use super::HmacScheme;
use super::handshake::{printable, query_param, text_response};
use super::hmac::hmac_preset;

hmac_preset! {
    /// Meta (Facebook, Instagram, WhatsApp, Messenger) webhooks.
    ///
    /// - Header `X-Hub-Signature-256: sha256=<hex>`: HMAC-SHA256 of the raw body
    ///   keyed with the app secret (its text), as [`GitHub`](super::GitHub)
    ///   signs.
    /// - No event id and no signed timestamp (`has_timestamp` is `false`): the
    ///   layer dedups on the body's hash, and the dedup retention
    ///   (`WebhookLayer::untimed_retention`) is the only guard against replays.
    /// - Handshake: Meta verifies an endpoint with
    ///   `GET ?hub.mode=subscribe&hub.verify_token=...&hub.challenge=...`,
    ///   answered (without calling the handler) with the challenge as
    ///   `text/plain` when the verify token set with [`Meta::verify_token`]
    ///   matches (compared in constant time). Only a challenge of 1 to 1024
    ///   bytes of printable ASCII is echoed (Meta sends a number); any other
    ///   `GET` is answered 405.
    /// - The echo is no oracle: the answer is the query string's own text,
    ///   computed without the app secret, and only to whoever knows the verify
    ///   token. A signature the verifier accepts is an HMAC under the app
    ///   secret; whoever could put one into `hub.challenge` already had it.
    ///
    /// ```
    /// use http::Request;
    /// use tower_webhook::scheme::{Meta, Scheme};
    ///
    /// let scheme = Meta::new("app-secret")?.verify_token("my-verify-token");
    /// let uri = "/meta?hub.mode=subscribe&hub.verify_token=my-verify-token&hub.challenge=1158201444";
    /// let (head, ()) = Request::get(uri).body(())?.into_parts();
    /// assert_eq!(scheme.challenge(&head).expect("answered").body().as_ref(), b"1158201444");
    /// let (head, ()) = Request::get(uri.replace("my-verify", "their")).body(())?.into_parts();
    /// assert!(scheme.challenge(&head).is_none());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Meta, Scheme};
    /// let scheme = Meta::new("app-secret")?.verify_token("my-verify-token");
    /// assert_eq!(scheme.name(), "meta");
    /// assert!(!format!("{scheme:?}").contains("my-verify-token"));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Meta,
    |ring| HmacScheme::builder("meta", "x-hub-signature-256")
        .event_json("/object")
        .prefix("sha256=")
        .build_keys(ring)
}

impl Meta {
    /// The verify token entered in the app dashboard; without it the `GET`
    /// verification request is not answered (405).
    ///
    /// ```
    /// use tower_webhook::scheme::{Meta, Scheme};
    /// let uri = "/meta?hub.mode=subscribe&hub.verify_token=vt&hub.challenge=7";
    /// let (head, ()) = http::Request::get(uri).body(())?.into_parts();
    /// assert!(Meta::new("app-secret")?.challenge(&head).is_none());
    /// assert!(Meta::new("app-secret")?.verify_token("vt").challenge(&head).is_some());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn verify_token(self, token: impl AsRef<str>) -> Self {
        // Kept as its SHA-256, compared in constant time whatever the
        // lengths, and never printed.
        let expected: Zeroizing<[u8; 32]> =
            Zeroizing::new(Sha256::digest(token.as_ref().as_bytes()).into());
        Self(self.0.with_challenge(move |head| answer(&expected, head)))
    }
}

/// The answer to `GET ?hub.mode=subscribe&hub.verify_token=..&hub.challenge=..`:
/// the challenge, echoed as text, when the verify token matches.
fn answer(expected: &[u8; 32], head: &Parts) -> Option<http::Response<Bytes>> {
    if head.method != http::Method::GET || query_param(head, "hub.mode")? != "subscribe" {
        return None;
    }
    let given = Sha256::digest(query_param(head, "hub.verify_token")?.as_bytes());
    if !bool::from(given.as_slice().ct_eq(expected)) {
        return None;
    }
    let challenge = query_param(head, "hub.challenge")?;
    text_response(printable(&challenge)?.to_owned(), "text/plain")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::handshake::MAX_CHALLENGE_LEN;
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Context, Dedup, Format, Scheme, Sign, Tolerance, VerifyError};
    use std::time::SystemTime;

    #[test]
    fn meta_handshake_needs_token_and_get() {
        let s = Meta::new("app").unwrap();
        let head = |m: &str, uri: &str| {
            http::Request::builder()
                .method(m)
                .uri(uri)
                .body(())
                .unwrap()
                .into_parts()
                .0
        };
        let uri = "/?hub.mode=subscribe&hub.verify_token=s3cr3t-vt&hub.challenge=42";
        assert!(s.challenge(&head("GET", uri)).is_none());
        let s = s.verify_token("s3cr3t-vt");
        let answer = s.challenge(&head("GET", uri)).unwrap();
        assert_eq!(answer.body().as_ref(), b"42");
        assert_eq!(answer.headers()["content-type"], "text/plain");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
        assert!(s.challenge(&head("POST", uri)).is_none());
        assert!(
            s.challenge(&head("GET", &uri.replace("subscribe", "x")))
                .is_none()
        );
        assert!(
            s.challenge(&head(
                "GET",
                "/?hub.mode=subscribe&hub.verify_token=s3cr3t-vt"
            ))
            .is_none()
        );
        assert!(
            s.challenge(&head("GET", &uri.replace("s3cr3t-vt", "s3cr3t-v")))
                .is_none()
        );
        assert!(!format!("{s:?}").contains("s3cr3t"));
    }

    #[test]
    fn meta_echoes_only_printable_bounded_challenges() {
        let s = Meta::new("app").unwrap().verify_token("vt");
        let echo = |challenge: &str| {
            let uri = format!("/?hub.mode=subscribe&hub.verify_token=vt&hub.challenge={challenge}");
            s.challenge(&http::Request::get(uri).body(()).unwrap().into_parts().0)
                .map(|r| r.into_body())
        };
        assert_eq!(echo("1158201444").as_deref(), Some(&b"1158201444"[..]));
        for bad in ["", "1%0A2", "%00", "%C3%A9"] {
            assert_eq!(echo(bad), None, "{bad}");
        }
        let longest = "1".repeat(MAX_CHALLENGE_LEN);
        assert!(echo(&longest).is_some());
        assert!(echo(&format!("{longest}1")).is_none());
    }

    #[test]
    fn signed_deliveries_have_no_id_and_dedup_on_the_body() {
        let s = Meta::with_secrets(["new", "old"]).unwrap();
        let old = Meta::new("old").unwrap();
        let mut req = http::Request::post("/")
            .body(Bytes::from_static(br#"{"object":"page"}"#))
            .unwrap();
        old.sign(&mut req, "ignored", SystemTime::now()).unwrap();
        assert!(
            req.headers()["x-hub-signature-256"]
                .to_str()
                .unwrap()
                .starts_with("sha256=")
        );
        let (head, body) = req.into_parts();
        let ctx = Context::new(SystemTime::now(), Tolerance::default());
        let env = deliver(s.check(&head, &body, &ctx).unwrap());
        assert_eq!(
            (env.id, env.id_signed, env.format, env.dedup),
            (None, false, Format::Json, Dedup::Signed)
        );
        assert!(matches!(
            s.check(&head, b"{}", &ctx),
            Err(VerifyError::NoMatch {
                header: "x-hub-signature-256",
                ..
            })
        ));
        let (bare, ()) = http::Request::post("/").body(()).unwrap().into_parts();
        assert_eq!(
            s.check(&bare, &body, &ctx).unwrap_err(),
            VerifyError::MissingHeader {
                header: "x-hub-signature-256"
            }
        );
    }
}
