use customers_api::App;
use lambda_http::{Error, run, service_fn};

// One thread: an execution environment handles one event at a time on a fraction of a vCPU,
// where worker threads only add start-up work and cross-thread wake-ups per request.
#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    kit::logging::init();
    let app = App::from_env().await?;
    run(service_fn(|request| customers_api::handle(&app, request))).await
}
