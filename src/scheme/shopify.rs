//! [Shopify](https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify).

use super::hmac::hmac_preset;
use super::{Encoding, HmacScheme};

hmac_preset! {
    /// [Shopify](https://shopify.dev/docs/apps/build/webhooks/subscribe/https#step-2-validate-the-origin-of-your-webhook-to-ensure-its-coming-from-shopify).
    ///
    /// - Header `X-Shopify-Hmac-Sha256: <base64>`: HMAC-SHA256 of the raw body,
    ///   keyed with the app's client secret (its text, as it is).
    /// - Event id: `X-Shopify-Event-Id`, falling back to `X-Shopify-Webhook-Id`.
    /// - No signed timestamp: replays are refused by the dedup retention alone
    ///   (see `WebhookLayer::untimed_retention`).
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::Request;
    /// use tower_webhook::scheme::{Context, Scheme, Shopify, Tolerance};
    ///
    /// // The test vector of Shopify's own `shopify-api-js`.
    /// let scheme = Shopify::new("test_secret_key")?;
    /// let (head, ()) = Request::post("/webhooks")
    ///     .header("x-shopify-hmac-sha256", "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=")
    ///     .header("x-shopify-webhook-id", "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043")
    ///     .body(())?
    ///     .into_parts();
    /// let envelope = scheme.check(&head, br#"{"foo": "bar"}"#, &Context::new(SystemTime::now(), Tolerance::default()))?.envelope().ok_or("a handshake")?;
    /// assert_eq!(envelope.id.as_deref(), Some("b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Shopify};
    /// let scheme = Shopify::new("shpss_client_secret")?;
    /// assert!(!scheme.has_timestamp());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Shopify,
    |ring| HmacScheme::builder("shopify", "x-shopify-hmac-sha256")
        .event_header("x-shopify-topic")
        .encoding(Encoding::Base64)
        .id_header("x-shopify-event-id")
        .id_header("x-shopify-webhook-id")
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::{VerifyError, test_support};

    const SIG: &str = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g=";
    const BODY: &[u8] = br#"{"foo": "bar"}"#;

    fn verify(pairs: &[(&str, &str)], body: &[u8]) -> Result<crate::scheme::Envelope, VerifyError> {
        let scheme = Shopify::with_secrets(["other", "test_secret_key"]).unwrap();
        test_support::check_now(&scheme, pairs, body)
    }

    #[test]
    fn event_id_preferred_over_webhook_id() {
        let env = verify(
            &[
                ("x-shopify-hmac-sha256", SIG),
                ("x-shopify-webhook-id", "w"),
                ("x-shopify-event-id", "e"),
            ],
            BODY,
        )
        .unwrap();
        assert_eq!(env.id.as_deref(), Some("e"));
        let env = verify(&[("x-shopify-hmac-sha256", SIG)], BODY).unwrap();
        assert_eq!(env.id, None);
    }

    #[test]
    fn tampered_and_malformed_fail() {
        assert!(matches!(
            verify(&[("x-shopify-hmac-sha256", SIG)], b"{}"),
            Err(VerifyError::NoMatch { .. })
        ));
        let bad = SIG.replace('B', "C");
        assert!(verify(&[("x-shopify-hmac-sha256", &bad)], BODY).is_err());
        assert!(verify(&[("x-shopify-hmac-sha256", &SIG[..43])], BODY).is_err());
        assert!(matches!(
            verify(&[], BODY),
            Err(VerifyError::MissingHeader {
                header: "x-shopify-hmac-sha256"
            })
        ));
        assert!(
            verify(
                &[
                    ("x-shopify-hmac-sha256", SIG),
                    ("x-shopify-hmac-sha256", SIG)
                ],
                BODY
            )
            .is_err()
        );
    }
}
