//! `Content-Length` and body-limit handling through the whole layer, with
//! bodies that arrive in frames, lie in their size hint or `Content-Length`,
//! or fail half-way.
//!
//! Input: 2 bytes limit (u16 LE, mod 1024), 1 byte frame size (0 means 1),
//! 1 byte index of a frame that errors (>= the frame count: none), 1 byte
//! flags (bit 0: sign correctly; bits 1-2: Content-Length none / true /
//! the given text / two headers; bit 3: the body announces its exact size),
//! 1 byte length n of the Content-Length text, n bytes of it, then the body.
//!
//! The headers are well-formed (so `read` passes and the body is read)
//! and the signature is right or wrong per the flag. Asserts: the status is
//! exactly what a reference model of the limit rules predicts; no more than
//! limit + one frame is ever pulled from the body, and nothing at all when a
//! `Content-Length` over the limit or a size hint over it refuses it early.

#![no_main]

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};

use bytes::Bytes;
use fuzz_support::{Handler, NOW, SECRET, block_on, key, reference_signature};
use http::{Request, StatusCode};
use http_body::{Body, Frame, SizeHint};
use libfuzzer_sys::fuzz_target;
use tower_layer::Layer;
use tower_service::Service;
use tower_webhook::clock::ManualClock;
use tower_webhook::dedup::MemoryStore;
use tower_webhook::scheme::StandardWebhooks;
use tower_webhook::{Rejection, WebhookLayer};

/// A body delivered in frames of `frame` bytes, counting what is pulled.
struct Frames {
    data: Bytes,
    frame: usize,
    error_at: usize,
    index: usize,
    exact_hint: bool,
    pulled: Arc<AtomicUsize>,
}

impl Body for Frames {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, std::io::Error>>> {
        if self.index == self.error_at {
            self.index += 1;
            return Poll::Ready(Some(Err(std::io::Error::other("connection reset"))));
        }
        if self.data.is_empty() {
            return Poll::Ready(None);
        }
        let n = self.frame.min(self.data.len());
        let chunk = self.data.split_to(n);
        self.index += 1;
        self.pulled.fetch_add(n, Ordering::SeqCst);
        Poll::Ready(Some(Ok(Frame::data(chunk))))
    }

    fn size_hint(&self) -> SizeHint {
        if self.exact_hint {
            SizeHint::with_exact(self.data.len() as u64)
        } else {
            SizeHint::default()
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 6 {
        return;
    }
    let limit = usize::from(u16::from_le_bytes([data[0], data[1]]) % 1024);
    let frame = usize::from(data[2]).max(1);
    let error_at = usize::from(data[3]);
    let flags = data[4];
    let cl_len = usize::from(data[5]).min(data.len() - 6);
    let cl_text = &data[6..6 + cl_len];
    let body = Bytes::copy_from_slice(&data[6 + cl_len..]);
    let sign_right = flags & 1 == 1;
    let cl_mode = (flags >> 1) & 3;
    let exact_hint = flags & 8 == 8;

    let ts = NOW.to_string();
    let signature = if sign_right {
        reference_signature(&key(), b"msg_1", ts.as_bytes(), &body)
    } else {
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=".to_owned()
    };
    let mut builder = Request::post("/webhook")
        .header("webhook-id", "msg_1")
        .header("webhook-timestamp", ts.as_str())
        .header("webhook-signature", format!("v1,{signature}"));
    let mut declared: Vec<Vec<u8>> = Vec::new();
    match cl_mode {
        1 => declared.push(body.len().to_string().into_bytes()),
        2 => declared.push(cl_text.to_vec()),
        3 => {
            declared.push(body.len().to_string().into_bytes());
            declared.push(cl_text.to_vec());
        }
        _ => {}
    }
    for v in &declared {
        match http::HeaderValue::from_bytes(v) {
            Ok(v) => builder = builder.header("content-length", v),
            Err(_) => return,
        }
    }
    let pulled = Arc::new(AtomicUsize::new(0));
    let frames = Frames {
        data: body.clone(),
        frame,
        error_at,
        index: 0,
        exact_hint,
        pulled: pulled.clone(),
    };
    let Ok(request) = builder.body(frames) else {
        return;
    };

    // The reference model of the limit rules.
    let claimed: Option<u64> = match declared.as_slice() {
        [one] => std::str::from_utf8(one).ok().and_then(|s| s.parse().ok()),
        _ => None,
    };
    let early_413 = claimed.is_some_and(|n| n > limit as u64) || (exact_hint && body.len() > limit);
    let expected = if early_413 {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        let mut total = 0usize;
        let mut outcome = None;
        let frames_count = body.len().div_ceil(frame);
        for i in 0..=frames_count {
            if i == error_at {
                outcome = Some(StatusCode::BAD_REQUEST);
                break;
            }
            if i == frames_count {
                break;
            }
            total += frame.min(body.len() - i * frame);
            if total > limit {
                outcome = Some(StatusCode::PAYLOAD_TOO_LARGE);
                break;
            }
        }
        outcome.unwrap_or(match (sign_right, body.first()) {
            // The handler answers 500 to bodies starting with `!`.
            (true, Some(b'!')) => StatusCode::INTERNAL_SERVER_ERROR,
            (true, _) => StatusCode::NO_CONTENT,
            (false, _) => StatusCode::UNAUTHORIZED,
        })
    };

    let clock = ManualClock::at_unix(NOW);
    let handler = Handler::default();
    let mut svc = WebhookLayer::new(StandardWebhooks::new(SECRET).expect("valid secret"))
        .clock(clock.clone())
        .dedup(MemoryStore::builder().capacity(4).clock(clock).build())
        .max_body(limit)
        .layer(handler.clone());
    let response = block_on(svc.call(request)).expect("infallible");
    assert_eq!(
        response.status(),
        expected,
        "{:?}",
        response.extensions().get::<Rejection>()
    );
    let pulled = pulled.load(Ordering::SeqCst);
    if early_413 {
        assert_eq!(pulled, 0, "body read although refused up front");
    }
    assert!(
        pulled <= limit + frame,
        "pulled {pulled} bytes with limit {limit}, frame {frame}"
    );
    let handled = handler.calls().len();
    let by_handler = matches!(
        expected,
        StatusCode::NO_CONTENT | StatusCode::INTERNAL_SERVER_ERROR
    );
    assert_eq!(handled, usize::from(by_handler));
});
