//! The imports queue, as far as the API touches it: the message that has the import function
//! write a customer export (`store::ExportJob`). Nothing else is sent from here.

use kit::Problem;
use kit::queue::Queue;
use store::ExportJob;

pub struct ExportsQueue {
    queue: Queue,
}

impl ExportsQueue {
    pub fn new(queue: Queue) -> Self {
        Self { queue }
    }

    /// Sends the job; a failure is worth asking again (503).
    pub async fn queue(&self, job: &ExportJob) -> Result<(), Problem> {
        self.queue.send(&job.body()).await.map_err(|error| {
            tracing::warn!(%error, "the export message could not be sent");
            Problem::unavailable()
        })?;
        Ok(())
    }
}
