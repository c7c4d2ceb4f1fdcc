//! The SNS message: parsed from the JSON body, and its string to sign.

use serde::Deserialize;

use crate::scheme::VerifyError;

/// An SNS message as posted to an HTTP(S) endpoint (also the Lambda-shaped
/// variant: `SigningCertUrl`, `SubscribeUrl`, `Subject: null`). Unknown
/// fields are ignored; a duplicated field refuses the message.
#[derive(Debug, Deserialize)]
pub(crate) struct Message {
    #[serde(rename = "Type")]
    pub(crate) kind: String,
    #[serde(rename = "MessageId")]
    pub(crate) message_id: String,
    #[serde(rename = "TopicArn")]
    pub(crate) topic_arn: String,
    #[serde(rename = "Subject", default)]
    pub(crate) subject: Option<String>,
    #[serde(rename = "Message")]
    pub(crate) message: String,
    #[serde(rename = "Timestamp")]
    pub(crate) timestamp: String,
    #[serde(rename = "SignatureVersion")]
    pub(crate) signature_version: String,
    #[serde(rename = "Signature")]
    pub(crate) signature: String,
    #[serde(rename = "SigningCertURL", alias = "SigningCertUrl")]
    pub(crate) signing_cert_url: String,
    #[serde(rename = "Token", default)]
    pub(crate) token: Option<String>,
    #[serde(rename = "SubscribeURL", alias = "SubscribeUrl", default)]
    pub(crate) subscribe_url: Option<String>,
}

/// The message types, each with the fields it signs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Notification,
    SubscriptionConfirmation,
    UnsubscribeConfirmation,
}

impl Message {
    /// Parses `body`; anything but an SNS message is refused.
    pub(crate) fn parse(body: &[u8]) -> Result<Self, VerifyError> {
        serde_json::from_slice(body).map_err(|_| VerifyError::MalformedMessage {
            reason: "not an SNS message (JSON with Type, MessageId, TopicArn, Message, Timestamp, SignatureVersion, Signature, SigningCertURL)",
        })
    }

    /// The message's type.
    pub(crate) fn kind(&self) -> Result<Kind, VerifyError> {
        match self.kind.as_str() {
            "Notification" => Ok(Kind::Notification),
            "SubscriptionConfirmation" => Ok(Kind::SubscriptionConfirmation),
            "UnsubscribeConfirmation" => Ok(Kind::UnsubscribeConfirmation),
            _ => Err(VerifyError::MalformedMessage {
                reason: "`Type` is not Notification, SubscriptionConfirmation or UnsubscribeConfirmation",
            }),
        }
    }

    /// The string AWS signs: `Key\nValue\n` for each signed field of the
    /// type, in byte order, the values as JSON-decoded.
    pub(crate) fn string_to_sign(&self, kind: Kind) -> Result<String, VerifyError> {
        let mut fields: Vec<(&str, &str)> =
            vec![("Message", &self.message), ("MessageId", &self.message_id)];
        match kind {
            Kind::Notification => {
                if let Some(subject) = &self.subject {
                    fields.push(("Subject", subject));
                }
            }
            Kind::SubscriptionConfirmation | Kind::UnsubscribeConfirmation => {
                let missing = VerifyError::MalformedMessage {
                    reason: "a confirmation without `SubscribeURL` or `Token`",
                };
                fields.push((
                    "SubscribeURL",
                    self.subscribe_url.as_deref().ok_or(missing.clone())?,
                ));
                fields.push(("Timestamp", &self.timestamp));
                fields.push(("Token", self.token.as_deref().ok_or(missing)?));
            }
        }
        if kind == Kind::Notification {
            fields.push(("Timestamp", &self.timestamp));
        }
        fields.push(("TopicArn", &self.topic_arn));
        fields.push(("Type", &self.kind));
        let mut out =
            String::with_capacity(fields.iter().map(|(k, v)| k.len() + v.len() + 2).sum());
        for (k, v) in fields {
            out.push_str(k);
            out.push('\n');
            out.push_str(v);
            out.push('\n');
        }
        Ok(out)
    }
}
