use customers_api::App;
use lambda_http::{Error, run, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    kit::logging::init();
    let app = App::from_env().await?;
    run(service_fn(|request| customers_api::handle(&app, request))).await
}
