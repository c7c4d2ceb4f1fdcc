//! Posting signed deliveries over plain HTTP. Shared by `tower-webhook
//! send` and `examples/send.rs`.

use bytes::Bytes;
use http::{Request, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// An HTTP/1.1 client for `http://` URLs.
#[derive(Clone)]
pub struct Client(HyperClient<HttpConnector, Full<Bytes>>);

/// The receiver's answer to one delivery.
pub struct Answer {
    /// Its status.
    pub status: StatusCode,
    /// Its body (empty for most answers).
    pub body: Bytes,
}

impl Client {
    /// A client with a connection pool.
    pub fn new() -> Self {
        Self(HyperClient::builder(TokioExecutor::new()).build_http())
    }

    /// Posts `request` (its URI absolute) and reads the whole answer. The
    /// error names the URL and what failed.
    pub async fn post(&self, request: Request<Bytes>) -> Result<Answer, String> {
        let uri = request.uri().clone();
        let response = self
            .0
            .request(request.map(Full::new))
            .await
            .map_err(|e| describe(&uri, &e))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("POST {uri}: the answer's body: {e}"))?
            .to_bytes();
        Ok(Answer { status, body })
    }
}

/// The error with its causes (hyper's own message is only "client error
/// (Connect)").
fn describe(uri: &http::Uri, e: &dyn std::error::Error) -> String {
    let mut text = format!("POST {uri}: {e}");
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(&format!(": {cause}"));
        source = cause.source();
    }
    if uri.scheme_str() == Some("https") {
        text.push_str(
            " (only http:// URLs are supported: send to the receiver's plain-HTTP port, \
             or print the signed request with `tower-webhook sign --http` and send it with curl)",
        );
    }
    text
}
