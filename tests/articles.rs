//! Article lines of work orders end to end through the API: a new work order of a customer gets
//! the card's work-order default articles as lines and its cost centre (seed 001); a time
//! line's hours entered by PATCH date it that day in the organisation's zone; lines added,
//! changed and removed under If-Match.

use chrono::{FixedOffset, NaiveDate, Utc};
use e2e::work::id_of;
use e2e::{Reply, Session, Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

/// UTC+14 all year (no daylight saving): its date is not UTC's for ten hours of every day.
const ZONE: &str = "Pacific/Kiritimati";

fn zone_today() -> NaiveDate {
    let zone = FixedOffset::east_opt(14 * 3600).expect("a valid offset");
    Utc::now().with_timezone(&zone).date_naive()
}

/// A customer whose card has a cost centre and default articles (a time article at 0 hours
/// and a fixed travel cost for work orders, one service article), with one site.
async fn customer_with_articles(office: &Session<'_>) -> (String, String) {
    let mut card = customer("7101", "Anna", "Berg");
    card["costCentre"] = json!("CC-300");
    card["defaultArticles"] = json!([
        {"articleNumber": "T-100", "description": "Work", "kind": "workOrder",
         "articleType": "time", "quantity": "0", "unit": "h", "unitPrice": 65000},
        {"articleNumber": "R-10", "description": "Travel", "kind": "workOrder",
         "quantity": "1", "unitPrice": 45000},
        {"articleNumber": "S-1", "description": "Service visit", "kind": "service",
         "quantity": "1"}
    ]);
    let created = office.post("/customers", &card).await;
    created.expect(201);
    let id = id_of(&created);
    let site = office
        .post(
            &format!("/customers/{id}/sites"),
            &json!({"name": "Plant room", "address": {"city": "Gävle", "country": "SE"}}),
        )
        .await;
    site.expect(201);
    (id, id_of(&site))
}

fn lines(reply: &Reply) -> Vec<Value> {
    reply.body["lines"].as_array().expect("lines").clone()
}

/// A line as its work order shows it, without its id.
fn without_id(line: &Value) -> Value {
    let mut line = line.clone();
    line.as_object_mut().unwrap().remove("id");
    line
}

#[tokio::test]
async fn a_new_work_order_gets_the_card_s_articles_and_its_time_line_is_dated_when_hours_are_entered()
 {
    // One instance: settings are cached per instance for a while.
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let mut settings = office.get("/settings").await.body;
    settings["timeZone"] = json!(ZONE);
    office
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
    let (id, site) = customer_with_articles(&office).await;
    let orders = format!("/customers/{id}/work-orders");

    let created = office
        .post(
            &orders,
            &json!({"kind": "order", "title": "Heat pump service", "siteId": site}),
        )
        .await;
    created.expect(201);
    assert_eq!(created.body["costCentre"], "CC-300");
    assert_eq!(created.body["currency"], "SEK");
    let given = lines(&created);
    assert_eq!(
        given.iter().map(without_id).collect::<Vec<_>>(),
        [
            json!({"articleNumber": "T-100", "description": "Work", "articleType": "time",
                   "quantity": "0", "unit": "h", "unitPrice": 65000}),
            json!({"articleNumber": "R-10", "description": "Travel", "articleType": "item",
                   "quantity": "1", "unitPrice": 45000}),
        ],
        "the work-order articles, undated; the service article stays off"
    );
    let path = format!("{orders}/{}", id_of(&created));

    // The technician enters the hours: the time line is dated that day.
    let mut time = given[0].clone();
    time["quantity"] = json!("3,5");
    let before = zone_today();
    let entered = office
        .patch(&path, &created.etag(), &json!({"lines": [time, given[1]]}))
        .await;
    entered.expect(200);
    let after = zone_today();
    let time = lines(&entered)[0].clone();
    assert_eq!(time["quantity"], "3.5");
    assert_eq!(time["id"], given[0]["id"]);
    let dated: NaiveDate = time["date"].as_str().expect("dated").parse().unwrap();
    assert!(dated == before || dated == after, "{dated} in {ZONE}");
    assert!(
        lines(&entered)[1].get("date").is_none(),
        "items are not dated"
    );

    // A stale ETag changes nothing.
    office
        .patch(&path, &created.etag(), &json!({"lines": []}))
        .await
        .expect_problem(412, "stale-version");

    // One line changed (its hours stay, so its date does), travel removed, material added.
    let mut changed = time.clone();
    changed["description"] = json!("Work, heat pump");
    let added = json!({"articleNumber": "M-5", "description": "Gasket", "quantity": "2",
                       "unit": "pcs", "unitPrice": 1200});
    let edited = office
        .patch(&path, &entered.etag(), &json!({"lines": [changed, added]}))
        .await;
    edited.expect(200);
    let now = lines(&edited);
    assert_eq!(now.len(), 2);
    assert_eq!(now[0], changed);
    assert_eq!(now[1]["id"].as_str().expect("a new id").len(), 26);
    assert_eq!(
        without_id(&now[1]),
        json!({"articleNumber": "M-5", "description": "Gasket", "articleType": "item",
               "quantity": "2", "unit": "pcs", "unitPrice": 1200})
    );
    assert_eq!(office.get(&path).await.body["lines"], json!(now));

    // Lines are checked like the rest of the work order, with pointers into the list.
    let refused = office
        .patch(
            &path,
            &edited.etag(),
            &json!({"lines": [{"articleNumber": "M-5", "quantity": "-1"}]}),
        )
        .await;
    refused.expect_problem(422, "validation-failed");
    assert_eq!(
        refused.field_errors(),
        vec![("/lines/0/quantity".into(), "invalid_quantity".into())]
    );
}

#[tokio::test]
async fn a_cost_centre_or_lines_given_on_create_override_the_card() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "ada", ADMIN);
    let (id, site) = customer_with_articles(&office).await;
    let orders = format!("/customers/{id}/work-orders");

    let chosen = office
        .post(
            &orders,
            &json!({"kind": "order", "title": "T", "siteId": site, "costCentre": "CC-999",
                    "lines": [{"articleNumber": "T-100", "articleType": "time",
                               "quantity": "1", "date": "2026-03-01"}]}),
        )
        .await;
    chosen.expect(201);
    assert_eq!(chosen.body["costCentre"], "CC-999");
    let given = lines(&chosen);
    assert_eq!(given.len(), 1, "lines given replace the card's");
    assert_eq!(given[0]["date"], "2026-03-01", "a date given is kept");

    let none = office
        .post(
            &orders,
            &json!({"kind": "order", "title": "T", "siteId": site, "lines": []}),
        )
        .await;
    none.expect(201);
    assert_eq!(none.body["lines"], json!([]));
    assert_eq!(none.body["costCentre"], "CC-300");
    let path = format!("{orders}/{}", id_of(&none));
    let removed = office
        .patch(&path, &none.etag(), &json!({"costCentre": null}))
        .await;
    removed.expect(200);
    assert!(removed.body.get("costCentre").is_none());
}
