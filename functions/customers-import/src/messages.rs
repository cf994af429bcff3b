//! What arrives on the imports queue: S3's notifications of new objects (and its one-off test
//! event), our own messages that hand a long import to the next invocation, and the API's
//! requests to write a customer export.

use serde::{Deserialize, Serialize};

/// One message body, understood.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// New objects in the bucket (a notification usually carries one).
    Created(Vec<CreatedObject>),
    /// Carry on with an import from its checkpoint.
    Continue(Continuation),
    /// Write a customer export (the API's message, `store::ExportJob`).
    Export(store::ExportJob),
    /// Nothing to do: S3's test event, or a kind of notification we do not act on.
    Ignore(&'static str),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedObject {
    pub bucket: String,
    /// Decoded (S3 sends keys URL-encoded).
    pub key: String,
    pub etag: String,
    /// Orders the events of one key; two uploads of the same bytes differ here. Where an
    /// emulator leaves it out, the event's time stands in (a redelivery repeats both).
    pub sequencer: String,
    pub size: Option<u64>,
}

/// Our own message: the import `import_id` of `tenant` stopped at version `version` of its
/// record and wants a fresh invocation. A stale one (the record moved on) is ignored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Continuation {
    pub tenant: String,
    pub import_id: String,
    pub version: u64,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ContinuationMessage {
    continue_import: Continuation,
}

/// The body of a continuation message.
pub fn continuation_body(continuation: &Continuation) -> String {
    serde_json::to_string(&ContinuationMessage {
        continue_import: continuation.clone(),
    })
    .expect("a continuation serialises")
}

#[derive(Deserialize)]
struct Notification {
    #[serde(rename = "Records", default)]
    records: Vec<NotificationRecord>,
    #[serde(rename = "Event")]
    event: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NotificationRecord {
    event_name: String,
    event_time: Option<String>,
    s3: S3Entity,
}

#[derive(Deserialize)]
struct S3Entity {
    bucket: S3Bucket,
    object: S3Object,
}

#[derive(Deserialize)]
struct S3Bucket {
    name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct S3Object {
    key: String,
    size: Option<u64>,
    e_tag: Option<String>,
    sequencer: Option<String>,
}

/// Why a body could not be understood at all: it will never be, so it is not retried.
#[derive(Debug, thiserror::Error)]
#[error("unrecognised message: {0}")]
pub struct Unrecognised(String);

pub fn parse(body: &str) -> Result<Message, Unrecognised> {
    if let Ok(message) = serde_json::from_str::<ContinuationMessage>(body) {
        return Ok(Message::Continue(message.continue_import));
    }
    if let Some(job) = store::ExportJob::of_body(body) {
        return Ok(Message::Export(job));
    }
    let notification: Notification =
        serde_json::from_str(body).map_err(|e| Unrecognised(e.to_string()))?;
    if notification.event.as_deref() == Some("s3:TestEvent") {
        return Ok(Message::Ignore("S3's test event"));
    }
    let mut created = Vec::new();
    for record in notification.records {
        if !record.event_name.starts_with("ObjectCreated:") {
            continue;
        }
        let object = record.s3.object;
        let key = crate::location::decode_event_key(&object.key)
            .ok_or_else(|| Unrecognised(format!("undecodable key {:?}", object.key)))?;
        created.push(CreatedObject {
            bucket: record.s3.bucket.name,
            key,
            etag: object
                .e_tag
                .unwrap_or_default()
                .trim_matches('"')
                .to_owned(),
            sequencer: object
                .sequencer
                .filter(|s| !s.is_empty())
                .or(record.event_time)
                .unwrap_or_default(),
            size: object.size,
        });
    }
    if created.is_empty() {
        return Ok(Message::Ignore("no object was created"));
    }
    Ok(Message::Created(created))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_s3_notification_names_the_decoded_key_etag_and_sequencer() {
        let body = r#"{"Records":[{"eventVersion":"2.1","eventSource":"aws:s3",
            "eventName":"ObjectCreated:Put","s3":{"bucket":{"name":"b"},
            "object":{"key":"imports/acme/Kunder+2026.csv","size":12,
            "eTag":"0123abcd","sequencer":"0055AED6DCD90281E5"}}}]}"#;
        assert_eq!(
            parse(body).unwrap(),
            Message::Created(vec![CreatedObject {
                bucket: "b".into(),
                key: "imports/acme/Kunder 2026.csv".into(),
                etag: "0123abcd".into(),
                sequencer: "0055AED6DCD90281E5".into(),
                size: Some(12),
            }])
        );
    }

    #[test]
    fn the_test_event_and_other_events_are_ignored() {
        let test = r#"{"Service":"Amazon S3","Event":"s3:TestEvent","Time":"2026-12-01T10:00:00Z",
            "Bucket":"b","RequestId":"1","HostId":"2"}"#;
        assert!(matches!(parse(test).unwrap(), Message::Ignore(_)));
        let removed = r#"{"Records":[{"eventName":"ObjectRemoved:Delete",
            "s3":{"bucket":{"name":"b"},"object":{"key":"imports/acme/x.csv"}}}]}"#;
        assert!(matches!(parse(removed).unwrap(), Message::Ignore(_)));
    }

    #[test]
    fn a_continuation_round_trips() {
        let continuation = Continuation {
            tenant: "acme".into(),
            import_id: "01J".into(),
            version: 7,
        };
        assert_eq!(
            parse(&continuation_body(&continuation)).unwrap(),
            Message::Continue(continuation)
        );
    }

    #[test]
    fn an_export_job_is_a_message_of_its_own() {
        let job = store::ExportJob {
            tenant: "acme".into(),
            export_id: "01J".into(),
        };
        assert_eq!(parse(&job.body()).unwrap(), Message::Export(job));
    }

    #[test]
    fn garbage_is_unrecognised() {
        assert!(parse("not json").is_err());
        assert!(parse(r#"{"Records":[{"eventName":"ObjectCreated:Put"}]}"#).is_err());
    }
}
