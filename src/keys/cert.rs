//! X.509 certificates fetched by URL (AWS SNS, PayPal): parsed once, their
//! RSA key used for PKCS#1 v1.5 signatures, their validity read against the
//! layer's clock.

use std::sync::Arc;
use std::time::SystemTime;

use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::signature::Verifier as _;
use x509_cert::der::DecodePem as _;

use rustls::pki_types::CertificateDer;
use rustls::pki_types::pem::PemObject as _;

use super::{
    CacheSettings, CertificateTrust, FetchError, Fetched, HttpsClient, KeyCache, Lookup, UrlPolicy,
};
use crate::scheme::{SchemeConfigError, SignError, VerifyError};

/// A test sender's RSA private key and the certificate URL its deliveries
/// name: what `Sns::signing_key` and `PayPal::signing_key` keep (both sign
/// SHA256withRSA, PKCS#1 v1.5).
pub(crate) struct RsaSigner {
    key: rsa::pkcs1v15::SigningKey<sha2::Sha256>,
    /// The URL the deliveries name as their certificate's.
    pub(crate) cert_url: String,
}

impl RsaSigner {
    /// The key of `pem` (PKCS#8 PEM), for `scheme`'s error.
    pub(crate) fn new(
        scheme: &'static str,
        pem: &str,
        cert_url: &str,
    ) -> Result<Self, SchemeConfigError> {
        use rsa::pkcs8::DecodePrivateKey as _;
        let key = rsa::PrivateKey::from_pkcs8_pem(pem).map_err(|_| SchemeConfigError::Invalid {
            scheme,
            reason: "the signing key is not an RSA private key in PKCS#8 PEM",
        })?;
        Ok(Self {
            key: rsa::pkcs1v15::SigningKey::new(key),
            cert_url: cert_url.to_owned(),
        })
    }

    /// The signature of `signed`, in standard base64.
    pub(crate) fn sign_base64(&self, signed: &[u8]) -> Result<String, SignError> {
        use base64::Engine as _;
        use rsa::signature::{SignatureEncoding as _, Signer as _};
        let signature = self
            .key
            .try_sign(signed)
            .map_err(|_| SignError::Invalid("RSA signing failed".to_owned()))?;
        Ok(base64::engine::general_purpose::STANDARD.encode(signature.to_bytes()))
    }
}

/// The hash of an RSA PKCS#1 v1.5 signature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RsaHash {
    #[cfg_attr(not(feature = "sns"), allow(dead_code))]
    Sha1,
    Sha256,
}

/// A certificate's RSA key and validity, and why its chain or name is
/// refused, if it is (checked once, when fetched).
pub(crate) struct Certificate {
    key: rsa::PublicKey,
    not_before: SystemTime,
    not_after: SystemTime,
    untrusted: Option<String>,
}

impl Certificate {
    /// The first `CERTIFICATE` block of `pem` (LF or CRLF lines), with an
    /// RSA key.
    pub(crate) fn from_pem(pem: &[u8]) -> Option<Self> {
        let text = std::str::from_utf8(pem).ok()?.replace('\r', "");
        let start = text.find("-----BEGIN CERTIFICATE-----")?;
        let end = text[start..].find("-----END CERTIFICATE-----")? + start;
        let block = &text[start..end + "-----END CERTIFICATE-----".len()];
        let cert = x509_cert::Certificate::from_pem(block.as_bytes()).ok()?;
        let tbs = cert.tbs_certificate();
        let spki = tbs.subject_public_key_info();
        let der = x509_cert::der::Encode::to_der(spki).ok()?;
        let key = rsa::pkcs8::DecodePublicKey::from_public_key_der(&der).ok()?;
        Some(Self {
            key,
            not_before: tbs.validity().not_before.to_system_time(),
            not_after: tbs.validity().not_after.to_system_time(),
            untrusted: None,
        })
    }

    /// A fetched certificate: [`from_pem`](Self::from_pem), then its chain
    /// (further blocks of `pem` serve as intermediates) and name checked by
    /// `trust` at `now`.
    pub(crate) fn fetched(pem: &[u8], trust: &CertificateTrust, now: SystemTime) -> Option<Self> {
        let mut cert = Self::from_pem(pem)?;
        let mut ders = CertificateDer::pem_slice_iter(pem).filter_map(Result::ok);
        let leaf = ders.next()?;
        let extra: Vec<CertificateDer<'static>> = ders.collect();
        cert.untrusted = trust.check(&leaf, &extra, now).err();
        Some(cert)
    }

    /// Refuses the certificate outside its validity at `now`.
    pub(crate) fn check_time(
        &self,
        header: &'static str,
        now: SystemTime,
    ) -> Result<(), VerifyError> {
        let refused = |reason: &str| VerifyError::KeyRefused {
            header,
            reason: reason.to_owned(),
        };
        if let Some(reason) = &self.untrusted {
            return Err(refused(reason));
        }
        if now < self.not_before {
            return Err(refused("the certificate is not valid yet"));
        }
        if now > self.not_after {
            return Err(refused("the certificate has expired"));
        }
        Ok(())
    }

    /// Whether `signature` is this key's PKCS#1 v1.5 signature of `message`.
    pub(crate) fn verifies(&self, hash: RsaHash, message: &[u8], signature: &[u8]) -> bool {
        let Ok(signature) = Signature::try_from(signature) else {
            return false;
        };
        match hash {
            RsaHash::Sha1 => VerifyingKey::<sha1::Sha1>::new(self.key.clone())
                .verify(message, &signature)
                .is_ok(),
            RsaHash::Sha256 => VerifyingKey::<sha2::Sha256>::new(self.key.clone())
                .verify(message, &signature)
                .is_ok(),
        }
    }
}

/// Certificates given in advance by URL (never fetched).
pub(crate) type Pinned = Arc<std::collections::HashMap<String, Arc<Certificate>>>;

/// Certificates by URL: the sender's URL policy, the client, the cache.
pub(crate) struct CertStore {
    pub(crate) policy: UrlPolicy,
    pub(crate) client: HttpsClient,
    pub(crate) settings: CacheSettings,
    pub(crate) trust: CertificateTrust,
    cache: KeyCache<Arc<Certificate>>,
}

impl CertStore {
    pub(crate) fn new(
        policy: UrlPolicy,
        client: HttpsClient,
        settings: CacheSettings,
        trust: CertificateTrust,
    ) -> Self {
        Self {
            policy,
            client,
            settings,
            trust,
            cache: KeyCache::new(settings),
        }
    }

    /// The certificate at `url` if cached; the URL policy first (refused
    /// without a connection), then [`VerifyError::KeyNeeded`] if it must be
    /// fetched.
    pub(crate) fn lookup(
        &self,
        header: &'static str,
        url: &str,
        now: SystemTime,
        pinned: &Pinned,
    ) -> Result<Arc<Certificate>, VerifyError> {
        self.policy
            .check(url)
            .map_err(|e| VerifyError::policy(header, &e))?;
        if let Some(cert) = pinned.get(url) {
            return Ok(cert.clone());
        }
        match self.cache.get(url, now) {
            Lookup::Found(cert) => Ok(cert),
            Lookup::Unknown => Err(VerifyError::KeyRefused {
                header,
                reason: "the key server has no usable certificate at this URL".to_owned(),
            }),
            Lookup::Absent => Err(VerifyError::KeyNeeded(super::KeyRequest::key(url))),
        }
    }

    /// Fetches the certificate at `url` into the cache.
    pub(crate) async fn fetch(&self, url: &str, now: SystemTime) -> Result<(), FetchError> {
        let uri = self.policy.check(url)?;
        self.cache
            .fill(url, now, || async {
                let body = self.client.get(uri).await?;
                Ok(body
                    .and_then(|body| Certificate::fetched(&body, &self.trust, now))
                    .map_or(Fetched::Unknown, |c| Fetched::Found(Arc::new(c), None)))
            })
            .await
    }
}
