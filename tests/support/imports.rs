//! Helpers for import tests: the stack's bucket, putting files into it as a back office
//! would, and waiting for an import to finish.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Reply, Session, Suite};

/// How long an import of a test file may take against the emulator (it serves one request
/// at a time, so this is mostly its speed).
const IMPORT_WAIT: Duration = Duration::from_secs(120);

impl Suite {
    pub fn bucket(&self) -> &str {
        &self.stack.buckets["ImportsBucket"]
    }

    pub async fn s3(&self) -> aws_sdk_s3::Client {
        devhost::s3_client().await
    }

    pub async fn sqs(&self) -> aws_sdk_sqs::Client {
        aws_sdk_sqs::Client::new(&devhost::aws_config().await)
    }

    /// Puts `bytes` at `key`, as `aws s3 cp` does.
    pub async fn drop_file(&self, key: &str, bytes: impl Into<Vec<u8>>) {
        self.s3()
            .await
            .put_object()
            .bucket(self.bucket())
            .key(key)
            .body(bytes.into().into())
            .send()
            .await
            .expect("the emulator stores the file");
    }

    /// The text of an object (an error report).
    pub async fn object_text(&self, key: &str) -> String {
        let out = self
            .s3()
            .await
            .get_object()
            .bucket(self.bucket())
            .key(key)
            .send()
            .await
            .expect("the object exists");
        let bytes = out
            .body
            .collect()
            .await
            .expect("the body arrives")
            .into_bytes();
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }
}

impl Session<'_> {
    /// Polls `GET /imports/{id}` until the import is completed or failed.
    pub async fn finished_import(&self, id: &str) -> Reply {
        let started = Instant::now();
        loop {
            let reply = self.get(&format!("/imports/{id}")).await;
            let status = reply.body["status"].as_str().unwrap_or_default().to_owned();
            if status == "completed" || status == "failed" {
                return reply;
            }
            assert!(
                started.elapsed() < IMPORT_WAIT,
                "import {id} did not finish: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Requests an upload with `request`, sends `csv` with its upload form as a browser
    /// would, and answers the finished import (completed or failed).
    pub async fn import_csv(&self, request: &Value, csv: &[u8]) -> Value {
        let requested = self.post("/imports", request).await;
        requested.expect(201);
        let id = requested.body["id"]
            .as_str()
            .expect("an import id")
            .to_owned();
        let posted = self.suite.upload(&requested.body["upload"], &[], csv).await;
        assert_eq!(posted.status, 204, "the upload form takes the file");
        self.finished_import(&id).await.body
    }

    /// The error report of a finished import, as its download link gives it.
    pub async fn error_report(&self, import: &Value) -> String {
        let id = import["id"].as_str().expect("an import id");
        let report = self.get(&format!("/imports/{id}/errors")).await;
        report.expect(303);
        let location = report.header("location").expect("a download link");
        let (status, bytes) = fetch(http::Method::GET, location, Vec::new()).await;
        assert_eq!(status, 200);
        String::from_utf8(bytes).expect("UTF-8")
    }

    /// Waits for the tenant's imports list to hold `count` finished imports; returns them.
    pub async fn finished_imports(&self, count: usize) -> Vec<Value> {
        let started = Instant::now();
        loop {
            let reply = self.get("/imports?limit=100").await;
            let items = reply.body["items"].as_array().cloned().unwrap_or_default();
            let finished: Vec<Value> = items
                .into_iter()
                .filter(|i| matches!(i["status"].as_str(), Some("completed" | "failed")))
                .collect();
            if finished.len() >= count {
                return finished;
            }
            assert!(
                started.elapsed() < IMPORT_WAIT,
                "{count} imports did not finish: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }
}

/// A request to an absolute URL (a presigned S3 URL on the emulator), as a browser or `curl`
/// would send it: status and body.
pub async fn fetch(method: http::Method, url: &str, body: Vec<u8>) -> (u16, Vec<u8>) {
    use http_body_util::{BodyExt, Full};
    let client: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build_http();
    let request = http::Request::builder()
        .method(method)
        .uri(url)
        .body(Full::new(bytes::Bytes::from(body)))
        .expect("a valid request");
    let response = client.request(request).await.expect("the emulator answers");
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the body arrives")
        .to_bytes();
    (status, bytes.to_vec())
}

/// The message S3 sends the imports queue when `key` was put in `bucket`: what the import
/// function's code is handed when a test runs it in-process. `size` as S3 gives it, if any.
pub fn object_created(
    bucket: &str,
    key: &str,
    etag: &str,
    sequencer: &str,
    size: Option<u64>,
) -> String {
    let mut object = serde_json::json!({"key": key, "eTag": etag, "sequencer": sequencer});
    if let Some(size) = size {
        object["size"] = size.into();
    }
    serde_json::json!({"Records": [{
        "eventName": "ObjectCreated:Put", "eventTime": "2026-12-01T10:00:00.000Z",
        "s3": {"bucket": {"name": bucket}, "object": object}}]})
    .to_string()
}

/// An export of `count` customers numbered from `first_number`: number, names, e-mail.
pub fn customer_rows(count: usize, first_number: usize) -> String {
    let mut csv = String::from("Customer Number,First Name,Last Name,Email\n");
    for n in first_number..first_number + count {
        csv.push_str(&format!("{n},First{n},Last{n},c{n}@example.com\n"));
    }
    csv
}

/// A new bucket in the emulator, named from `prefix`.
pub async fn fresh_bucket(prefix: &str) -> String {
    let bucket = crate::unique_name(prefix);
    devhost::s3_client()
        .await
        .create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("the emulator makes the bucket");
    bucket
}

/// The import function's code to run in-process on a fresh table, with a bucket of its own
/// (no notification: the test delivers them) and a continuation queue that does not exist,
/// so every hand-over fails as if the invocation had crashed after its last commit.
pub async fn in_process_import(
    bucket_prefix: &str,
    rows_per_invocation: Option<u64>,
) -> customers_import::App {
    let (_, table) = crate::fresh_table().await;
    let config = devhost::aws_config().await;
    let bucket = fresh_bucket(bucket_prefix).await;
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("AWS_ENDPOINT_URL is set");
    customers_import::App {
        store: store::CustomerStore::new(&config, table),
        bucket: kit::objects::Bucket::new(&config, bucket),
        queue: kit::queue::Queue::new(&config, format!("{endpoint}/123456789012/no-such-queue")),
        rows_per_invocation,
        slots_per_organisation: 2,
    }
}
