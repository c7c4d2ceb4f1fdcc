//! Limited buffering of the incoming body.
//!
//! The body is refused with 413 before a byte is read when `Content-Length`
//! exceeds the limit (the service checks it), and while reading as soon as
//! the running count does ([`http_body_util::Limited`]), so memory stays
//! bounded by the limit whatever the client claims. Each frame is counted
//! against the layer's global budget ([`Share`]) before it is kept: a body
//! the budget cannot hold is refused at once. A body that arrives in a
//! single frame is kept without copying.

use bytes::{Buf, Bytes, BytesMut};
use http::HeaderMap;
use http_body::Body;
use http_body_util::{BodyExt, LengthLimitError, Limited};

use crate::budget::Share;

/// Errors a request body can cause before verification.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// More than the limit (claimed or seen).
    TooLarge,
    /// The layer's global budget cannot hold it now.
    OverBudget,
    /// The stream failed (client went away, framing error).
    Stream(String),
}

/// The declared `Content-Length`, if there is exactly one and it parses.
pub(crate) fn content_length(headers: &HeaderMap) -> Option<u64> {
    let mut values = headers.get_all(http::header::CONTENT_LENGTH).iter();
    let first = values.next()?;
    if values.next().is_some() {
        return None;
    }
    first.to_str().ok()?.parse().ok()
}

/// Reads `body` into one buffer, refusing it once it exceeds `limit` bytes
/// or what `share` can cover of the global budget.
pub(crate) async fn collect<B>(body: B, limit: usize, share: &mut Share) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(Limited::new(body, limit));
    let mut frames: Vec<Bytes> = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| {
            if e.is::<LengthLimitError>() {
                BodyError::TooLarge
            } else {
                BodyError::Stream(e.to_string())
            }
        })?;
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers carry nothing we sign
        };
        let len = data.remaining();
        if len == 0 {
            continue;
        }
        total += len;
        if !share.cover(total, limit) {
            return Err(BodyError::OverBudget);
        }
        // A `Bytes` frame (hyper's) moves without copying.
        frames.push(data.copy_to_bytes(len));
    }
    Ok(match frames.len() {
        0 => Bytes::new(),
        1 => frames.swap_remove(0),
        _ => {
            let mut joined = BytesMut::with_capacity(total);
            frames.iter().for_each(|f| joined.extend_from_slice(f));
            joined.freeze()
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::budget::Budget;
    use http_body::{Frame, SizeHint};
    use http_body_util::Full;
    use std::collections::VecDeque;
    use std::pin::Pin;
    use std::task::{Context, Poll};

    /// A body of several frames that does not announce its size (chunked).
    struct Chunks(VecDeque<Result<Bytes, &'static str>>);

    impl Body for Chunks {
        type Data = Bytes;
        type Error = &'static str;
        fn poll_frame(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
        ) -> Poll<Option<Result<Frame<Bytes>, &'static str>>> {
            Poll::Ready(self.0.pop_front().map(|r| r.map(Frame::data)))
        }
        fn size_hint(&self) -> SizeHint {
            SizeHint::default()
        }
    }

    fn chunks(n: usize, size: usize) -> Chunks {
        Chunks(
            (0..n)
                .map(|i| Ok(Bytes::from(vec![i as u8; size])))
                .collect(),
        )
    }

    #[tokio::test]
    async fn single_frame_is_kept_and_limit_is_exact() {
        let b = collect(
            Full::new(Bytes::from_static(b"abcd")),
            4,
            &mut Budget::new(1 << 20).share(),
        )
        .await
        .unwrap();
        assert_eq!(&b[..], b"abcd");
        assert!(matches!(
            collect(
                Full::new(Bytes::from_static(b"abcde")),
                4,
                &mut Budget::new(1 << 20).share()
            )
            .await,
            Err(BodyError::TooLarge)
        ));
        assert!(
            collect(
                Full::new(Bytes::new()),
                0,
                &mut Budget::new(1 << 20).share()
            )
            .await
            .unwrap()
            .is_empty()
        );
    }

    #[tokio::test]
    async fn chunked_body_is_joined_in_order_and_cut_at_the_limit() {
        let b = collect(chunks(3, 2), 6, &mut Budget::new(1 << 20).share())
            .await
            .unwrap();
        assert_eq!(&b[..], &[0, 0, 1, 1, 2, 2]);
        assert!(matches!(
            collect(chunks(4, 2), 7, &mut Budget::new(1 << 20).share()).await,
            Err(BodyError::TooLarge)
        ));
        // A long body is refused as soon as the count passes the limit.
        assert!(matches!(
            collect(chunks(100, 1024), 4096, &mut Budget::new(1 << 20).share()).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn stream_error_is_reported() {
        let body = Chunks(VecDeque::from([
            Ok(Bytes::from_static(b"ab")),
            Err("reset"),
        ]));
        match collect(body, 100, &mut Budget::new(1 << 20).share()).await {
            Err(BodyError::Stream(m)) => assert_eq!(m, "reset"),
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_body_over_the_budget_is_refused_and_gives_its_share_back() {
        let budget = Budget::new(100 * 1024);
        let mut share = budget.share();
        let r = collect(chunks(4, 40 * 1024), 1 << 20, &mut share).await;
        assert!(matches!(r, Err(BodyError::OverBudget)), "{r:?}");
        drop(share);
        assert_eq!(budget.in_use(), 0);
        let mut share = budget.share();
        let b = collect(chunks(2, 40 * 1024), 1 << 20, &mut share)
            .await
            .unwrap();
        assert_eq!(b.len(), 80 * 1024);
        assert!(budget.in_use() <= 100 * 1024);
    }

    #[test]
    fn content_length_must_be_single_and_numeric() {
        let mut h = HeaderMap::new();
        assert_eq!(content_length(&h), None);
        h.insert("content-length", "12".parse().unwrap());
        assert_eq!(content_length(&h), Some(12));
        h.append("content-length", "13".parse().unwrap());
        assert_eq!(content_length(&h), None);
        h.insert("content-length", "-1".parse().unwrap());
        assert_eq!(content_length(&h), None);
    }
}
