//! Helpers shared by the schemes: strict header access, strict timestamp
//! parsing, and the tolerance check.

use std::time::SystemTime;

use bytes::Bytes;
use http::request::Parts;
use http::{HeaderMap, HeaderValue};

use super::{Context, SignError, VerifyError};
use crate::clock::unix_millis;

/// The value of a header that must appear at most once, as visible ASCII.
///
/// A header sent twice is refused rather than guessed at: two conflicting
/// signature or timestamp headers mean a confused or hostile client.
///
/// ```
/// use http::HeaderMap;
/// use tower_webhook::scheme::{single_header, VerifyError};
/// let mut h = HeaderMap::new();
/// assert_eq!(single_header(&h, "webhook-id"), Ok(None));
/// h.append("webhook-id", "a".parse().unwrap());
/// assert_eq!(single_header(&h, "webhook-id"), Ok(Some("a")));
/// h.append("webhook-id", "b".parse().unwrap());
/// assert!(matches!(single_header(&h, "webhook-id"), Err(VerifyError::MalformedHeader { .. })));
/// ```
pub fn single_header<'h>(
    headers: &'h HeaderMap,
    name: &'static str,
) -> Result<Option<&'h str>, VerifyError> {
    // One pass over the headers comparing names, rather than a look-up by
    // `&str`, which parses and hashes the name and then compares it with
    // `memcmp`: measured (perf, GitHub preset, 64 B body) the look-ups' name
    // parsing, hashing and comparing took about a quarter of `verify`.
    let mut found = None;
    for (stored, value) in headers {
        if !same_name(stored.as_str(), name) {
            continue;
        }
        if found.replace(value).is_some() {
            return Err(VerifyError::MalformedHeader {
                header: name,
                reason: "it appears more than once",
            });
        }
    }
    let Some(first) = found else {
        return Ok(None);
    };
    first
        .to_str()
        .map(Some)
        .map_err(|_| VerifyError::MalformedHeader {
            header: name,
            reason: "it is not visible ASCII",
        })
}

/// Whether a stored header name (lowercase, as `HeaderName` keeps it) is
/// `name`, ignoring ASCII case as look-ups by `&str` do.
fn same_name(stored: &str, name: &str) -> bool {
    stored.len() == name.len()
        && stored
            .bytes()
            .zip(name.bytes())
            .fold(true, |same, (s, n)| same & (s == n.to_ascii_lowercase()))
}

/// The first value of header `name` (ASCII case ignored), found in one pass
/// over the headers as [`single_header`] does.
pub(crate) fn first_header<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h HeaderValue> {
    headers
        .iter()
        .find_map(|(stored, value)| same_name(stored.as_str(), name).then_some(value))
}

/// `s` without `prefix`, if it starts with it. For the short prefixes of
/// signature headers (`sha256=`, `t=`, `v1=`): compared a byte at a time,
/// because `str::strip_prefix` with a prefix known only at run time calls
/// libc's `memcmp`, measured (perf, GitHub preset, 64 B body) at about 10 ns
/// a call on this machine's AVX-512 `memcmp`.
pub(crate) fn strip_prefix_short<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.as_bytes().get(..prefix.len())?;
    let same = head
        .iter()
        .zip(prefix.bytes())
        .fold(true, |same, (&a, b)| same & (a == b));
    // Equal bytes end on the same character boundary as `prefix` does.
    if same { s.get(prefix.len()..) } else { None }
}

/// Parses an unsigned decimal integer of at most `max_digits` ASCII digits,
/// with no sign, no spaces, no fraction, and no leading zero.
///
/// ```
/// use tower_webhook::scheme::parse_unix_digits;
/// assert_eq!(parse_unix_digits("x", "1614265330", 12), Ok(1_614_265_330));
/// for bad in ["", "+1", "-1", "01", "1.5", " 1", "1e3", "99999999999999"] {
///     assert!(parse_unix_digits("x", bad, 12).is_err(), "{bad}");
/// }
/// ```
pub fn parse_unix_digits(
    header: &'static str,
    value: &str,
    max_digits: usize,
) -> Result<i64, VerifyError> {
    parse_unix_digits_bytes(header, value.as_bytes(), max_digits)
}

/// [`parse_unix_digits`] over bytes.
pub(crate) fn parse_unix_digits_bytes(
    header: &'static str,
    bytes: &[u8],
    max_digits: usize,
) -> Result<i64, VerifyError> {
    let bad = |reason| VerifyError::MalformedHeader { header, reason };
    if bytes.is_empty() {
        return Err(bad("the timestamp is empty"));
    }
    if bytes.len() > max_digits.min(18) {
        return Err(bad("the timestamp has too many digits"));
    }
    let Some(n) = decimal(bytes) else {
        return Err(bad("the timestamp is not a plain decimal number"));
    };
    if bytes.len() > 1 && bytes[0] == b'0' {
        return Err(bad("the timestamp has a leading zero"));
    }
    Ok(n)
}

/// The value of 1 to 18 ASCII digits; `None` if any byte is not a digit.
///
/// Ten digits, the length of every Unix timestamp in seconds from 2001 to
/// 2286, are read eight at a time (SWAR) from a fixed-size copy: the
/// digit-by-digit loop is a chain of ten multiply-adds, measured (perf, 64 B
/// Standard Webhooks delivery) at 16 % of the header reading. Other lengths
/// take the loop (a copy of variable length costs a `memmove` call, as
/// much as the loop saves).
fn decimal(bytes: &[u8]) -> Option<i64> {
    if let Ok(ten) = <&[u8; 10]>::try_from(bytes) {
        // Right-aligned behind `0`s: the same number.
        let mut words = [[b'0'; 8]; 2];
        words.as_flattened_mut()[6..].copy_from_slice(ten);
        let (hi, lo) = (u64::from_le_bytes(words[0]), u64::from_le_bytes(words[1]));
        if !eight_digits(hi) || !eight_digits(lo) {
            return None;
        }
        // Ten digits: below 10^10, which fits an i64.
        return i64::try_from(eight_digits_value(hi) * 100_000_000 + eight_digits_value(lo)).ok();
    }
    let mut n = 0i64;
    for &b in bytes {
        let d = b.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n * 10 + i64::from(d);
    }
    Some(n)
}

/// Whether the eight bytes of `v` are all ASCII digits.
const fn eight_digits(v: u64) -> bool {
    // A digit is 0x30..=0x39: high nibble 3, and adding 6 leaves it 3.
    (v & 0xf0f0_f0f0_f0f0_f0f0)
        | ((v.wrapping_add(0x0606_0606_0606_0606) & 0xf0f0_f0f0_f0f0_f0f0) >> 4)
        == 0x3333_3333_3333_3333
}

/// The value of eight ASCII digits loaded little-endian (the first digit,
/// the most significant, in the lowest byte); see [`eight_digits`].
const fn eight_digits_value(v: u64) -> u64 {
    let v = v.wrapping_sub(0x3030_3030_3030_3030);
    // Each 16-bit lane: two digits as a number 0..=99 in its low byte.
    let v = v.wrapping_mul(10).wrapping_add(v >> 8);
    let hundreds = (v & 0x0000_00ff_0000_00ff).wrapping_mul(100 + (1_000_000 << 32));
    let units = ((v >> 16) & 0x0000_00ff_0000_00ff).wrapping_mul(1 + (10_000 << 32));
    hundreds.wrapping_add(units) >> 32
}

/// Checks `timestamp_millis` (milliseconds since the Unix epoch) against
/// `ctx.now` and the tolerance. The edges are inclusive.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use tower_webhook::scheme::{check_timestamp, Context, Tolerance};
/// let ctx = Context::new(UNIX_EPOCH + Duration::from_secs(1000), Tolerance::default());
/// assert!(check_timestamp("t", 700_000, &ctx).is_ok());
/// assert!(check_timestamp("t", 699_999, &ctx).is_err());
/// assert!(check_timestamp("t", 1_300_000, &ctx).is_ok());
/// assert!(check_timestamp("t", 1_300_001, &ctx).is_err());
/// ```
pub fn check_timestamp(
    header: &'static str,
    timestamp_millis: i64,
    ctx: &Context,
) -> Result<SystemTime, VerifyError> {
    check_age(header, timestamp_millis, ctx)?;
    Ok(crate::clock::from_unix_millis(timestamp_millis))
}

/// [`check_timestamp`] without building the `SystemTime`, for schemes that
/// build it only once the signature has matched.
pub(crate) fn check_age(
    header: &'static str,
    timestamp_millis: i64,
    ctx: &Context,
) -> Result<(), VerifyError> {
    let now = i128::from(unix_millis(ctx.now));
    let age = now - i128::from(timestamp_millis);
    let past = ctx.tolerance.past;
    let future = ctx.tolerance.future;
    // `as_millis` of a `Duration` is at most about 1.8e22: it fits an i128.
    if age > past.as_millis() as i128 {
        return Err(VerifyError::TooOld {
            header,
            age_secs: secs(age),
            tolerance_secs: past.as_secs(),
        });
    }
    if -age > future.as_millis() as i128 {
        return Err(VerifyError::TooNew {
            header,
            ahead_secs: secs(-age),
            tolerance_secs: future.as_secs(),
        });
    }
    Ok(())
}

fn secs(millis: i128) -> u64 {
    u64::try_from(millis / 1000).unwrap_or(u64::MAX)
}

/// Parses an RFC 3339 timestamp (`2019-11-16T10:11:12.634234626Z`, or with a
/// `+hh:mm`/`-hh:mm` offset) into milliseconds since the Unix epoch.
/// Fractions beyond milliseconds are truncated; anything else is refused.
///
/// ```
/// use tower_webhook::scheme::parse_rfc3339;
/// assert_eq!(parse_rfc3339("t", "1970-01-01T00:00:01.5Z"), Ok(1500));
/// assert_eq!(parse_rfc3339("t", "2019-11-16T10:11:12.634234626Z"), Ok(1_573_899_072_634));
/// assert_eq!(parse_rfc3339("t", "2019-11-16T11:11:12+01:00"), Ok(1_573_899_072_000));
/// for bad in ["", "2019-11-16", "2019-11-16T10:11:12", "2019-13-16T10:11:12Z", "2019-11-16T10:11:12.Z", "２019-11-16T10:11:12Z"] {
///     assert!(parse_rfc3339("t", bad).is_err(), "{bad}");
/// }
/// ```
pub fn parse_rfc3339(header: &'static str, value: &str) -> Result<i64, VerifyError> {
    let bad = || VerifyError::MalformedHeader {
        header,
        reason: "the timestamp is not an RFC 3339 date-time",
    };
    let b = value.as_bytes();
    if b.len() < 20 || b.len() > 40 || !b.is_ascii() {
        return Err(bad());
    }
    let num = |range: std::ops::Range<usize>| -> Result<i64, VerifyError> {
        let digits = b.get(range).ok_or_else(bad)?;
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(bad());
        }
        Ok(digits
            .iter()
            .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
    };
    let sep = |i: usize, c: &[u8]| b.get(i).is_some_and(|x| c.contains(x));
    if !(sep(4, b"-") && sep(7, b"-") && sep(10, b"Tt ") && sep(13, b":") && sep(16, b":")) {
        return Err(bad());
    }
    let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
    let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=31).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err(bad());
    }
    let mut i = 19;
    let mut millis = 0i64;
    if b.get(i) == Some(&b'.') {
        i += 1;
        let start = i;
        while b.get(i).is_some_and(u8::is_ascii_digit) {
            if i - start < 3 {
                millis = millis * 10 + i64::from(b[i] - b'0');
            }
            i += 1;
        }
        if i == start {
            return Err(bad());
        }
        for _ in (i - start)..3 {
            millis *= 10;
        }
    }
    let offset_secs = match b.get(i) {
        Some(b'Z' | b'z') if i + 1 == b.len() => 0,
        Some(sign @ (b'+' | b'-')) if i + 6 == b.len() && b[i + 3] == b':' => {
            let (h, m) = (num(i + 1..i + 3)?, num(i + 4..i + 6)?);
            if h > 23 || m > 59 {
                return Err(bad());
            }
            let off = h * 3600 + m * 60;
            if *sign == b'+' { off } else { -off }
        }
        _ => return Err(bad()),
    };
    let days = days_from_civil(year, month, day);
    let secs = days * 86_400 + hour * 3600 + minute * 60 + second - offset_secs;
    Ok(secs * 1000 + millis)
}

/// Formats `t` as RFC 3339 in UTC with milliseconds (`...T10:11:12.634Z`).
pub(crate) fn format_rfc3339(t: SystemTime) -> String {
    let millis = unix_millis(t);
    let secs = millis.div_euclid(1000);
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        millis.rem_euclid(1000)
    )
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The inverse of [`days_from_civil`].
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

/// A copy of a request's head (method, URI, headers) and its body, for
/// schemes whose signing reads the request as a verifier would see it.
pub(crate) fn head_and_body(request: &http::Request<Bytes>) -> Result<(Parts, Bytes), SignError> {
    let mut builder = http::Request::builder()
        .method(request.method().clone())
        .uri(request.uri().clone());
    if let Some(h) = builder.headers_mut() {
        *h = request.headers().clone();
    }
    let head = builder
        .body(())
        .map_err(|e| SignError::Invalid(e.to_string()))?
        .into_parts()
        .0;
    Ok((head, request.body().clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strip_prefix_short_agrees_with_strip_prefix() {
        for s in [
            "sha256=abc",
            "sha256",
            "sha25=",
            "",
            "t=1,v1=x",
            "é=1",
            "ab",
        ] {
            for p in ["sha256=", "", "t=", "é", "a", "ab", "abc", "\u{e9}="] {
                assert_eq!(strip_prefix_short(s, p), s.strip_prefix(p), "{s:?} {p:?}");
            }
        }
    }

    #[test]
    fn single_header_matches_names_as_look_ups_do() {
        let mut h = HeaderMap::new();
        h.append("x-hub-signature-256", "a".parse().unwrap());
        h.append("x-other", "b".parse().unwrap());
        assert_eq!(single_header(&h, "x-hub-signature-256"), Ok(Some("a")));
        // Look-ups by `&str` ignore ASCII case; so does the scan.
        assert_eq!(single_header(&h, "X-Hub-Signature-256"), Ok(Some("a")));
        assert_eq!(single_header(&h, "x-hub-signature"), Ok(None));
        assert_eq!(single_header(&h, "x hub"), Ok(None));
        h.append("x-other", "c".parse().unwrap());
        assert!(single_header(&h, "x-other").is_err());
        h.append("x-bin", http::HeaderValue::from_bytes(b"\xff").unwrap());
        assert!(single_header(&h, "x-bin").is_err());
    }
    #[test]
    fn decimal_agrees_with_a_digit_loop() {
        let naive = |b: &[u8]| {
            b.iter().try_fold(0i64, |n, &c| {
                c.is_ascii_digit().then(|| n * 10 + i64::from(c - b'0'))
            })
        };
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for len in 1..=18 {
            for _ in 0..500 {
                let mut b: Vec<u8> = (0..len).map(|_| b'0' + (next() % 10) as u8).collect();
                assert_eq!(decimal(&b), naive(&b), "{b:?}");
                // One byte anything at all: a digit or not.
                let i = next() as usize % len;
                b[i] = next() as u8;
                assert_eq!(decimal(&b), naive(&b), "{b:?}");
            }
            for edge in [
                b'0' - 1,
                b'9' + 1,
                b'0' + 0x80,
                b'9' + 0x80,
                b'0' + 0x10,
                0x36 - 0x10,
            ] {
                let mut b = vec![b'9'; len];
                b[len - 1] = edge;
                assert_eq!(decimal(&b), None, "{b:?}");
                b[0] = edge;
                assert_eq!(decimal(&b), None, "{b:?}");
            }
            assert_eq!(decimal(&vec![b'9'; len]), naive(&vec![b'9'; len]));
        }
    }

    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn rfc3339_round_trip() {
        for millis in [
            0i64,
            1,
            999,
            1_573_899_072_634,
            951_782_400_000,
            4_102_444_799_999,
        ] {
            let t = UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs());
            let text = format_rfc3339(t);
            assert_eq!(parse_rfc3339("t", &text), Ok(millis), "{text}");
        }
        assert_eq!(
            format_rfc3339(UNIX_EPOCH + Duration::from_millis(951_782_400_000)),
            "2000-02-29T00:00:00.000Z"
        );
    }
}
