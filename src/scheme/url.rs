//! The public URL of an endpoint, for senders that sign it (Square, HubSpot,
//! Twilio).

use super::SchemeConfigError;

/// An endpoint's public URL, kept as written, split for the port variants.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct PublicUrl {
    /// `https` or `http`.
    scheme: &'static str,
    host: String,
    port: Option<String>,
    path: String,
    query: Option<String>,
}

impl PublicUrl {
    /// Parses `https://host[:port][/path][?query]` (`http` too); a fragment
    /// is dropped.
    pub(crate) fn parse(url: &str) -> Result<Self, SchemeConfigError> {
        let bad = |reason| SchemeConfigError::InvalidPublicUrl { reason };
        let url = url.trim();
        let url = url.split_once('#').map_or(url, |(before, _)| before);
        let (scheme, rest) = if let Some(rest) = url.strip_prefix("https://") {
            ("https", rest)
        } else if let Some(rest) = url.strip_prefix("http://") {
            ("http", rest)
        } else {
            return Err(bad("it must start with https:// or http://"));
        };
        let end = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, rest) = rest.split_at(end);
        if authority.is_empty() || authority.contains('@') {
            return Err(bad("it must name a host (and no user name or password)"));
        }
        let (host, port) = match authority.rfind(':') {
            Some(i) if !authority[i..].contains(']') => {
                let port = &authority[i + 1..];
                if port.is_empty() || port.len() > 5 || !port.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad("its port is not a number"));
                }
                (&authority[..i], Some(port.to_owned()))
            }
            _ => (authority, None),
        };
        if host.is_empty()
            || host
                .bytes()
                .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("its host is empty or holds spaces"));
        }
        let (path, query) = match rest.split_once('?') {
            Some((p, q)) => (p, Some(q.to_owned())),
            None => (rest, None),
        };
        if rest
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(bad("its path holds spaces"));
        }
        Ok(Self {
            scheme,
            host: host.to_owned(),
            port,
            path: path.to_owned(),
            query,
        })
    }

    fn default_port(&self) -> &'static str {
        if self.scheme == "https" { "443" } else { "80" }
    }

    fn render(&self, port: Option<&str>, query: Option<&str>) -> String {
        let mut out = format!("{}://{}", self.scheme, self.host);
        if let Some(port) = port {
            out.push(':');
            out.push_str(port);
        }
        out.push_str(&self.path);
        if let Some(q) = query.or(self.query.as_deref()) {
            out.push('?');
            out.push_str(q);
        }
        out
    }

    /// The URL as configured, with `request_query` (when present) in place of
    /// the configured query.
    pub(crate) fn first(&self, request_query: Option<&str>) -> String {
        self.render(self.port.as_deref(), request_query)
    }

    /// The URL as configured and with the port toggled (an explicit port
    /// removed, or the default port added), as the senders' SDKs try both.
    pub(crate) fn variants(&self, request_query: Option<&str>) -> Vec<String> {
        let first = self.first(request_query);
        let other = match &self.port {
            Some(_) => self.render(None, request_query),
            None => self.render(Some(self.default_port()), request_query),
        };
        if other == first {
            vec![first]
        } else {
            vec![first, other]
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_renders_variants() {
        let u = PublicUrl::parse("https://example.com/hook?a=1").unwrap();
        assert_eq!(
            u.variants(None),
            [
                "https://example.com/hook?a=1",
                "https://example.com:443/hook?a=1"
            ]
        );
        assert_eq!(u.first(Some("b=2")), "https://example.com/hook?b=2");
        let u = PublicUrl::parse("http://[::1]:8080").unwrap();
        assert_eq!(u.variants(None), ["http://[::1]:8080", "http://[::1]"]);
        for bad in [
            "",
            "example.com/x",
            "ftp://x",
            "https://",
            "https://a:b/",
            "https://u@h/",
            "https://h/a b",
        ] {
            assert!(PublicUrl::parse(bad).is_err(), "{bad}");
        }
    }
}
