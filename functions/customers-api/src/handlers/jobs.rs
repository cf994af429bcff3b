//! The job routes beyond the ones every linked kind shares (`handlers::linked`): a job is
//! scheduled under its work order, listed by start with its filters, and changed through the
//! job use cases.

use domain::{Job, WorkOrder};
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use store::JobFilter;

use super::{DEFAULT_PAGE, linked};
use crate::App;
use crate::http::{self, json};
use crate::usecases::jobs;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let schedule = async |app: &App, scope: &_, id: &_, input, retry: &_| {
        let work_order = linked::id_of::<WorkOrder>(request)?;
        jobs::create(app, scope, id, &work_order, input, retry).await
    };
    linked::create::<Job, _>(app, request, schedule).await
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    let params = http::list_params(request, DEFAULT_PAGE, &["status", "workOrderId"])?;
    let filter = JobFilter {
        status: params.enum_filter("status")?,
        work_order_id: params.filter("workOrderId").map(str::to_owned),
    };
    let page = jobs::list(app, &scope, &id, &filter, params.page()).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::update::<Job>(app, request, jobs::change).await
}
