//! Pre-keyed HMAC states for every secret of a key ring.

use std::fmt;

use hmac::digest::block_api::EagerHash;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use sha2::{Sha256, Sha512};
use subtle::Choice;

use crate::scheme::KeyId;
use crate::scheme::rules::{self, Tag};
use crate::secret::{KeyRing, SecretError};

/// One HMAC state per active secret, newest first, keyed once at
/// configuration time and cloned per request. The states are zeroized on
/// drop (the `hmac` crate's `zeroize` feature).
pub(crate) struct Keyed<D: EagerHash> {
    macs: Vec<Hmac<D>>,
    key_id: KeyId,
}

impl<D: EagerHash> Clone for Keyed<D>
where
    Hmac<D>: Clone,
{
    fn clone(&self) -> Self {
        Self {
            macs: self.macs.clone(),
            key_id: self.key_id,
        }
    }
}

impl<D: EagerHash> fmt::Debug for Keyed<D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyed")
            .field("keys", &self.macs.len())
            .finish_non_exhaustive()
    }
}

impl<D: EagerHash> Keyed<D>
where
    Hmac<D>: Mac + KeyInit + Clone,
{
    /// Keys one state per secret of `ring`.
    pub(crate) fn new(ring: &KeyRing) -> Result<Self, SecretError> {
        let newest = ring.iter().next().ok_or(SecretError::EmptyRing)?;
        let macs = ring
            .iter()
            .filter_map(|s| <Hmac<D> as KeyInit>::new_from_slice(s.expose_secret()).ok())
            .collect();
        Ok(Self {
            macs,
            key_id: KeyId::from_secret(newest.expose_secret()),
        })
    }

    pub(crate) fn len(&self) -> usize {
        self.macs.len()
    }

    pub(crate) fn key_id(&self) -> KeyId {
        self.key_id
    }

    /// Whether any candidate equals the tag of any secret over the content
    /// `feed` writes. Every secret is tried and every candidate compared in
    /// constant time, whatever matched before.
    pub(crate) fn matches<C: AsRef<[u8]>>(
        &self,
        candidates: impl IntoIterator<Item = C> + Clone,
        feed: impl Fn(&mut Hmac<D>),
    ) -> bool {
        self.any_tag(feed, |tag| {
            candidates
                .clone()
                .into_iter()
                .fold(Choice::from(0), |m, c| m | rules::ct_eq(tag, c.as_ref()))
        })
    }

    /// Computes the tag of every secret over the content `feed` writes and
    /// asks `check` (which must compare in constant time) whether a
    /// candidate equals it; true when any did. Every secret is tried.
    pub(crate) fn any_tag(
        &self,
        feed: impl Fn(&mut Hmac<D>),
        mut check: impl FnMut(&[u8]) -> Choice,
    ) -> bool {
        let mut matched = Choice::from(0);
        for keyed in &self.macs {
            let mut mac = keyed.clone();
            feed(&mut mac);
            matched |= check(&mac.finalize().into_bytes());
        }
        bool::from(matched)
    }

    /// The tag of every secret over the content `feed` writes, newest first.
    pub(crate) fn tags(&self, feed: impl Fn(&mut Hmac<D>)) -> Vec<Vec<u8>> {
        self.macs
            .iter()
            .map(|keyed| {
                let mut mac = keyed.clone();
                feed(&mut mac);
                mac.finalize().into_bytes().to_vec()
            })
            .collect()
    }

    /// The tag of the newest secret.
    pub(crate) fn first(&self, feed: impl Fn(&mut Hmac<D>)) -> Vec<u8> {
        self.tags(feed).into_iter().next().unwrap_or_default()
    }
}

/// The hash under the HMAC.
///
/// ```
/// use tower_webhook::scheme::Algorithm;
/// assert_eq!(Algorithm::Sha1.tag_len(), 20);
/// assert_eq!(Algorithm::Sha512.tag_len(), 64);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// HMAC-SHA1 (legacy senders only: Twilio, GitHub's old header, Intercom).
    Sha1,
    /// HMAC-SHA256, what nearly every sender uses.
    Sha256,
    /// HMAC-SHA512.
    Sha512,
}

impl Algorithm {
    /// Length of the tag in bytes.
    pub const fn tag_len(self) -> usize {
        match self {
            Self::Sha1 => 20,
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

/// Writes signed content into a MAC, piece by piece.
pub(crate) type Feed<'a> = &'a dyn Fn(&mut dyn FnMut(&[u8]));

/// [`Keyed`] states for any [`Algorithm`].
#[derive(Clone, Debug)]
pub(crate) enum Keys {
    Sha1(Keyed<Sha1>),
    Sha256(Keyed<Sha256>),
    Sha512(Keyed<Sha512>),
}

macro_rules! each {
    ($keys:expr, $k:ident => $e:expr) => {
        match $keys {
            Keys::Sha1($k) => $e,
            Keys::Sha256($k) => $e,
            Keys::Sha512($k) => $e,
        }
    };
}

impl Keys {
    pub(crate) fn new(algorithm: Algorithm, ring: &KeyRing) -> Result<Self, SecretError> {
        Ok(match algorithm {
            Algorithm::Sha1 => Self::Sha1(Keyed::new(ring)?),
            Algorithm::Sha256 => Self::Sha256(Keyed::new(ring)?),
            Algorithm::Sha512 => Self::Sha512(Keyed::new(ring)?),
        })
    }

    pub(crate) fn len(&self) -> usize {
        each!(self, k => k.len())
    }

    pub(crate) fn key_id(&self) -> KeyId {
        each!(self, k => k.key_id())
    }

    pub(crate) fn matches(&self, candidates: &[Tag], feed: Feed<'_>) -> bool {
        each!(self, k => k.matches(candidates, |m| feed(&mut |b| m.update(b))))
    }

    pub(crate) fn tags(&self, feed: Feed<'_>) -> Vec<Vec<u8>> {
        each!(self, k => k.tags(|m| feed(&mut |b| m.update(b))))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;

    fn ring(keys: &[&str]) -> KeyRing {
        KeyRing::new(keys.iter().map(|k| Secret::from_text(k).unwrap())).unwrap()
    }

    #[test]
    fn github_docs_vector() {
        let keys = Keyed::<Sha256>::new(&ring(&["It's a Secret to Everybody"])).unwrap();
        let tag = keys.first(|m| m.update(b"Hello, World!"));
        assert_eq!(
            crate::scheme::rules::hex(&tag),
            "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"
        );
    }

    #[test]
    fn any_key_any_candidate_matches() {
        let keys = Keyed::<Sha256>::new(&ring(&["new", "old"])).unwrap();
        let old = Keyed::<Sha256>::new(&ring(&["old"])).unwrap();
        let tag = old.first(|m| m.update(b"x"));
        let junk = vec![0u8; 32];
        assert!(keys.matches(&[&junk, &tag], |m| m.update(b"x")));
        assert!(!keys.matches(&[&junk], |m| m.update(b"x")));
        assert!(!keys.matches(&[&tag[..31]], |m| m.update(b"x")));
        assert!(!keys.matches(std::iter::empty::<&[u8]>(), |m| m.update(b"x")));
        assert!(!keys.matches(&[&tag], |m| m.update(b"y")));
        assert_eq!(keys.tags(|m| m.update(b"x")).len(), 2);
    }
}
