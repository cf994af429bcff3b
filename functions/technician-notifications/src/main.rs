use lambda_runtime::{Error, run, service_fn};
use technician_notifications::App;

#[tokio::main]
async fn main() -> Result<(), Error> {
    kit::logging::init();
    let app = App::from_env().await?;
    run(service_fn(|event| {
        technician_notifications::handle(&app, event)
    }))
    .await
}
