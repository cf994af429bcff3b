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
    /// `number_in_name`: the organisation shows the number before the name ("10023 Acme AB").
    pub fn of(customer: &'a Customer, number_in_name: bool) -> Self {
        let refusals = customer.may_call_off().err().unwrap_or_default();
        let name = customer.fields.display_name();
        Self {
            customer,
            display_name: if number_in_name {
                format!("{} {name}", customer.fields.customer_number)
            } else {
                name
            },
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

pub fn page(
    customers: &[Customer],
    next_cursor: Option<String>,
    number_in_name: bool,
) -> CustomerPage<'_> {
    CustomerPage {
        items: customers
            .iter()
            .map(|c| CustomerView::of(c, number_in_name))
            .collect(),
        next_cursor,
    }
}
