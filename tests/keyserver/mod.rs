//! A key server on loopback for the published-key senders: HTTPS with a
//! test CA made by rcgen, routes set by the test, every request counted,
//! and a switch that makes it drop connections (down).

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::{self, pki_types::PrivateKeyDer, pki_types::PrivatePkcs8KeyDer};
use tower_webhook::keys::HttpsClient;

/// The test RSA key (not a vector: ours, for the senders' test signers).
pub const RSA_KEY: &str = include_str!("../vectors/test-keys/rsa-2048.pem");

/// What the server saw of one request.
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Bytes,
}

type Routes = HashMap<String, (u16, Bytes)>;

pub struct KeyServer {
    pub addr: SocketAddr,
    pub ca_pem: String,
    ca: CertifiedIssuer<'static, KeyPair>,
    hosts: Vec<String>,
    routes: Arc<Mutex<Routes>>,
    seen: Arc<Mutex<Vec<Seen>>>,
    down: Arc<AtomicBool>,
}

impl KeyServer {
    /// A server answering for `hosts` (its certificate names them).
    pub async fn start(hosts: &[&str]) -> Self {
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
        let leaf_key = KeyPair::generate().unwrap();
        let names: Vec<String> = hosts.iter().map(|h| h.to_string()).collect();
        let leaf = CertificateParams::new(names.clone())
            .unwrap()
            .signed_by(&leaf_key, &ca)
            .unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(leaf_key.serialize_der()));
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![leaf.der().clone()], key)
        .unwrap();
        let acceptor = TlsAcceptor::from(Arc::new(config));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let routes: Arc<Mutex<Routes>> = Arc::default();
        let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
        let down = Arc::new(AtomicBool::new(false));
        let (r, s, d) = (routes.clone(), seen.clone(), down.clone());
        tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    return;
                };
                if d.load(Ordering::SeqCst) {
                    drop(tcp); // down: the connection is dropped at once
                    continue;
                }
                let (acceptor, r, s) = (acceptor.clone(), r.clone(), s.clone());
                tokio::spawn(async move {
                    let Ok(tls) = acceptor.accept(tcp).await else {
                        return;
                    };
                    let svc = service_fn(move |req: hyper::Request<hyper::body::Incoming>| {
                        let (r, s) = (r.clone(), s.clone());
                        async move {
                            let (head, body) = req.into_parts();
                            let body = body
                                .collect()
                                .await
                                .map(|b| b.to_bytes())
                                .unwrap_or_default();
                            let path = head
                                .uri
                                .path_and_query()
                                .map(|p| p.to_string())
                                .unwrap_or_default();
                            s.lock().unwrap().push(Seen {
                                method: head.method.to_string(),
                                path: path.clone(),
                                authorization: head
                                    .headers
                                    .get("authorization")
                                    .map(|v| v.to_str().unwrap().to_owned()),
                                body,
                            });
                            let found = r.lock().unwrap().get(&path).cloned();
                            let (status, body) = found.unwrap_or((404, Bytes::from_static(b"{}")));
                            Ok::<_, std::convert::Infallible>(
                                hyper::Response::builder()
                                    .status(status)
                                    .body(Full::new(body))
                                    .unwrap(),
                            )
                        }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(tls), svc)
                        .await;
                });
            }
        });
        Self {
            addr,
            ca_pem: ca.pem(),
            ca,
            hosts: names,
            routes,
            seen,
            down,
        }
    }

    /// Serves `body` with `status` at `path` (with its query, if any).
    pub fn route(&self, path: &str, status: u16, body: impl Into<Bytes>) {
        self.routes
            .lock()
            .unwrap()
            .insert(path.to_owned(), (status, body.into()));
    }

    /// How many requests reached `path`.
    pub fn hits(&self, path: &str) -> usize {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .filter(|s| s.path == path)
            .count()
    }

    /// Every request the server answered.
    pub fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// Drops every connection while `down`.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// A client that trusts the test CA only and reaches every host of
    /// this server on loopback.
    pub fn client(&self) -> HttpsClient {
        let mut client = HttpsClient::with_root_certificates(&self.ca_pem).unwrap();
        for host in &self.hosts {
            client = client.resolve(host, self.addr);
        }
        client
    }

    /// A certificate for the test RSA key, issued to `sns.amazonaws.com` by
    /// the test CA, valid from `from` to `until` (years).
    pub fn signing_certificate(&self, from: i32, until: i32) -> String {
        self.signing_certificate_for("sns.amazonaws.com", from, until)
    }

    /// A certificate for the test RSA key, issued to `name` by the test CA.
    pub fn signing_certificate_for(&self, name: &str, from: i32, until: i32) -> String {
        signing_certificate_by(&self.ca, name, from, until)
    }

    /// A certificate for the test RSA key, issued to `name` by a CA of its
    /// own, which nothing trusts.
    pub fn untrusted_certificate(&self, name: &str, from: i32, until: i32) -> String {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let other = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        signing_certificate_by(&other, name, from, until)
    }
}

fn signing_certificate_by(
    ca: &CertifiedIssuer<'static, KeyPair>,
    name: &str,
    from: i32,
    until: i32,
) -> String {
    let key = KeyPair::from_pem_and_sign_algo(RSA_KEY, &rcgen::PKCS_RSA_SHA256).unwrap();
    let mut params = CertificateParams::new(vec![name.to_owned()]).unwrap();
    params.not_before = rcgen::date_time_ymd(from, 1, 1);
    params.not_after = rcgen::date_time_ymd(until, 1, 1);
    params.signed_by(&key, ca).unwrap().pem()
}
