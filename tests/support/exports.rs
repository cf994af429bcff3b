//! Customer exports through the API: ask, wait, download.

use std::time::{Duration, Instant};

use http::Method;
use serde_json::Value;

use crate::Session;
use crate::imports::fetch;

/// The export function's time on a busy emulator: paging through the list and one upload.
const EXPORT_WAIT: Duration = Duration::from_secs(120);

impl Session<'_> {
    /// Polls `GET /exports/{id}` until the export is completed or failed.
    pub async fn finished_export(&self, id: &str) -> Value {
        let started = Instant::now();
        loop {
            let reply = self.get(&format!("/exports/{id}")).await;
            reply.expect(200);
            if matches!(reply.body["status"].as_str(), Some("completed" | "failed")) {
                return reply.body;
            }
            assert!(
                started.elapsed() < EXPORT_WAIT,
                "export {id} did not finish: {}",
                reply.body
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Asks for an export with the list's `query` (`""` or `"?tag=x"`), waits for it, and
    /// answers the finished export and the file its download URL gives.
    pub async fn export_csv(&self, query: &str) -> (Value, String) {
        let requested = self
            .send(Method::POST, &format!("/exports{query}"), &[], None)
            .await;
        requested.expect(202);
        let id = requested.body["id"]
            .as_str()
            .expect("an export id")
            .to_owned();
        let finished = self.finished_export(&id).await;
        assert_eq!(finished["status"], "completed", "{finished}");
        let url = finished["download"]["url"]
            .as_str()
            .expect("a download URL");
        let (status, bytes) = fetch(Method::GET, url, Vec::new()).await;
        assert_eq!(status, 200, "the download URL gives the file");
        (finished, String::from_utf8(bytes).expect("UTF-8"))
    }
}
