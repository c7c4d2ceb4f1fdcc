//! [Zoom](https://developers.zoom.us/docs/api/webhooks/#verify-webhook-events).
//!
//! - Headers `x-zm-signature: v0=<hex>` and `x-zm-request-timestamp` (Unix
//!   seconds, checked against the tolerance).
//! - Signed content: `v0:{timestamp}:{body}`, HMAC-SHA256 keyed with the
//!   app's secret token (its text).
//! - Handshake: the signed `endpoint.url_validation` POST is answered with
//!   `{"plainToken": ..., "encryptedToken": hex(HMAC-SHA256(secret token,
//!   plainToken))}`, without calling the handler.
//! - No event id: the layer dedups on the body's hash.
//!
//! ```
//! use std::time::SystemTime;
//! use tower_webhook::scheme::{Context, Scheme, Tolerance, Zoom};
//! use tower_webhook::sign::Signer;
//!
//! let scheme = Zoom::new("zoom-secret-token")?;
//! let now = SystemTime::now();
//! let body = r#"{"payload":{"plainToken":"qgg8vlvZRS6UYooatFL8Aw"},"event":"endpoint.url_validation"}"#;
//! let (head, body) = Signer::new(&scheme).timestamp(now).request("/zoom", body)?.into_parts();
//! scheme.verify(&head, &body, &Context::new(now, Tolerance::default()))?;
//! let answer = scheme.handshake(&head, Some(&body)).expect("a url validation");
//! assert!(answer.body().starts_with(br#"{"encryptedToken":""#));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::hmac::{Handshake, delegate_to_engine, text_secret_constructors};
use super::{HmacScheme, Part, TimeUnit};
use crate::secret::{KeyRing, SecretError};

/// Zoom's `x-zm-signature` scheme; see the [module docs](self).
///
/// ```
/// use tower_webhook::scheme::{Scheme, Zoom};
/// assert_eq!(Zoom::new("token")?.name(), "zoom");
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Zoom(HmacScheme);

text_secret_constructors!(Zoom);
delegate_to_engine!(Zoom);

impl Zoom {
    /// A ring of key bytes; the handshake answers with the newest.
    pub fn from_ring(ring: &KeyRing) -> Result<Self, SecretError> {
        HmacScheme::builder("zoom", "x-zm-signature")
            .prefix("v0=")
            .timestamp_header("x-zm-request-timestamp", TimeUnit::Seconds)
            .content([
                Part::Literal("v0:"),
                Part::Timestamp,
                Part::Literal(":"),
                Part::Body,
            ])
            .handshake(Handshake::Zoom)
            .build_keys(ring)
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::Scheme;

    #[test]
    fn url_validation_answer() {
        let s = Zoom::new("secret").unwrap();
        let head = http::Request::post("/").body(()).unwrap().into_parts().0;
        let body = br#"{"payload":{"plainToken":"abc"},"event":"endpoint.url_validation"}"#;
        let answer = s.handshake(&head, Some(body)).unwrap();
        let json: serde_json::Value = serde_json::from_slice(answer.body()).unwrap();
        assert_eq!(json["plainToken"], "abc");
        let keys = crate::scheme::Keyed::<sha2::Sha256>::new(
            &crate::scheme::hmac::text_ring(["secret"]).unwrap(),
        )
        .unwrap();
        let expected =
            crate::scheme::hex_encode(&keys.sign_first(|m| hmac::Mac::update(m, b"abc")));
        assert_eq!(json["encryptedToken"], expected.as_str());
        assert!(
            s.handshake(&head, Some(br#"{"event":"meeting.started"}"#))
                .is_none()
        );
        assert!(s.handshake(&head, None).is_none());
    }
}
