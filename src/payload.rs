//! Turning a verified delivery into the handler's type: [`Decode`].
//!
//! Any `serde` type decodes, in the [`Format`] the scheme read from the
//! signed bytes: JSON, an `application/x-www-form-urlencoded` form (Twilio,
//! Slack slash commands, Mailgun), or the JSON inside a form's `payload`
//! field (GitHub's form content type). The unsigned `Content-Type` header
//! never chooses. [`Tagged<T>`] decodes a payload keyed by its event name
//! (GitHub's `X-GitHub-Event`), for an `enum` with one variant per event.
//! The raw bytes are always in [`Delivery::raw`].
//!
//! ```
//! use tower_webhook::{Delivery, scheme::Format};
//!
//! #[derive(serde::Deserialize)]
//! struct Ping { r#type: String }
//!
//! let (head, _) = http::Request::new(()).into_parts();
//! let json = Delivery::for_tests(r#"{"type":"ping"}"#, Format::Json);
//! assert_eq!(json.decode::<Ping>(&head)?.r#type, "ping");
//! let form = Delivery::for_tests("type=pong", Format::Form);
//! assert_eq!(form.decode::<Ping>(&head)?.r#type, "pong");
//! let github = Delivery::for_tests("payload=%7B%22type%22%3A%22push%22%7D", Format::FormPayload);
//! assert_eq!(github.decode::<Ping>(&head)?.r#type, "push");
//! # Ok::<(), tower_webhook::payload::PayloadError>(())
//! ```

use std::borrow::Cow;

use http::request::Parts;
use serde::de::{self, DeserializeOwned, DeserializeSeed, IntoDeserializer, MapAccess};

use crate::scheme::Format;
use crate::verified::Delivery;

/// Why a verified delivery does not decode as the handler's type.
///
/// ```
/// use tower_webhook::{Delivery, payload::PayloadError, scheme::Format};
/// let (head, _) = http::Request::new(()).into_parts();
/// let e = Delivery::for_tests("\"x\"", Format::Json).decode::<u32>(&head).unwrap_err();
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
    /// [`Tagged<T>`] needs the delivery's event name, and it has none.
    #[error(
        "`{type_name}` is keyed by the event name, and this delivery has none (does the scheme name events? see Delivery::event)"
    )]
    NoEventName {
        /// The target type.
        type_name: &'static str,
    },
    /// A custom [`Decode`] refused the delivery.
    #[error("payload is not a `{type_name}`: {message}")]
    Other {
        /// The target type.
        type_name: &'static str,
        /// Why.
        message: String,
    },
}

/// How a verified delivery becomes the handler's type. Implemented for
/// every `serde` type; implement it for a type of your own to decode
/// another way. The request head is there for a decoder that needs it.
///
/// ```
/// use http::request::Parts;
/// use tower_webhook::{Delivery, payload::{Decode, PayloadError}, scheme::Format};
///
/// /// Bodies as UTF-8 text.
/// struct Text(String);
/// impl Decode for Text {
///     fn decode(delivery: &Delivery, _: &Parts) -> Result<Self, PayloadError> {
///         Ok(Text(String::from_utf8_lossy(&delivery.raw).into_owned()))
///     }
/// }
/// let (head, _) = http::Request::new(()).into_parts();
/// assert_eq!(Delivery::for_tests("hi", Format::Json).decode::<Text>(&head)?.0, "hi");
/// # Ok::<(), PayloadError>(())
/// ```
pub trait Decode: Sized {
    /// Decodes the verified `delivery`, which arrived with `head`.
    fn decode(delivery: &Delivery, head: &Parts) -> Result<Self, PayloadError>;
}

impl<T: DeserializeOwned> Decode for T {
    fn decode(delivery: &Delivery, _: &Parts) -> Result<Self, PayloadError> {
        let type_name = std::any::type_name::<T>();
        let json_error = |e: serde_json::Error| PayloadError::Json {
            type_name,
            message: e.to_string(),
        };
        match delivery.format {
            Format::Json => serde_json::from_slice(&delivery.raw).map_err(json_error),
            Format::Form => {
                serde_urlencoded::from_bytes(&delivery.raw).map_err(|e| PayloadError::Form {
                    type_name,
                    message: e.to_string(),
                })
            }
            Format::FormPayload => {
                let json = form_payload(&delivery.raw, type_name)?;
                serde_json::from_slice(json.as_bytes()).map_err(json_error)
            }
            // XML is no serde format here: the sender's own type reads it
            // (Salesforce's `scheme::OutboundMessage` implements `Decode`).
            Format::Xml => Err(PayloadError::Other {
                type_name,
                message: "the body is XML: take the sender's payload type (Salesforce: `scheme::OutboundMessage`), or read `Delivery::raw`".to_owned(),
            }),
        }
    }
}

/// The `payload` field of a form.
fn form_payload<'a>(body: &'a [u8], type_name: &'static str) -> Result<Cow<'a, str>, PayloadError> {
    form_urlencoded::parse(body)
        .find_map(|(k, v)| (k == "payload").then_some(v))
        .ok_or(PayloadError::Form {
            type_name,
            message: "no `payload` field".to_owned(),
        })
}

/// A payload keyed by the delivery's event name: `T` is deserialized from
/// `{"event": <event name>, "payload": <the body>}` without copying the
/// body, so an adjacently tagged `enum` has one variant per event. Fails
/// with [`PayloadError::NoEventName`] when the delivery has no event name.
///
/// The name may be unsigned (GitHub's `X-GitHub-Event` is): someone
/// replaying a captured delivery can change it, and the body must then
/// still decode as the variant it names; keep variants strict
/// (`#[serde(deny_unknown_fields)]` where payloads differ little).
///
/// ```
/// use tower_webhook::{Delivery, payload::Tagged, scheme::{EventName, Format}};
///
/// #[derive(serde::Deserialize)]
/// #[serde(tag = "event", content = "payload", rename_all = "snake_case")]
/// enum GitHub {
///     Push { r#ref: String },
///     Ping { zen: String },
/// }
///
/// let (head, _) = http::Request::new(()).into_parts();
/// let d = Delivery::for_tests(r#"{"zen":"Keep it simple."}"#, Format::Json)
///     .with_event(EventName::UnsignedHeader("ping".into()));
/// let Tagged(event) = d.decode::<Tagged<GitHub>>(&head)?;
/// assert!(matches!(event, GitHub::Ping { .. }));
/// # Ok::<(), tower_webhook::payload::PayloadError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tagged<T>(pub T);

impl<T: DeserializeOwned> Decode for Tagged<T> {
    fn decode(delivery: &Delivery, _: &Parts) -> Result<Self, PayloadError> {
        let type_name = std::any::type_name::<T>();
        let event = delivery
            .event()
            .ok_or(PayloadError::NoEventName { type_name })?;
        let json = match delivery.format {
            Format::FormPayload => form_payload(&delivery.raw, type_name)?,
            _ => String::from_utf8_lossy(&delivery.raw),
        };
        let access = EventAndPayload {
            event: Some(&event.name),
            payload: Some(json.as_bytes()),
        };
        T::deserialize(de::value::MapAccessDeserializer::new(access))
            .map(Tagged)
            .map_err(|e| PayloadError::Json {
                type_name,
                message: e.to_string(),
            })
    }
}

/// A two-entry map, `event` then `payload`, whose payload is deserialized
/// straight from the body's JSON.
struct EventAndPayload<'a> {
    event: Option<&'a str>,
    payload: Option<&'a [u8]>,
}

impl<'de> MapAccess<'de> for EventAndPayload<'de> {
    type Error = serde_json::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(
        &mut self,
        seed: K,
    ) -> Result<Option<K::Value>, Self::Error> {
        let key = match (self.event, self.payload) {
            (Some(_), _) => "event",
            (None, Some(_)) => "payload",
            (None, None) => return Ok(None),
        };
        seed.deserialize(key.into_deserializer()).map(Some)
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(
        &mut self,
        seed: V,
    ) -> Result<V::Value, Self::Error> {
        if let Some(event) = self.event.take() {
            return seed.deserialize(event.into_deserializer());
        }
        let body = self
            .payload
            .take()
            .ok_or_else(|| <serde_json::Error as de::Error>::custom("no more values"))?;
        let mut json = serde_json::Deserializer::from_slice(body);
        let value = seed.deserialize(&mut json)?;
        json.end()?;
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scheme::EventName;

    fn head() -> Parts {
        http::Request::new(()).into_parts().0
    }

    #[test]
    fn json_errors_name_the_type_and_position() {
        let e = Delivery::for_tests("{\"a\":1}", Format::Json)
            .decode::<Vec<u32>>(&head())
            .unwrap_err();
        let m = e.to_string();
        assert!(m.contains("Vec<u32>") && m.contains("column"), "{m}");
    }

    #[test]
    fn the_format_decides_never_a_header() {
        let v: std::collections::HashMap<String, String> =
            Delivery::for_tests("a=1&b=x%20y", Format::Form)
                .decode(&head())
                .unwrap();
        assert_eq!(v["b"], "x y");
        assert!(
            Delivery::for_tests("a=1", Format::Json)
                .decode::<serde_json::Value>(&head())
                .is_err()
        );
        let v: serde_json::Value = Delivery::for_tests("x=1&payload=%5B1%5D", Format::FormPayload)
            .decode(&head())
            .unwrap();
        assert_eq!(v, serde_json::json!([1]));
        assert!(matches!(
            Delivery::for_tests("x=1", Format::FormPayload).decode::<serde_json::Value>(&head()),
            Err(PayloadError::Form { .. })
        ));
    }

    #[derive(Debug, serde::Deserialize, PartialEq)]
    #[serde(tag = "event", content = "payload", rename_all = "snake_case")]
    enum Hub {
        Push { r#ref: String },
        Ping { zen: String },
    }

    #[test]
    fn tagged_keys_the_payload_by_the_event_name() {
        let d = |body: &'static str, name: &str| {
            Delivery::for_tests(body, Format::Json)
                .with_event(EventName::UnsignedHeader(name.to_owned()))
        };
        let Tagged(push) = d(r#"{"ref":"main"}"#, "push")
            .decode::<Tagged<Hub>>(&head())
            .unwrap();
        assert_eq!(
            push,
            Hub::Push {
                r#ref: "main".into()
            }
        );
        // A name the enum does not know, and a body of another variant.
        assert!(
            d(r#"{"ref":"main"}"#, "fork")
                .decode::<Tagged<Hub>>(&head())
                .is_err()
        );
        assert!(
            d(r#"{"ref":"main"}"#, "ping")
                .decode::<Tagged<Hub>>(&head())
                .is_err()
        );
        // Trailing bytes after the JSON value are refused, as serde_json does.
        assert!(
            d(r#"{"ref":"main"} x"#, "push")
                .decode::<Tagged<Hub>>(&head())
                .is_err()
        );
        let none = Delivery::for_tests("{}", Format::Json).decode::<Tagged<Hub>>(&head());
        assert!(matches!(none, Err(PayloadError::NoEventName { .. })));
    }
}
