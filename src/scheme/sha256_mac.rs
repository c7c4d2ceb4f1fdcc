//! HMAC-SHA256 with pre-keyed states, on SHA-256's compression function.
//!
//! The same function as `hmac::Hmac<sha2::Sha256>` (a test checks both agree
//! on random keys, messages and splits, and on RFC 4231's vectors), with less
//! work around the compression function: the key's inner and outer blocks are
//! absorbed once, a MAC copies 32 bytes of state instead of cloning the
//! crate's two buffered hashers, whole blocks go to `sha2::compress256`
//! straight from the caller's slices, and the outer hash is one compression
//! of a block built in place.
//!
//! Why not the `hmac` crate here: over the 106 signed bytes of a 64-byte
//! Standard Webhooks delivery, a pre-keyed `Hmac<Sha256>` (clone, updates,
//! finalize) took 183 ns and this 150 ns; over 1 KiB, 723 and 692 ns (fastest
//! of 60 interleaved rounds each, on the machine BENCHMARKS.md describes).
//! `cargo bench --bench verify -- --ratios` measures both side by side (the
//! `bare HMAC` and `sha256_mac` arms). [`StandardWebhooks`](super::StandardWebhooks)
//! uses it; the other presets keep the `hmac` crate.
//!
//! Only lengths (public) decide branches; the compression function is the
//! `sha2` crate's, which is constant-time. States derived from the key are
//! zeroized when dropped.
//!
//! ```
//! use tower_webhook::scheme::sha256_mac::PreKeyed;
//!
//! let key = PreKeyed::new(b"key");
//! let mut mac = key.start();
//! mac.update(b"The quick brown fox ");
//! mac.update(b"jumps over the lazy dog");
//! let tag = mac.finish();
//! assert_eq!(tag[..4], [0xf7, 0xbc, 0x83, 0xf4]);
//! ```

use std::fmt;

use sha2::Digest as _;
use sha2::block_api::compress256;
use subtle::Choice;
use zeroize::Zeroize;

use crate::secret::{KeyRing, SecretError};

const BLOCK: usize = 64;
/// SHA-256's initial state.
const IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// One key's HMAC-SHA256, with its inner and outer key blocks absorbed.
///
/// ```
/// let key = tower_webhook::scheme::sha256_mac::PreKeyed::new(b"secret");
/// let a = { let mut m = key.start(); m.update(b"ab"); m.finish() };
/// let b = { let mut m = key.start(); m.update(b"a"); m.update(b"b"); m.finish() };
/// assert_eq!(a, b);
/// ```
pub struct PreKeyed {
    inner: [u32; 8],
    outer: [u32; 8],
}

impl PreKeyed {
    /// Absorbs `key` (hashed first when longer than a block, as HMAC says).
    pub fn new(key: &[u8]) -> Self {
        let mut block = [0u8; BLOCK];
        if key.len() > BLOCK {
            let mut digest: [u8; 32] = sha2::Sha256::digest(key).into();
            block[..32].copy_from_slice(&digest);
            digest.zeroize();
        } else {
            block[..key.len()].copy_from_slice(key);
        }
        let absorb = |pad: u8| {
            let mut b = block;
            for x in &mut b {
                *x ^= pad;
            }
            let mut state = IV;
            compress256(&mut state, std::slice::from_ref(&b));
            b.zeroize();
            state
        };
        let keyed = Self {
            inner: absorb(0x36),
            outer: absorb(0x5c),
        };
        block.zeroize();
        keyed
    }

    /// A MAC computation over what the caller then feeds.
    pub fn start(&self) -> Stream<'_> {
        Stream {
            state: self.inner,
            buf: [0; BLOCK],
            fill: 0,
            len: BLOCK as u64,
            outer: &self.outer,
        }
    }
}

impl Drop for PreKeyed {
    fn drop(&mut self) {
        self.inner.zeroize();
        self.outer.zeroize();
    }
}

impl fmt::Debug for PreKeyed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PreKeyed(..)")
    }
}

impl Clone for PreKeyed {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner,
            outer: self.outer,
        }
    }
}

/// An HMAC-SHA256 being computed: [`update`](Self::update), then
/// [`finish`](Self::finish).
///
/// ```
/// let key = tower_webhook::scheme::sha256_mac::PreKeyed::new(b"secret");
/// let mut mac = key.start();
/// mac.update(b"msg_1.1614265330.");
/// mac.update(br#"{"a":1}"#);
/// assert_eq!(mac.finish().len(), 32);
/// ```
pub struct Stream<'k> {
    state: [u32; 8],
    buf: [u8; BLOCK],
    /// Bytes waiting in `buf`.
    fill: usize,
    /// Bytes hashed so far, the inner key block included.
    len: u64,
    outer: &'k [u32; 8],
}

impl Stream<'_> {
    /// Feeds `data`.
    pub fn update(&mut self, mut data: &[u8]) {
        self.len = self.len.wrapping_add(data.len() as u64);
        if self.fill > 0 {
            let take = (BLOCK - self.fill).min(data.len());
            let (head, rest) = data.split_at(take);
            self.buf[self.fill..self.fill + take].copy_from_slice(head);
            self.fill += take;
            data = rest;
            if self.fill < BLOCK {
                return;
            }
            compress256(&mut self.state, std::slice::from_ref(&self.buf));
            self.fill = 0;
        }
        let (blocks, rest) = data.as_chunks::<BLOCK>();
        if !blocks.is_empty() {
            compress256(&mut self.state, blocks);
        }
        self.buf[..rest.len()].copy_from_slice(rest);
        self.fill = rest.len();
    }

    /// The tag.
    pub fn finish(mut self) -> [u8; 32] {
        let bits = self.len.wrapping_mul(8).to_be_bytes();
        self.buf[self.fill] = 0x80;
        self.buf[self.fill + 1..].fill(0);
        if self.fill + 1 > BLOCK - 8 {
            compress256(&mut self.state, std::slice::from_ref(&self.buf));
            self.buf.fill(0);
        }
        self.buf[BLOCK - 8..].copy_from_slice(&bits);
        compress256(&mut self.state, std::slice::from_ref(&self.buf));

        // Outer hash: the inner digest, padding, and the length of the
        // outer key block plus the digest (96 bytes = 768 bits).
        let mut block = [0u8; BLOCK];
        for (out, word) in block.chunks_exact_mut(4).zip(self.state) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        block[32] = 0x80;
        block[BLOCK - 8..].copy_from_slice(&768u64.to_be_bytes());
        let mut outer = *self.outer;
        compress256(&mut outer, std::slice::from_ref(&block));
        let mut tag = [0u8; 32];
        for (out, word) in tag.chunks_exact_mut(4).zip(outer) {
            out.copy_from_slice(&word.to_be_bytes());
        }
        block.zeroize();
        outer.zeroize();
        tag
    }
}

impl fmt::Debug for Stream<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stream")
            .field("len", &self.len)
            .finish_non_exhaustive()
    }
}

impl Drop for Stream<'_> {
    fn drop(&mut self) {
        self.state.zeroize();
        self.buf.zeroize();
    }
}

/// Every secret of a key ring, pre-keyed for HMAC-SHA256.
#[derive(Clone)]
pub(crate) struct Ring {
    keys: Vec<PreKeyed>,
}

impl fmt::Debug for Ring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Ring")
            .field("keys", &self.keys.len())
            .finish_non_exhaustive()
    }
}

impl Ring {
    /// Pre-keys every secret of `ring`.
    pub(crate) fn new(ring: &KeyRing) -> Result<Self, SecretError> {
        let keys: Vec<PreKeyed> = ring
            .iter()
            .map(|s| PreKeyed::new(s.expose_secret()))
            .collect();
        if keys.is_empty() {
            return Err(SecretError::EmptyRing);
        }
        Ok(Self { keys })
    }

    /// How many secrets.
    pub(crate) fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether `check` accepts the tag of any secret. Every secret is tried,
    /// without an early exit.
    pub(crate) fn any_tag_matches(
        &self,
        feed: impl Fn(&mut Stream<'_>),
        mut check: impl FnMut(&[u8; 32]) -> Choice,
    ) -> bool {
        let mut matched = Choice::from(0);
        for key in &self.keys {
            let mut mac = key.start();
            feed(&mut mac);
            let mut tag = mac.finish();
            matched |= check(&tag);
            tag.zeroize();
        }
        bool::from(matched)
    }

    /// The tag of every secret, in the ring's order.
    pub(crate) fn sign_all(&self, feed: impl Fn(&mut Stream<'_>)) -> Vec<[u8; 32]> {
        self.keys
            .iter()
            .map(|key| {
                let mut mac = key.start();
                feed(&mut mac);
                mac.finish()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hmac::{Hmac, KeyInit, Mac};
    use proptest::prelude::*;

    fn reference(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<sha2::Sha256> as KeyInit>::new_from_slice(key).unwrap();
        for p in parts {
            mac.update(p);
        }
        mac.finalize().into_bytes().into()
    }

    fn ours(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
        let k = PreKeyed::new(key);
        let mut mac = k.start();
        for p in parts {
            mac.update(p);
        }
        mac.finish()
    }

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn rfc_4231_vectors() {
        // Test cases 1, 2 and 6 (a 131-byte key, hashed first).
        assert_eq!(
            hex(&ours(&[0x0b; 20], &[b"Hi There"])),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"
        );
        assert_eq!(
            hex(&ours(b"Jefe", &[b"what do ya want ", b"for nothing?"])),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        assert_eq!(
            hex(&ours(
                &[0xaa; 131],
                &[b"Test Using Larger Than Block-Size Key - Hash Key First"]
            )),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn every_length_around_the_padding_boundaries() {
        let data: Vec<u8> = (0..300u16).map(|i| (i * 7) as u8).collect();
        for len in 0..data.len() {
            assert_eq!(
                ours(b"key", &[&data[..len]]),
                reference(b"key", &[&data[..len]]),
                "length {len}"
            );
        }
    }

    #[test]
    fn ring_tries_every_key_and_signs_with_each() {
        use crate::secret::Secret;
        let ring = KeyRing::new(["new", "old"].map(|k| Secret::from_text(k).unwrap())).unwrap();
        let r = Ring::new(&ring).unwrap();
        assert_eq!(r.len(), 2);
        let tags = r.sign_all(|m| m.update(b"x"));
        assert_eq!(tags[1], reference(b"old", &[b"x"]));
        let mut calls = 0;
        assert!(r.any_tag_matches(
            |m| m.update(b"x"),
            |t| {
                calls += 1;
                Choice::from(u8::from(*t == tags[1]))
            }
        ));
        assert_eq!(calls, 2, "no early exit");
        assert_eq!(format!("{r:?}"), "Ring { keys: 2, .. }");
        assert!(!r.any_tag_matches(
            |m| m.update(b"y"),
            |t| Choice::from(u8::from(*t == tags[1]))
        ));
    }

    proptest! {
        #[test]
        fn agrees_with_the_hmac_crate(
            key in proptest::collection::vec(any::<u8>(), 0..200),
            data in proptest::collection::vec(any::<u8>(), 0..600),
            cuts in proptest::collection::vec(any::<usize>(), 0..6),
        ) {
            let mut points: Vec<usize> = cuts.iter().map(|c| c % (data.len() + 1)).collect();
            points.sort_unstable();
            let mut parts = Vec::new();
            let mut at = 0;
            for p in points {
                parts.push(&data[at..p]);
                at = p;
            }
            parts.push(&data[at..]);
            prop_assert_eq!(ours(&key, &parts), reference(&key, &parts));
        }
    }
}
