//! The route table. API Gateway matches the route and passes its key (`routeKey`), so
//! dispatch is a lookup, not a second router. [`Route::ALL`] is compared with
//! docs/openapi.yaml and infra/template.yaml by a test, so the three cannot drift apart.

use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::App;
use crate::handlers::{
    assignments, contacts, contracts, customers, history, imports, jobs, profile, settings, sites,
    tickets, work_orders,
};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Route {
    CreateCustomer,
    ListCustomers,
    GetCustomer,
    UpdateCustomer,
    DeactivateCustomer,
    ReactivateCustomer,
    AddContact,
    ChangeContact,
    RemoveContact,
    DeleteCustomer,
    CustomerHistory,
    ListAssignees,
    Assign,
    Unassign,
    CustomersOfUser,
    ChangeNumber,
    GetSettings,
    PutSettings,
    RequestImport,
    ListImports,
    ImportTemplate,
    GetImport,
    ImportErrors,
    CreateSite,
    ListSites,
    GetSite,
    UpdateSite,
    UnlinkSite,
    CreateContract,
    ListContracts,
    GetContract,
    UpdateContract,
    CreateWorkOrder,
    ListWorkOrders,
    GetWorkOrder,
    UpdateWorkOrder,
    CreateJob,
    ListJobs,
    GetJob,
    UpdateJob,
    CreateTicket,
    ListTickets,
    GetTicket,
    Inventory,
    ExportInventory,
    Balance,
    WorkOrderTexts,
}

impl Route {
    pub const ALL: [Route; 47] = [
        Route::CreateCustomer,
        Route::ListCustomers,
        Route::GetCustomer,
        Route::UpdateCustomer,
        Route::DeactivateCustomer,
        Route::ReactivateCustomer,
        Route::AddContact,
        Route::ChangeContact,
        Route::RemoveContact,
        Route::DeleteCustomer,
        Route::CustomerHistory,
        Route::ListAssignees,
        Route::Assign,
        Route::Unassign,
        Route::CustomersOfUser,
        Route::ChangeNumber,
        Route::GetSettings,
        Route::PutSettings,
        Route::RequestImport,
        Route::ListImports,
        Route::ImportTemplate,
        Route::GetImport,
        Route::ImportErrors,
        Route::CreateSite,
        Route::ListSites,
        Route::GetSite,
        Route::UpdateSite,
        Route::UnlinkSite,
        Route::CreateContract,
        Route::ListContracts,
        Route::GetContract,
        Route::UpdateContract,
        Route::CreateWorkOrder,
        Route::ListWorkOrders,
        Route::GetWorkOrder,
        Route::UpdateWorkOrder,
        Route::CreateJob,
        Route::ListJobs,
        Route::GetJob,
        Route::UpdateJob,
        Route::CreateTicket,
        Route::ListTickets,
        Route::GetTicket,
        Route::Inventory,
        Route::ExportInventory,
        Route::Balance,
        Route::WorkOrderTexts,
    ];

    /// API Gateway's route key: "METHOD /path/{param}".
    pub fn key(self) -> &'static str {
        match self {
            Route::CreateCustomer => "POST /customers",
            Route::ListCustomers => "GET /customers",
            Route::GetCustomer => "GET /customers/{customerId}",
            Route::UpdateCustomer => "PATCH /customers/{customerId}",
            Route::DeactivateCustomer => "POST /customers/{customerId}/deactivate",
            Route::ReactivateCustomer => "POST /customers/{customerId}/reactivate",
            Route::AddContact => "POST /customers/{customerId}/contacts",
            Route::ChangeContact => "PATCH /customers/{customerId}/contacts/{contactId}",
            Route::RemoveContact => "DELETE /customers/{customerId}/contacts/{contactId}",
            Route::DeleteCustomer => "DELETE /customers/{customerId}",
            Route::CustomerHistory => "GET /customers/{customerId}/history",
            Route::ListAssignees => "GET /customers/{customerId}/assignees",
            Route::Assign => "PUT /customers/{customerId}/assignees/{userId}",
            Route::Unassign => "DELETE /customers/{customerId}/assignees/{userId}",
            Route::CustomersOfUser => "GET /users/{userId}/customers",
            Route::ChangeNumber => "POST /customers/{customerId}/number",
            Route::GetSettings => "GET /settings",
            Route::PutSettings => "PUT /settings",
            Route::RequestImport => "POST /imports",
            Route::ListImports => "GET /imports",
            Route::ImportTemplate => "GET /imports/template",
            Route::GetImport => "GET /imports/{importId}",
            Route::ImportErrors => "GET /imports/{importId}/errors",
            Route::CreateSite => "POST /customers/{customerId}/sites",
            Route::ListSites => "GET /customers/{customerId}/sites",
            Route::GetSite => "GET /customers/{customerId}/sites/{siteId}",
            Route::UpdateSite => "PATCH /customers/{customerId}/sites/{siteId}",
            Route::UnlinkSite => "DELETE /customers/{customerId}/sites/{siteId}",
            Route::CreateContract => "POST /customers/{customerId}/contracts",
            Route::ListContracts => "GET /customers/{customerId}/contracts",
            Route::GetContract => "GET /customers/{customerId}/contracts/{contractId}",
            Route::UpdateContract => "PATCH /customers/{customerId}/contracts/{contractId}",
            Route::CreateWorkOrder => "POST /customers/{customerId}/work-orders",
            Route::ListWorkOrders => "GET /customers/{customerId}/work-orders",
            Route::GetWorkOrder => "GET /customers/{customerId}/work-orders/{workOrderId}",
            Route::UpdateWorkOrder => "PATCH /customers/{customerId}/work-orders/{workOrderId}",
            Route::CreateJob => "POST /customers/{customerId}/work-orders/{workOrderId}/jobs",
            Route::ListJobs => "GET /customers/{customerId}/jobs",
            Route::GetJob => "GET /customers/{customerId}/jobs/{jobId}",
            Route::UpdateJob => "PATCH /customers/{customerId}/jobs/{jobId}",
            Route::CreateTicket => "POST /customers/{customerId}/tickets",
            Route::ListTickets => "GET /customers/{customerId}/tickets",
            Route::GetTicket => "GET /customers/{customerId}/tickets/{ticketId}",
            Route::Inventory => "GET /customers/{customerId}/inventory",
            Route::ExportInventory => "GET /customers/{customerId}/inventory/export",
            Route::Balance => "GET /customers/{customerId}/balance",
            Route::WorkOrderTexts => "GET /customers/{customerId}/work-orders/{workOrderId}/texts",
        }
    }

    pub fn from_key(key: &str) -> Option<Route> {
        Route::ALL.into_iter().find(|route| route.key() == key)
    }
}

pub async fn dispatch(app: &App, request: Request) -> Result<Response<Body>, Problem> {
    let Some(route) = route_key(&request).as_deref().and_then(Route::from_key) else {
        return Err(Problem::new(
            StatusCode::NOT_FOUND,
            "no-such-route",
            "No such route",
        ));
    };
    let request = &request;
    match route {
        Route::CreateCustomer => customers::create(app, request).await,
        Route::ListCustomers => customers::list(app, request).await,
        Route::GetCustomer => customers::get(app, request).await,
        Route::UpdateCustomer => customers::update(app, request).await,
        Route::DeactivateCustomer => customers::deactivate(app, request).await,
        Route::ReactivateCustomer => customers::reactivate(app, request).await,
        Route::AddContact => contacts::add(app, request).await,
        Route::ChangeContact => contacts::change(app, request).await,
        Route::RemoveContact => contacts::remove(app, request).await,
        Route::DeleteCustomer => customers::delete(app, request).await,
        Route::CustomerHistory => history::list(app, request).await,
        Route::ListAssignees => assignments::list(app, request).await,
        Route::Assign => assignments::assign(app, request).await,
        Route::Unassign => assignments::unassign(app, request).await,
        Route::CustomersOfUser => assignments::customers_of_user(app, request).await,
        Route::ChangeNumber => customers::change_number(app, request).await,
        Route::GetSettings => settings::get(app, request).await,
        Route::PutSettings => settings::put(app, request).await,
        Route::RequestImport => imports::request(app, request).await,
        Route::ListImports => imports::list(app, request).await,
        Route::ImportTemplate => imports::template(app, request).await,
        Route::GetImport => imports::get(app, request).await,
        Route::ImportErrors => imports::errors(app, request).await,
        Route::CreateSite => sites::create(app, request).await,
        Route::ListSites => sites::list(app, request).await,
        Route::GetSite => sites::get(app, request).await,
        Route::UpdateSite => sites::update(app, request).await,
        Route::UnlinkSite => sites::unlink(app, request).await,
        Route::CreateContract => contracts::create(app, request).await,
        Route::ListContracts => contracts::list(app, request).await,
        Route::GetContract => contracts::get(app, request).await,
        Route::UpdateContract => contracts::update(app, request).await,
        Route::CreateWorkOrder => work_orders::create(app, request).await,
        Route::ListWorkOrders => work_orders::list(app, request).await,
        Route::GetWorkOrder => work_orders::get(app, request).await,
        Route::UpdateWorkOrder => work_orders::update(app, request).await,
        Route::CreateJob => jobs::create(app, request).await,
        Route::ListJobs => jobs::list(app, request).await,
        Route::GetJob => jobs::get(app, request).await,
        Route::UpdateJob => jobs::update(app, request).await,
        Route::CreateTicket => tickets::create(app, request).await,
        Route::ListTickets => tickets::list(app, request).await,
        Route::GetTicket => tickets::get(app, request).await,
        Route::Inventory => profile::inventory(app, request).await,
        Route::ExportInventory => profile::export(app, request).await,
        Route::Balance => profile::balance(app, request).await,
        Route::WorkOrderTexts => work_orders::texts(app, request).await,
    }
}

pub fn route_key(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.route_key.clone(),
        // Other payload flavours are compiled out; should one be enabled, it has no routes.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}
