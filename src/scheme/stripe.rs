//! [Stripe](https://docs.stripe.com/webhooks#verify-manually).

use super::hmac::hmac_preset;
use super::{HmacScheme, Part, TimeUnit};

hmac_preset! {
    /// [Stripe](https://docs.stripe.com/webhooks#verify-manually).
    ///
    /// - Header `Stripe-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>...]`.
    ///   During a secret roll Stripe lists one `v1` per active secret; any
    ///   match verifies. `v0` and any other scheme are ignored, never accepted
    ///   (downgrade protection).
    /// - Signed content: `{t}.{body}`, HMAC-SHA256, hex.
    /// - The key is the whole `whsec_...` string's bytes, **not** base64-decoded
    ///   (unlike Standard Webhooks secrets that look the same).
    /// - Event id: the body's JSON `id` (`evt_...`); the timestamp is checked
    ///   against the layer's tolerance (Stripe's libraries default to 300 s).
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::Request;
    /// use tower_webhook::scheme::{Context, Scheme, Stripe, Tolerance};
    ///
    /// let scheme = Stripe::new("whsec_test_secret")?;
    /// let body = br#"{"id":"evt_1","object":"event"}"#;
    /// let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
    /// let request = tower_webhook::sign::Signer::new(&scheme).timestamp(now).request("/", &body[..])?;
    /// let (head, body) = request.into_parts();
    /// let envelope = scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?.envelope().ok_or("a handshake")?;
    /// assert_eq!(envelope.id.as_deref(), Some("evt_1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Stripe};
    /// // Rolling a secret: accept the new and the old one.
    /// let scheme = Stripe::with_secrets(["whsec_new", "whsec_old"])?;
    /// assert_eq!((scheme.name(), scheme.key_count()), ("stripe", 2));
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Stripe,
    |ring| HmacScheme::builder("stripe", "stripe-signature")
        .event_json("/type")
        .separator(',')
        .prefix("v1=")
        .timestamp_entry("t=", TimeUnit::Seconds)
        .content([Part::Timestamp, Part::Literal("."), Part::Body])
        .id_json("/id")
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::{self, deliver};
    use crate::scheme::{Context, Scheme, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    const SECRET: &str = "whsec_test";
    const BODY: &[u8] = br#"{"id":"evt_123","object":"event"}"#;

    fn ctx() -> Context {
        test_support::at(1_700_000_000)
    }

    fn header(secret: &str, ts: &str, body: &[u8]) -> String {
        use hmac::{KeyInit, Mac};
        let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(ts.as_bytes());
        mac.update(b".");
        mac.update(body);
        crate::scheme::hex(&mac.finalize().into_bytes())
    }

    fn verify(
        scheme: &Stripe,
        value: &str,
        body: &[u8],
    ) -> Result<crate::scheme::Envelope, VerifyError> {
        let (head, ()) = http::Request::post("/")
            .header("stripe-signature", value)
            .body(())
            .unwrap()
            .into_parts();
        scheme.check(&head, body, &ctx()).map(deliver)
    }

    #[test]
    fn verifies_and_reads_id() {
        let s = Stripe::new(SECRET).unwrap();
        let v1 = header(SECRET, "1700000000", BODY);
        let env = verify(&s, &format!("t=1700000000,v1={v1}"), BODY).unwrap();
        assert_eq!(env.id.as_deref(), Some("evt_123"));
        assert_eq!(
            env.timestamp,
            Some(UNIX_EPOCH + Duration::from_secs(1_700_000_000))
        );
    }

    #[test]
    fn v0_alone_is_never_accepted() {
        let s = Stripe::new(SECRET).unwrap();
        let sig = header(SECRET, "1700000000", BODY);
        let r = verify(&s, &format!("t=1700000000,v0={sig}"), BODY);
        assert!(
            matches!(r, Err(VerifyError::NoMatch { candidates: 0, .. })),
            "{r:?}"
        );
    }

    #[test]
    fn rotation_any_v1_and_any_key() {
        let s = Stripe::with_secrets(["whsec_new", SECRET]).unwrap();
        let old = header(SECRET, "1700000000", BODY);
        let value = format!("t=1700000000,v1={},v1={old}", "0".repeat(64));
        assert!(verify(&s, &value, BODY).is_ok());
    }

    #[test]
    fn tampered_body_timestamp_signature_and_stale_fail() {
        let s = Stripe::new(SECRET).unwrap();
        let v1 = header(SECRET, "1700000000", BODY);
        assert!(verify(&s, &format!("t=1700000000,v1={v1}"), b"{}").is_err());
        assert!(verify(&s, &format!("t=1700000001,v1={v1}"), BODY).is_err());
        let mut bad = v1.clone();
        bad.replace_range(0..1, if &v1[0..1] == "a" { "b" } else { "a" });
        assert!(verify(&s, &format!("t=1700000000,v1={bad}"), BODY).is_err());
        let old = header(SECRET, "1699999000", BODY);
        let r = verify(&s, &format!("t=1699999000,v1={old}"), BODY);
        assert!(matches!(r, Err(VerifyError::TooOld { .. })), "{r:?}");
        let r = verify(&s, &format!("v1={v1}"), BODY);
        assert!(
            matches!(r, Err(VerifyError::MalformedHeader { .. })),
            "{r:?}"
        );
    }

    #[test]
    fn errors_never_quote_the_signature() {
        let s = Stripe::new(SECRET).unwrap();
        let v1 = header(SECRET, "1700000000", b"other");
        let e = verify(&s, &format!("t=1700000000,v1={v1}"), BODY).unwrap_err();
        assert!(!e.to_string().contains(&v1[..16]));
        assert!(!format!("{s:?}").contains("whsec_test"));
    }
}
