//! What a scheme needs besides the request: the time and the tolerance.

use std::time::{Duration, SystemTime};

/// How far a delivery's timestamp may lie from the receiver's clock.
///
/// ```
/// use std::time::Duration;
/// use tower_webhook::scheme::Tolerance;
/// let t = Tolerance::symmetric(Duration::from_secs(60));
/// assert_eq!(t.past, t.future);
/// assert_eq!(Tolerance::default().past, Duration::from_secs(300));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tolerance {
    /// How old a timestamp may be.
    pub past: Duration,
    /// How far in the future a timestamp may be (clock skew at the sender).
    pub future: Duration,
}

impl Tolerance {
    /// The same tolerance in both directions.
    pub const fn symmetric(d: Duration) -> Self {
        Self { past: d, future: d }
    }
}

impl Default for Tolerance {
    /// Five minutes each way, as Standard Webhooks, Stripe and Slack recommend.
    fn default() -> Self {
        Self::symmetric(Duration::from_secs(300))
    }
}

/// What a scheme needs besides the request: the time and the tolerance.
///
/// ```
/// use tower_webhook::scheme::{Context, Tolerance};
/// let ctx = Context::new(std::time::SystemTime::now(), Tolerance::default());
/// assert_eq!(ctx.tolerance.future.as_secs(), 300);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Context {
    /// The receiver's current time.
    pub now: SystemTime,
    /// The accepted timestamp window.
    pub tolerance: Tolerance,
}

impl Context {
    /// A context at `now` with `tolerance`.
    pub const fn new(now: SystemTime, tolerance: Tolerance) -> Self {
        Self { now, tolerance }
    }
}
