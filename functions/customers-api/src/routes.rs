//! The route table: every route of the API, declared once in [`routes!`] below. API Gateway
//! matches the route and passes its key (`routeKey`), so dispatch is a lookup, not a second
//! router. The declaration makes [`Route`], [`Route::ALL`], [`Route::key`],
//! [`Route::from_key`] and [`dispatch`]; tests compare [`Route::ALL`] with docs/openapi.yaml
//! and infra/template.yaml (tests/contract.rs), and the tenancy sweep (tests/tenancy.rs)
//! attacks every route through an exhaustive `match` over [`Route`].

use kit::Problem;
use lambda_http::http::StatusCode;
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response};

use crate::App;
use crate::handlers::{
    assignments, bulk_changes, caller, contacts, contracts, customers, erasure, exports, history,
    imports, jobs, linked, merge, notes, profile, settings, sites, tickets, work_orders,
};
use domain::{Contract, Job, Note, Site, WorkOrder};

/// One line per route: `Variant: "METHOD /path/{param}" => handler,`. Everything else about
/// a route follows from that line, so adding one is one line here (and, because the enum
/// grows, a tenancy case in tests/tenancy.rs, which does not compile without it).
macro_rules! routes {
    ($($route:ident: $key:literal => $handler:path,)+) => {
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Route {
            $($route,)+
        }

        impl Route {
            pub const ALL: [Route; [$($key),+].len()] = [$(Route::$route),+];

            /// API Gateway's route key: "METHOD /path/{param}".
            pub const fn key(self) -> &'static str {
                match self {
                    $(Route::$route => $key,)+
                }
            }

            /// The route of an API Gateway route key. Two routes with one key would make an
            /// unreachable arm here: the build fails.
            #[deny(unreachable_patterns)]
            pub fn from_key(key: &str) -> Option<Route> {
                match key {
                    $($key => Some(Route::$route),)+
                    _ => None,
                }
            }

            async fn handle(self, app: &App, request: &Request) -> Result<Response<Body>, Problem> {
                match self {
                    $(Route::$route => $handler(app, request).await,)+
                }
            }
        }
    };
}

routes! {
    CreateCustomer: "POST /customers" => customers::create,
    ListCustomers: "GET /customers" => customers::list,
    GetCustomer: "GET /customers/{customerId}" => customers::get,
    UpdateCustomer: "PATCH /customers/{customerId}" => customers::update,
    DeactivateCustomer: "POST /customers/{customerId}/deactivate" => customers::deactivate,
    ReactivateCustomer: "POST /customers/{customerId}/reactivate" => customers::reactivate,
    AddContact: "POST /customers/{customerId}/contacts" => contacts::add,
    ChangeContact: "PATCH /customers/{customerId}/contacts/{contactId}" => contacts::change,
    RemoveContact: "DELETE /customers/{customerId}/contacts/{contactId}" => contacts::remove,
    DeleteCustomer: "DELETE /customers/{customerId}" => customers::delete,
    CustomerHistory: "GET /customers/{customerId}/history" => history::list,
    ListAssignees: "GET /customers/{customerId}/assignees" => assignments::list,
    Assign: "PUT /customers/{customerId}/assignees/{userId}" => assignments::assign,
    Unassign: "DELETE /customers/{customerId}/assignees/{userId}" => assignments::unassign,
    CustomersOfUser: "GET /users/{userId}/customers" => assignments::customers_of_user,
    ChangeNumber: "POST /customers/{customerId}/number" => customers::change_number,
    MergeCustomer: "POST /customers/{customerId}/merge" => merge::merge,
    GetSettings: "GET /settings" => settings::get,
    PutSettings: "PUT /settings" => settings::put,
    RequestImport: "POST /imports" => imports::request,
    ListImports: "GET /imports" => imports::list,
    ImportTemplate: "GET /imports/template" => imports::template,
    GetImport: "GET /imports/{importId}" => imports::get,
    ImportErrors: "GET /imports/{importId}/errors" => imports::errors,
    CreateSite: "POST /customers/{customerId}/sites" => sites::create,
    ListSites: "GET /customers/{customerId}/sites" => linked::list::<Site>,
    GetSite: "GET /customers/{customerId}/sites/{siteId}" => linked::get::<Site>,
    UpdateSite: "PATCH /customers/{customerId}/sites/{siteId}" => sites::update,
    UnlinkSite: "DELETE /customers/{customerId}/sites/{siteId}" => sites::unlink,
    CreateContract: "POST /customers/{customerId}/contracts" => contracts::create,
    ListContracts: "GET /customers/{customerId}/contracts" => linked::list::<Contract>,
    GetContract: "GET /customers/{customerId}/contracts/{contractId}" => linked::get::<Contract>,
    UpdateContract: "PATCH /customers/{customerId}/contracts/{contractId}" => contracts::update,
    CreateWorkOrder: "POST /customers/{customerId}/work-orders" => work_orders::create,
    ListWorkOrders: "GET /customers/{customerId}/work-orders" => work_orders::list,
    GetWorkOrder: "GET /customers/{customerId}/work-orders/{workOrderId}" => linked::get::<WorkOrder>,
    UpdateWorkOrder: "PATCH /customers/{customerId}/work-orders/{workOrderId}" => work_orders::update,
    WorkOrderTexts: "GET /customers/{customerId}/work-orders/{workOrderId}/texts" => work_orders::texts,
    CreateJob: "POST /customers/{customerId}/work-orders/{workOrderId}/jobs" => jobs::create,
    ListJobs: "GET /customers/{customerId}/jobs" => jobs::list,
    GetJob: "GET /customers/{customerId}/jobs/{jobId}" => linked::get::<Job>,
    UpdateJob: "PATCH /customers/{customerId}/jobs/{jobId}" => jobs::update,
    CreateTicket: "POST /customers/{customerId}/tickets" => tickets::create,
    ListTickets: "GET /customers/{customerId}/tickets" => tickets::list,
    GetTicket: "GET /customers/{customerId}/tickets/{ticketId}" => tickets::get,
    CreateNote: "POST /customers/{customerId}/notes" => notes::create,
    ListNotes: "GET /customers/{customerId}/notes" => notes::list,
    GetNote: "GET /customers/{customerId}/notes/{noteId}" => linked::get::<Note>,
    UpdateNote: "PATCH /customers/{customerId}/notes/{noteId}" => notes::update,
    Inventory: "GET /customers/{customerId}/inventory" => profile::inventory,
    ExportInventory: "GET /customers/{customerId}/inventory/export" => profile::export,
    Balance: "GET /customers/{customerId}/balance" => profile::balance,
    RequestBulkChange: "POST /bulk-changes" => bulk_changes::request,
    ListBulkChanges: "GET /bulk-changes" => bulk_changes::list,
    GetBulkChange: "GET /bulk-changes/{bulkChangeId}" => bulk_changes::get,
    RequestExport: "POST /exports" => exports::request,
    ListExports: "GET /exports" => exports::list,
    GetExport: "GET /exports/{exportId}" => exports::get,
    EraseCustomer: "POST /customers/{customerId}/erase" => erasure::erase,
    PersonalData: "GET /customers/{customerId}/personal-data" => erasure::personal_data,
    Me: "GET /me" => caller::me,
}

impl Route {
    /// The method of the route key: "GET", "POST", ...
    pub fn method(self) -> &'static str {
        self.key_parts().0
    }

    /// The path template of the route key: "/customers/{customerId}".
    pub fn path(self) -> &'static str {
        self.key_parts().1
    }

    fn key_parts(self) -> (&'static str, &'static str) {
        self.key()
            .split_once(' ')
            .expect("a route key is \"METHOD /path\"")
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
    route.handle(app, &request).await
}

pub fn route_key(request: &Request) -> Option<String> {
    match request.request_context_ref()? {
        RequestContext::ApiGatewayV2(context) => context.route_key.clone(),
        // Other payload flavours are compiled out; should one be enabled, it has no routes.
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_leads_back_to_its_route() {
        for route in Route::ALL {
            assert_eq!(Route::from_key(route.key()), Some(route), "{route:?}");
        }
    }

    #[test]
    fn a_key_names_a_method_and_a_path() {
        for route in Route::ALL {
            let method = route.method();
            assert!(
                ["GET", "PUT", "POST", "PATCH", "DELETE"].contains(&method),
                "{route:?}: {method}"
            );
            assert!(route.path().starts_with('/'), "{route:?}: {}", route.path());
        }
        assert_eq!(Route::UpdateSite.method(), "PATCH");
        assert_eq!(
            Route::UpdateSite.path(),
            "/customers/{customerId}/sites/{siteId}"
        );
    }

    #[test]
    fn keys_that_are_not_routes_have_none() {
        for key in [
            "",
            "$default",
            "get /customers",
            "GET /customers/",
            "GET /customers/c-1",
            "POST /customers/{customerId}",
        ] {
            assert_eq!(Route::from_key(key), None, "{key:?}");
        }
    }
}
