//! [Linear](https://linear.app/developers/webhooks#securing-webhooks).

use super::hmac::hmac_preset;
use super::{HmacScheme, TimeUnit};

hmac_preset! {
    /// [Linear](https://linear.app/developers/webhooks#securing-webhooks).
    ///
    /// - Header `Linear-Signature: <hex>`: HMAC-SHA256 of the raw body keyed with
    ///   the webhook's signing secret (its text).
    /// - Timestamp: the body's JSON `webhookTimestamp` (Unix milliseconds),
    ///   checked against the tolerance once the signature verified (Linear
    ///   suggests one minute).
    /// - Event id: the `Linear-Delivery` header.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use tower_webhook::scheme::{Context, Linear, Scheme, Tolerance};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Linear::new("lin_wh_secret")?;
    /// let now = UNIX_EPOCH + Duration::from_millis(1_676_056_940_508);
    /// let body = r#"{"action":"create","webhookTimestamp":1676056940508}"#;
    /// let (head, body) = Signer::new(&scheme).id("d-1").request("/linear", body)?.into_parts();
    /// let envelope = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.envelope().ok_or("a handshake")?;
    /// assert_eq!(envelope.id.as_deref(), Some("d-1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Linear, Scheme};
    /// assert!(Linear::new("secret")?.has_timestamp());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Linear,
    |ring| HmacScheme::builder("linear", "linear-signature")
        .event_json("/type")
        .timestamp_json("/webhookTimestamp", TimeUnit::Millis)
        .id_header("linear-delivery")
        // A retry re-signs the body with a fresh `webhookTimestamp` and
        // keeps its (unsigned) delivery id: remember both.
        .dedup_on_unsigned_id_too()
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    #[test]
    fn signing_a_body_without_its_timestamp_is_refused() {
        let s = super::Linear::new("secret").unwrap();
        let err = crate::sign::Signer::new(&s)
            .request("/", r#"{"action":"x"}"#)
            .unwrap_err();
        assert!(err.to_string().contains("/webhookTimestamp"), "{err}");
    }

    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn body_timestamp_enforced() {
        let s = Linear::new("k").unwrap();
        let at = |ms| Context::new(UNIX_EPOCH + Duration::from_millis(ms), Tolerance::default());
        let (head, body) = crate::sign::Signer::new(&s)
            .request("/", r#"{"webhookTimestamp":1000000}"#)
            .unwrap()
            .into_parts();
        assert!(s.check(&head, &body, &at(1_000_000)).is_ok());
        assert!(matches!(
            s.check(&head, &body, &at(2_000_000)),
            Err(VerifyError::TooOld { .. })
        ));
        // Signed by hand: the Signer refuses a body without the timestamp.
        let body = bytes::Bytes::from_static(br#"{"no":1}"#);
        let tag = crate::scheme::test_support::hmac_sha256("k", &[&body]);
        let (head, ()) = http::Request::post("/")
            .header("linear-signature", crate::scheme::hex(&tag))
            .body(())
            .unwrap()
            .into_parts();
        assert!(matches!(
            s.check(&head, &body, &at(1_000_000)),
            Err(VerifyError::MalformedBody { .. })
        ));
    }
}
