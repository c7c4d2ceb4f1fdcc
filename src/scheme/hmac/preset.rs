//! The shape every preset built on the engine shares, written once.

/// Implements [`Scheme`](crate::scheme::Scheme) and
/// [`Sign`](crate::scheme::Sign) for `$ty`, a preset whose field `$engine`
/// is the [`HmacScheme`](crate::scheme::HmacScheme) it delegates to.
macro_rules! delegate_to_engine {
    ($ty:ty, $engine:tt) => {
        impl $crate::scheme::Scheme for $ty {
            type Head = $crate::scheme::hmac::HmacHead;
            fn name(&self) -> &'static str {
                $crate::scheme::Scheme::name(&self.$engine)
            }
            fn key_id(&self) -> $crate::scheme::KeyId {
                $crate::scheme::Scheme::key_id(&self.$engine)
            }
            fn has_timestamp(&self) -> bool {
                $crate::scheme::Scheme::has_timestamp(&self.$engine)
            }
            fn challenge(
                &self,
                head: &http::request::Parts,
            ) -> Option<http::Response<bytes::Bytes>> {
                $crate::scheme::Scheme::challenge(&self.$engine, head)
            }
            fn read(
                &self,
                head: &http::request::Parts,
                ctx: &$crate::scheme::Context,
            ) -> Result<$crate::scheme::hmac::HmacHead, $crate::scheme::VerifyError> {
                $crate::scheme::Scheme::read(&self.$engine, head, ctx)
            }
            fn verify(
                &self,
                head: &http::request::Parts,
                read: $crate::scheme::hmac::HmacHead,
                body: &[u8],
                ctx: &$crate::scheme::Context,
            ) -> Result<$crate::scheme::Verdict, $crate::scheme::VerifyError> {
                $crate::scheme::Scheme::verify(&self.$engine, head, read, body, ctx)
            }
        }

        impl $crate::scheme::Sign for $ty {
            fn sign(
                &self,
                request: &mut http::Request<bytes::Bytes>,
                id: &str,
                timestamp: std::time::SystemTime,
            ) -> Result<(), $crate::scheme::SignError> {
                $crate::scheme::Sign::sign(&self.$engine, request, id, timestamp)
            }
        }
    };
}
pub(crate) use delegate_to_engine;

/// `new` and `with_secrets` for a scheme built by `$build` from `$ring`, a
/// `&KeyRing` of text secrets (the key is each secret string's bytes).
macro_rules! text_secret_constructors {
    ($ty:ident, |$ring:ident| $build:expr) => {
        impl $ty {
            /// One secret, its text used as the HMAC key as it is
            /// (surrounding whitespace trimmed).
            ///
            #[doc = concat!("```\nlet scheme = tower_webhook::scheme::", stringify!($ty), "::new(\"secret\")?;\nassert_eq!(scheme.key_count(), 1);\n# Ok::<(), tower_webhook::secret::SecretError>(())\n```")]
            pub fn new(secret: impl AsRef<str>) -> Result<Self, $crate::secret::SecretError> {
                Self::with_secrets([secret])
            }

            /// Several secrets active at once (rotation), newest first; a
            /// delivery signed with any of them verifies.
            ///
            #[doc = concat!("```\nlet scheme = tower_webhook::scheme::", stringify!($ty), "::with_secrets([\"new\", \"old\"])?;\nassert_eq!(scheme.key_count(), 2);\n# Ok::<(), tower_webhook::secret::SecretError>(())\n```")]
            pub fn with_secrets(secrets: impl IntoIterator<Item = impl AsRef<str>>) -> Result<Self, $crate::secret::SecretError> {
                let $ring = &$crate::scheme::hmac::text_ring(secrets)?;
                $build
            }
        }
    };
}
pub(crate) use text_secret_constructors;

/// A preset that is one [`HmacScheme`](crate::scheme::HmacScheme) keyed with
/// text secrets: the struct, `new`, `with_secrets`, `key_count`, and the
/// delegation. `$build` turns `$ring` (a `&KeyRing`) into the engine.
macro_rules! hmac_preset {
    ($(#[$meta:meta])* $ty:ident, |$ring:ident| $build:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $ty($crate::scheme::HmacScheme);

        $crate::scheme::hmac::text_secret_constructors!($ty, |$ring| Ok(Self($build?)));

        impl $ty {
            /// How many secrets are active.
            pub fn key_count(&self) -> usize {
                self.0.key_count()
            }
        }

        $crate::scheme::hmac::delegate_to_engine!($ty, 0);
    };
    // A preset that also signs the endpoint's public URL.
    ($(#[$meta:meta])* $ty:ident, |$ring:ident, $url:ident| $build:expr) => {
        $(#[$meta])*
        #[derive(Clone, Debug)]
        pub struct $ty($crate::scheme::HmacScheme);

        impl $ty {
            /// One secret (its text is the key) and the endpoint's public URL
            /// as registered with the sender.
            ///
            #[doc = concat!("```\nlet scheme = tower_webhook::scheme::", stringify!($ty), "::new(\"secret\", \"https://example.com/hook\")?;\nassert_eq!(scheme.key_count(), 1);\n# Ok::<(), tower_webhook::scheme::SchemeConfigError>(())\n```")]
            pub fn new(secret: impl AsRef<str>, public_url: &str) -> Result<Self, $crate::scheme::SchemeConfigError> {
                Self::with_secrets([secret], public_url)
            }

            /// Several secrets active at once (rotation), newest first, and
            /// the public URL.
            ///
            #[doc = concat!("```\nlet scheme = tower_webhook::scheme::", stringify!($ty), "::with_secrets([\"new\", \"old\"], \"https://example.com/hook\")?;\nassert_eq!(scheme.key_count(), 2);\n# Ok::<(), tower_webhook::scheme::SchemeConfigError>(())\n```")]
            pub fn with_secrets(secrets: impl IntoIterator<Item = impl AsRef<str>>, public_url: &str) -> Result<Self, $crate::scheme::SchemeConfigError> {
                let $ring = &$crate::scheme::hmac::text_ring(secrets)?;
                let $url = public_url;
                Ok(Self($build?))
            }

            /// How many secrets are active.
            pub fn key_count(&self) -> usize {
                self.0.key_count()
            }
        }

        $crate::scheme::hmac::delegate_to_engine!($ty, 0);
    };
}
pub(crate) use hmac_preset;
