//! SNS, as the functions use it: publishing a message to a topic (technicians' assignments) or
//! as an SMS to a phone (customers' texts), and asking whether a number opted out. Over SNS's
//! query protocol ([`crate::protocol`]), not the SNS SDK: an SDK call costs tens of
//! microseconds of CPU more than the request it sends (docs/architecture.md#performance), and
//! a text makes two.

use std::time::Duration;

use aws_config::SdkConfig;

use crate::protocol::{Failure, QueryApi};
use crate::xml::{element, unescape};

/// A Publish is not idempotent: an attempt that timed out after SNS accepted the message and
/// is then retried sends it twice. So an attempt may take longer than a DynamoDB call (10 s,
/// within the notification functions' 30 s) before it is given up and tried again.
const PUBLISH_ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const PUBLISH_CALL_TIMEOUT: Duration = Duration::from_secs(20);

/// SNS in one region, at its endpoint (`AWS_ENDPOINT_URL` locally). Its connections are opened
/// at the first call.
#[derive(Clone)]
pub struct Sns {
    api: QueryApi,
}

/// Where a message goes.
#[derive(Debug, Clone, Copy)]
pub enum To<'a> {
    /// Every subscriber of the topic of this ARN.
    Topic(&'a str),
    /// An SMS to this number (E.164).
    Phone(&'a str),
}

/// A message attribute: subscribers filter on them, and `AWS.SNS.SMS.*` ones set an SMS's
/// kind and sender.
#[derive(Debug, Clone, Copy)]
pub struct Attribute<'a> {
    pub name: &'a str,
    /// `String` or `Number`.
    pub data_type: &'a str,
    pub value: &'a str,
}

impl<'a> Attribute<'a> {
    pub fn string(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            data_type: "String",
            value,
        }
    }

    pub fn number(name: &'a str, value: &'a str) -> Self {
        Self {
            name,
            data_type: "Number",
            value,
        }
    }
}

impl Sns {
    /// SNS in `config`'s region, with its credentials and attempts, and the publish timeouts
    /// above.
    pub fn new(config: &SdkConfig) -> Self {
        let api = QueryApi::new(config, "sns", "2010-03-31")
            .with_timeouts(PUBLISH_ATTEMPT_TIMEOUT, PUBLISH_CALL_TIMEOUT);
        Self { api }
    }

    /// Publishes `message` with `attributes` to `to`; SNS's message id.
    pub async fn publish(
        &self,
        to: To<'_>,
        message: &str,
        attributes: &[Attribute<'_>],
    ) -> Result<String, Failure> {
        let numbered = numbered_attributes(attributes);
        let answer = self
            .api
            .act("Publish", &publish_parameters(to, message, &numbered))
            .await?;
        element(&answer, "MessageId")
            .map(unescape)
            .ok_or_else(|| Failure::Unreadable("Publish's answer has no MessageId".into()))
    }

    /// Requests sent so far, retries included, by this client and its clones.
    pub fn requests_sent(&self) -> u32 {
        self.api.requests_sent()
    }

    /// Whether `phone` answered STOP to an SMS of this account: SNS refuses to text it.
    pub async fn is_opted_out(&self, phone: &str) -> Result<bool, Failure> {
        let answer = self
            .api
            .act("CheckIfPhoneNumberIsOptedOut", &[("phoneNumber", phone)])
            .await?;
        match element(&answer, "isOptedOut") {
            Some("true") => Ok(true),
            Some("false") => Ok(false),
            _ => Err(Failure::Unreadable(
                "CheckIfPhoneNumberIsOptedOut's answer has no isOptedOut".into(),
            )),
        }
    }
}

/// Each attribute's parameter names (`MessageAttributes.entry.<n>.Name`, `.Value.DataType`,
/// `.Value.StringValue`, numbered from 1) with its values.
fn numbered_attributes<'a>(attributes: &[Attribute<'a>]) -> Vec<(String, &'a str)> {
    attributes
        .iter()
        .enumerate()
        .flat_map(|(index, attribute)| {
            let entry = format!("MessageAttributes.entry.{}", index + 1);
            [
                (format!("{entry}.Name"), attribute.name),
                (format!("{entry}.Value.DataType"), attribute.data_type),
                (format!("{entry}.Value.StringValue"), attribute.value),
            ]
        })
        .collect()
}

/// A Publish's parameters: where to, the message, the attributes.
fn publish_parameters<'a>(
    to: To<'a>,
    message: &'a str,
    attributes: &'a [(String, &'a str)],
) -> Vec<(&'a str, &'a str)> {
    let target = match to {
        To::Topic(arn) => ("TopicArn", arn),
        To::Phone(number) => ("PhoneNumber", number),
    };
    let mut parameters = vec![target, ("Message", message)];
    parameters.extend(
        attributes
            .iter()
            .map(|(name, value)| (name.as_str(), *value)),
    );
    parameters
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_publish_names_its_target_message_and_numbered_attributes() {
        let attributes = [
            Attribute::string("userId", "ada"),
            Attribute::number("schemaVersion", "2"),
        ];
        let numbered = numbered_attributes(&attributes);
        let to_topic = publish_parameters(To::Topic("arn:aws:sns:x"), "hi", &numbered);
        assert_eq!(
            to_topic,
            [
                ("TopicArn", "arn:aws:sns:x"),
                ("Message", "hi"),
                ("MessageAttributes.entry.1.Name", "userId"),
                ("MessageAttributes.entry.1.Value.DataType", "String"),
                ("MessageAttributes.entry.1.Value.StringValue", "ada"),
                ("MessageAttributes.entry.2.Name", "schemaVersion"),
                ("MessageAttributes.entry.2.Value.DataType", "Number"),
                ("MessageAttributes.entry.2.Value.StringValue", "2"),
            ]
        );
        let to_phone = publish_parameters(To::Phone("+46705550101"), "hi", &[]);
        assert_eq!(
            to_phone,
            [("PhoneNumber", "+46705550101"), ("Message", "hi")]
        );
    }
}
