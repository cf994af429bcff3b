use customer_texts::App;
use lambda_runtime::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kit::logging::init();
    let app = App::from_env().await?;
    run(service_fn(|event| customer_texts::handle(&app, event))).await
}
