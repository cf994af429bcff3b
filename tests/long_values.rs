//! Values too long for DynamoDB's keys (a partition key value stops at 2048 bytes, a sort key
//! value at 1024) in every place a request can put one: every path id of every route, the
//! query parameters that become keys (`q`, `number`, `email`, `phone`, `assignedTo`, the
//! cursor, and every other one), the Idempotency-Key, and the body fields that become keys or
//! name records by id. Each answers a 4xx problem document, never a 500 (which pages the
//! operator); within the bounds docs/openapi.yaml states, requests still work.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use customers_api::routes::Route;
use e2e::work::{customer_with_site, id_of, window, work_order};
use e2e::{Reply, Session, Suite, customer};
use http::Method;
use serde_json::json;

/// Past every key limit, in ASCII (3000 bytes) and in multi-byte text (1400 bytes, 700
/// characters: fewer characters than a sort key has bytes).
fn long_values() -> [String; 2] {
    ["A".repeat(3000), "å".repeat(700)]
}

/// What answered other than a 4xx problem document.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, reply: &Reply, what: &str) {
        let problem = reply.header("content-type") == Some("application/problem+json");
        if !(400..500).contains(&reply.status) || !problem {
            let what: String = what.chars().take(80).collect();
            let body: String = reply.body.to_string().chars().take(160).collect();
            self.0.push(format!("{what}: {} {body}", reply.status));
        }
    }
}

/// A request to the route with its path parameters filled in by `fill`.
async fn send(session: &Session<'_>, route: Route, fill: impl Fn(&str) -> String) -> Reply {
    let mut path = route.path().to_owned();
    while let Some(start) = path.find('{') {
        let end = path[start..].find('}').expect("a closed parameter") + start;
        let value = fill(&path[start + 1..end]);
        path.replace_range(start..=end, &value);
    }
    let method: Method = route.method().parse().expect("a method");
    let headers = [("if-match", "\"1\""), ("content-type", "application/json")];
    let body = matches!(method, Method::POST | Method::PATCH | Method::PUT).then(|| b"{}".to_vec());
    session.send(method, &path, &headers, body).await
}

fn percent_encoded(value: &str) -> String {
    value
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[tokio::test]
async fn over_long_values_answer_problems_never_500() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "admin-1", &["administrator"]);
    let (customer_id, site) = customer_with_site(&admin, "7301").await;
    let order = work_order(&admin, &customer_id, &site, "order").await;
    order.expect(201);
    let order = id_of(&order);
    let mut failures = Failures::default();
    let mut assert_problem = |reply: &Reply, what: &str| failures.check(reply, what);

    for long in long_values() {
        let encoded = percent_encoded(&long);
        // Every route with every path id too long, and with a real customer and the other
        // ids too long.
        for route in Route::ALL.into_iter().filter(|r| r.path().contains('{')) {
            let reply = send(&admin, route, |_| encoded.clone()).await;
            assert_problem(&reply, &format!("{} with long ids", route.key()));
            let other_ids = route.path().replace("{customerId}", "");
            if !other_ids.contains('{') {
                continue;
            }
            let reply = send(&admin, route, |param| {
                if param == "customerId" {
                    customer_id.clone()
                } else {
                    encoded.clone()
                }
            })
            .await;
            assert_problem(&reply, &format!("{} with long sub-ids", route.key()));
        }

        // Every query parameter of the customer list, and the sub-lists' filters and cursors.
        let customers = "/customers";
        let mut queries: Vec<String> = [
            "q",
            "number",
            "email",
            "phone",
            "assignedTo",
            "tag",
            "cursor",
            "sort",
            "status",
            "paymentTerms",
            "paymentType",
        ]
        .iter()
        .map(|name| format!("{customers}?{name}={encoded}"))
        .collect();
        for (list, filter) in [
            ("sites", "order"),
            ("contracts", "order"),
            ("work-orders", "status"),
            ("jobs", "workOrderId"),
            ("tickets", "jobId"),
        ] {
            queries.push(format!("/customers/{customer_id}/{list}?cursor={encoded}"));
            queries.push(format!(
                "/customers/{customer_id}/{list}?{filter}={encoded}"
            ));
        }
        for path in [
            format!("/customers/{customer_id}/history"),
            format!("/customers/{customer_id}/inventory"),
            "/imports".to_owned(),
            "/users/tech-1/customers".to_owned(),
        ] {
            queries.push(format!("{path}?cursor={encoded}"));
        }
        for path in &queries {
            assert_problem(&admin.get(path).await, path);
        }

        // Body fields that become keys or name records.
        let mut body = customer("7302", "Bo", "Ek");
        for field in ["customerNumber", "email", "phone", "mobile"] {
            let mut bad = body.clone();
            bad[field] = json!(long);
            assert_problem(&admin.post(customers, &bad).await, field);
        }
        body["externalRefs"] = json!([{"system": "quickbooks", "id": long}]);
        assert_problem(&admin.post(customers, &body).await, "externalRefs");
        let records = format!("/customers/{customer_id}");
        for (path, body) in [
            (
                format!("{records}/work-orders"),
                json!({"kind": "order", "title": "T", "siteId": long}),
            ),
            (
                format!("{records}/contracts"),
                json!({"name": "S", "period": {"start": "2026-01-01"}, "siteIds": [long]}),
            ),
            (
                format!("{records}/tickets"),
                json!({"jobId": long, "material": "M", "quantity": "1", "unit": "pcs",
                       "at": "2026-12-01T09:30:00Z"}),
            ),
            (
                format!("{records}/work-orders/{order}/jobs"),
                json!({"window": window(1), "technicians": [long]}),
            ),
        ] {
            assert_problem(&admin.post(&path, &body).await, &path);
        }
        let patch = json!({"technician": long, "status": "scheduled",
                           "window": window(1)});
        let path = format!("{records}/work-orders/{order}");
        let current = admin.get(&path).await;
        assert_problem(
            &admin.patch(&path, &current.etag(), &patch).await,
            "technician",
        );

        // The Idempotency-Key.
        let reply = admin
            .send_json(
                Method::POST,
                customers,
                &[("idempotency-key", long.as_str())],
                &customer("7303", "Cay", "Ek"),
            )
            .await;
        assert_problem(&reply, "Idempotency-Key");
    }

    // A cursor of the right shape whose sort key is past DynamoDB's limit.
    let forged = json!({"PK": "x", "SK": "x", "GSI1PK": "T#acme#CUSTOMERS",
                        "GSI1SK": format!("active#{}", "a".repeat(1100))});
    let cursor = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
    assert_problem(
        &admin.get(&format!("/customers?cursor={cursor}")).await,
        "forged cursor",
    );

    let failures = failures.0;
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );

    // No request above wrote anything.
    let listed = admin.get("/customers").await;
    listed.expect(200);
    assert_eq!(listed.body["items"].as_array().map(Vec::len), Some(1));
}

/// Values at the bounds docs/openapi.yaml states are answered, whatever their bytes: a name
/// prefix of 200 characters that folding grows to more than a sort key holds, the longest
/// e-mail, user id and number.
#[tokio::test]
async fn values_at_the_bounds_are_answered() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "admin-1", &["administrator"]);
    admin
        .post("/customers", &customer("7401", "Anna", "Berg"))
        .await
        .expect(201);
    let ligature = percent_encoded(&"\u{FDFA}".repeat(200));
    let email = format!("{}@example.com", "a".repeat(242));
    for path in [
        format!("/customers?q={}", "a".repeat(200)),
        format!("/customers?q={ligature}"),
        format!("/customers?email={}", percent_encoded(&email)),
        format!("/customers?number={}", "9".repeat(64)),
        format!("/customers?assignedTo={}", "u".repeat(128)),
        format!("/users/{}/customers", "u".repeat(128)),
    ] {
        let reply = admin.get(&path).await;
        reply.expect(200);
        assert_eq!(reply.body["items"], json!([]), "{path}");
    }
    let named = admin.get("/customers?q=ann").await;
    assert_eq!(named.body["items"].as_array().map(Vec::len), Some(1));
    for (path, parameter) in [
        (format!("/customers?q={}", "a".repeat(201)), "q"),
        (
            format!("/customers?assignedTo={}", "u".repeat(129)),
            "assignedTo",
        ),
        (format!("/customers?number={}", "9".repeat(65)), "number"),
    ] {
        let reply = admin.get(&path).await;
        reply.expect_problem(400, "invalid-parameter");
        assert_eq!(reply.body["parameter"], parameter);
    }
    admin
        .get(&format!("/customers/{}", "A".repeat(27)))
        .await
        .expect_problem(404, "not-found");
}

/// An uploaded file whose values would make keys too long (the customer number, external id
/// and e-mail each name a guard or lookup item) refuses those rows with errors in the report;
/// the import completes and imports the good row.
#[tokio::test]
async fn over_long_values_in_an_import_are_row_errors() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "admin-1", &["administrator"]);
    let long = "7".repeat(3000);
    let file = format!(
        "Customer Number,External ID,First Name,Last Name,Email\n\
         7501,,Anna,Berg,anna@example.com\n\
         {long},,Bo,Ek,bo@example.com\n\
         7503,{long},Cay,Ek,cay@example.com\n\
         7504,,Dan,Ek,{long}@example.com\n"
    );
    let done = admin
        .import_csv(&json!({"fileName": "long.csv"}), file.as_bytes())
        .await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(done["counts"]["created"], 1, "{done}");
    assert_eq!(done["counts"]["failed"], 3, "{done}");
    let text = admin.error_report(&done).await;
    let codes: Vec<(&str, &str)> = text
        .lines()
        .skip(1)
        .map(|line| {
            let mut cells = line.split(',');
            (cells.nth(2).unwrap_or(""), cells.next().unwrap_or(""))
        })
        .collect();
    assert_eq!(
        codes,
        [
            ("/customerNumber", "too_long"),
            ("/externalRefs/0/id", "too_long"),
            ("/email", "invalid_email"),
        ],
        "{text}"
    );
}

/// A verified token whose subject no key may hold (a user id goes into keys: assignments, a
/// technician's list) is refused before anything is read: 401, never a 500.
#[tokio::test]
async fn a_token_subject_no_key_may_hold_is_refused() {
    let suite = Suite::start().await;
    for sub in ["x".repeat(3000), "mallory#T#acme".to_owned()] {
        let session = suite.with_claims(serde_json::json!({
            "iss": devhost::token::ISSUER, "aud": devhost::token::AUDIENCE,
            "sub": sub, "tenant_id": "acme", "roles": ["administrator"],
            "exp": 4_000_000_000u64
        }));
        let reply = session.get("/customers").await;
        assert_eq!(reply.status, 401, "{}", reply.body);
        assert_eq!(
            reply.header("content-type"),
            Some("application/problem+json")
        );
    }
}
