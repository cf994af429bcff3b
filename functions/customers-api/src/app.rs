use domain::ValidationContext;
use kit::ClaimNames;
use store::CustomerStore;

/// What every request needs, built once per cold start.
pub struct App {
    pub store: CustomerStore,
    pub claims: ClaimNames,
    pub validation: ValidationContext,
}

impl App {
    pub async fn from_env() -> Result<Self, String> {
        let config = kit::aws::sdk_config().await;
        let table = kit::aws::required_env("TABLE_NAME")?;
        Ok(Self::new(CustomerStore::new(
            kit::aws::dynamodb(&config),
            table,
        )))
    }

    pub fn new(store: CustomerStore) -> Self {
        Self {
            store,
            claims: ClaimNames::from_env(),
            validation: ValidationContext::default(),
        }
    }
}
