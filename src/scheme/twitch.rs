//! [Twitch EventSub](https://dev.twitch.tv/docs/eventsub/handling-webhook-events/#verifying-the-event-message)
//! webhooks.
//!
//! - Headers `Twitch-Eventsub-Message-Id`, `Twitch-Eventsub-Message-Timestamp`
//!   (RFC 3339, checked against the tolerance; Twitch suggests 10 minutes) and
//!   `Twitch-Eventsub-Message-Signature: sha256=<hex>`.
//! - Signed content: `{message id}{timestamp}{body}`, HMAC-SHA256 keyed with
//!   the subscription's secret (its text).
//! - Event id: the message id (Twitch resends a message with the same id).
//! - Handshake: the signed `webhook_callback_verification` message is
//!   answered with its `challenge` as `text/plain`, without calling the
//!   handler. `revocation` messages reach the handler like notifications.
//!
//! ```
//! use std::time::SystemTime;
//! use tower_webhook::scheme::{Context, Scheme, Tolerance, Twitch};
//! use tower_webhook::sign::Signer;
//!
//! let scheme = Twitch::new("eventsub-secret")?;
//! let now = SystemTime::now();
//! let body = r#"{"challenge":"pogchamp-kappa-360noscope-vohiyo","subscription":{}}"#;
//! let mut request = Signer::new(&scheme).id("e-1").timestamp(now).request("/twitch", body)?;
//! request.headers_mut().insert("twitch-eventsub-message-type", "webhook_callback_verification".parse()?);
//! let (head, body) = request.into_parts();
//! assert_eq!(scheme.verify(&head, &body, &Context::new(now, Tolerance::default()))?.id.as_deref(), Some("e-1"));
//! let answer = scheme.handshake(&head, Some(&body)).expect("a verification");
//! assert_eq!(answer.body().as_ref(), b"pogchamp-kappa-360noscope-vohiyo");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use super::hmac::{Handshake, delegate_to_engine, text_secret_constructors};
use super::{HmacScheme, Part, TimeUnit};
use crate::secret::{KeyRing, SecretError};

/// Twitch EventSub's message signature; see the [module docs](self).
///
/// ```
/// use tower_webhook::scheme::{Scheme, Twitch};
/// assert!(Twitch::new("secret")?.has_timestamp());
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone, Debug)]
pub struct Twitch(HmacScheme);

text_secret_constructors!(Twitch);
delegate_to_engine!(Twitch);

impl Twitch {
    /// A ring of key bytes.
    pub fn from_ring(ring: &KeyRing) -> Result<Self, SecretError> {
        HmacScheme::builder("twitch", "twitch-eventsub-message-signature")
            .prefix("sha256=")
            .id_header("twitch-eventsub-message-id")
            .timestamp_header("twitch-eventsub-message-timestamp", TimeUnit::Rfc3339)
            .content([Part::Id, Part::Timestamp, Part::Body])
            .handshake(Handshake::Twitch)
            .build_keys(ring)
            .map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    fn head(pairs: &[(&str, &str)]) -> http::request::Parts {
        let mut b = http::Request::post("/");
        for (k, v) in pairs {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap().into_parts().0
    }

    /// The example of Twitch's documentation, recomputed with our HMAC.
    #[test]
    fn nanosecond_timestamp_signed_as_sent() {
        let s = Twitch::new("s3cre7").unwrap();
        let ts = "2019-11-16T10:11:12.634234626Z";
        let body = br#"{"subscription":{},"event":{}}"#;
        let keys = crate::scheme::Keyed::<sha2::Sha256>::new(
            &crate::scheme::hmac::text_ring(["s3cre7"]).unwrap(),
        )
        .unwrap();
        let tag = keys.sign_first(|m| {
            hmac::Mac::update(m, b"e1");
            hmac::Mac::update(m, ts.as_bytes());
            hmac::Mac::update(m, body);
        });
        let sig = format!("sha256={}", crate::scheme::hex_encode(&tag));
        let h = head(&[
            ("twitch-eventsub-message-id", "e1"),
            ("twitch-eventsub-message-timestamp", ts),
            ("twitch-eventsub-message-signature", &sig),
            ("twitch-eventsub-message-type", "notification"),
        ]);
        let ctx = Context::new(
            UNIX_EPOCH + Duration::from_millis(1_573_899_072_634),
            Tolerance::default(),
        );
        let env = s.verify(&h, body, &ctx).unwrap();
        assert_eq!(env.id.as_deref(), Some("e1"));
        assert_eq!(
            env.timestamp,
            Some(UNIX_EPOCH + Duration::from_millis(1_573_899_072_634))
        );
        assert!(
            s.handshake(&h, Some(body)).is_none(),
            "not a verification message"
        );
        let later = Context::new(ctx.now + Duration::from_secs(900), Tolerance::default());
        assert!(matches!(
            s.verify(&h, body, &later),
            Err(VerifyError::TooOld { .. })
        ));
        let mut other = h.clone();
        other
            .headers
            .insert("twitch-eventsub-message-id", "e2".parse().unwrap());
        assert!(matches!(
            s.verify(&other, body, &ctx),
            Err(VerifyError::NoMatch { .. })
        ));
        let mut other = h.clone();
        other.headers.insert(
            "twitch-eventsub-message-timestamp",
            "yesterday".parse().unwrap(),
        );
        assert!(matches!(
            s.verify(&other, body, &ctx),
            Err(VerifyError::MalformedHeader { .. })
        ));
    }
}
