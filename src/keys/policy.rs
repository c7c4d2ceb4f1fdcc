//! Which URLs a sender's keys may be fetched from, checked before any
//! connection.

use http::Uri;

/// Why a URL is outside a sender's policy.
///
/// ```
/// use tower_webhook::keys::UrlPolicy;
/// let e = UrlPolicy::sns().check("http://sns.us-east-1.amazonaws.com/a.pem").unwrap_err();
/// assert_eq!(e.to_string(), "key URL refused by the sns URL policy: it is not https");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key URL refused by the {policy} URL policy: {reason}")]
pub struct PolicyError {
    /// The policy's name.
    pub policy: &'static str,
    /// What is wrong with the URL (the URL itself is not quoted).
    pub reason: &'static str,
}

/// How a policy recognises the key server's host.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Hosts {
    /// `sns.<region>.amazonaws.com` or `sns.<region>.amazonaws.com.cn`.
    Sns,
    /// The host itself or any host under it (`paypal.com`, `api.paypal.com`).
    Under(String),
    /// Exactly this host.
    Exact(String),
}

/// Where a sender's keys may be fetched from: `https` only, a host rule, a
/// path prefix and suffix; no user info, no port other than 443, no query,
/// no `..` segment. Checked by the scheme before it asks for a key, and by
/// the fetcher before it connects.
///
/// ```
/// use tower_webhook::keys::UrlPolicy;
/// let sns = UrlPolicy::sns();
/// assert!(sns.check("https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem").is_ok());
/// assert!(sns.check("https://s3.amazonaws.com/evil/cert.pem").is_err());
/// let paypal = UrlPolicy::paypal();
/// assert!(paypal.check("https://api.sandbox.paypal.com/v1/notifications/certs/CERT-360caa42-fca2a594-a5cafa77").is_ok());
/// assert!(paypal.check("https://paypal.com.evil.example/v1/notifications/certs/x").is_err());
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UrlPolicy {
    name: &'static str,
    hosts: Hosts,
    path_prefix: String,
    path_suffix: String,
    query: bool,
}

impl UrlPolicy {
    /// AWS SNS signing certificates: `https://sns.<region>.amazonaws.com[.cn]/….pem`,
    /// as AWS's own validators require.
    pub fn sns() -> Self {
        Self {
            name: "sns",
            hosts: Hosts::Sns,
            path_prefix: "/".into(),
            path_suffix: ".pem".into(),
            query: false,
        }
    }

    /// AWS SNS subscription confirmations: `https://sns.<region>.amazonaws.com[.cn]/?Action=ConfirmSubscription&…`.
    ///
    /// ```
    /// use tower_webhook::keys::UrlPolicy;
    /// let p = UrlPolicy::sns_confirmation();
    /// assert!(p.check("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=t&Token=x").is_ok());
    /// assert!(p.check("https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe").is_err());
    /// ```
    pub fn sns_confirmation() -> Self {
        Self {
            name: "sns-confirmation",
            hosts: Hosts::Sns,
            path_prefix: "/".into(),
            path_suffix: String::new(),
            query: true,
        }
    }

    /// PayPal certificates: hosts under `paypal.com`, paths under
    /// `/v1/notifications/certs/`.
    pub fn paypal() -> Self {
        Self {
            name: "paypal",
            hosts: Hosts::Under("paypal.com".into()),
            path_prefix: "/v1/notifications/certs/".into(),
            path_suffix: String::new(),
            query: false,
        }
    }

    /// One exact host (eBay's API base, `api.ebay.com`), any path under
    /// `path_prefix`.
    ///
    /// ```
    /// use tower_webhook::keys::UrlPolicy;
    /// let p = UrlPolicy::exact("ebay", "api.ebay.com", "/commerce/notification/v1/public_key/");
    /// assert!(p.check("https://api.ebay.com/commerce/notification/v1/public_key/abc").is_ok());
    /// assert!(p.check("https://api.ebay.com/other").is_err());
    /// ```
    pub fn exact(name: &'static str, host: &str, path_prefix: &str) -> Self {
        Self {
            name,
            hosts: Hosts::Exact(host.to_ascii_lowercase()),
            path_prefix: path_prefix.into(),
            path_suffix: String::new(),
            query: false,
        }
    }

    /// Hosts equal to or under `domain` (another partition, a sandbox),
    /// paths starting with `path_prefix` and ending with `path_suffix`.
    ///
    /// ```
    /// use tower_webhook::keys::UrlPolicy;
    /// let p = UrlPolicy::under("certs", "example.com", "/certs/", ".pem");
    /// assert!(p.check("https://keys.example.com/certs/a.pem").is_ok());
    /// assert!(p.check("https://keys.example.com:8443/certs/a.pem").is_err());
    /// ```
    pub fn under(name: &'static str, domain: &str, path_prefix: &str, path_suffix: &str) -> Self {
        Self {
            name,
            hosts: Hosts::Under(domain.to_ascii_lowercase()),
            path_prefix: path_prefix.into(),
            path_suffix: path_suffix.into(),
            query: false,
        }
    }

    /// The policy's name, as its errors show it.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// Checks `url`, and gives it parsed.
    pub fn check(&self, url: &str) -> Result<Uri, PolicyError> {
        let refuse = |reason| PolicyError {
            policy: self.name,
            reason,
        };
        if url.len() > 2048 {
            return Err(refuse("it is longer than 2048 bytes"));
        }
        let uri: Uri = url.parse().map_err(|_| refuse("it is not a URL"))?;
        if uri.scheme_str() != Some("https") {
            return Err(refuse("it is not https"));
        }
        let authority = uri.authority().ok_or(refuse("it has no host"))?;
        if authority.as_str().contains('@') {
            return Err(refuse("it carries user info"));
        }
        if authority.port_u16().is_some_and(|p| p != 443) {
            return Err(refuse("it names a port other than 443"));
        }
        let host = authority.host().to_ascii_lowercase();
        let host_ok = match &self.hosts {
            Hosts::Sns => is_sns_host(&host),
            Hosts::Under(domain) => {
                host == *domain
                    || host
                        .strip_suffix(domain.as_str())
                        .is_some_and(|h| h.ends_with('.') && h.len() > 1)
            }
            Hosts::Exact(exact) => host == *exact,
        };
        if !host_ok {
            return Err(refuse("its host is not one of the sender's key servers"));
        }
        match (uri.query(), self.query) {
            (Some(_), false) => return Err(refuse("it carries a query")),
            (None, true) => return Err(refuse("it carries no query")),
            (Some(q), true) if !q.split('&').any(|kv| kv == "Action=ConfirmSubscription") => {
                return Err(refuse("it is not a ConfirmSubscription action"));
            }
            _ => {}
        }
        let path = uri.path();
        if !path.starts_with(self.path_prefix.as_str())
            || !path.ends_with(self.path_suffix.as_str())
        {
            return Err(refuse("its path is not where the sender publishes keys"));
        }
        if path.split('/').any(|s| s == ".." || s == ".") || path.contains('%') {
            return Err(refuse("its path has dot segments or escapes"));
        }
        Ok(uri)
    }
}

/// `sns.<region>.amazonaws.com[.cn]`, the region `[a-z0-9-]{3,}`.
fn is_sns_host(host: &str) -> bool {
    let rest = host
        .strip_suffix(".amazonaws.com")
        .or_else(|| host.strip_suffix(".amazonaws.com.cn"));
    rest.and_then(|r| r.strip_prefix("sns."))
        .is_some_and(|region| {
            region.len() >= 3
                && region
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sns_policy() {
        let p = UrlPolicy::sns();
        for ok in [
            "https://sns.us-east-2.amazonaws.com/SimpleNotificationService-7ff5318490ec183fbaddaa2a969abfda.pem",
            "https://sns.cn-north-1.amazonaws.com.cn/x.pem",
            "https://SNS.US-EAST-1.amazonaws.com:443/x.pem",
        ] {
            assert!(p.check(ok).is_ok(), "{ok}");
        }
        for bad in [
            "http://sns.us-east-2.amazonaws.com/x.pem",
            "https://sns.us-east-2.amazonaws.com/x.pem?a=b",
            "https://sns.us-east-2.amazonaws.com/x.txt",
            "https://sns.us.amazonaws.com/x.pem",
            "https://sns.us-east-2.amazonaws.com.evil.com/x.pem",
            "https://evil.com/sns.us-east-2.amazonaws.com/x.pem",
            "https://a@sns.us-east-2.amazonaws.com/x.pem",
            "https://sns.us-east-2.amazonaws.com:8443/x.pem",
            "https://s3.amazonaws.com/sns.pem",
            "https://sns.us-east-2.amazonaws.com/../x.pem",
            "https://sns.us_east.amazonaws.com/x.pem",
            "",
            "not a url",
        ] {
            assert!(p.check(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn paypal_policy() {
        let p = UrlPolicy::paypal();
        assert!(
            p.check("https://api.paypal.com/v1/notifications/certs/CERT-1")
                .is_ok()
        );
        assert!(
            p.check("https://paypal.com/v1/notifications/certs/CERT-1")
                .is_ok()
        );
        for bad in [
            "https://evilpaypal.com/v1/notifications/certs/CERT-1",
            "https://api.paypal.com/v1/other/CERT-1",
            "https://api.paypal.com.evil/v1/notifications/certs/CERT-1",
            "http://api.paypal.com/v1/notifications/certs/CERT-1",
            "https://.paypal.com/v1/notifications/certs/CERT-1",
        ] {
            assert!(p.check(bad).is_err(), "{bad}");
        }
    }
}
