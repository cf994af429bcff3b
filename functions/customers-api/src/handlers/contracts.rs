//! The contract routes beyond the ones every linked kind shares (`handlers::linked`): create and
//! change name the contract use cases.

use domain::Contract;
use kit::Problem;
use lambda_http::{Body, Request, Response};

use super::linked;
use crate::App;
use crate::usecases::contracts;

pub async fn create(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::create::<Contract, _>(app, request, contracts::create).await
}

pub async fn update(app: &App, request: &Request) -> Result<Response<Body>, Problem> {
    linked::update::<Contract>(app, request, contracts::change).await
}
