//! The global body budget: the bytes all requests in flight through one
//! layer may hold at once.
//!
//! Each request takes its share before it reads: the declared
//! `Content-Length` up front, or chunk by chunk as a body of unknown length
//! arrives. When the budget is spent it is refused at once (503 +
//! `Retry-After`: the sender retries). A [`Share`] gives its bytes back when
//! it is dropped, however the request ends (answer, error, timeout, dropped
//! future, panic). Built on tokio's [`Semaphore`], one permit per byte.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore, TryAcquireError};

/// Bytes of budget taken at a time for a body of unknown length.
const CHUNK: usize = 64 * 1024;

/// The bytes one layer (and its clones) may buffer at once.
#[derive(Debug)]
pub(crate) struct Budget {
    permits: Arc<Semaphore>,
    limit: usize,
}

impl Budget {
    /// A budget of `limit` bytes (clamped to what a semaphore holds).
    pub(crate) fn new(limit: usize) -> Self {
        let limit = limit.min(Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Semaphore::new(limit)),
            limit,
        }
    }

    /// The configured limit.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Bytes held by requests in flight right now.
    pub(crate) fn in_use(&self) -> usize {
        self.limit - self.permits.available_permits()
    }

    /// An empty share, to grow as bytes arrive.
    pub(crate) fn share(&self) -> Share {
        Share {
            permits: Arc::clone(&self.permits),
            held: None,
            bytes: 0,
        }
    }
}

/// Bytes of the budget held by one request; given back on drop.
#[derive(Debug)]
pub(crate) struct Share {
    permits: Arc<Semaphore>,
    held: Option<OwnedSemaphorePermit>,
    bytes: usize,
}

impl Share {
    /// Makes sure the share covers `total` bytes, taking exactly what is
    /// missing. `false` when the budget cannot give it now.
    pub(crate) fn cover_exactly(&mut self, total: usize) -> bool {
        self.take(total.saturating_sub(self.bytes))
    }

    /// Makes sure the share covers `total` bytes, taking what is missing in
    /// whole chunks (bodies of unknown length grow a frame at a time).
    pub(crate) fn cover(&mut self, total: usize, ceiling: usize) -> bool {
        if total <= self.bytes {
            return true;
        }
        let want = total.next_multiple_of(CHUNK).min(ceiling.max(total));
        // The last bytes of the budget still serve a body that fits exactly.
        self.take(want - self.bytes) || self.take(total - self.bytes)
    }

    fn take(&mut self, n: usize) -> bool {
        if n == 0 {
            return true;
        }
        let Ok(n32) = u32::try_from(n) else {
            return false;
        };
        match Arc::clone(&self.permits).try_acquire_many_owned(n32) {
            Ok(permit) => {
                match &mut self.held {
                    Some(held) => held.merge(permit),
                    None => self.held = Some(permit),
                }
                self.bytes += n;
                true
            }
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => false,
        }
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.bytes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shares_take_and_give_back() {
        let budget = Budget::new(100);
        let mut a = budget.share();
        assert!(a.cover_exactly(60));
        assert_eq!(budget.in_use(), 60);
        let mut b = budget.share();
        assert!(!b.cover_exactly(41), "over the budget: refused whole");
        assert_eq!(budget.in_use(), 60);
        assert!(b.cover_exactly(40));
        assert!(a.cover_exactly(60), "already covered");
        drop(a);
        assert_eq!(budget.in_use(), 40);
        drop(b);
        assert_eq!(budget.in_use(), 0);
    }

    #[test]
    fn unknown_lengths_grow_by_chunks_up_to_the_ceiling() {
        let budget = Budget::new(10 * CHUNK);
        let mut s = budget.share();
        assert!(s.cover(1, 3 * CHUNK));
        assert_eq!(s.bytes(), CHUNK);
        assert!(s.cover(CHUNK + 1, 3 * CHUNK));
        assert_eq!(s.bytes(), 2 * CHUNK);
        assert!(s.cover(2 * CHUNK + 10, 2 * CHUNK + 10));
        assert_eq!(s.bytes(), 2 * CHUNK + 10, "never past the ceiling");
        drop(s);
        assert_eq!(budget.in_use(), 0);
    }
}
