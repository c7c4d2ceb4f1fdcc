//! Benchmarks of tower-webhook against its peers, and the loopback
//! load-test server (`src/bin/bench_server.rs`) with its request generator
//! (`src/bin/gen_requests.rs`). See BENCHMARKS.md at the repository root.

use bytes::Bytes;

/// The secret of the load test (a published test secret, never use it).
pub const SECRET: &str = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";

/// The event the typed handler receives.
#[derive(serde::Deserialize)]
pub struct Event {
    /// Event type.
    pub r#type: String,
    /// When it happened.
    pub timestamp: String,
    /// The object.
    pub data: EventData,
}

/// The object of an [`Event`].
#[derive(serde::Deserialize)]
pub struct EventData {
    /// Object id.
    pub id: String,
    /// An amount.
    pub amount: u64,
}

/// A JSON event of exactly 1024 bytes that parses as [`Event`].
pub fn body_1k() -> Bytes {
    let head = r#"{"type":"invoice.paid","timestamp":"2026-11-27T06:00:00Z","data":{"id":"in_1MtHbELkdIwHu7ixl4OzzPMv","amount":1234,"note":""#;
    let tail = r#""}}"#;
    let mut s = String::from(head);
    s.extend(std::iter::repeat_n('x', 1024 - head.len() - tail.len()));
    s.push_str(tail);
    Bytes::from(s)
}
