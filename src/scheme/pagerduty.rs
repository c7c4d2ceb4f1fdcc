//! [PagerDuty](https://developer.pagerduty.com/docs/webhooks/webhook-signatures/)

use super::HmacScheme;
use super::hmac::hmac_preset;

hmac_preset! {
    /// [PagerDuty](https://developer.pagerduty.com/docs/webhooks/webhook-signatures/)
    /// webhooks v3.
    ///
    /// - Header `X-PagerDuty-Signature: v1=<hex>[,v1=<hex>...]`: one `v1` per
    ///   active secret of the subscription; any match verifies.
    /// - Signed content: the raw body, HMAC-SHA256 keyed with the subscription's
    ///   secret (its text, as shown by PagerDuty; not base64-decoded).
    /// - Event id: the body's JSON `event.id`. No signed timestamp.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Context, PagerDuty, Scheme, Tolerance};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = PagerDuty::new("lDQHScfUeXUKaQRNF+8XIiDKZ7XX3itBAYzwU0TARw8lJqRnkKl2iB1anSb0Z+IK")?;
    /// let (head, body) = Signer::new(&scheme).request("/pd", r#"{"event":{"id":"01BWDW"}}"#)?.into_parts();
    /// let envelope = scheme.check(&head, &body, &Context::new(SystemTime::now(), Tolerance::default()))?.envelope().ok_or("a handshake")?;
    /// assert_eq!(envelope.id.as_deref(), Some("01BWDW"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{PagerDuty, Scheme};
    /// assert!(!PagerDuty::new("secret")?.has_timestamp());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    PagerDuty,
    |ring| HmacScheme::builder("pagerduty", "x-pagerduty-signature")
        .event_json("/event/event_type")
        .separator(',')
        .prefix("v1=")
        .id_json("/event/id")
        .build_keys(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::SystemTime;

    #[test]
    fn rotation_list_and_tamper() {
        let old = PagerDuty::new("old").unwrap();
        let (head, body) = crate::sign::Signer::new(&old)
            .request("/", "{}")
            .unwrap()
            .into_parts();
        let sig = head.headers["x-pagerduty-signature"]
            .to_str()
            .unwrap()
            .to_owned();
        let both = PagerDuty::with_secrets(["new", "old"]).unwrap();
        let ctx = Context::new(SystemTime::now(), Tolerance::default());
        let mut h = head.clone();
        h.headers.insert(
            "x-pagerduty-signature",
            format!("v1={},{sig}", "ab".repeat(32)).parse().unwrap(),
        );
        assert!(both.check(&h, &body, &ctx).is_ok());
        assert!(matches!(
            both.check(&h, b"{ }", &ctx),
            Err(VerifyError::NoMatch { candidates: 2, .. })
        ));
        assert!(
            PagerDuty::new("new")
                .unwrap()
                .check(&head, &body, &ctx)
                .is_err()
        );
    }
}
