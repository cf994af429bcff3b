//! What clients see of a customer: the stored card plus what they would otherwise compute
//! themselves and get wrong (display name, whether new work may be called off and why not).

use domain::{CallOffRefusal, Customer};
use serde::Serialize;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerView<'a> {
    #[serde(flatten)]
    customer: &'a Customer,
    display_name: String,
    call_off: CallOff,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct CallOff {
    allowed: bool,
    refusals: Vec<CallOffRefusal>,
}

impl<'a> CustomerView<'a> {
    pub fn of(customer: &'a Customer) -> Self {
        let refusals = customer.may_call_off().err().unwrap_or_default();
        Self {
            customer,
            display_name: customer.fields.display_name(),
            call_off: CallOff {
                allowed: refusals.is_empty(),
                refusals,
            },
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerPage<'a> {
    pub items: Vec<CustomerView<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

pub fn page(customers: &[Customer], next_cursor: Option<String>) -> CustomerPage<'_> {
    CustomerPage {
        items: customers.iter().map(CustomerView::of).collect(),
        next_cursor,
    }
}
