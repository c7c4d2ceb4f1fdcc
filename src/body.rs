//! Limited buffering of the incoming body.
//!
//! The body is refused with 413 before a byte is read when `Content-Length`
//! (or the body's own size hint) exceeds the limit, and while reading as soon
//! as the running count does, so memory stays bounded by the limit whatever
//! the client claims. The bytes land in one buffer, sized from the hint; a
//! body that arrives in a single frame is kept without copying.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use http::HeaderMap;
use http_body::Body;
use http_body_util::BodyExt;

/// Errors a request body can cause before verification.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// More than the limit (claimed or seen).
    TooLarge,
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

/// Reads `body` into one buffer, refusing it once it exceeds `limit` bytes.
pub(crate) async fn collect<B>(body: B, limit: usize) -> Result<Bytes, BodyError>
where
    B: Body,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let limit64 = u64::try_from(limit).unwrap_or(u64::MAX);
    let hint = body.size_hint();
    if hint.lower() > limit64 {
        return Err(BodyError::TooLarge);
    }
    let capacity =
        usize::try_from(hint.upper().unwrap_or(hint.lower()).min(limit64)).unwrap_or(limit);
    let mut body = std::pin::pin!(body);
    let mut single: Option<Bytes> = None;
    let mut buffer: Option<BytesMut> = None;
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|e| BodyError::Stream(e.into().to_string()))?;
        let Ok(mut data) = frame.into_data() else {
            continue; // trailers carry nothing we sign
        };
        let len = data.remaining();
        total = total.saturating_add(len);
        if total > limit {
            return Err(BodyError::TooLarge);
        }
        if len == 0 {
            continue;
        }
        match (&mut single, &mut buffer) {
            (None, None) => single = Some(data.copy_to_bytes(len)),
            (Some(first), None) => {
                let mut buf = BytesMut::with_capacity(capacity.max(total));
                buf.extend_from_slice(first);
                buf.put(data);
                single = None;
                buffer = Some(buf);
            }
            (_, Some(buf)) => buf.put(data),
        }
    }
    Ok(match (single, buffer) {
        (_, Some(buf)) => buf.freeze(),
        (Some(first), None) => first,
        (None, None) => Bytes::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
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
        let b = collect(Full::new(Bytes::from_static(b"abcd")), 4)
            .await
            .unwrap();
        assert_eq!(&b[..], b"abcd");
        assert!(matches!(
            collect(Full::new(Bytes::from_static(b"abcde")), 4).await,
            Err(BodyError::TooLarge)
        ));
        assert!(
            collect(Full::new(Bytes::new()), 0)
                .await
                .unwrap()
                .is_empty()
        );
    }

    #[tokio::test]
    async fn chunked_body_is_joined_in_order_and_cut_at_the_limit() {
        let b = collect(chunks(3, 2), 6).await.unwrap();
        assert_eq!(&b[..], &[0, 0, 1, 1, 2, 2]);
        assert!(matches!(
            collect(chunks(4, 2), 7).await,
            Err(BodyError::TooLarge)
        ));
        // A long body is refused as soon as the count passes the limit.
        assert!(matches!(
            collect(chunks(100, 1024), 4096).await,
            Err(BodyError::TooLarge)
        ));
    }

    #[tokio::test]
    async fn stream_error_is_reported() {
        let body = Chunks(VecDeque::from([
            Ok(Bytes::from_static(b"ab")),
            Err("reset"),
        ]));
        match collect(body, 100).await {
            Err(BodyError::Stream(m)) => assert_eq!(m, "reset"),
            other => panic!("{other:?}"),
        }
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
