//! The call-off rule: may this customer order new work right now?

use serde::Serialize;

use crate::model::{Customer, CustomerStatus, PaymentType};

/// One reason a call-off is refused. Serialised as `{"reason": "creditLimitReached", ...}` so a
/// client can switch on the reason and still show the amounts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(
    tag = "reason",
    rename_all = "camelCase",
    rename_all_fields = "camelCase"
)]
pub enum CallOffRefusal {
    Inactive,
    OnHold,
    /// Amounts in the currency's minor unit, as on the card.
    CreditLimitReached {
        open_balance: i64,
        credit_limit: i64,
    },
}

impl std::fmt::Display for CallOffRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CallOffRefusal::Inactive => f.write_str("the customer is inactive"),
            CallOffRefusal::OnHold => f.write_str("the customer is on hold"),
            CallOffRefusal::CreditLimitReached {
                open_balance,
                credit_limit,
            } => write!(
                f,
                "the open balance {open_balance} has reached the credit limit {credit_limit}"
            ),
        }
    }
}

impl Customer {
    /// Checks whether the customer may call off new work, returning every reason that applies
    /// rather than the first, so the dispatcher sees at once everything that must be sorted out.
    ///
    /// - Inactive customers are refused: inactive means "no longer a customer", and new work
    ///   for them is almost always a mistake.
    /// - Customers on hold are refused: holding is the office's explicit "stop" lever, whatever
    ///   the numbers say.
    /// - Account customers are refused once the open balance is at or above a recorded credit
    ///   limit: at the limit there is no credit left for the new job, which is why `>=` and not `>`.
    /// - Cash customers are never refused for credit: they pay at call-off or on delivery, so
    ///   their balance is no credit risk of ours.
    /// - Account customers without a recorded limit are not restricted: a missing limit means
    ///   "not set up in accounting yet", and blocking on it would stop work for a data gap.
    pub fn may_call_off(&self) -> Result<(), Vec<CallOffRefusal>> {
        let refusals: Vec<CallOffRefusal> = [
            self.inactive_refusal(),
            self.on_hold_refusal(),
            self.credit_refusal(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if refusals.is_empty() {
            Ok(())
        } else {
            Err(refusals)
        }
    }

    fn inactive_refusal(&self) -> Option<CallOffRefusal> {
        (self.status != CustomerStatus::Active).then_some(CallOffRefusal::Inactive)
    }

    fn on_hold_refusal(&self) -> Option<CallOffRefusal> {
        self.fields.on_hold.then_some(CallOffRefusal::OnHold)
    }

    fn credit_refusal(&self) -> Option<CallOffRefusal> {
        let terms = &self.fields.terms;
        if terms.payment_type != PaymentType::Account {
            return None;
        }
        let credit_limit = terms.credit_limit?;
        (terms.open_balance >= credit_limit).then_some(CallOffRefusal::CreditLimitReached {
            open_balance: terms.open_balance,
            credit_limit,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use chrono::Utc;

    fn customer(
        payment_type: PaymentType,
        credit_limit: Option<i64>,
        open_balance: i64,
    ) -> Customer {
        Customer {
            assignees: Vec::new(),
            sites_count: 0,
            merged_into: None,
            erased: None,
            id: CustomerId::new(),
            status: CustomerStatus::Active,
            version: 1,
            created_at: Utc::now(),
            created_by: "test".into(),
            updated_at: Utc::now(),
            updated_by: "test".into(),
            fields: CustomerFields {
                customer_number: "1".into(),
                kind: CustomerKind::Company,
                first_name: None,
                last_name: None,
                company_name: Some("Acme".into()),
                show_company_name_on_documents: false,
                organisation_number: None,
                organisation_number_country: None,
                description: None,
                email: None,
                phone: None,
                phone_extension: None,
                mobile: None,
                sms_opt_out: false,
                invoice_email: None,
                invoice_address: None,
                visiting_address: None,
                contacts: vec![],
                language: None,
                discount_codes: vec![],
                cost_centre: None,
                order_number: None,
                tags: vec![],
                default_articles: vec![],
                terms: Terms {
                    payment_type,
                    currency: "SEK".into(),
                    credit_limit,
                    payment_terms: PaymentTerms::Net(30),
                    open_balance,
                },
                tier: Tier::Regular,
                on_hold: false,
                external_refs: vec![],
                custom_fields: Default::default(),
            },
        }
    }

    fn reached(open_balance: i64, credit_limit: i64) -> CallOffRefusal {
        CallOffRefusal::CreditLimitReached {
            open_balance,
            credit_limit,
        }
    }

    #[test]
    fn active_customer_may_call_off() {
        assert_eq!(customer(PaymentType::Cash, None, 0).may_call_off(), Ok(()));
    }

    #[test]
    fn inactive_customer_is_refused() {
        let mut c = customer(PaymentType::Cash, None, 0);
        c.status = CustomerStatus::Inactive;
        assert_eq!(c.may_call_off(), Err(vec![CallOffRefusal::Inactive]));
    }

    #[test]
    fn customer_on_hold_is_refused() {
        let mut c = customer(PaymentType::Cash, None, 0);
        c.fields.on_hold = true;
        assert_eq!(c.may_call_off(), Err(vec![CallOffRefusal::OnHold]));
    }

    #[test]
    fn account_customer_under_the_limit_may_call_off() {
        assert_eq!(
            customer(PaymentType::Account, Some(100_000), 99_999).may_call_off(),
            Ok(())
        );
    }

    #[test]
    fn account_customer_at_the_limit_is_refused() {
        let c = customer(PaymentType::Account, Some(100_000), 100_000);
        assert_eq!(c.may_call_off(), Err(vec![reached(100_000, 100_000)]));
    }

    #[test]
    fn account_customer_over_the_limit_is_refused() {
        let c = customer(PaymentType::Account, Some(100_000), 150_000);
        assert_eq!(c.may_call_off(), Err(vec![reached(150_000, 100_000)]));
    }

    #[test]
    fn account_customer_with_zero_limit_and_credit_balance_may_call_off() {
        assert_eq!(
            customer(PaymentType::Account, Some(0), -500).may_call_off(),
            Ok(())
        );
        assert_eq!(
            customer(PaymentType::Account, Some(0), 0).may_call_off(),
            Err(vec![reached(0, 0)])
        );
    }

    #[test]
    fn account_customer_without_a_limit_is_not_restricted() {
        assert_eq!(
            customer(PaymentType::Account, None, i64::MAX).may_call_off(),
            Ok(())
        );
    }

    #[test]
    fn cash_customer_is_never_refused_for_credit() {
        assert_eq!(
            customer(PaymentType::Cash, Some(100), i64::MAX).may_call_off(),
            Ok(())
        );
    }

    #[test]
    fn every_reason_is_reported_at_once() {
        let mut c = customer(PaymentType::Account, Some(1_000), 2_000);
        c.status = CustomerStatus::Inactive;
        c.fields.on_hold = true;
        assert_eq!(
            c.may_call_off(),
            Err(vec![
                CallOffRefusal::Inactive,
                CallOffRefusal::OnHold,
                reached(2_000, 1_000)
            ])
        );
    }

    #[test]
    fn refusals_serialise_with_a_reason_tag() {
        let json = serde_json::to_value(vec![
            CallOffRefusal::Inactive,
            CallOffRefusal::OnHold,
            reached(5, 3),
        ])
        .unwrap();
        assert_eq!(
            json,
            serde_json::json!([
                {"reason": "inactive"},
                {"reason": "onHold"},
                {"reason": "creditLimitReached", "openBalance": 5, "creditLimit": 3}
            ])
        );
    }
}
