//! Helpers shared by the schemes: strict header access, strict timestamp
//! parsing, and the tolerance check.

use std::time::SystemTime;

use http::HeaderMap;

use super::{Context, VerifyError};
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
    let mut values = headers.get_all(name).iter();
    let Some(first) = values.next() else {
        return Ok(None);
    };
    if values.next().is_some() {
        return Err(VerifyError::MalformedHeader {
            header: name,
            reason: "it appears more than once",
        });
    }
    first
        .to_str()
        .map(Some)
        .map_err(|_| VerifyError::MalformedHeader {
            header: name,
            reason: "it is not visible ASCII",
        })
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
    let bad = |reason| VerifyError::MalformedHeader { header, reason };
    let bytes = value.as_bytes();
    if bytes.is_empty() {
        return Err(bad("the timestamp is empty"));
    }
    if bytes.len() > max_digits.min(18) {
        return Err(bad("the timestamp has too many digits"));
    }
    if !bytes.iter().all(u8::is_ascii_digit) {
        return Err(bad("the timestamp is not a plain decimal number"));
    }
    if bytes.len() > 1 && bytes[0] == b'0' {
        return Err(bad("the timestamp has a leading zero"));
    }
    // At most 18 digits: always fits in an i64.
    Ok(bytes
        .iter()
        .fold(0i64, |acc, d| acc * 10 + i64::from(d - b'0')))
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
    let now = i128::from(unix_millis(ctx.now));
    let ts = i128::from(timestamp_millis);
    let age = now - ts;
    let past = i128::try_from(ctx.tolerance.past.as_millis()).unwrap_or(i128::MAX);
    let future = i128::try_from(ctx.tolerance.future.as_millis()).unwrap_or(i128::MAX);
    if age > past {
        return Err(VerifyError::TooOld {
            header,
            age_secs: secs(age),
            tolerance_secs: ctx.tolerance.past.as_secs(),
        });
    }
    if -age > future {
        return Err(VerifyError::TooNew {
            header,
            ahead_secs: secs(-age),
            tolerance_secs: ctx.tolerance.future.as_secs(),
        });
    }
    Ok(crate::clock::from_unix_millis(timestamp_millis))
}

fn secs(millis: i128) -> u64 {
    u64::try_from(millis / 1000).unwrap_or(u64::MAX)
}
