//! Fields with a permission of their own, end to end: the commercial terms (the call-off
//! rule's inputs) need `changeCommercialTerms`, deactivation and reactivation `changeStatus`.
//! Technicians, who may edit the customers assigned to them, hold neither; coordinators and
//! administrators hold both (docs/permissions.md).

use e2e::{Reply, Session, Suite, customer};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("a customer id").to_owned()
}

#[track_caller]
fn expect_refused(reply: &Reply, permission: &str, fields: &[&str]) {
    reply.expect_problem(403, "forbidden");
    assert_eq!(
        reply.body["missingPermission"], permission,
        "{}",
        reply.body
    );
    assert_eq!(reply.body["fields"], json!(fields), "{}", reply.body);
}

/// An account customer with terms from accounting, assigned to `assignee`; its path.
async fn account_customer(admin: &Session<'_>, number: &str, assignee: &str) -> String {
    let mut body = customer(number, "Åsa", "Öberg");
    body["terms"] = json!({"paymentType": "account", "currency": "SEK", "creditLimit": 500000,
                           "paymentTerms": "net30", "openBalance": 100000});
    let created = admin.post("/customers", &body).await;
    created.expect(201);
    let path = format!("/customers/{}", id_of(&created));
    admin
        .put_empty(&format!("{path}/assignees/{assignee}"))
        .await
        .expect(200);
    path
}

/// Each commercial term alone, then several at once: the fields the refusal names.
fn commercial_patches() -> Vec<(Value, Vec<&'static str>)> {
    vec![
        (
            json!({"terms": {"creditLimit": 9000000}}),
            vec!["/terms/creditLimit"],
        ),
        (json!({"onHold": true}), vec!["/onHold"]),
        (
            json!({"terms": {"openBalance": 0}}),
            vec!["/terms/openBalance"],
        ),
        (
            json!({"terms": {"creditLimit": null}}),
            vec!["/terms/creditLimit"],
        ),
        (json!({"tier": "vip"}), vec!["/tier"]),
        (
            json!({"terms": {"paymentType": "cash"}}),
            vec!["/terms/paymentType"],
        ),
        (
            json!({"terms": {"paymentTerms": "net60"}}),
            vec!["/terms/paymentTerms"],
        ),
        (
            json!({"terms": {"currency": "EUR"}}),
            vec!["/terms/currency"],
        ),
        (
            json!({"firstName": "Anna", "onHold": true,
                   "terms": {"creditLimit": 9000000, "openBalance": 0}}),
            vec!["/terms/creditLimit", "/terms/openBalance", "/onHold"],
        ),
    ]
}

#[tokio::test]
async fn an_assigned_technician_may_not_change_commercial_terms_or_status() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    let tess = suite.user("acme", "tess", &["technician"]);
    let path = account_customer(&admin, "1", "tess").await;
    let before = tess.get(&path).await;
    before.expect(200);
    let etag = before.etag();

    for (patch, fields) in commercial_patches() {
        let refused = tess.patch(&path, &etag, &patch).await;
        expect_refused(&refused, "changeCommercialTerms", &fields);
    }
    for action in ["deactivate", "reactivate"] {
        let refused = tess.post(&format!("{path}/{action}"), &json!({})).await;
        // Reactivating an active customer would change nothing, and is refused all the same:
        // the route is the action, whatever the customer's status.
        expect_refused(&refused, "changeStatus", &["/status"]);
    }
    let after = tess.get(&path).await;
    assert_eq!(after.etag(), etag, "nothing was written");
    assert_eq!(after.body, before.body);
    let history = admin.get(&format!("{path}/history")).await;
    assert_eq!(
        history.body["items"].as_array().unwrap().len(),
        2,
        "created and assigned, nothing else: {}",
        history.body
    );

    // What technicians may change, they still change; a commercial term sent back with the
    // value it has is no change.
    let renamed = tess
        .patch(
            &path,
            &etag,
            &json!({"firstName": "Anna", "onHold": false, "terms": {"creditLimit": 500000}}),
        )
        .await;
    renamed.expect(200);
    assert_eq!(renamed.body["firstName"], "Anna");
    let contact = tess
        .post(&format!("{path}/contacts"), &json!({"firstName": "Cia"}))
        .await;
    contact.expect(201);
    let contact_path = format!("{path}/contacts/{}", contact.body["id"].as_str().unwrap());
    tess.send_json(
        http::Method::PATCH,
        &contact_path,
        &[],
        &json!({"role": "CFO"}),
    )
    .await
    .expect(200);
    tess.delete(&contact_path).await.expect(204);
}

#[tokio::test]
async fn coordinators_and_administrators_change_commercial_terms_and_status() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    for (number, user, roles) in [("10", "cole", &["coordinator"][..]), ("11", "ada", ADMIN)] {
        let session = suite.user("acme", user, roles);
        let path = account_customer(&admin, number, user).await;
        for (patch, _) in commercial_patches() {
            let etag = session.get(&path).await.etag();
            session.patch(&path, &etag, &patch).await.expect(200);
        }
        let changed = session.get(&path).await;
        assert_eq!(changed.body["onHold"], true, "{user}");
        assert_eq!(changed.body["terms"]["creditLimit"], 9000000, "{user}");
        assert_eq!(changed.body["terms"]["openBalance"], 0, "{user}");
        let deactivated = session
            .post(&format!("{path}/deactivate"), &json!({}))
            .await;
        deactivated.expect(200);
        assert_eq!(deactivated.body["status"], "inactive");
        let reactivated = session
            .post(&format!("{path}/reactivate"), &json!({}))
            .await;
        reactivated.expect(200);
        assert_eq!(reactivated.body["status"], "active");
        session
            .post(&format!("{path}/contacts"), &json!({"firstName": "Cia"}))
            .await
            .expect(201);
    }
}

/// GET /me: each caller learns its organisation, user, roles and what they grant, from the
/// mapping the API checks with, so an app need not copy it.
#[tokio::test]
async fn a_caller_learns_its_roles_and_the_permissions_they_grant() {
    let suite = Suite::start().await;
    let cases: [(&str, &[&str], Value); 4] = [
        (
            "ada",
            ADMIN,
            json!([
                "view",
                "edit",
                "changeCommercialTerms",
                "changeStatus",
                "create",
                "delete",
                "upload",
                "export",
                "assign",
                "changeCustomerNumber",
                "manageSettings",
                "merge",
                "erase"
            ]),
        ),
        (
            "tess",
            &["technician"],
            json!(["viewAssigned", "editAssigned"]),
        ),
        // Two roles grant what either does, once each, in the documented order.
        (
            "cleo",
            &["technician", "Coordinator"],
            json!([
                "view",
                "viewAssigned",
                "edit",
                "editAssigned",
                "changeCommercialTerms",
                "changeStatus",
                "create",
                "upload",
                "export",
                "assign"
            ]),
        ),
        ("guest", &["visitor"], json!([])),
    ];
    for (user, roles, permissions) in cases {
        let me = suite.user("acme", user, roles).get("/me").await;
        me.expect(200);
        assert_eq!(
            me.body,
            json!({"organisation": "acme", "user": user, "roles": roles, "permissions": permissions}),
            "{user}"
        );
    }
    suite
        .user("acme", "ada", ADMIN)
        .get("/me?verbose=1")
        .await
        .expect_problem(400, "invalid-parameter");
}
