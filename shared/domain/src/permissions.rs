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
    Create,
    /// Delete customers that have no history and no linked records.
    Delete,
    /// Bulk upload (CSV import).
    Upload,
    /// Assign and unassign responsible users.
    Assign,
    /// Change a customer's number after creation.
    ChangeCustomerNumber,
    /// Read and change the organisation's customer settings.
    ManageSettings,
}

impl Permission {
    pub fn as_str(self) -> &'static str {
        match self {
            Permission::View => "view",
            Permission::ViewAssigned => "viewAssigned",
            Permission::Edit => "edit",
            Permission::EditAssigned => "editAssigned",
            Permission::Create => "create",
            Permission::Delete => "delete",
            Permission::Upload => "upload",
            Permission::Assign => "assign",
            Permission::ChangeCustomerNumber => "changeCustomerNumber",
            Permission::ManageSettings => "manageSettings",
        }
    }
}

use Permission::*;

const ADMINISTRATOR: &[Permission] = &[
    View,
    Edit,
    Create,
    Delete,
    Upload,
    Assign,
    ChangeCustomerNumber,
    ManageSettings,
];
const COORDINATOR: &[Permission] = &[View, Edit, Create, Upload, Assign];
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

    /// Reading customers: everything with View, one's own with ViewAssigned.
    pub fn view_reach(&self) -> Result<Reach, Permission> {
        self.reach(View, ViewAssigned)
    }

    /// Changing customers: everything with Edit, one's own with EditAssigned.
    pub fn edit_reach(&self) -> Result<Reach, Permission> {
        self.reach(Edit, EditAssigned)
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

    #[test]
    fn roles_combine_and_unknown_roles_grant_nothing() {
        assert_eq!(Grants::of_roles(&["guest"]).view_reach(), Err(View));
        assert_eq!(Grants::of_roles::<&str>(&[]).edit_reach(), Err(Edit));
        let both = Grants::of_roles(&["technician", "Coordinator"]);
        assert_eq!(both.view_reach(), Ok(Reach::All));
    }
}
