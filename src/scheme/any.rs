//! [`AnyScheme`]: any scheme, chosen at run time.

use std::any::Any;
use std::fmt;
use std::sync::Arc;
use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;

use super::{Context, KeyId, Scheme, Sign, SignError, Verdict, VerifyError};

/// What a type-erased scheme read from the head.
type AnyHead = Box<dyn Any + Send + Sync>;

/// Signs with the erased scheme, when it can.
type SignFn<S> = fn(&S, &mut http::Request<Bytes>, &str, SystemTime) -> Result<(), SignError>;

/// Any scheme, chosen at run time (from configuration, say); what
/// [`by_name`](super::by_name) returns.
///
/// ```
/// use tower_webhook::scheme::{AnyScheme, Scheme, StandardWebhooks};
/// let scheme = AnyScheme::signing(StandardWebhooks::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")?);
/// assert_eq!(scheme.name(), "standard");
/// # Ok::<(), tower_webhook::secret::SecretError>(())
/// ```
#[derive(Clone)]
pub struct AnyScheme(Arc<dyn Erased>);

impl AnyScheme {
    /// Wraps a scheme that verifies only: [`Sign::sign`] answers
    /// [`SignError::Unsupported`].
    ///
    /// ```
    /// use tower_webhook::scheme::{AnyScheme, Sign, SignError, Stripe};
    /// let scheme = AnyScheme::new(Stripe::new("whsec_test")?);
    /// let mut request = http::Request::post("/").body(bytes::Bytes::new())?;
    /// let e = scheme.sign(&mut request, "evt", std::time::SystemTime::now()).unwrap_err();
    /// assert!(matches!(e, SignError::Unsupported("stripe")));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn new<S: Scheme>(scheme: S) -> Self {
        Self(Arc::new(Erase { scheme, sign: None }))
    }

    /// Wraps a scheme that can also sign (for tests and tools).
    pub fn signing<S: Sign>(scheme: S) -> Self {
        Self(Arc::new(Erase {
            scheme,
            sign: Some(<S as Sign>::sign),
        }))
    }
}

impl fmt::Debug for AnyScheme {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("AnyScheme").field(&self.0.name()).finish()
    }
}

/// The object-safe face of a [`Scheme`].
trait Erased: Send + Sync + 'static {
    fn name(&self) -> &'static str;
    fn key_id(&self) -> KeyId;
    fn has_timestamp(&self) -> bool;
    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>>;
    fn key_fetcher(&self) -> Option<&dyn crate::keys::KeyFetcher>;
    fn read(&self, head: &Parts, ctx: &Context) -> Result<AnyHead, VerifyError>;
    fn verify(
        &self,
        head: &Parts,
        read: AnyHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError>;
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError>;
}

struct Erase<S> {
    scheme: S,
    sign: Option<SignFn<S>>,
}

impl<S: Scheme> Erased for Erase<S> {
    fn name(&self) -> &'static str {
        self.scheme.name()
    }
    fn key_id(&self) -> KeyId {
        self.scheme.key_id()
    }
    fn has_timestamp(&self) -> bool {
        self.scheme.has_timestamp()
    }
    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        self.scheme.challenge(head)
    }
    fn key_fetcher(&self) -> Option<&dyn crate::keys::KeyFetcher> {
        self.scheme.key_fetcher()
    }
    fn read(&self, head: &Parts, ctx: &Context) -> Result<AnyHead, VerifyError> {
        Ok(Box::new(self.scheme.read(head, ctx)?))
    }
    fn verify(
        &self,
        head: &Parts,
        read: AnyHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        // `read` came from `Erased::read` of this same scheme.
        let read = read
            .downcast::<S::Head>()
            .map_err(|_| VerifyError::MalformedHeader {
                header: "(any)",
                reason: "read by another scheme",
            })?;
        self.scheme.verify(head, *read, body, ctx)
    }
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        match self.sign {
            Some(sign) => sign(&self.scheme, request, id, timestamp),
            None => Err(SignError::Unsupported(self.scheme.name())),
        }
    }
}

impl Scheme for AnyScheme {
    type Head = AnyHead;
    fn name(&self) -> &'static str {
        self.0.name()
    }
    fn key_id(&self) -> KeyId {
        self.0.key_id()
    }
    fn has_timestamp(&self) -> bool {
        self.0.has_timestamp()
    }
    fn challenge(&self, head: &Parts) -> Option<http::Response<Bytes>> {
        self.0.challenge(head)
    }
    fn key_fetcher(&self) -> Option<&dyn crate::keys::KeyFetcher> {
        self.0.key_fetcher()
    }
    fn read(&self, head: &Parts, ctx: &Context) -> Result<AnyHead, VerifyError> {
        self.0.read(head, ctx)
    }
    fn verify(
        &self,
        head: &Parts,
        read: AnyHead,
        body: &[u8],
        ctx: &Context,
    ) -> Result<Verdict, VerifyError> {
        self.0.verify(head, read, body, ctx)
    }
}

impl Sign for AnyScheme {
    fn sign(
        &self,
        request: &mut http::Request<Bytes>,
        id: &str,
        timestamp: SystemTime,
    ) -> Result<(), SignError> {
        self.0.sign(request, id, timestamp)
    }
}
