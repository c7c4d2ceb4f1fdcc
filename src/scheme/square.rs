//! [Square](https://developer.squareup.com/docs/webhooks/step3validate).

use super::hmac::hmac_preset;
use super::{Encoding, HmacScheme, Part};

hmac_preset! {
    /// [Square](https://developer.squareup.com/docs/webhooks/step3validate).
    ///
    /// - Header `x-square-hmacsha256-signature: <base64>`: HMAC-SHA256 of the
    ///   notification URL followed by the raw body, keyed with the subscription's
    ///   signature key (its text).
    /// - The notification URL is configuration: the URL exactly as registered in
    ///   the Square dashboard. It cannot be read from the request (proxies rewrite
    ///   `Host`, routers strip prefixes). The URL is tried as configured and with
    ///   the port toggled (`:443` added or removed).
    /// - Event id: the body's JSON `event_id`. No signed timestamp: replays are
    ///   refused by the dedup retention alone.
    ///
    /// ```
    /// use std::time::SystemTime;
    /// use http::Request;
    /// use tower_webhook::scheme::{Context, Scheme, Square, Tolerance};
    ///
    /// // The test vector of Square's own Python SDK.
    /// let scheme = Square::new("signature-key", "https://webhook.site/webhooks")?;
    /// let (head, ()) = Request::post("/webhooks")
    ///     .header("x-square-hmacsha256-signature", "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=")
    ///     .body(())?
    ///     .into_parts();
    /// let body = br#"{"data":{"type":"webhooks","id":">id<"}}"#;
    /// scheme.check(&head, body, &Context::new(SystemTime::now(), Tolerance::default()))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{SchemeConfigError, Square};
    /// let err = Square::new("key", "webhook.example.com").unwrap_err();
    /// assert!(matches!(err, SchemeConfigError::InvalidPublicUrl { .. }));
    /// ```
    Square,
    |ring, url| HmacScheme::builder("square", "x-square-hmacsha256-signature")
        .event_json("/type")
        .encoding(Encoding::Base64)
        .content([Part::Url, Part::Body])
        .id_json("/event_id")
        .public_url(url)?
        .build(ring)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::{VerifyError, test_support};

    const SIG: &str = "Cxt7+aTi4rKgcA0bC4g9EHdVtLSDWdqccmL5MvihU4U=";
    const BODY: &[u8] = br#"{"data":{"type":"webhooks","id":">id<"}}"#;

    fn verify(url: &str, sig: &str, body: &[u8]) -> Result<crate::scheme::Envelope, VerifyError> {
        let scheme = Square::new("signature-key", url).unwrap();
        test_support::check_now(&scheme, &[("x-square-hmacsha256-signature", sig)], body)
    }

    #[test]
    fn url_matters_port_variants_accepted() {
        assert!(verify("https://webhook.site/webhooks", SIG, BODY).is_ok());
        assert!(verify("https://webhook.site:443/webhooks", SIG, BODY).is_ok());
        assert!(verify("https://webhook.site/webhooks2", SIG, BODY).is_err());
        assert!(verify("http://webhook.site/webhooks", SIG, BODY).is_err());
        assert!(verify("https://webhook.site/webhooks", SIG, b"{}").is_err());
        assert!(verify("https://webhook.site/webhooks", "nope", BODY).is_err());
    }

    #[test]
    fn missing_url_names_the_setting() {
        let err = Square::new("k", "").unwrap_err();
        assert!(err.to_string().contains("public URL"), "{err}");
    }
}
