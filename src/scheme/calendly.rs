//! [Calendly](https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures).

use super::hmac::hmac_preset;
use super::{HmacScheme, Part, TimeUnit};

hmac_preset! {
    /// [Calendly](https://developer.calendly.com/api-docs/4c305798a61d3-webhook-signatures).
    ///
    /// - Header `Calendly-Webhook-Signature: t=<unix seconds>,v1=<hex>`.
    /// - Signed content: `{t}.{body}`, HMAC-SHA256 keyed with the webhook
    ///   subscription's signing key (its text). Calendly suggests a 3-minute
    ///   tolerance; the layer's tolerance applies.
    /// - No event id: the layer dedups on the body's hash.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Calendly, Context, Scheme, Tolerance};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Calendly::new("calendly-signing-key")?;
    /// let now = SystemTime::now();
    /// let (head, body) = Signer::new(&scheme).timestamp(now).request("/c", "{}")?.into_parts();
    /// scheme.check(&head, &body, &Context::new(now, Tolerance::default()))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Calendly, Scheme};
    /// assert!(Calendly::new("key")?.has_timestamp());
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Calendly,
    |ring| HmacScheme::builder("calendly", "calendly-webhook-signature")
        .event_json("/event")
        .separator(',')
        .prefix("v1=")
        .timestamp_entry("t=", TimeUnit::Seconds)
        .content([Part::Timestamp, Part::Literal("."), Part::Body])
        .build_keys(ring)
}
