//! Turning the verified body into the handler's type.
//!
//! [`Typed<T>`] parses the body in the [`Format`] the scheme read from the
//! signed bytes: JSON, an `application/x-www-form-urlencoded` form (Twilio,
//! Slack slash commands, Mailgun), or the JSON inside a form's `payload`
//! field (GitHub's form content type). The unsigned `Content-Type` header
//! never chooses. [`Raw`] hands over the bytes untouched. A body that does
//! not parse is answered with 400 and its reservation is released.
//!
//! ```
//! use bytes::Bytes;
//! use tower_webhook::payload::{Decode, Raw, Typed};
//! use tower_webhook::scheme::Format;
//!
//! #[derive(serde::Deserialize)]
//! struct Ping { r#type: String }
//!
//! let ping = Typed::<Ping>::decode(&Bytes::from_static(br#"{"type":"ping"}"#), Format::Json)?;
//! assert_eq!(ping.r#type, "ping");
//! let form = Typed::<Ping>::decode(&Bytes::from_static(b"type=pong"), Format::Form)?;
//! assert_eq!(form.r#type, "pong");
//! let github = Typed::<Ping>::decode(&Bytes::from_static(b"payload=%7B%22type%22%3A%22push%22%7D"), Format::FormPayload)?;
//! assert_eq!(github.r#type, "push");
//! assert_eq!(Raw::decode(&Bytes::from_static(b"\xff"), Format::Json)?, Bytes::from_static(b"\xff"));
//! # Ok::<(), tower_webhook::payload::PayloadError>(())
//! ```

use std::marker::PhantomData;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::scheme::Format;

/// Why a verified body does not parse as the handler's type (400).
///
/// ```
/// use tower_webhook::payload::{Decode, PayloadError, Typed};
/// let e = Typed::<u32>::decode(&bytes::Bytes::from_static(b"\"x\""), tower_webhook::scheme::Format::Json).unwrap_err();
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
    /// The body is XML, handed to the type as bytes: the type does not read
    /// bytes (only the sender's own payload type does, such as
    /// `scheme::OutboundMessage` for Salesforce), or refuses them.
    #[error("body is XML, not readable as type `{type_name}`: {message}")]
    Xml {
        /// The target type.
        type_name: &'static str,
        /// What is wrong.
        message: String,
    },
}

/// How the layer turns verified bytes into the handler's payload.
///
/// ```
/// use bytes::Bytes;
/// use tower_webhook::payload::{Decode, PayloadError};
/// use tower_webhook::scheme::Format;
///
/// /// Bodies as UTF-8 text.
/// struct Text;
/// impl Decode for Text {
///     type Output = String;
///     fn decode(body: &Bytes, _: Format) -> Result<String, PayloadError> {
///         Ok(String::from_utf8_lossy(body).into_owned())
///     }
/// }
/// assert_eq!(Text::decode(&Bytes::from_static(b"hi"), Format::Json)?, "hi");
/// # Ok::<(), PayloadError>(())
/// ```
pub trait Decode: Send + Sync + 'static {
    /// The payload type handlers receive in [`Verified`](crate::Verified).
    type Output: Send + 'static;

    /// Parses the verified body, encoded as `format` says.
    fn decode(body: &Bytes, format: Format) -> Result<Self::Output, PayloadError>;
}

/// The body into `T`, from JSON or a form as its [`Format`] says.
///
/// ```
/// use tower_webhook::payload::{Decode, Typed};
/// let v = Typed::<Vec<u8>>::decode(&bytes::Bytes::from_static(b"[1,2]"), tower_webhook::scheme::Format::Json)?;
/// assert_eq!(v, [1, 2]);
/// # Ok::<(), tower_webhook::payload::PayloadError>(())
/// ```
pub struct Typed<T>(PhantomData<fn() -> T>);

/// The verified bytes as they arrived.
///
/// ```
/// use tower_webhook::payload::{Decode, Raw};
/// assert_eq!(&Raw::decode(&bytes::Bytes::from_static(b"\x00"), tower_webhook::scheme::Format::Json)?[..], b"\x00");
/// # Ok::<(), tower_webhook::payload::PayloadError>(())
/// ```
#[derive(Debug, Clone, Copy)]
pub struct Raw;

impl<T: DeserializeOwned + Send + 'static> Decode for Typed<T> {
    type Output = T;

    fn decode(body: &Bytes, format: Format) -> Result<T, PayloadError> {
        let type_name = std::any::type_name::<T>();
        let json = |bytes: &[u8]| {
            serde_json::from_slice(bytes).map_err(|e| PayloadError::Json {
                type_name,
                message: e.to_string(),
            })
        };
        let form_error = |message: String| PayloadError::Form { type_name, message };
        match format {
            Format::Json => json(body),
            Format::Form => {
                serde_urlencoded::from_bytes(body).map_err(|e| form_error(e.to_string()))
            }
            Format::FormPayload => {
                let pairs: Vec<(String, String)> =
                    serde_urlencoded::from_bytes(body).map_err(|e| form_error(e.to_string()))?;
                let payload = pairs
                    .into_iter()
                    .find_map(|(k, v)| (k == "payload").then_some(v))
                    .ok_or_else(|| form_error("no `payload` field".to_owned()))?;
                json(payload.as_bytes())
            }
            // XML is no serde format: the type reads the bytes itself
            // (Salesforce's `scheme::OutboundMessage`, or `Vec<u8>`).
            Format::Xml => T::deserialize(serde::de::value::BytesDeserializer::<
                serde::de::value::Error,
            >::new(body))
            .map_err(|e| PayloadError::Xml {
                type_name,
                message: e.to_string(),
            }),
        }
    }
}

impl Decode for Raw {
    type Output = Bytes;

    fn decode(body: &Bytes, _: Format) -> Result<Bytes, PayloadError> {
        Ok(body.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_errors_name_the_type_and_position() {
        let e =
            Typed::<Vec<u32>>::decode(&Bytes::from_static(b"{\"a\":1}"), Format::Json).unwrap_err();
        let m = e.to_string();
        assert!(m.contains("Vec<u32>") && m.contains("column"), "{m}");
    }

    #[test]
    fn the_format_decides_never_a_header() {
        let v: std::collections::HashMap<String, String> =
            Typed::decode(&Bytes::from_static(b"a=1&b=x%20y"), Format::Form).unwrap();
        assert_eq!(v["b"], "x y");
        assert!(
            Typed::<serde_json::Value>::decode(&Bytes::from_static(b"a=1"), Format::Json).is_err()
        );
        let v: serde_json::Value = Typed::decode(
            &Bytes::from_static(b"x=1&payload=%5B1%5D"),
            Format::FormPayload,
        )
        .unwrap();
        assert_eq!(v, serde_json::json!([1]));
        assert!(matches!(
            Typed::<serde_json::Value>::decode(&Bytes::from_static(b"x=1"), Format::FormPayload),
            Err(PayloadError::Form { .. })
        ));
    }
}
