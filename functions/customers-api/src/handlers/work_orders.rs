//! The work-order routes beyond the ones every linked kind shares (`handlers::linked`): the
//! list's filters, the texts about a work order's visits, and create and change through the
//! work-order use cases.

use domain::WorkOrder;
use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::{Body, Request, Response};
use store::WorkOrderFilter;

use super::{DEFAULT_PAGE, linked};
use crate::App;
use crate::http::{self, json};
use crate::usecases::{PageRequest, work_orders};

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::create::<WorkOrder, _>(app, request, work_orders::create).await
}

pub async fn list(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    let params = http::list_params(request, DEFAULT_PAGE, &["kind", "status"])?;
    let filter = WorkOrderFilter {
        kind: params.enum_filter("kind")?,
        status: params.enum_filter("status")?,
    };
    let page = work_orders::list(app, &scope, &id, &filter, params.page()).await?;
    Ok(json(StatusCode::OK, &page))
}

pub async fn texts(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    let (scope, id) = linked::at_customer(app, request).await?;
    let (limit, cursor) = http::page_params_with(request, DEFAULT_PAGE)?;
    let page = PageRequest {
        limit,
        cursor,
        ascending: true,
    };
    let work_order = linked::id_of::<WorkOrder>(request)?;
    let texts = work_orders::texts(app, &scope, &id, &work_order, page).await?;
    Ok(json(StatusCode::OK, &texts))
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::update::<WorkOrder>(app, request, work_orders::change).await
}
