//! One SQS queue, as the functions use them: they send a message (an export job, the rest of a
//! long cascade or import, a deferred import) and Lambda's event source mapping receives it.
//! SendMessage over SQS's JSON protocol ([`crate::protocol`]), not the SQS SDK: one call
//! kept the SDK's runtime in the API's binary (docs/architecture.md#performance).

use aws_config::SdkConfig;
use serde::{Deserialize, Serialize};

use crate::protocol::{Failure, JsonApi};

/// A queue, by its URL. Cheap to build: its connections are opened at the first message, so a
/// function that sends on some events only pays for none at its cold start.
#[derive(Clone)]
pub struct Queue {
    sqs: JsonApi,
    url: String,
}

impl Queue {
    /// The queue at `url`, reached through `config`'s endpoint and region, with its
    /// credentials, attempts and timeouts.
    pub fn new(config: &SdkConfig, url: impl Into<String>) -> Self {
        Self {
            sqs: JsonApi::new(config, "sqs", "AmazonSQS"),
            url: url.into(),
        }
    }

    /// Sends `body`; SQS's message id.
    pub async fn send(&self, body: &str) -> Result<String, Failure> {
        self.send_message(body, None).await
    }

    /// Sends `body`, to be received no sooner than `delay_seconds` (at most 900) from now.
    pub async fn send_later(&self, body: &str, delay_seconds: u32) -> Result<String, Failure> {
        self.send_message(body, Some(delay_seconds)).await
    }

    async fn send_message(
        &self,
        body: &str,
        delay_seconds: Option<u32>,
    ) -> Result<String, Failure> {
        let request = SendMessage {
            queue_url: &self.url,
            message_body: body,
            delay_seconds,
        };
        let sent: Sent = self.sqs.call("SendMessage", &request).await?;
        Ok(sent.message_id)
    }
}

/// SendMessage's request, as SQS's JSON protocol takes it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct SendMessage<'a> {
    queue_url: &'a str,
    message_body: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    delay_seconds: Option<u32>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Sent {
    message_id: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_message_is_written_as_sqs_reads_it() {
        let request = SendMessage {
            queue_url: "https://sqs.eu-north-1.amazonaws.com/1/imports",
            message_body: "{\"job\":1}",
            delay_seconds: Some(30),
        };
        assert_eq!(
            serde_json::to_value(&request).unwrap(),
            serde_json::json!({
                "QueueUrl": "https://sqs.eu-north-1.amazonaws.com/1/imports",
                "MessageBody": "{\"job\":1}",
                "DelaySeconds": 30,
            })
        );
        let now = SendMessage {
            delay_seconds: None,
            ..request
        };
        assert!(
            serde_json::to_value(&now)
                .unwrap()
                .get("DelaySeconds")
                .is_none()
        );
        let sent: Sent =
            serde_json::from_str(r#"{"MD5OfMessageBody":"x","MessageId":"m-1"}"#).unwrap();
        assert_eq!(sent.message_id, "m-1");
    }
}
