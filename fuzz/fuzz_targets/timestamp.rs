//! Timestamp parsing, the tolerance check and the clock conversions,
//! against i128 reference arithmetic, through the public API: a
//! `HmacScheme` reading its timestamp from a header, in Unix seconds or
//! milliseconds (the grammar every preset's Unix timestamp follows), or in
//! RFC 3339, signed over `{timestamp}.{body}` (the body empty) with the
//! `hmac` and `sha2` crates directly and checked with `Scheme::check` at the
//! fuzzed time and tolerances; and `ManualClock`.
//!
//! Before the 1.0 shape this target called the internals
//! `scheme::parse_unix_digits` (with a fuzzed digit limit),
//! `scheme::check_timestamp` and `clock::unix_millis` / `unix_seconds`; they
//! are private now. The same rules are reached through what a request can
//! carry: the digit limit is the unit's (12 for seconds, 15 for
//! milliseconds), the window is checked for every timestamp a header can
//! express, and the clock round trips go through `ManualClock`'s methods.
//!
//! Input: 8 bytes `now` (Unix ms, i64 LE), 8 bytes past tolerance (ms, u64
//! LE), 8 bytes future tolerance (ms, u64 LE), 1 byte unit (even: seconds,
//! odd: milliseconds; it was the digit limit, and the seeds' 12 still means
//! seconds), then the timestamp text. When the text is not a canonical
//! timestamp of the unit (or no header can carry it), its first 8 bytes are
//! the timestamp (ms, i64 LE) whose window check is compared: written in
//! milliseconds when it is from 0 to 10^15 - 1, in RFC 3339 with
//! milliseconds when it lies between the years 0 and 1970; a time no header
//! can express is skipped.

#![no_main]

use std::sync::LazyLock;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hmac::{Hmac, KeyInit, Mac};
use http::{HeaderValue, Request};
use libfuzzer_sys::fuzz_target;
use sha2::Sha256;
use tower_webhook::clock::{Clock, ManualClock};
use tower_webhook::scheme::{
    Context, HmacScheme, Part, Scheme, TimeUnit, Tolerance, Verdict, VerifyError,
};
use tower_webhook::secret::{KeyRing, Secret};

const SECRET: &str = "fuzz-timestamp-secret";
const SIG: &str = "x-sig";
const TS: &str = "x-ts";

/// A scheme reading its timestamp from [`TS`] in `unit`, signing
/// `{timestamp}.{body}`.
fn scheme(unit: TimeUnit) -> HmacScheme {
    let ring = KeyRing::single(Secret::from_text(SECRET).expect("a non-empty secret"));
    HmacScheme::builder("fuzz-ts", SIG)
        .timestamp_header(TS, unit)
        .content([Part::Timestamp, Part::Literal("."), Part::Body])
        .build(&ring)
        .expect("a consistent layout")
}

static SECONDS: LazyLock<HmacScheme> = LazyLock::new(|| scheme(TimeUnit::Seconds));
static MILLIS: LazyLock<HmacScheme> = LazyLock::new(|| scheme(TimeUnit::Millis));
static RFC3339: LazyLock<HmacScheme> = LazyLock::new(|| scheme(TimeUnit::Rfc3339));

/// The signature header of timestamp `text`: lower-case hex of
/// HMAC-SHA256(`SECRET`, `{text}.`), computed without the crate.
fn reference_signature(text: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as KeyInit>::new_from_slice(SECRET.as_bytes()).expect("any key length");
    mac.update(text.as_bytes());
    mac.update(b".");
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `scheme`'s verdict on a correctly signed request whose timestamp header
/// is `text`: the delivery's timestamp, or the error. `None` when no header
/// can carry `text`.
fn judge(
    scheme: &HmacScheme,
    text: &str,
    ctx: &Context,
) -> Option<Result<Option<SystemTime>, VerifyError>> {
    let value = HeaderValue::from_str(text).ok()?;
    let (head, ()) = Request::post("/hook")
        .header(TS, value)
        .header(SIG, reference_signature(text))
        .body(())
        .ok()?
        .into_parts();
    let verdict = scheme.check(&head, b"", ctx);
    if let Err(e) = &verdict {
        let _ = e.to_string();
    }
    Some(verdict.map(|v| {
        Verdict::envelope(v)
            .expect("a delivery, never a handshake's answer")
            .timestamp
    }))
}

fn at(ms: i64) -> Option<SystemTime> {
    if ms >= 0 {
        UNIX_EPOCH.checked_add(Duration::from_millis(ms.unsigned_abs()))
    } else {
        UNIX_EPOCH.checked_sub(Duration::from_millis(ms.unsigned_abs()))
    }
}

fn le8(b: &[u8]) -> [u8; 8] {
    let mut out = [0u8; 8];
    out[..b.len().min(8)].copy_from_slice(&b[..b.len().min(8)]);
    out
}

/// `ms` (Unix milliseconds, from the year 0 to 9999) in RFC 3339 with
/// milliseconds, UTC; the civil date by Howard Hinnant's `civil_from_days`.
fn rfc3339(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let sod = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        sod / 3600,
        sod / 60 % 60,
        sod % 60,
        ms.rem_euclid(1000)
    )
}

/// The earliest and one past the latest time RFC 3339 writes
/// (`0000-01-01T00:00:00Z`, `10000-01-01T00:00:00Z`), in Unix ms.
const RFC3339_FROM: i64 = -62_167_219_200_000;
const RFC3339_UNTIL: i64 = 253_402_300_800_000;

/// The header a sender would write for `ts_ms` and the scheme reading it:
/// milliseconds when they have at most 15 digits, RFC 3339 for the earlier
/// times it can write.
fn header_for(ts_ms: i64) -> Option<(&'static HmacScheme, String)> {
    if (0..1_000_000_000_000_000).contains(&ts_ms) {
        Some((&MILLIS, ts_ms.to_string()))
    } else if (RFC3339_FROM..RFC3339_UNTIL).contains(&ts_ms) {
        Some((&RFC3339, rfc3339(ts_ms)))
    } else {
        None
    }
}

/// The window check of a verdict on a timestamp of `ts_ms`, against i128
/// arithmetic: accepted with that very time inside the window, refused as
/// too old or too new outside it.
fn check_window(
    verdict: Result<Option<SystemTime>, VerifyError>,
    ts_ms: i64,
    now_ms: i64,
    past: Duration,
    future: Duration,
) {
    let age = i128::from(now_ms) - i128::from(ts_ms);
    let inside = age <= past.as_millis() as i128 && -age <= future.as_millis() as i128;
    match verdict {
        Ok(t) => {
            assert!(inside, "accepted age {age} ms outside {past:?}/{future:?}");
            assert_eq!(t, at(ts_ms));
        }
        Err(e @ (VerifyError::TooOld { .. } | VerifyError::TooNew { .. })) => {
            assert!(
                !inside,
                "refused age {age} ms inside {past:?}/{future:?}: {e}"
            );
            let too_old = matches!(e, VerifyError::TooOld { .. });
            assert_eq!(too_old, age > 0, "age {age} ms refused as {e}");
        }
        Err(e) => panic!("a timestamp of {ts_ms} ms refused for another reason: {e}"),
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 25 {
        return;
    }
    let now_ms = i64::from_le_bytes(le8(&data[0..8]));
    let past = Duration::from_millis(u64::from_le_bytes(le8(&data[8..16])));
    let future = Duration::from_millis(u64::from_le_bytes(le8(&data[16..24])));
    let millis = data[24] % 2 == 1;
    let text = &data[25..];

    // The clock conversions round-trip every millisecond value.
    let clock = ManualClock::at_unix_millis(now_ms);
    let Some(now) = at(now_ms) else { return };
    assert_eq!(clock.now(), now);
    let secs = now_ms.div_euclid(1000);
    if let Some(whole) = at(secs.saturating_mul(1000)) {
        assert_eq!(ManualClock::at_unix(secs).now(), whole);
        let set = ManualClock::at_unix_millis(0);
        set.set_unix(secs);
        assert_eq!(set.now(), whole);
    }
    let moved = clock.clone();
    moved.advance(past);
    if let Some(later) = i64::try_from(past.as_millis())
        .ok()
        .and_then(|p| now_ms.checked_add(p))
    {
        assert_eq!(moved.now(), at(later).expect("an i64 of ms is a time"));
    }
    moved.rewind(past);
    assert_eq!(moved.now(), now, "advance then rewind moved the clock");

    let ctx = Context::new(now, Tolerance { past, future });

    // Strict digits: 1 to 12 (seconds) or 15 (milliseconds) ASCII digits,
    // no leading zero; what parses is checked against the window as sent.
    let (unit, max_digits, per_unit) = if millis {
        (&*MILLIS, 15, 1)
    } else {
        (&*SECONDS, 12, 1000)
    };
    let mut parsed = None;
    if let Ok(s) = std::str::from_utf8(text)
        && let Some(verdict) = judge(unit, s, &ctx)
    {
        let b = s.as_bytes();
        let canonical = !b.is_empty()
            && b.len() <= max_digits
            && b.iter().all(u8::is_ascii_digit)
            && !(b.len() > 1 && b[0] == b'0');
        match s.parse::<i64>().ok().filter(|_| canonical) {
            Some(n) => {
                let ts_ms = n * per_unit;
                check_window(verdict, ts_ms, now_ms, past, future);
                parsed = Some(ts_ms);
            }
            None => assert!(
                matches!(
                    verdict,
                    Err(VerifyError::MalformedHeader { header: TS, .. })
                ),
                "{s:?} ({}): {verdict:?}",
                if millis { "ms" } else { "s" }
            ),
        }
    }

    // The window check for a timestamp the text did not give, written as a
    // sender would.
    if parsed.is_none() {
        let ts_ms = i64::from_le_bytes(le8(text));
        if let Some((scheme, header)) = header_for(ts_ms) {
            let verdict = judge(scheme, &header, &ctx).expect("digits or RFC 3339 are ASCII");
            check_window(verdict, ts_ms, now_ms, past, future);
        }
    }
});
