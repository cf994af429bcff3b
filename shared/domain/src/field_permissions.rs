//! Parts of a customer that reaching it is not enough to change. `edit` (or `editAssigned`)
//! lets a caller change a customer; some fields need a permission of their own on top: the
//! commercial terms, which are the call-off rule's inputs and come from accounting (seed 000),
//! and the status, whose change to inactive cancels all of the customer's work. Which
//! permission guards which fields is declared once, in [`GUARDS`]; [`refused_change`],
//! [`refused_create`] and [`refused_field`] are the only judges, and docs/permissions.md
//! lists the same table.
//!
//! Fields are named by JSON pointers into the customer as the API shows it (the same
//! pointers validation errors use), and compared by value: sending a guarded field with the
//! value it already has needs no permission, so an app may send a whole form back.

use serde_json::Value;

use crate::{Customer, CustomerInput, Grants, Permission};

/// A permission and the fields only its holders may change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Guard {
    pub permission: Permission,
    /// JSON pointers into the customer.
    pub fields: &'static [&'static str],
}

/// The customer's status: deactivate and reactivate change it and nothing else.
pub const STATUS: &str = "/status";

/// Every guarded field, by the permission it needs.
pub const GUARDS: &[Guard] = &[
    Guard {
        permission: Permission::ChangeCommercialTerms,
        fields: &[
            "/terms/paymentType",
            "/terms/paymentTerms",
            "/terms/currency",
            "/terms/creditLimit",
            "/terms/openBalance",
            "/onHold",
            "/tier",
        ],
    },
    Guard {
        permission: Permission::ChangeStatus,
        fields: &[STATUS],
    },
];

/// A permission a change needs and the caller lacks, with the fields of the change that need
/// it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub permission: Permission,
    pub fields: Vec<&'static str>,
}

/// Why a change was refused: every missing permission, in the order of [`GUARDS`]; never
/// empty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal(pub Vec<Missing>);

impl Refusal {
    /// The first missing permission (a single request has so far only ever needed one).
    pub fn permission(&self) -> Permission {
        self.0[0].permission
    }

    /// Every field that needs a missing permission.
    pub fn fields(&self) -> Vec<&'static str> {
        self.0
            .iter()
            .flat_map(|m| m.fields.iter().copied())
            .collect()
    }
}

/// Whether the caller may turn `before` into `after`, as far as guarded fields go (reaching
/// the customer is judged elsewhere, before the change is made).
pub fn refused_change(grants: &Grants, before: &Customer, after: &Customer) -> Result<(), Refusal> {
    let before = serde_json::to_value(before).expect("a customer serialises");
    let after = serde_json::to_value(after).expect("a customer serialises");
    refused(grants, Some(&before), &after)
}

/// Whether the caller may create a customer from `input`: naming a guarded field at all
/// needs its permission (the organisation's defaults fill in whatever is left out).
pub fn refused_create(grants: &Grants, input: &CustomerInput) -> Result<(), Refusal> {
    let input = serde_json::to_value(input).expect("an input serialises");
    refused(grants, None, &input)
}

/// Whether the caller may change `field` at all, whatever its value: for routes that are the
/// change of one guarded field (deactivate and reactivate, of [`STATUS`]), judged before the
/// customer is read, so that the action is refused even where it would change nothing.
pub fn refused_field(grants: &Grants, field: &'static str) -> Result<(), Refusal> {
    match GUARDS.iter().find(|guard| guard.fields.contains(&field)) {
        Some(guard) if !grants.has(guard.permission) => Err(Refusal(vec![Missing {
            permission: guard.permission,
            fields: vec![field],
        }])),
        _ => Ok(()),
    }
}

/// `before: None` is a create: every field `after` holds is a change.
fn refused(grants: &Grants, before: Option<&Value>, after: &Value) -> Result<(), Refusal> {
    let changed = |field: &str| match before {
        Some(before) => before.pointer(field) != after.pointer(field),
        None => after.pointer(field).is_some_and(|v| !v.is_null()),
    };
    let missing: Vec<Missing> = GUARDS
        .iter()
        .filter(|guard| !grants.has(guard.permission))
        .filter_map(|guard| {
            let fields: Vec<&'static str> = guard
                .fields
                .iter()
                .copied()
                .filter(|field| changed(field))
                .collect();
            (!fields.is_empty()).then_some(Missing {
                permission: guard.permission,
                fields,
            })
        })
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Refusal(missing))
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{
        ContactInput, CustomerStatus, PaymentTerms, PaymentType, TermsInput, Tier,
        ValidationContext, validate_customer,
    };

    /// A customer with every guarded field set, so that every pointer resolves.
    fn customer() -> Customer {
        let input = CustomerInput {
            customer_number: Some("1".into()),
            first_name: Some("Åsa".into()),
            terms: Some(TermsInput {
                payment_type: Some(PaymentType::Account),
                currency: Some("SEK".into()),
                credit_limit: Some(500_000),
                payment_terms: Some(PaymentTerms::Net(30)),
                open_balance: Some(120_000),
            }),
            ..CustomerInput::default()
        };
        let fields = validate_customer(input, &ValidationContext::default()).unwrap();
        Customer::new(fields, "ada", Utc::now())
    }

    /// `before` with one guarded field changed, by its pointer.
    fn changed(before: &Customer, field: &str) -> Customer {
        let mut after = before.clone();
        let terms = &mut after.fields.terms;
        match field {
            "/terms/paymentType" => terms.payment_type = PaymentType::Cash,
            "/terms/paymentTerms" => terms.payment_terms = PaymentTerms::DueOnReceipt,
            "/terms/currency" => terms.currency = "EUR".into(),
            "/terms/creditLimit" => terms.credit_limit = None,
            "/terms/openBalance" => terms.open_balance = 0,
            "/onHold" => after.fields.on_hold = true,
            "/tier" => after.fields.tier = Tier::Vip,
            "/status" => after.status = CustomerStatus::Inactive,
            other => panic!("no change written for {other}"),
        }
        after
    }

    fn every_guarded_field() -> impl Iterator<Item = (Permission, &'static str)> {
        GUARDS
            .iter()
            .flat_map(|g| g.fields.iter().map(move |f| (g.permission, *f)))
    }

    /// docs/permissions.md lists the same table as `GUARDS`, row for row.
    #[test]
    fn the_documented_table_is_the_declared_one() {
        let doc = include_str!("../../../docs/permissions.md");
        let table = doc
            .split("| permission | fields (JSON pointers into the customer) |\n|---|---|\n")
            .nth(1)
            .expect("the table of fields with a permission of their own");
        let documented: Vec<(String, Vec<String>)> = table
            .lines()
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
                let fields = cells[1]
                    .split('`')
                    .filter(|part| part.starts_with('/'))
                    .map(str::to_owned)
                    .collect();
                (cells[0].trim_matches('`').to_owned(), fields)
            })
            .collect();
        let declared: Vec<(String, Vec<String>)> = GUARDS
            .iter()
            .map(|g| {
                let fields = g.fields.iter().map(|f| (*f).to_owned()).collect();
                (g.permission.as_str().to_owned(), fields)
            })
            .collect();
        assert_eq!(documented, declared);
    }

    #[test]
    fn every_pointer_names_a_field_of_the_customer() {
        let json = serde_json::to_value(customer()).unwrap();
        for (_, field) in every_guarded_field() {
            assert!(json.pointer(field).is_some(), "{field}");
        }
    }

    /// Every default role against every guarded field: administrators and coordinators may
    /// change each of them, technicians none, and the refusal names the permission and the
    /// one field.
    #[test]
    fn each_role_may_change_exactly_the_guarded_fields_it_holds_permissions_for() {
        let before = customer();
        for role in ["administrator", "coordinator", "technician"] {
            let grants = Grants::of_roles(&[role]);
            for (permission, field) in every_guarded_field() {
                let after = changed(&before, field);
                assert_ne!(before, after, "{field}");
                let expected = if grants.has(permission) {
                    Ok(())
                } else {
                    Err(Refusal(vec![Missing {
                        permission,
                        fields: vec![field],
                    }]))
                };
                assert_eq!(
                    refused_change(&grants, &before, &after),
                    expected,
                    "{role} {field}"
                );
            }
        }
    }

    #[test]
    fn a_guarded_field_is_refused_outright_without_its_permission() {
        let technician = Grants::of_roles(&["technician"]);
        assert_eq!(
            refused_field(&technician, STATUS),
            Err(Refusal(vec![Missing {
                permission: Permission::ChangeStatus,
                fields: vec![STATUS],
            }]))
        );
        assert_eq!(refused_field(&technician, "/firstName"), Ok(()));
        let coordinator = Grants::of_roles(&["coordinator"]);
        for (_, field) in every_guarded_field() {
            assert_eq!(refused_field(&coordinator, field), Ok(()), "{field}");
        }
    }

    #[test]
    fn technicians_hold_neither_guarding_permission_and_the_others_both() {
        for guard in GUARDS {
            assert!(!Grants::of_roles(&["technician"]).has(guard.permission));
            assert!(Grants::of_roles(&["coordinator"]).has(guard.permission));
            assert!(Grants::of_roles(&["administrator"]).has(guard.permission));
        }
    }

    #[test]
    fn unguarded_changes_and_unchanged_guarded_values_need_nothing_more() {
        let technician = Grants::of_roles(&["technician"]);
        let before = customer();
        let mut after = before.clone();
        after.fields.first_name = Some("Anna".into());
        after.fields.description = Some("gate code 1234".into());
        after.fields.contacts.clear();
        after.version += 1;
        assert_eq!(refused_change(&technician, &before, &after), Ok(()));
        assert_eq!(refused_change(&technician, &before, &before), Ok(()));
    }

    #[test]
    fn a_refusal_lists_every_guarded_field_changed() {
        let technician = Grants::of_roles(&["technician"]);
        let before = customer();
        let mut after = changed(&changed(&before, "/onHold"), "/terms/creditLimit");
        after.status = CustomerStatus::Inactive;
        let refusal = refused_change(&technician, &before, &after).unwrap_err();
        assert_eq!(refusal.permission(), Permission::ChangeCommercialTerms);
        assert_eq!(
            refusal.fields(),
            vec!["/terms/creditLimit", "/onHold", "/status"]
        );
        assert_eq!(refusal.0[1].permission, Permission::ChangeStatus);
    }

    #[test]
    fn one_missing_permission_refuses_only_its_own_fields() {
        let only_terms =
            Grants::of_permissions(&[Permission::Edit, Permission::ChangeCommercialTerms]);
        let before = customer();
        let mut after = changed(&before, "/tier");
        assert_eq!(refused_change(&only_terms, &before, &after), Ok(()));
        after.status = CustomerStatus::Inactive;
        let refusal = refused_change(&only_terms, &before, &after).unwrap_err();
        assert_eq!(refusal.permission(), Permission::ChangeStatus);
        assert_eq!(refusal.fields(), vec!["/status"]);
    }

    #[test]
    fn a_create_may_name_guarded_fields_only_with_their_permission() {
        let create_only = Grants::of_permissions(&[Permission::View, Permission::Create]);
        let plain = CustomerInput {
            first_name: Some("Åsa".into()),
            terms: Some(TermsInput::default()),
            contacts: Some(vec![ContactInput::default()]),
            ..CustomerInput::default()
        };
        assert_eq!(refused_create(&create_only, &plain), Ok(()));
        let commercial = CustomerInput {
            terms: Some(TermsInput {
                credit_limit: Some(0),
                ..TermsInput::default()
            }),
            on_hold: Some(false),
            ..plain
        };
        let refusal = refused_create(&create_only, &commercial).unwrap_err();
        assert_eq!(refusal.permission(), Permission::ChangeCommercialTerms);
        assert_eq!(refusal.fields(), vec!["/terms/creditLimit", "/onHold"]);
        let coordinator = Grants::of_roles(&["coordinator"]);
        assert_eq!(refused_create(&coordinator, &commercial), Ok(()));
    }

    /// An import is applied by the import function, not as the caller: nobody's grants are at
    /// hand when a row changes commercial terms. `upload` therefore stands for everything a
    /// file can do, and only roles that may do all of it by hand hold it.
    #[test]
    fn roles_that_upload_may_write_everything_a_file_can() {
        for role in ["administrator", "coordinator", "technician"] {
            let grants = Grants::of_roles(&[role]);
            if grants.has(Permission::Upload) {
                for needed in [
                    Permission::Create,
                    Permission::Edit,
                    Permission::ChangeCommercialTerms,
                ] {
                    assert!(grants.has(needed), "{role} uploads without {needed:?}");
                }
            }
        }
    }
}
