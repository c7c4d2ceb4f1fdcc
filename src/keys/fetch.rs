//! [`HttpsClient`]: one HTTPS request per key fetch, over rustls.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, Request, StatusCode, header};
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio_rustls::TlsConnector;

use super::FetchError;

/// Why an [`HttpsClient`] could not be configured.
///
/// ```
/// use tower_webhook::keys::HttpsClient;
/// let e = HttpsClient::with_root_certificates("not a certificate").unwrap_err();
/// assert!(e.to_string().contains("HttpsClient::with_root_certificates"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the trust roots given to HttpsClient::with_root_certificates are unusable: {reason}")]
pub struct FetchConfigError {
    reason: &'static str,
}

/// The client the published-key schemes fetch with: HTTPS only (rustls with
/// `ring`, no OpenSSL), a timeout for the whole exchange (connect, TLS,
/// request, body), a cap on the response size, and no redirects. Trust
/// roots are the Mozilla set (`webpki-roots`) unless replaced.
///
/// For tests, [`with_root_certificates`](Self::with_root_certificates)
/// trusts a test CA and [`resolve`](Self::resolve) sends a host name to a
/// loopback address: the URL policy stays the sender's own.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::keys::HttpsClient;
/// let client = HttpsClient::new()
///     .timeout(Duration::from_secs(3))
///     .max_response(16 * 1024)
///     .resolve("sns.us-east-2.amazonaws.com", "127.0.0.1:8443".parse()?);
/// # let _ = client;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct HttpsClient {
    tls: Option<TlsConnector>,
    timeout: Duration,
    max_response: usize,
    resolve: Arc<HashMap<String, SocketAddr>>,
}

impl std::fmt::Debug for HttpsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpsClient")
            .field("timeout", &self.timeout)
            .field("max_response", &self.max_response)
            .field("resolve", &self.resolve)
            .finish_non_exhaustive()
    }
}

impl Default for HttpsClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpsClient {
    /// A client trusting the Mozilla root set, with a 5 s timeout and a
    /// 64 KiB response cap (certificates are under 8 KiB).
    pub fn new() -> Self {
        let mut roots = rustls::RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::from_roots(roots)
    }

    /// A client trusting only the certificates of `pem` (one or more PEM
    /// `CERTIFICATE` blocks): a private CA, or a test CA.
    pub fn with_root_certificates(pem: &str) -> Result<Self, FetchConfigError> {
        let mut roots = rustls::RootCertStore::empty();
        for cert in CertificateDer::pem_slice_iter(pem.as_bytes()) {
            let cert = cert.map_err(|_| FetchConfigError {
                reason: "a PEM block could not be read",
            })?;
            roots.add(cert).map_err(|_| FetchConfigError {
                reason: "a certificate is not a usable trust anchor",
            })?;
        }
        if roots.is_empty() {
            return Err(FetchConfigError {
                reason: "no PEM CERTIFICATE block found",
            });
        }
        Ok(Self::from_roots(roots))
    }

    fn from_roots(roots: rustls::RootCertStore) -> Self {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        // The ring provider supports the safe default versions; should it
        // not, the client refuses every fetch (503) rather than panic.
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .ok()
            .map(|b| {
                TlsConnector::from(Arc::new(
                    b.with_root_certificates(roots).with_no_client_auth(),
                ))
            });
        Self {
            tls,
            timeout: Duration::from_secs(5),
            max_response: 64 * 1024,
            resolve: Arc::new(HashMap::new()),
        }
    }

    /// The time allowed for a whole fetch (connect, TLS, request, body).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The largest response body accepted, in bytes.
    pub fn max_response(mut self, bytes: usize) -> Self {
        self.max_response = bytes;
        self
    }

    /// Connects to `addr` for `host` instead of resolving it (tests, split
    /// horizons); the TLS server name is still `host`.
    pub fn resolve(mut self, host: &str, addr: SocketAddr) -> Self {
        Arc::make_mut(&mut self.resolve).insert(host.to_ascii_lowercase(), addr);
        self
    }

    /// Sends `request` (its URI absolute, `https`), and gives the status and
    /// the body, within the timeout and the size cap.
    pub(crate) async fn send(
        &self,
        request: Request<Bytes>,
    ) -> Result<(StatusCode, Bytes), FetchError> {
        match tokio::time::timeout(self.timeout, self.exchange(request)).await {
            Ok(result) => result,
            Err(_) => Err(unavailable(format!(
                "no answer within {:?} (HttpsClient::timeout)",
                self.timeout
            ))),
        }
    }

    /// GETs `uri`: the body of a 2xx, `None` for an answer that says the
    /// server has nothing usable there (a 4xx but 429, cached as unknown),
    /// an error for the server's trouble (5xx, 429, no answer: retried later).
    #[cfg(any(feature = "sns", feature = "paypal"))]
    pub(crate) async fn get(&self, uri: http::Uri) -> Result<Option<Bytes>, FetchError> {
        let request = Request::get(uri)
            .body(Bytes::new())
            .map_err(|e| unavailable(e.to_string()))?;
        let (status, body) = self.send(request).await?;
        super::classify_status(status)?;
        Ok(status.is_success().then_some(body))
    }

    async fn exchange(&self, request: Request<Bytes>) -> Result<(StatusCode, Bytes), FetchError> {
        let uri = request.uri().clone();
        if uri.scheme_str() != Some("https") {
            return Err(unavailable("only https URLs are fetched".to_owned()));
        }
        let host = uri
            .host()
            .ok_or_else(|| unavailable("the URL has no host".to_owned()))?
            .to_ascii_lowercase();
        let port = uri.port_u16().unwrap_or(443);
        let addr = match self.resolve.get(&host) {
            Some(addr) => *addr,
            None => tokio::net::lookup_host((host.as_str(), port))
                .await
                .map_err(|e| unavailable(format!("cannot resolve {host}: {e}")))?
                .next()
                .ok_or_else(|| unavailable(format!("{host} has no address")))?,
        };
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| unavailable(format!("cannot connect to {host}: {e}")))?;
        let name = ServerName::try_from(host.clone())
            .map_err(|_| unavailable("the host is not a valid server name".to_owned()))?;
        let connector = self
            .tls
            .as_ref()
            .ok_or_else(|| unavailable("TLS could not be configured".to_owned()))?;
        let tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| unavailable(format!("TLS with {host} failed: {e}")))?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
            .await
            .map_err(|e| unavailable(format!("HTTP with {host} failed: {e}")))?;
        let driver = tokio::spawn(connection);
        let (mut parts, body) = request.into_parts();
        let host_header = HeaderValue::from_str(&host)
            .map_err(|_| unavailable("the host is not a valid header".to_owned()))?;
        parts.headers.insert(header::HOST, host_header);
        parts.headers.insert(
            header::USER_AGENT,
            HeaderValue::from_static("tower-webhook key fetcher"),
        );
        // HTTP/1.1 over a fresh connection: the request line carries the
        // path only.
        let path = uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .parse()
            .map_err(|_| unavailable("the URL's path is invalid".to_owned()))?;
        parts.uri = path;
        let response = sender
            .send_request(Request::from_parts(parts, Full::new(body)))
            .await
            .map_err(|e| unavailable(format!("the request to {host} failed: {e}")))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), self.max_response)
            .collect()
            .await
            .map_err(|e| unavailable(format!("the answer of {host} could not be read: {e}")))?
            .to_bytes();
        driver.abort();
        Ok((status, body))
    }
}

fn unavailable(reason: String) -> FetchError {
    FetchError::Unavailable { reason }
}
