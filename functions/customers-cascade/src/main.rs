use customers_cascade::App;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kit::logging::init();
    let app = App::from_env().await?;
    run(service_fn(|event| customers_cascade::handle(&app, event))).await
}
