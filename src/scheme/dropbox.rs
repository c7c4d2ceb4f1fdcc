//! [Dropbox](https://www.dropbox.com/developers/reference/webhooks).

use bytes::Bytes;
use http::request::Parts;

use super::HmacScheme;
use super::handshake::{printable, query_param, text_response};
use super::hmac::hmac_preset;

hmac_preset! {
    /// [Dropbox](https://www.dropbox.com/developers/reference/webhooks).
    ///
    /// - Header `X-Dropbox-Signature: <hex>`: HMAC-SHA256 of the raw body keyed
    ///   with the app secret (its text).
    /// - Handshake: Dropbox verifies an endpoint with `GET ?challenge=...` and
    ///   expects the challenge echoed; it is answered as `text/plain` with
    ///   `X-Content-Type-Options: nosniff`, without calling the handler. Only a
    ///   challenge of 1 to 1024
    ///   bytes of printable ASCII is echoed (Dropbox sends a random alphanumeric
    ///   string); any other `GET` is answered 405.
    /// - The echo is no oracle: anyone may ask, but the answer is the query
    ///   string's own text, computed without the secret, so it tells the asker
    ///   nothing they did not send. A signature the verifier accepts is an
    ///   HMAC under the app secret; whoever could put one into a challenge
    ///   already had it.
    /// - No event id and no timestamp: notifications only say "something
    ///   changed"; the layer dedups on the body's hash.
    ///
    /// ```
    /// use http::Request;
    /// use tower_webhook::scheme::{Dropbox, Scheme};
    ///
    /// let scheme = Dropbox::new("app-secret")?;
    /// let (head, ()) = Request::get("/dropbox?challenge=abc123").body(())?.into_parts();
    /// let answer = scheme.challenge(&head).expect("a challenge");
    /// assert_eq!(answer.body().as_ref(), b"abc123");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Dropbox, Scheme};
    /// assert_eq!(Dropbox::new("app-secret")?.name(), "dropbox");
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Dropbox,
    |ring| HmacScheme::builder("dropbox", "x-dropbox-signature")
        .challenge(challenge)
        // A notification only says "these accounts changed": a second,
        // identical one is a real one, and the handler's re-sync is
        // harmless to repeat.
        .without_dedup()
        .build_keys(ring)
}

/// The answer to `GET ?challenge=...`: the challenge, echoed as text.
fn challenge(head: &Parts) -> Option<http::Response<Bytes>> {
    if head.method != http::Method::GET {
        return None;
    }
    let challenge = query_param(head, "challenge")?;
    text_response(printable(&challenge)?.to_owned(), "text/plain")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Scheme;

    #[test]
    fn challenge_only_on_get_with_a_challenge() {
        let s = Dropbox::new("k").unwrap();
        let get = |uri: &str| http::Request::get(uri).body(()).unwrap().into_parts().0;
        let answer = s.challenge(&get("/?challenge=a%20b&x=1")).unwrap();
        assert_eq!(answer.body().as_ref(), b"a b");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
        assert_eq!(answer.headers()["content-type"], "text/plain");
        assert!(s.challenge(&get("/")).is_none());
        let post = http::Request::post("/?challenge=x")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(s.challenge(&post).is_none());
    }

    #[test]
    fn only_printable_bounded_challenges_are_echoed() {
        let s = Dropbox::new("k").unwrap();
        let get = |uri: &str| http::Request::get(uri).body(()).unwrap().into_parts().0;
        let echo = |q: &str| {
            s.challenge(&get(&format!("/?challenge={q}")))
                .map(|r| r.into_body())
        };
        assert_eq!(echo("Xq9zR4tWm2").as_deref(), Some(&b"Xq9zR4tWm2"[..]));
        for bad in ["", "a%0Ab", "a%00b", "d%C3%A9j%C3%A0", "%7F"] {
            assert_eq!(echo(bad), None, "{bad}");
        }
        let longest = "a".repeat(crate::scheme::handshake::MAX_CHALLENGE_LEN);
        assert!(echo(&longest).is_some());
        assert!(echo(&format!("{longest}a")).is_none());
    }
}
