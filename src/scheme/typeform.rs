//! [Typeform](https://www.typeform.com/developers/webhooks/secure-your-webhooks/).

use super::hmac::hmac_preset;
use super::{Encoding, HmacScheme};

hmac_preset! {
    /// [Typeform](https://www.typeform.com/developers/webhooks/secure-your-webhooks/).
    ///
    /// - Header `Typeform-Signature: sha256=<base64>`: HMAC-SHA256 of the raw
    ///   body keyed with the webhook's secret (its text).
    /// - Event id: the body's JSON `event_id`. No signed timestamp.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Context, Scheme, Tolerance, Typeform};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Typeform::new("typeform-secret")?;
    /// let (head, body) = Signer::new(&scheme).request("/tf", r#"{"event_id":"01H"}"#)?.into_parts();
    /// assert!(head.headers["typeform-signature"].to_str()?.starts_with("sha256="));
    /// let envelope = scheme.check(&head, &body, &Context::new(SystemTime::now(), Tolerance::default()))?.envelope().ok_or("a handshake")?;
    /// assert_eq!(envelope.id.as_deref(), Some("01H"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Scheme, Typeform};
    /// assert_eq!(Typeform::new("secret")?.name(), "typeform");
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Typeform,
    |ring| HmacScheme::builder("typeform", "typeform-signature")
        .event_json("/event_type")
        .prefix("sha256=")
        .encoding(Encoding::Base64)
        .id_json("/event_id")
        .build_keys(ring)
}
