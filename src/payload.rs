//! Turning the verified body into the handler's type.
//!
//! [`Typed<T>`] parses JSON, or `application/x-www-form-urlencoded` when the
//! request says so in `Content-Type` (Twilio, Slack slash commands, Mailgun).
//! [`Raw`] hands over the bytes untouched. A body that does not parse is
//! answered with 400 and its reservation is released.
//!
//! ```
//! use bytes::Bytes;
//! use tower_webhook::payload::{Decode, Raw, Typed};
//!
//! #[derive(serde::Deserialize)]
//! struct Ping { r#type: String }
//!
//! let ping = Typed::<Ping>::decode(&Bytes::from_static(br#"{"type":"ping"}"#), None)?;
//! assert_eq!(ping.r#type, "ping");
//! let form = Typed::<Ping>::decode(
//!     &Bytes::from_static(b"type=pong"),
//!     Some(&"application/x-www-form-urlencoded".parse().unwrap()),
//! )?;
//! assert_eq!(form.r#type, "pong");
//! assert_eq!(Raw::decode(&Bytes::from_static(b"\xff"), None)?, Bytes::from_static(b"\xff"));
//! # Ok::<(), tower_webhook::payload::PayloadError>(())
//! ```

use std::marker::PhantomData;

use bytes::Bytes;
use http::HeaderValue;
use serde::de::DeserializeOwned;

/// Why a verified body does not parse as the handler's type (400).
///
/// ```
/// use tower_webhook::payload::{Decode, PayloadError, Typed};
/// let e = Typed::<u32>::decode(&bytes::Bytes::from_static(b"\"x\""), None).unwrap_err();
/// assert!(matches!(e, PayloadError::Json { type_name: "u32", .. }));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PayloadError {
    /// The body is not JSON of the expected shape.
    #[error("body is not JSON of type `{type_name}`: {message}")]
    Json {
        /// The target type.
        type_name: &'static str,
        /// The parser's message (line, column and what was expected).
        message: String,
    },
    /// The body is not a form of the expected shape.
    #[error("body is not a form of type `{type_name}`: {message}")]
    Form {
        /// The target type.
        type_name: &'static str,
        /// The parser's message.
        message: String,
    },
}

/// How the layer turns verified bytes into the handler's payload.
///
/// ```
/// use bytes::Bytes;
/// use tower_webhook::payload::{Decode, PayloadError};
///
/// /// Bodies as UTF-8 text.
/// struct Text;
/// impl Decode for Text {
///     type Output = String;
///     fn decode(body: &Bytes, _: Option<&http::HeaderValue>) -> Result<String, PayloadError> {
///         Ok(String::from_utf8_lossy(body).into_owned())
///     }
/// }
/// assert_eq!(Text::decode(&Bytes::from_static(b"hi"), None)?, "hi");
/// # Ok::<(), PayloadError>(())
/// ```
pub trait Decode: Send + Sync + 'static {
    /// The payload type handlers receive in [`Verified`](crate::Verified).
    type Output: Send + 'static;

    /// Parses the body; `content_type` is the request's `Content-Type`.
    fn decode(
        body: &Bytes,
        content_type: Option<&HeaderValue>,
    ) -> Result<Self::Output, PayloadError>;
}

/// JSON into `T`, or a URL-encoded form into `T` when `Content-Type` says so.
///
/// ```
/// use tower_webhook::payload::{Decode, Typed};
/// let v = Typed::<Vec<u8>>::decode(&bytes::Bytes::from_static(b"[1,2]"), None)?;
/// assert_eq!(v, [1, 2]);
/// # Ok::<(), tower_webhook::payload::PayloadError>(())
/// ```
pub struct Typed<T>(PhantomData<fn() -> T>);

/// The verified bytes as they arrived.
///
/// ```
/// use tower_webhook::payload::{Decode, Raw};
/// assert_eq!(&Raw::decode(&bytes::Bytes::from_static(b"\x00"), None)?[..], b"\x00");
/// # Ok::<(), tower_webhook::payload::PayloadError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Raw;

fn is_form(content_type: Option<&HeaderValue>) -> bool {
    content_type
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| {
            m.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        })
}

impl<T: DeserializeOwned + Send + 'static> Decode for Typed<T> {
    type Output = T;

    fn decode(body: &Bytes, content_type: Option<&HeaderValue>) -> Result<T, PayloadError> {
        let type_name = std::any::type_name::<T>();
        if is_form(content_type) {
            serde_urlencoded::from_bytes(body).map_err(|e| PayloadError::Form {
                type_name,
                message: e.to_string(),
            })
        } else {
            serde_json::from_slice(body).map_err(|e| PayloadError::Json {
                type_name,
                message: e.to_string(),
            })
        }
    }
}

impl Decode for Raw {
    type Output = Bytes;

    fn decode(body: &Bytes, _: Option<&HeaderValue>) -> Result<Bytes, PayloadError> {
        Ok(body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_type_and_position() {
        let e = Typed::<Vec<u32>>::decode(&Bytes::from_static(b"{\"a\":1}"), None).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("Vec<u32>") && m.contains("column"), "{m}");
    }

    #[test]
    fn form_chosen_by_content_type_with_parameters() {
        let ct = HeaderValue::from_static("Application/X-WWW-Form-URLEncoded; charset=utf-8");
        let v: std::collections::HashMap<String, String> =
            Typed::decode(&Bytes::from_static(b"a=1&b=x%20y"), Some(&ct)).unwrap();
        assert_eq!(v["b"], "x y");
        let json = HeaderValue::from_static("application/json");
        assert!(
            Typed::<serde_json::Value>::decode(&Bytes::from_static(b"a=1"), Some(&json)).is_err()
        );
    }
}
