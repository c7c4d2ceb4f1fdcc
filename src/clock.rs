//! Where the layer and the stores read the time from.
//!
//! Every timestamp check, lease and retention in this crate asks a [`Clock`].
//! Production code uses [`SystemClock`]; tests use [`ManualClock`] and move
//! time forward explicitly instead of sleeping.
//!
//! ```
//! use std::time::{Duration, UNIX_EPOCH};
//! use tower_webhook::clock::{Clock, ManualClock};
//!
//! let clock = ManualClock::at_unix(1_700_000_000);
//! clock.advance(Duration::from_secs(301));
//! assert_eq!(clock.now(), UNIX_EPOCH + Duration::from_secs(1_700_000_301));
//! ```

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// A source of wall-clock time.
///
/// ```
/// use std::time::SystemTime;
/// use tower_webhook::clock::Clock;
///
/// /// A clock that is always one hour late.
/// struct Late;
/// impl Clock for Late {
///     fn now(&self) -> SystemTime {
///         SystemTime::now() - std::time::Duration::from_secs(3600)
///     }
/// }
/// assert!(Late.now() < SystemTime::now());
/// ```
pub trait Clock: Send + Sync + 'static {
    /// The current time.
    fn now(&self) -> SystemTime;
}

impl<C: Clock + ?Sized> Clock for Arc<C> {
    fn now(&self) -> SystemTime {
        (**self).now()
    }
}

/// The operating system's clock ([`SystemTime::now`]).
///
/// ```
/// use tower_webhook::clock::{Clock, SystemClock};
/// assert!(SystemClock.now() > std::time::UNIX_EPOCH);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> SystemTime {
        SystemTime::now()
    }
}

/// A clock that only moves when told to; clones share the same time.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::clock::{Clock, ManualClock};
///
/// let clock = ManualClock::at_unix(10);
/// let seen_by_layer = clock.clone();
/// clock.advance(Duration::from_millis(1500));
/// assert_eq!(seen_by_layer.now(), std::time::UNIX_EPOCH + Duration::from_millis(11_500));
/// ```
#[derive(Clone)]
pub struct ManualClock {
    millis: Arc<AtomicI64>,
}

impl ManualClock {
    /// A clock standing at `secs` seconds after the Unix epoch.
    pub fn at_unix(secs: i64) -> Self {
        Self::at_unix_millis(secs.saturating_mul(1000))
    }

    /// A clock standing at `millis` milliseconds after the Unix epoch.
    pub fn at_unix_millis(millis: i64) -> Self {
        Self {
            millis: Arc::new(AtomicI64::new(millis)),
        }
    }

    /// A clock standing at the current system time.
    pub fn starting_now() -> Self {
        Self::at_unix_millis(unix_millis(SystemTime::now()))
    }

    /// Sets the time to `secs` seconds after the Unix epoch.
    pub fn set_unix(&self, secs: i64) {
        self.millis
            .store(secs.saturating_mul(1000), Ordering::SeqCst);
    }

    /// Moves the clock forward by `by`.
    pub fn advance(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_add(ms, Ordering::SeqCst);
    }

    /// Moves the clock backward by `by`.
    pub fn rewind(&self, by: Duration) {
        let ms = i64::try_from(by.as_millis()).unwrap_or(i64::MAX);
        self.millis.fetch_sub(ms, Ordering::SeqCst);
    }
}

impl fmt::Debug for ManualClock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ManualClock")
            .field("unix_millis", &self.millis.load(Ordering::SeqCst))
            .finish()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> SystemTime {
        from_unix_millis(self.millis.load(Ordering::SeqCst))
    }
}

/// Milliseconds since the Unix epoch (negative before it), saturating.
pub(crate) fn unix_millis(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
        Err(e) => i64::try_from(e.duration().as_millis())
            .map(|m| -m)
            .unwrap_or(i64::MIN),
    }
}

/// Whole seconds since the Unix epoch (floored), saturating.
#[cfg(test)]
pub(crate) fn unix_seconds(t: SystemTime) -> i64 {
    unix_millis(t).div_euclid(1000)
}

/// The time `millis` milliseconds after the Unix epoch.
pub(crate) fn from_unix_millis(millis: i64) -> SystemTime {
    if millis >= 0 {
        UNIX_EPOCH + Duration::from_millis(millis.unsigned_abs())
    } else {
        UNIX_EPOCH - Duration::from_millis(millis.unsigned_abs())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manual_clock_moves_only_when_told() {
        let c = ManualClock::at_unix(100);
        assert_eq!(unix_seconds(c.now()), 100);
        c.advance(Duration::from_secs(5));
        assert_eq!(unix_seconds(c.now()), 105);
        c.rewind(Duration::from_secs(10));
        assert_eq!(unix_seconds(c.now()), 95);
        c.set_unix(-3);
        assert_eq!(unix_seconds(c.now()), -3);
        assert_eq!(unix_millis(c.now()), -3000);
    }

    #[test]
    fn conversions_saturate_instead_of_panicking() {
        assert_eq!(unix_seconds(from_unix_millis(-1)), -1);
        let c = ManualClock::at_unix(i64::MAX);
        assert_eq!(unix_millis(c.now()), i64::MAX);
    }
}
