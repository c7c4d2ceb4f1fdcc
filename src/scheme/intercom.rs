//! [Intercom](https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications).

use super::hmac::hmac_preset;
use super::{Algorithm, HmacScheme};

hmac_preset! {
    /// [Intercom](https://developers.intercom.com/docs/references/webhooks/webhook-models#signed-notifications).
    ///
    /// - Header `X-Hub-Signature: sha1=<hex>`: HMAC-**SHA1** of the raw body keyed
    ///   with the app's client secret (its text). SHA-1 is what Intercom sends;
    ///   HMAC-SHA1 is still not forgeable in practice.
    /// - Event id: the body's JSON `id` (`notif_...`). No signed timestamp.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use tower_webhook::scheme::{Context, Intercom, Scheme, Tolerance};
    /// use tower_webhook::sign::Signer;
    ///
    /// let scheme = Intercom::new("client-secret")?;
    /// let (head, body) = Signer::new(&scheme).request("/ic", r#"{"id":"notif_1"}"#)?.into_parts();
    /// let envelope = scheme.check(&head, &body, &Context::new(SystemTime::now(), Tolerance::default()))?.envelope().ok_or("a handshake")?;
    /// assert_eq!(envelope.id.as_deref(), Some("notif_1"));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{Intercom, Scheme};
    /// assert_eq!(Intercom::new("secret")?.name(), "intercom");
    /// # Ok::<(), tower_webhook::secret::SecretError>(())
    /// ```
    Intercom,
    |ring| HmacScheme::builder("intercom", "x-hub-signature")
        .event_json("/topic")
        .algorithm(Algorithm::Sha1)
        .prefix("sha1=")
        .id_json("/id")
        .build_keys(ring)
}
