//! Salesforce record ids: 15 case-sensitive letters and digits, or 18 with
//! a suffix that encodes the case of the first 15 (so that the 18-character
//! form survives case-insensitive systems). One id has one canonical form
//! here: the 18-character one, its first 15 characters in their true case
//! and its suffix in upper case.

/// The suffix alphabet: a 5-bit value per character.
const SUFFIX: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";

/// The canonical 18-character form of `id`, or `None` when `id` is not a
/// Salesforce id (15 or 18 ASCII letters and digits; for 18, a suffix that
/// fits its first 15).
pub(crate) fn canonical(id: &str) -> Option<String> {
    let bytes = id.as_bytes();
    if !bytes.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    match bytes.len() {
        15 => {
            let mut out = id.to_owned();
            for chunk in bytes.chunks(5) {
                let bits = chunk
                    .iter()
                    .enumerate()
                    .filter(|(_, b)| b.is_ascii_uppercase())
                    .fold(0usize, |acc, (i, _)| acc | 1 << i);
                out.push(char::from(SUFFIX[bits]));
            }
            Some(out)
        }
        18 => {
            // The suffix tells the case of each letter: restore it (an
            // 18-character id may have been upper- or lower-cased whole).
            let mut first = [0u8; 15];
            for (c, suffix) in bytes[15..].iter().enumerate() {
                let bits = SUFFIX.iter().position(|s| s.eq_ignore_ascii_case(suffix))?;
                for i in 0..5 {
                    let b = bytes[5 * c + i];
                    let upper = bits & (1 << i) != 0;
                    first[5 * c + i] = match (b.is_ascii_alphabetic(), upper) {
                        (true, true) => b.to_ascii_uppercase(),
                        (true, false) => b.to_ascii_lowercase(),
                        // A digit cannot be upper case.
                        (false, true) => return None,
                        (false, false) => b,
                    };
                }
            }
            let first = std::str::from_utf8(&first).ok()?;
            canonical(first)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fifteen_and_eighteen_agree() {
        // published-keys.md 2.6: prismatic.io's example ids.
        for id in [
            "00D5e000000KQ2eEAG",
            "04k5e000000CaRkAAK",
            "04l5e00000Gx7QzAAJ",
        ] {
            assert_eq!(canonical(&id[..15]).as_deref(), Some(id), "{id}");
            assert_eq!(canonical(id).as_deref(), Some(id));
            // Case-folded 18-character ids are the same id.
            assert_eq!(canonical(&id.to_ascii_lowercase()).as_deref(), Some(id));
            assert_eq!(canonical(&id.to_ascii_uppercase()).as_deref(), Some(id));
        }
        // The 15-character form is case-sensitive: another case, another id.
        assert_ne!(canonical("00D5e000000kQ2e"), canonical("00D5e000000KQ2e"));
    }

    #[test]
    fn what_is_not_an_id() {
        for bad in [
            "",
            "00D5e000000KQ2",
            "00D5e000000KQ2eE",
            "00D5e000000KQ2eEAGX",
            "00D5e000000KQ2-",
            "00D5e000000KQ2eEA!",
            "00D5é00000KQ2e",
            // A suffix that marks a digit as upper case.
            "000000000000000BAA",
            // A suffix character outside the alphabet.
            "00D5e000000KQ2e9AG",
        ] {
            assert_eq!(canonical(bad), None, "{bad}");
        }
    }
}
