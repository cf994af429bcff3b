//! The imports queue, as far as the API touches it: the message that has the import function
//! write a customer export (`store::ExportJob`). Nothing else is sent from here.

use kit::Problem;
use store::ExportJob;

pub struct ExportsQueue {
    client: kit::aws::OnFirstUse<aws_sdk_sqs::Client>,
    url: String,
}

impl ExportsQueue {
    pub fn new(client: kit::aws::OnFirstUse<aws_sdk_sqs::Client>, url: impl Into<String>) -> Self {
        Self {
            client,
            url: url.into(),
        }
    }

    /// Sends the job; a failure is worth asking again (503).
    pub async fn queue(&self, job: &ExportJob) -> Result<(), Problem> {
        self.client
            .get()
            .send_message()
            .queue_url(&self.url)
            .message_body(job.body())
            .send()
            .await
            .map_err(|error| {
                tracing::warn!(
                    error = %aws_sdk_sqs::error::DisplayErrorContext(&error),
                    "the export message could not be sent"
                );
                Problem::unavailable()
            })?;
        Ok(())
    }
}
