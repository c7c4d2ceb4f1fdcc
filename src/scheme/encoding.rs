//! Hex and base64 for signatures: decoding into fixed buffers (no
//! allocation, no panic on any input) and encoding for [`Scheme::sign`](super::Scheme::sign).

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;

/// How a sender writes the signature bytes into its header.
///
/// ```
/// use tower_webhook::scheme::Encoding;
/// assert_eq!(Encoding::Hex.encode(&[0xde, 0xad]), "dead");
/// assert_eq!(Encoding::Base64.encode(&[0xde, 0xad]), "3q0=");
/// let mut buf = [0u8; 2];
/// assert_eq!(Encoding::Hex.decode_exact("DEAD", &mut buf), true);
/// assert_eq!(buf, [0xde, 0xad]);
/// assert_eq!(Encoding::Base64.decode_exact("3q0", &mut buf), false);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// Hexadecimal; lower case is sent, either case is accepted.
    Hex,
    /// Standard base64 alphabet with padding.
    Base64,
}

impl Encoding {
    /// Encodes `bytes`.
    pub fn encode(self, bytes: &[u8]) -> String {
        match self {
            Self::Hex => hex_encode(bytes),
            Self::Base64 => B64.encode(bytes),
        }
    }

    /// Decodes `text` into `out`, succeeding only if it decodes to exactly
    /// `out.len()` bytes. On failure `out` holds unspecified bytes.
    pub fn decode_exact(self, text: &str, out: &mut [u8]) -> bool {
        match self {
            Self::Hex => hex_decode_exact(text, out),
            Self::Base64 => {
                // Reject early what cannot be the right length: padded base64
                // of n bytes is 4 * ceil(n / 3) characters.
                if text.len() != out.len().div_ceil(3) * 4 {
                    return false;
                }
                let mut buf = [0u8; 96];
                let Some(buf) = buf.get_mut(..out.len() + 3) else {
                    return false;
                };
                match B64.decode_slice(text, buf) {
                    Ok(n) if n == out.len() => {
                        out.copy_from_slice(&buf[..n]);
                        true
                    }
                    _ => false,
                }
            }
        }
    }
}

/// Lower-case hex of `bytes`.
///
/// ```
/// assert_eq!(tower_webhook::scheme::hex_encode(&[0, 0xff, 0x1a]), "00ff1a");
/// ```
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Decodes hex (either case) into `out`; `true` only if `text` is exactly
/// `2 * out.len()` hex digits.
///
/// ```
/// let mut out = [0u8; 2];
/// assert!(tower_webhook::scheme::hex_decode_exact("00fF", &mut out));
/// assert_eq!(out, [0, 0xff]);
/// assert!(!tower_webhook::scheme::hex_decode_exact("00f", &mut out));
/// assert!(!tower_webhook::scheme::hex_decode_exact("00fg", &mut out));
/// ```
pub fn hex_decode_exact(text: &str, out: &mut [u8]) -> bool {
    let bytes = text.as_bytes();
    if bytes.len() != out.len() * 2 {
        return false;
    }
    for (slot, pair) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => *slot = (hi << 4) | lo,
            _ => return false,
        }
    }
    true
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_rejects() {
        let bytes: Vec<u8> = (0..=255).collect();
        let text = hex_encode(&bytes);
        let mut out = vec![0u8; 256];
        assert!(hex_decode_exact(&text, &mut out));
        assert_eq!(out, bytes);
        assert!(hex_decode_exact(&text.to_uppercase(), &mut out));
        let mut two = [0u8; 2];
        for bad in ["", "0", "000", "00000", "+0ab", "é0", "0x12"] {
            assert!(!hex_decode_exact(bad, &mut two), "{bad}");
        }
    }

    #[test]
    fn base64_exact_length_only() {
        let mut out = [0u8; 32];
        let text = Encoding::Base64.encode(&[7u8; 32]);
        assert!(Encoding::Base64.decode_exact(&text, &mut out));
        assert_eq!(out, [7u8; 32]);
        assert!(!Encoding::Base64.decode_exact(&text[..43], &mut out));
        assert!(!Encoding::Base64.decode_exact(&Encoding::Base64.encode(&[7u8; 31]), &mut out));
        assert!(!Encoding::Base64.decode_exact("!!!!", &mut [0u8; 3]));
        let mut big = [0u8; 200];
        assert!(!Encoding::Base64.decode_exact("AAAA", &mut big));
    }
}
