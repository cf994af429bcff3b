//! The message a technician gets (JSON, versioned: docs/notifications.md). Additive changes
//! keep `schemaVersion` 1; anything a subscriber could misread raises it.

use chrono::{DateTime, Utc};
use domain::{Customer, WorkOrder};
use serde::Serialize;
use store::Assignment;

pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EventType {
    Assigned,
    Unassigned,
    WorkOrderCreated,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Assigned => "assigned",
            EventType::Unassigned => "unassigned",
            EventType::WorkOrderCreated => "workOrderCreated",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CustomerRef {
    pub id: String,
    pub customer_number: String,
    pub name: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct WorkOrderRef {
    pub id: String,
    pub kind: domain::WorkOrderKind,
    pub title: String,
    pub site_id: String,
    pub status: domain::WorkStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub window: Option<domain::Window>,
}

/// One notification to one technician.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Notice {
    pub schema_version: u32,
    #[serde(rename = "type")]
    pub event_type: EventType,
    pub tenant: String,
    pub user_id: String,
    pub occurred_at: DateTime<Utc>,
    pub customer: CustomerRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub work_order: Option<WorkOrderRef>,
}

impl Notice {
    /// The assignment item carries the customer's number and name: no read needed.
    pub fn of_assignment(event_type: EventType, tenant: &str, assignment: &Assignment) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_type,
            tenant: tenant.to_owned(),
            user_id: assignment.user_id.clone(),
            occurred_at: match event_type {
                EventType::Assigned => assignment.assigned_at,
                _ => Utc::now(),
            },
            customer: CustomerRef {
                id: assignment.customer_id.0.clone(),
                customer_number: assignment.customer_number.clone(),
                name: assignment.customer_name.clone(),
            },
            work_order: None,
        }
    }

    pub fn of_work_order(
        tenant: &str,
        user: &str,
        customer: &Customer,
        work_order: &WorkOrder,
    ) -> Self {
        Self {
            schema_version: SCHEMA_VERSION,
            event_type: EventType::WorkOrderCreated,
            tenant: tenant.to_owned(),
            user_id: user.to_owned(),
            occurred_at: work_order.created_at,
            customer: CustomerRef {
                id: customer.id.0.clone(),
                customer_number: customer.fields.customer_number.clone(),
                name: customer.fields.display_name(),
            },
            work_order: Some(WorkOrderRef {
                id: work_order.id.clone(),
                kind: work_order.fields.kind,
                title: work_order.fields.title.clone(),
                site_id: work_order.fields.site_id.clone(),
                status: work_order.fields.status,
                window: work_order.fields.window,
            }),
        }
    }

    pub fn body(&self) -> String {
        serde_json::to_string(self).expect("a notice serialises")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_assignment_message_has_the_documented_shape() {
        let assignment = Assignment {
            tenant_id: "acme".into(),
            customer_id: domain::CustomerId("01J".into()),
            customer_number: "1001".into(),
            customer_name: "Berg, Anna".into(),
            user_id: "tech-1".into(),
            assigned_by: "ada".into(),
            assigned_at: "2026-12-01T10:00:00Z".parse().unwrap(),
        };
        let notice = Notice::of_assignment(EventType::Assigned, "acme", &assignment);
        let body: serde_json::Value = serde_json::from_str(&notice.body()).unwrap();
        assert_eq!(
            body,
            serde_json::json!({"schemaVersion": 1, "type": "assigned", "tenant": "acme",
                "userId": "tech-1", "occurredAt": "2026-12-01T10:00:00Z",
                "customer": {"id": "01J", "customerNumber": "1001", "name": "Berg, Anna"}})
        );
    }
}
