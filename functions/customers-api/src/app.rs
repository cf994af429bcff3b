use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kit::objects::Bucket;
use kit::{ClaimNames, Problem};
use store::{CustomerStore, TenantId, VersionedSettings};

use crate::bucket::ImportsBucket;
use crate::queue::ExportsQueue;
use crate::usecases::store_problem;

/// How long a function instance keeps an organisation's settings before reading them again.
/// A settings change therefore reaches every running instance within this time (the instance
/// that saved them sees it at once). Settings are read on almost every request; caching them
/// saves one GetItem per request.
const SETTINGS_TTL: Duration = Duration::from_secs(10);

/// What every request needs, built once per cold start.
pub struct App {
    pub store: CustomerStore,
    /// Presigns import uploads and error-report downloads.
    pub imports: ImportsBucket,
    pub claims: ClaimNames,
    /// Where export requests go (the imports queue); none in an `App` built for use-case
    /// tests, whose export requests then answer 503.
    exports: Option<ExportsQueue>,
    settings: Mutex<HashMap<TenantId, (Instant, Arc<VersionedSettings>)>>,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        let table = kit::aws::required_env("TABLE_NAME")?;
        let bucket = kit::aws::required_env("IMPORTS_BUCKET")?;
        // Presigned URLs are signed for the region: refuse to start without one.
        config.region().ok_or("no AWS region (AWS_REGION)")?;
        let queue_url = kit::aws::required_env("IMPORTS_QUEUE_URL")?;
        // Its connections are opened at the first export request.
        let exports = ExportsQueue::new(kit::queue::Queue::new(&config, queue_url));
        Ok(Self::new(
            CustomerStore::new(&config, table),
            ImportsBucket::new(Bucket::new(&config, bucket)),
        )
        .with_exports_queue(exports))
    }

    pub fn new(store: CustomerStore, imports: ImportsBucket) -> Self {
        Self {
            store,
            imports,
            claims: ClaimNames::from_env(),
            exports: None,
            settings: Mutex::new(HashMap::new()),
        }
    }

    pub fn with_exports_queue(mut self, queue: ExportsQueue) -> Self {
        self.exports = Some(queue);
        self
    }

    /// The queue export requests go to.
    pub fn exports(&self) -> Result<&ExportsQueue, Problem> {
        self.exports.as_ref().ok_or_else(|| {
            tracing::error!("no exports queue configured");
            Problem::unavailable()
        })
    }

    /// The organisation's settings, from this instance's cache when fresh.
    pub async fn settings(&self, tenant: &TenantId) -> Result<Arc<VersionedSettings>, Problem> {
        if let Some((read_at, settings)) = self.cache().get(tenant)
            && read_at.elapsed() < SETTINGS_TTL
        {
            return Ok(settings.clone());
        }
        let settings = Arc::new(self.store.settings(tenant).await.map_err(store_problem)?);
        self.remember(tenant, settings.clone());
        Ok(settings)
    }

    pub fn remember(&self, tenant: &TenantId, settings: Arc<VersionedSettings>) {
        self.cache()
            .insert(tenant.clone(), (Instant::now(), settings));
    }

    fn cache(
        &self,
    ) -> std::sync::MutexGuard<'_, HashMap<TenantId, (Instant, Arc<VersionedSettings>)>> {
        self.settings
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
