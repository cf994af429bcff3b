//! Who may do what. Roles come from the verified token; each role grants a fixed set of
//! permissions (the mapping below is the documented default: docs/permissions.md).

use serde::Serialize;

/// The permissions of the customer register, as the product documents name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Permission {
    /// See every customer of the organisation.
    View,
    /// See only the customers one is assigned to.
    ViewAssigned,
    /// Change every customer.
    Edit,
    /// Change only the customers one is assigned to.
    EditAssigned,
    /// Change a customer's commercial terms (the call-off rule's inputs and the tier), on
    /// top of `edit` or `editAssigned`; the fields are declared in `field_permissions`.
    ChangeCommercialTerms,
    /// Deactivate and reactivate customers, on top of `edit` or `editAssigned`.
    ChangeStatus,
    Create,
    /// Delete customers that have no history and no linked records.
    Delete,
    /// Bulk upload (CSV import).
    Upload,
    /// Export the customer list as CSV (the register, every field of every card listed).
    Export,
    /// Assign and unassign responsible users.
    Assign,
    /// Change a customer's number after creation.
    ChangeCustomerNumber,
    /// Change the organisation's customer settings (every role of the organisation reads them).
    ManageSettings,
    /// Merge a duplicate card into another customer (final: the duplicate becomes `merged`).
    Merge,
    /// Erase a customer's personal data for good (GDPR right to erasure) and export everything
    /// held about one customer (subject access): the data-protection duties of the organisation.
    Erase,
}

impl Permission {
    /// Every permission, in the order the documentation lists them.
    pub const ALL: &[Permission] = &[
        Permission::View,
        Permission::ViewAssigned,
        Permission::Edit,
        Permission::EditAssigned,
        Permission::ChangeCommercialTerms,
        Permission::ChangeStatus,
        Permission::Create,
        Permission::Delete,
        Permission::Upload,
        Permission::Export,
        Permission::Assign,
        Permission::ChangeCustomerNumber,
        Permission::ManageSettings,
        Permission::Merge,
        Permission::Erase,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Permission::View => "view",
            Permission::ViewAssigned => "viewAssigned",
            Permission::Edit => "edit",
            Permission::EditAssigned => "editAssigned",
            Permission::ChangeCommercialTerms => "changeCommercialTerms",
            Permission::ChangeStatus => "changeStatus",
            Permission::Create => "create",
            Permission::Delete => "delete",
            Permission::Upload => "upload",
            Permission::Export => "export",
            Permission::Assign => "assign",
            Permission::ChangeCustomerNumber => "changeCustomerNumber",
            Permission::ManageSettings => "manageSettings",
            Permission::Merge => "merge",
            Permission::Erase => "erase",
        }
    }
}

use Permission::*;

const ADMINISTRATOR: &[Permission] = &[
    View,
    Edit,
    ChangeCommercialTerms,
    ChangeStatus,
    Create,
    Delete,
    Upload,
    Export,
    Assign,
    ChangeCustomerNumber,
    ManageSettings,
    Merge,
    Erase,
];
const COORDINATOR: &[Permission] = &[
    View,
    Edit,
    ChangeCommercialTerms,
    ChangeStatus,
    Create,
    Upload,
    Export,
    Assign,
];
const TECHNICIAN: &[Permission] = &[ViewAssigned, EditAssigned];

/// The permissions a role grants; unknown roles grant nothing.
pub fn role_permissions(role: &str) -> &'static [Permission] {
    match role.to_ascii_lowercase().as_str() {
        "administrator" | "admin" => ADMINISTRATOR,
        "coordinator" => COORDINATOR,
        "technician" => TECHNICIAN,
        _ => &[],
    }
}

/// What a caller may see or change of one customer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// Every customer of the organisation.
    All,
    /// Only customers the caller is assigned to.
    Assigned,
}

impl Reach {
    /// Whether `user` with this reach reaches `customer`: every customer, or the ones they are
    /// assigned to. The one judge of "only assigned" (the API's routes and the bulk changes).
    pub fn admits(self, customer: &crate::Customer, user: &str) -> bool {
        match self {
            Reach::All => true,
            Reach::Assigned => customer.assignees.iter().any(|a| a == user),
        }
    }

    /// Whose customers a list shows to `user` with this reach: their own when they reach only
    /// those, else the ones of the user `asked` for (or everybody's).
    pub fn listed_assignee(self, user: &str, asked: Option<String>) -> Option<String> {
        match self {
            Reach::All => asked,
            Reach::Assigned => Some(user.to_owned()),
        }
    }
}

/// The permissions of a set of roles, with the questions handlers ask.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants(Vec<Permission>);

impl Grants {
    pub fn of_roles<S: AsRef<str>>(roles: &[S]) -> Self {
        let mut permissions: Vec<Permission> = roles
            .iter()
            .flat_map(|r| role_permissions(r.as_ref()).iter().copied())
            .collect();
        permissions.sort();
        permissions.dedup();
        Self(permissions)
    }

    pub fn has(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    /// Every permission granted, in the documentation's order.
    pub fn permissions(&self) -> &[Permission] {
        &self.0
    }

    /// Reading customers: everything with View, one's own with ViewAssigned.
    pub fn view_reach(&self) -> Result<Reach, Permission> {
        self.reach(View, ViewAssigned)
    }

    /// Changing customers: everything with Edit, one's own with EditAssigned.
    pub fn edit_reach(&self) -> Result<Reach, Permission> {
        self.reach(Edit, EditAssigned)
    }

    /// What every role of the organisation may read (the settings an app draws its forms
    /// with): any permission will do. `Err` names `viewAssigned`, the least a default role
    /// holds, for a caller whose roles grant nothing.
    pub fn require_any(&self) -> Result<(), Permission> {
        if self.0.is_empty() {
            Err(ViewAssigned)
        } else {
            Ok(())
        }
    }

    /// Exactly these permissions, for rules tested apart from the default roles.
    #[cfg(test)]
    pub(crate) fn of_permissions(permissions: &[Permission]) -> Self {
        let mut permissions = permissions.to_vec();
        permissions.sort();
        permissions.dedup();
        Self(permissions)
    }

    /// `Err` names the permission that is missing.
    pub fn require(&self, permission: Permission) -> Result<(), Permission> {
        if self.has(permission) {
            Ok(())
        } else {
            Err(permission)
        }
    }

    fn reach(&self, all: Permission, assigned: Permission) -> Result<Reach, Permission> {
        if self.has(all) {
            Ok(Reach::All)
        } else if self.has(assigned) {
            Ok(Reach::Assigned)
        } else {
            Err(all)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn administrators_may_do_everything() {
        let grants = Grants::of_roles(&["administrator"]);
        for p in ADMINISTRATOR {
            assert!(grants.has(*p));
        }
        assert_eq!(grants.view_reach(), Ok(Reach::All));
    }

    #[test]
    fn coordinators_may_not_delete_change_numbers_or_settings() {
        let grants = Grants::of_roles(&["coordinator"]);
        assert_eq!(grants.require(Delete), Err(Delete));
        assert_eq!(
            grants.require(ChangeCustomerNumber),
            Err(ChangeCustomerNumber)
        );
        assert_eq!(grants.require(ManageSettings), Err(ManageSettings));
        assert_eq!(grants.require(Merge), Err(Merge));
        assert_eq!(grants.require(Assign), Ok(()));
        assert_eq!(grants.edit_reach(), Ok(Reach::All));
    }

    #[test]
    fn technicians_reach_only_assigned_customers() {
        let grants = Grants::of_roles(&["technician"]);
        assert_eq!(grants.view_reach(), Ok(Reach::Assigned));
        assert_eq!(grants.edit_reach(), Ok(Reach::Assigned));
        assert_eq!(grants.require(Create), Err(Create));
        assert_eq!(grants.require(Assign), Err(Assign));
    }

    const ROLES: &[&str] = &["administrator", "coordinator", "technician"];

    /// The "Default roles" table of docs/permissions.md: one row per permission, one column
    /// per role, cells `✓`, `(via `x`)` or empty.
    fn documented_matrix() -> Vec<(String, Vec<String>)> {
        let doc = include_str!("../../../docs/permissions.md");
        let section = doc
            .split("\n## Default roles\n")
            .nth(1)
            .expect("a Default roles section");
        let header = format!(
            "| permission | {} |",
            ROLES
                .iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(" | ")
        );
        let table = section
            .split(&format!("{header}\n"))
            .nth(1)
            .expect("the matrix, with a column per role");
        table
            .lines()
            .skip(1)
            .take_while(|line| line.starts_with('|'))
            .map(|line| {
                let cells: Vec<String> = line
                    .trim_matches('|')
                    .split('|')
                    .map(|c| c.trim().to_owned())
                    .collect();
                (cells[0].trim_matches('`').to_owned(), cells[1..].to_vec())
            })
            .collect()
    }

    /// Every role against every permission, as the documentation states it: `✓` is held,
    /// `(via `x`)` is included in a held `x` (and the reach questions answer it), empty is
    /// neither.
    #[test]
    fn every_role_holds_exactly_the_documented_permissions() {
        let matrix = documented_matrix();
        let rows: Vec<&str> = matrix.iter().map(|(p, _)| p.as_str()).collect();
        let all: Vec<&str> = Permission::ALL.iter().map(|p| p.as_str()).collect();
        assert_eq!(
            rows, all,
            "one row per permission, in the order of Permission::ALL"
        );
        for ((_, cells), permission) in matrix.iter().zip(Permission::ALL) {
            assert_eq!(cells.len(), ROLES.len());
            for (role, cell) in ROLES.iter().zip(cells) {
                let grants = Grants::of_roles(&[role]);
                let reach = match permission {
                    ViewAssigned => grants.view_reach().is_ok(),
                    EditAssigned => grants.edit_reach().is_ok(),
                    _ => grants.has(*permission),
                };
                let what = format!("{role} x {}: {cell:?}", permission.as_str());
                match cell.as_str() {
                    "✓" => assert!(grants.has(*permission), "{what}"),
                    "" => assert!(!reach, "{what}"),
                    via => {
                        let by = via
                            .strip_prefix("(via `")
                            .and_then(|v| v.strip_suffix("`)"))
                            .unwrap_or_else(|| panic!("{what}: not a cell"));
                        let by = Permission::ALL.iter().find(|p| p.as_str() == by);
                        assert!(!grants.has(*permission), "{what}");
                        assert!(by.is_some_and(|by| grants.has(*by)) && reach, "{what}");
                    }
                }
            }
        }
    }

    #[test]
    fn permission_names_are_distinct_and_serialise_as_documented() {
        for (i, p) in Permission::ALL.iter().enumerate() {
            assert_eq!(serde_json::to_value(p).unwrap(), p.as_str());
            assert!(!Permission::ALL[..i].contains(p), "{p:?} listed twice");
        }
    }

    #[test]
    fn every_role_reads_what_the_organisation_shares_and_nobody_else() {
        for role in ROLES {
            assert_eq!(Grants::of_roles(&[role]).require_any(), Ok(()));
        }
        assert_eq!(
            Grants::of_roles(&["guest"]).require_any(),
            Err(ViewAssigned)
        );
    }

    #[test]
    fn only_assigned_callers_reach_and_list_only_their_customers() {
        let input: crate::CustomerInput =
            serde_json::from_value(serde_json::json!({"customerNumber": "1", "companyName": "A"}))
                .unwrap();
        let fields = crate::validate_customer(input, &Default::default()).unwrap();
        let mut customer = crate::Customer::new(fields, "ada", chrono::Utc::now());
        assert!(Reach::All.admits(&customer, "tess"));
        assert!(!Reach::Assigned.admits(&customer, "tess"));
        customer.assignees.push("tess".into());
        assert!(Reach::Assigned.admits(&customer, "tess"));
        assert_eq!(
            Reach::Assigned.listed_assignee("tess", Some("tom".into())),
            Some("tess".into())
        );
        assert_eq!(
            Reach::All.listed_assignee("ada", Some("tom".into())),
            Some("tom".into())
        );
        assert_eq!(Reach::All.listed_assignee("ada", None), None);
    }

    #[test]
    fn roles_combine_and_unknown_roles_grant_nothing() {
        assert_eq!(Grants::of_roles(&["guest"]).view_reach(), Err(View));
        assert_eq!(Grants::of_roles::<&str>(&[]).edit_reach(), Err(Edit));
        let both = Grants::of_roles(&["technician", "Coordinator"]);
        assert_eq!(both.view_reach(), Ok(Reach::All));
    }
}
