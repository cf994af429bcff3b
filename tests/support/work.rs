//! Helpers for tests of a customer's work: a customer with a site, work orders moved along
//! the state machine through the API, jobs and tickets.

use serde_json::{Value, json};

use crate::{Reply, Session, customer};

pub fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("an id").to_owned()
}

/// A two-hour window on a December morning, `day` days in.
pub fn window(day: u32) -> Value {
    json!({"start": format!("2026-12-{:02}T08:00:00+01:00", day + 1),
           "end": format!("2026-12-{:02}T10:00:00+01:00", day + 1)})
}

/// A new customer with one site: (customer id, site id).
pub async fn customer_with_site(office: &Session<'_>, number: &str) -> (String, String) {
    let created = office
        .post("/customers", &customer(number, "Anna", "Berg"))
        .await;
    created.expect(201);
    let id = id_of(&created);
    let site = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "Plant room", "address": {"line1": "Hamnvägen 3",
                    "city": "Gävle", "country": "SE"}}),
        )
        .await;
    site.expect(201);
    (id, id_of(&site))
}

/// A planned work order with an open and a done task.
pub async fn work_order(office: &Session<'_>, customer: &str, site: &str, kind: &str) -> Reply {
    office
        .post(
            &format!("/customers/{customer}/work-orders"),
            &json!({"kind": kind, "title": "Heat pump service", "siteId": site,
                    "tasks": [{"title": "Check the filters", "status": "done"},
                              {"title": "Replace the gasket"}]}),
        )
        .await
}

/// Moves a work order (or job) at `path` through `statuses`, one PATCH each; the first move
/// to `scheduled` also sets a window and a technician. Returns the last reply.
pub async fn move_through(office: &Session<'_>, path: &str, statuses: &[&str]) -> Reply {
    let mut current = office.get(path).await;
    for status in statuses {
        let mut patch = json!({"status": status});
        if *status == "scheduled" && current.body.get("window").is_none() {
            patch["window"] = window(1);
            patch["technician"] = json!("tech-1");
        }
        current = office.patch(path, &current.etag(), &patch).await;
        current.expect(200);
    }
    current
}

/// A scheduled job of a work order.
pub async fn job(office: &Session<'_>, customer: &str, work_order: &str, day: u32) -> Reply {
    office
        .post(
            &format!("/customers/{customer}/work-orders/{work_order}/jobs"),
            &json!({"window": window(day), "technicians": ["tech-1", "tech-2"]}),
        )
        .await
}
