//! [Dropbox](https://www.dropbox.com/developers/reference/webhooks).
//!
//! - Header `X-Dropbox-Signature: <hex>`: HMAC-SHA256 of the raw body keyed
//!   with the app secret (its text).
//! - Handshake: Dropbox verifies an endpoint with `GET ?challenge=...` and
//!   expects the challenge echoed; it is answered as `text/plain` with
//!   `X-Content-Type-Options: nosniff`, without calling the handler.
//! - No event id and no timestamp: notifications only say "something
//!   changed"; the layer dedups on the body's hash.
//!
//! ```
//! use http::Request;
//! use tower_webhook::scheme::{Dropbox, Scheme};
//!
//! let scheme = Dropbox::new("app-secret")?;
//! let (head, ()) = Request::get("/dropbox?challenge=abc123").body(())?.into_parts();
//! let answer = scheme.handshake(&head, None).expect("a challenge");
//! assert_eq!(answer.body().as_ref(), b"abc123");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::HmacScheme;
use super::hmac::{Handshake, delegate_to_engine, text_secret_constructors};
use crate::secret::{KeyRing, SecretError};

/// Dropbox's `X-Dropbox-Signature` scheme; see the [module docs](self).
///
/// ```
/// use tower_webhook::scheme::{Dropbox, Scheme};
/// assert_eq!(Dropbox::new("app-secret")?.name(), "dropbox");
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Dropbox(HmacScheme);

text_secret_constructors!(Dropbox);
delegate_to_engine!(Dropbox);

impl Dropbox {
    /// A ring of key bytes.
    pub fn from_ring(ring: &KeyRing) -> Result<Self, SecretError> {
        HmacScheme::builder("dropbox", "x-dropbox-signature")
            .handshake(Handshake::Dropbox)
            // A notification only says "these accounts changed": a second,
            // identical one is a real one, and the handler's re-sync is
            // harmless to repeat.
            .without_dedup()
            .build_keys(ring)
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Scheme;

    #[test]
    fn challenge_only_on_get_with_a_challenge() {
        let s = Dropbox::new("k").unwrap();
        let get = |uri: &str| http::Request::get(uri).body(()).unwrap().into_parts().0;
        let answer = s.handshake(&get("/?challenge=a%20b&x=1"), None).unwrap();
        assert_eq!(answer.body().as_ref(), b"a b");
        assert_eq!(answer.headers()["x-content-type-options"], "nosniff");
        assert_eq!(answer.headers()["content-type"], "text/plain");
        assert!(s.handshake(&get("/"), None).is_none());
        assert!(s.handshake(&get("/?challenge=x"), Some(b"")).is_none());
        let post = http::Request::post("/?challenge=x")
            .body(())
            .unwrap()
            .into_parts()
            .0;
        assert!(s.handshake(&post, None).is_none());
    }
}
