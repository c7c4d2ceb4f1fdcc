//! [HubSpot](https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation)

use super::hmac::hmac_preset;
use super::{Encoding, HmacScheme, Part, TimeUnit};

hmac_preset! {
    /// [HubSpot](https://developers.hubspot.com/docs/apps/developer-platform/build-apps/authentication/request-validation)
    /// request signatures, version 3.
    ///
    /// - Headers `X-HubSpot-Signature-v3: <base64>` and
    ///   `X-HubSpot-Request-Timestamp` (Unix **milliseconds**); a timestamp outside
    ///   the tolerance (HubSpot says: older than 5 minutes) is refused.
    /// - Signed content: `{method}{url}{body}{timestamp}`, HMAC-SHA256 keyed with
    ///   the app's client secret (its text). The URL is the public URL as
    ///   configured (with the request's query string), with the escapes HubSpot
    ///   lists (`%3A`, `%2F`, `%3F`, `%40`, `%21`, `%24`, `%27`, `%28`, `%29`,
    ///   `%2A`, `%2C`, `%3B`) decoded; it is tried with and without the default port.
    /// - No event id header: HubSpot batches events in one body; the layer
    ///   dedups on the body's hash. The v1 and v2 signatures are not verified.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use http::Request;
    /// use tower_webhook::scheme::{Context, HubSpot, Scheme, Tolerance};
    ///
    /// // The test vector of HubSpot's own Python SDK.
    /// let scheme = HubSpot::new("yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy", "https://www.example.com/webhook_uri")?;
    /// let (head, ()) = Request::post("/webhook_uri")
    ///     .header("x-hubspot-signature-v3", "HPW73RUtKmcYoEDADG0s6MmGFWUzWJKAW07r8RDgcQw=")
    ///     .header("x-hubspot-request-timestamp", "15000000")
    ///     .body(())?
    ///     .into_parts();
    /// let now = UNIX_EPOCH + Duration::from_millis(15_000_000);
    /// scheme.check(&head, b"{'example_field':'example_value'}", &Context::new(now, Tolerance::default()))?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// ```
    /// use tower_webhook::scheme::{HubSpot, Scheme};
    /// let scheme = HubSpot::new("client-secret", "https://example.com/hubspot")?;
    /// assert_eq!(scheme.name(), "hubspot");
    /// # Ok::<(), tower_webhook::scheme::SchemeConfigError>(())
    /// ```
    HubSpot,
    |ring, url| HmacScheme::builder("hubspot", "x-hubspot-signature-v3")
        .encoding(Encoding::Base64)
        .timestamp_header("x-hubspot-request-timestamp", TimeUnit::Millis)
        .content([Part::Method, Part::Url, Part::Body, Part::Timestamp])
        .public_url(url)?
        .url_transform(decode_listed_escapes)
        .build(ring)
}

/// Decodes the escapes HubSpot's documentation lists, in either case.
fn decode_listed_escapes(url: &str) -> String {
    const TABLE: [(&str, char); 12] = [
        ("3A", ':'),
        ("2F", '/'),
        ("3F", '?'),
        ("40", '@'),
        ("21", '!'),
        ("24", '$'),
        ("27", '\''),
        ("28", '('),
        ("29", ')'),
        ("2A", '*'),
        ("2C", ','),
        ("3B", ';'),
    ];
    let mut out = String::with_capacity(url.len());
    let mut rest = url;
    while let Some(i) = rest.find('%') {
        out.push_str(&rest[..i]);
        let after = &rest[i + 1..];
        let decoded = after.get(..2).and_then(|code| {
            TABLE
                .iter()
                .find(|(c, _)| c.eq_ignore_ascii_case(code))
                .map(|(_, ch)| *ch)
        });
        match decoded {
            Some(ch) => {
                out.push(ch);
                rest = &after[2..];
            }
            None => {
                out.push('%');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    #[allow(unused_imports)]
    use crate::scheme::test_support::deliver;
    use crate::scheme::{Context, Scheme, Tolerance, VerifyError};
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn decodes_only_listed_escapes() {
        assert_eq!(
            decode_listed_escapes("https://a/b?x=%3a%2F%20%3B%%4"),
            "https://a/b?x=:/%20;%%4"
        );
        assert_eq!(decode_listed_escapes("%"), "%");
        assert_eq!(decode_listed_escapes("%é"), "%é");
    }

    #[test]
    fn sign_verify_tamper_and_age() {
        let s = HubSpot::new("secret", "https://example.com/hs").unwrap();
        let now = UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        let ctx = Context::new(now, Tolerance::default());
        let req = crate::sign::Signer::new(&s)
            .timestamp(now)
            .request("/hs?a=%3A", "[]")
            .unwrap();
        let (head, body) = req.into_parts();
        assert!(s.check(&head, &body, &ctx).is_ok());
        assert!(s.check(&head, b"[1]", &ctx).is_err());
        let mut other = head.clone();
        other.method = http::Method::PUT;
        assert!(matches!(
            s.check(&other, &body, &ctx),
            Err(VerifyError::NoMatch { .. })
        ));
        let mut other = head.clone();
        other.uri = "/hs?a=%3B".parse().unwrap();
        assert!(s.check(&other, &body, &ctx).is_err());
        let later = Context::new(now + Duration::from_secs(301), Tolerance::default());
        assert!(matches!(
            s.check(&head, &body, &later),
            Err(VerifyError::TooOld { .. })
        ));
    }
}
