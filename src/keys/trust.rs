//! Whether a fetched signing certificate (AWS SNS, PayPal) is one the
//! sender's CA issued to the sender: its chain to trust anchors, and the
//! names it is valid for, checked with `rustls-webpki` at the layer's time.

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, TrustAnchor, UnixTime};

/// Why a [`CertificateTrust`] could not be configured.
///
/// ```
/// use tower_webhook::keys::CertificateTrust;
/// let e = CertificateTrust::sns().root_certificates("nope").unwrap_err();
/// assert!(e.to_string().contains("CertificateTrust::root_certificates"));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the certificates given to CertificateTrust::{setting} are unusable: {reason}")]
pub struct TrustConfigError {
    setting: &'static str,
    reason: &'static str,
}

/// What a fetched signing certificate must satisfy besides its validity
/// dates (always checked, at the layer's clock):
///
/// - **a chain**, when asked for ([`with_mozilla_roots`](Self::with_mozilla_roots)
///   or [`root_certificates`](Self::root_certificates)): from the
///   certificate, through the intermediates (those configured here, and any
///   further `CERTIFICATE` blocks of the fetched PEM), to one of the trust
///   anchors, every certificate valid at the layer's time, checked with
///   `rustls-webpki`;
/// - **a name**: the certificate must be valid (subject alternative names)
///   for one of [`names`](Self::names).
///
/// A certificate that fails is refused (401) and the reason logged.
///
/// **Why the chain check is off by default:** the URLs AWS SNS and PayPal
/// publish serve the signing certificate alone, without its intermediate
/// CA, and their issuing CAs (Amazon's intermediates; for PayPal's
/// historical certificates, DigiCert's EV intermediate under a root no
/// longer in the Mozilla set) are not in `webpki-roots`: on by default, it
/// would refuse real deliveries. By default the certificate is trusted
/// because it came over HTTPS, the key server's own TLS certificate checked
/// against the Mozilla roots, from a URL the sender's policy allows (what
/// AWS's and PayPal's own validators do), and it must name the sender and
/// be within its dates. To check the chain as well, give the intermediates
/// with [`intermediates`](Self::intermediates) and turn it on with
/// [`with_mozilla_roots`](Self::with_mozilla_roots) or
/// [`root_certificates`](Self::root_certificates).
///
/// ```
/// use tower_webhook::keys::CertificateTrust;
/// assert!(!CertificateTrust::sns().checks_chain());
/// let trust = CertificateTrust::paypal()
///     .root_certificates(include_str!("../../tests/vectors/published-keys/root.pem"))?
///     .intermediates(include_str!("../../tests/vectors/published-keys/int.pem"))?;
/// assert!(trust.checks_chain());
/// # Ok::<(), tower_webhook::keys::TrustConfigError>(())
/// ```
#[derive(Clone, Debug)]
pub struct CertificateTrust {
    /// `None`: no chain check.
    anchors: Option<Arc<Vec<TrustAnchor<'static>>>>,
    intermediates: Vec<CertificateDer<'static>>,
    names: Vec<String>,
}

impl CertificateTrust {
    /// AWS SNS: no chain check (see above), and one of the names AWS's
    /// SDK for Java accepts: `sns.amazonaws.com`,
    /// `sns-cn-north-1.amazonaws.com.cn`, `sns-us-gov-west-1.amazonaws.com`,
    /// `sns-signing.<region>.amazonaws.com` for ap-east-1, me-south-1,
    /// eu-south-1 and af-south-1.
    ///
    /// ```
    /// assert!(!tower_webhook::keys::CertificateTrust::sns().checks_chain());
    /// ```
    pub fn sns() -> Self {
        Self::named([
            "sns.amazonaws.com",
            "sns-cn-north-1.amazonaws.com.cn",
            "sns-us-gov-west-1.amazonaws.com",
            "sns-signing.ap-east-1.amazonaws.com",
            "sns-signing.me-south-1.amazonaws.com",
            "sns-signing.eu-south-1.amazonaws.com",
            "sns-signing.af-south-1.amazonaws.com",
        ])
    }

    /// PayPal: no chain check (see above), and the name
    /// `messageverificationcerts.paypal.com` or
    /// `messageverificationcerts.sandbox.paypal.com` (what PayPal's SDKs
    /// check).
    ///
    /// ```
    /// assert!(!tower_webhook::keys::CertificateTrust::paypal().checks_chain());
    /// ```
    pub fn paypal() -> Self {
        Self::named([
            "messageverificationcerts.paypal.com",
            "messageverificationcerts.sandbox.paypal.com",
        ])
    }

    fn named<const N: usize>(names: [&str; N]) -> Self {
        Self {
            anchors: None,
            intermediates: Vec::new(),
            names: names.iter().map(|n| (*n).to_owned()).collect(),
        }
    }

    /// Checks the chain to the Mozilla roots of `webpki-roots` (give the
    /// sender's intermediates with [`intermediates`](Self::intermediates)).
    ///
    /// ```
    /// assert!(tower_webhook::keys::CertificateTrust::sns().with_mozilla_roots().checks_chain());
    /// ```
    pub fn with_mozilla_roots(mut self) -> Self {
        self.anchors = Some(Arc::new(webpki_roots::TLS_SERVER_ROOTS.to_vec()));
        self
    }

    /// Trusts only the certificates of `pem` (one or more PEM
    /// `CERTIFICATE` blocks) as anchors, instead of the Mozilla roots: a
    /// private CA, a test CA, a sender's bundled root. Turns the chain check
    /// on.
    pub fn root_certificates(mut self, pem: &str) -> Result<Self, TrustConfigError> {
        let ders = read_pem("root_certificates", pem)?;
        let anchors = ders
            .iter()
            .map(|der| {
                webpki::anchor_from_trusted_cert(der)
                    .map(|a| a.to_owned())
                    .map_err(|_| TrustConfigError {
                        setting: "root_certificates",
                        reason: "a certificate is not a usable trust anchor",
                    })
            })
            .collect::<Result<Vec<_>, _>>()?;
        self.anchors = Some(Arc::new(anchors));
        Ok(self)
    }

    /// Adds the intermediate CA certificates of `pem` (one or more PEM
    /// `CERTIFICATE` blocks), used to build chains from the fetched
    /// certificates to the anchors.
    ///
    /// ```
    /// let trust = tower_webhook::keys::CertificateTrust::paypal()
    ///     .intermediates(include_str!("../../tests/vectors/published-keys/int.pem"))?;
    /// # Ok::<(), tower_webhook::keys::TrustConfigError>(())
    /// ```
    pub fn intermediates(mut self, pem: &str) -> Result<Self, TrustConfigError> {
        self.intermediates.extend(read_pem("intermediates", pem)?);
        Ok(self)
    }

    /// The names (DNS) a certificate may be issued to; one must match.
    ///
    /// ```
    /// let trust = tower_webhook::keys::CertificateTrust::sns().names(["sns.amazonaws.com"]);
    /// # let _ = trust;
    /// ```
    pub fn names(mut self, names: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.names = names.into_iter().map(Into::into).collect();
        self
    }

    /// No chain check (the default): any certificate fetched from a URL
    /// that passed the sender's URL policy (over HTTPS, the key server's own
    /// certificate checked) is taken, if it names the sender and is within
    /// its dates.
    ///
    /// ```
    /// assert!(!tower_webhook::keys::CertificateTrust::sns().with_mozilla_roots().without_chain_check().checks_chain());
    /// ```
    pub fn without_chain_check(mut self) -> Self {
        self.anchors = None;
        self
    }

    /// Whether the chain is checked.
    pub fn checks_chain(&self) -> bool {
        self.anchors.is_some()
    }

    /// Checks the leaf `der` (with `extra` intermediates, from the fetched
    /// PEM) at `now`; the reason it is refused, if it is.
    pub(crate) fn check(
        &self,
        der: &CertificateDer<'_>,
        extra: &[CertificateDer<'static>],
        now: SystemTime,
    ) -> Result<(), String> {
        let leaf = webpki::EndEntityCert::try_from(der)
            .map_err(|e| format!("the certificate cannot be read: {e}"))?;
        if let Some(anchors) = &self.anchors {
            let time =
                UnixTime::since_unix_epoch(now.duration_since(UNIX_EPOCH).unwrap_or_default());
            let intermediates: Vec<CertificateDer<'_>> =
                self.intermediates.iter().chain(extra).cloned().collect();
            leaf.verify_for_usage(
                webpki::ALL_VERIFICATION_ALGS,
                anchors,
                &intermediates,
                time,
                webpki::KeyUsage::server_auth(),
                None,
                None,
            )
            .map_err(|e| format!("the certificate does not chain to a trusted root: {e}"))?;
        }
        let named = self.names.iter().any(|name| {
            ServerName::try_from(name.as_str())
                .is_ok_and(|n| leaf.verify_is_valid_for_subject_name(&n).is_ok())
        });
        if !named {
            return Err("the certificate is not issued to the sender's name".to_owned());
        }
        Ok(())
    }
}

fn read_pem(
    setting: &'static str,
    pem: &str,
) -> Result<Vec<CertificateDer<'static>>, TrustConfigError> {
    let ders = CertificateDer::pem_slice_iter(pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|_| TrustConfigError {
            setting,
            reason: "a PEM block could not be read",
        })?;
    if ders.is_empty() {
        return Err(TrustConfigError {
            setting,
            reason: "no PEM CERTIFICATE block found",
        });
    }
    Ok(ders)
}
