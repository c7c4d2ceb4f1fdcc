//! [Paddle Billing](https://developer.paddle.com/webhooks/signature-verification).

use super::hmac::hmac_preset;
use super::{HmacScheme, Part, TimeUnit};

hmac_preset! {
    /// [Paddle Billing](https://developer.paddle.com/webhooks/signature-verification).
    ///
    /// - Header `Paddle-Signature: ts=<unix seconds>;h1=<hex>[;h1=<hex>...]`.
    ///   Paddle lists one `h1` per active secret while a secret rotates; any
    ///   match verifies; other schemes (`h2=...`) are ignored.
    /// - Signed content: `{ts}:{body}`, HMAC-SHA256 keyed with the notification
    ///   destination's secret key (`pdl_ntfset_...`, its text).
    /// - Event id: the body's JSON `notification_id` (stable across Paddle's
    ///   retries of one notification). Paddle's SDKs allow 5 s of clock skew by
    ///   default; this crate uses the layer's tolerance.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::Request;
    /// use tower_webhook::scheme::{Context, Paddle, Scheme, Tolerance};
    ///
    /// // The test vector of Paddle's own Node SDK.
    /// let scheme = Paddle::new("VALID_SECRET")?;
    /// let (head, ()) = Request::post("/paddle")
    ///     .header("paddle-signature", "ts=1698796800;h1=a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9")
    ///     .body(())?
    ///     .into_parts();
    /// let now = UNIX_EPOCH + Duration::from_secs(1_698_796_800);
    /// scheme.check(&head, br#"{"data": ["1", "2"]}"#, &Context::new(now, Tolerance::default()))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::Paddle;
    /// let scheme = Paddle::with_secrets(["pdl_ntfset_new_x", "pdl_ntfset_old_y"])?;
    /// assert_eq!(scheme.key_count(), 2);
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Paddle,
    |ring| HmacScheme::builder("paddle", "paddle-signature")
        .event_json("/event_type")
        .separator(';')
        .prefix("h1=")
        .timestamp_entry("ts=", TimeUnit::Seconds)
        .content([Part::Timestamp, Part::Literal(":"), Part::Body])
        .id_json("/notification_id")
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    const H1: &str = "a300428748dce5c70e4da19bffd60769591ea969c99dea3105d0ec9612cf43f9";
    const BODY: &[u8] = br#"{"data": ["1", "2"]}"#;

    fn verify(value: &str, body: &[u8], at: u64) -> Result<crate::scheme::Envelope, VerifyError> {
        let head = http::Request::post("/")
            .header("paddle-signature", value)
            .body(())
            .unwrap()
            .into_parts()
            .0;
        Paddle::new("VALID_SECRET")
            .unwrap()
            .check(
                &head,
                body,
                &Context::new(UNIX_EPOCH + Duration::from_secs(at), Tolerance::default()),
            )
            .map(deliver)
    }

    #[test]
    fn vector_noise_tamper_and_age() {
        assert!(verify(&format!("ts=1698796800;h1={H1}"), BODY, 1_698_796_800).is_ok());
        assert!(
            verify(
                &format!("ts=1698796800;h1=dummy;h2=x;h1={H1}"),
                BODY,
                1_698_796_800
            )
            .is_ok()
        );
        assert!(verify(&format!("ts=1698796801;h1={H1}"), BODY, 1_698_796_800).is_err());
        assert!(verify(&format!("ts=1698796800;h1={H1}"), b"{}", 1_698_796_800).is_err());
        assert!(matches!(
            verify(&format!("ts=1698796800;h1={H1}"), BODY, 1_698_800_000),
            Err(VerifyError::TooOld { .. })
        ));
        assert!(matches!(
            verify(&format!("h1={H1}"), BODY, 1_698_796_800),
            Err(VerifyError::MalformedHeader { .. })
        ));
        assert!(matches!(
            verify(&format!("ts=1;ts=2;h1={H1}"), BODY, 1_698_796_800),
            Err(VerifyError::MalformedHeader { .. })
        ));
    }
}
