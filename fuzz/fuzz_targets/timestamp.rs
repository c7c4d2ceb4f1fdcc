//! Timestamp parsing (`scheme::parse_unix_digits`), the tolerance check
//! (`scheme::check_timestamp`) and the clock conversions, against i128
//! reference arithmetic.
//!
//! Input: 8 bytes `now` (Unix ms, i64 LE), 8 bytes past tolerance (ms, u64
//! LE), 8 bytes future tolerance (ms, u64 LE), 1 byte `max_digits`, then the
//! timestamp text. When the text does not parse, its first 8 bytes are the
//! timestamp (ms, i64 LE) given to `check_timestamp`.

#![no_main]

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use libfuzzer_sys::fuzz_target;
use tower_webhook::clock::{Clock, ManualClock, unix_millis, unix_seconds};
use tower_webhook::scheme::{Context, Tolerance, check_timestamp, parse_unix_digits};

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

fuzz_target!(|data: &[u8]| {
    if data.len() < 25 {
        return;
    }
    let now_ms = i64::from_le_bytes(le8(&data[0..8]));
    let past = Duration::from_millis(u64::from_le_bytes(le8(&data[8..16])));
    let future = Duration::from_millis(u64::from_le_bytes(le8(&data[16..24])));
    let max_digits = usize::from(data[24]);
    let text = &data[25..];

    // The clock conversions round-trip every millisecond value.
    let clock = ManualClock::at_unix_millis(now_ms);
    let Some(now) = at(now_ms) else { return };
    assert_eq!(clock.now(), now);
    assert_eq!(unix_millis(now), now_ms);
    assert_eq!(unix_seconds(now), now_ms.div_euclid(1000));

    // Strict digits: 1..=min(max_digits, 18) ASCII digits, no leading zero.
    let mut parsed = None;
    if let Ok(s) = std::str::from_utf8(text) {
        let got = parse_unix_digits("t", s, max_digits);
        let b = s.as_bytes();
        let canonical = !b.is_empty()
            && b.len() <= max_digits.min(18)
            && b.iter().all(u8::is_ascii_digit)
            && !(b.len() > 1 && b[0] == b'0');
        let expected = if canonical {
            s.parse::<i64>().ok()
        } else {
            None
        };
        assert_eq!(got.as_ref().ok().copied(), expected, "{s:?}: {got:?}");
        if let Err(e) = &got {
            let _ = e.to_string();
        }
        parsed = got.ok();
    }

    // The window check against i128 arithmetic.
    let ts_ms = match parsed {
        Some(secs) => secs.saturating_mul(1000),
        None => i64::from_le_bytes(le8(text)),
    };
    let ctx = Context::new(now, Tolerance { past, future });
    let got = check_timestamp("t", ts_ms, &ctx);
    let age = i128::from(now_ms) - i128::from(ts_ms);
    let inside = age <= past.as_millis() as i128 && -age <= future.as_millis() as i128;
    match got {
        Ok(t) => {
            assert!(inside, "accepted age {age} ms outside {past:?}/{future:?}");
            assert_eq!(Some(t), at(ts_ms));
        }
        Err(e) => {
            assert!(
                !inside,
                "refused age {age} ms inside {past:?}/{future:?}: {e}"
            );
            let _ = e.to_string();
        }
    }
});
