//! Organisation settings and what each one does; customer numbers generated and changed.
//! One function instance per suite: an instance sees its own settings change at once (others
//! within the settings cache time, see functions/customers-api/src/app.rs).

use e2e::{Reply, Session, Suite, customer};
use futures::future::join_all;
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

async fn put_settings(admin: &Session<'_>, changes: Value) -> Reply {
    let mut settings = admin.get("/settings").await.body;
    for (key, value) in changes.as_object().unwrap() {
        settings[key] = value.clone();
    }
    admin
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
}

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("a customer id").to_owned()
}

#[tokio::test]
async fn every_role_reads_the_settings_only_administrators_change_them_and_bad_ones_are_refused() {
    let suite = Suite::start_with(1).await;
    let admin = suite.user("acme", "ada", ADMIN);
    let coordinator = suite.user("acme", "cole", &["coordinator"]);
    let technician = suite.user("acme", "tess", &["technician"]);
    let defaults = admin.get("/settings").await;
    defaults.expect(200);
    assert_eq!(defaults.etag(), "\"0\"");
    assert_eq!(defaults.body["numberMaxLength"], 30);
    // Apps of every role draw their forms from the settings.
    for reader in [&coordinator, &technician] {
        let read = reader.get("/settings").await;
        read.expect(200);
        assert_eq!(read.etag(), defaults.etag());
        assert_eq!(read.body, defaults.body);
    }
    let nobody = suite
        .user("acme", "guest", &["guest"])
        .get("/settings")
        .await;
    nobody.expect_problem(403, "forbidden");
    assert_eq!(nobody.body["missingPermission"], "viewAssigned");
    for writer in [&coordinator, &technician] {
        let refused = writer
            .send_json(http::Method::PUT, "/settings", &[], &defaults.body)
            .await;
        refused.expect_problem(403, "forbidden");
        assert_eq!(refused.body["missingPermission"], "manageSettings");
    }

    let bad = put_settings(
        &admin,
        json!({"numberMinLength": 0, "defaultCountry": "XX"}),
    )
    .await;
    bad.expect_problem(422, "validation-failed");
    assert_eq!(bad.field_errors().len(), 2);
    let saved = put_settings(&admin, json!({"defaultCountry": "se"})).await;
    saved.expect(200);
    assert_eq!(saved.body["defaultCountry"], "SE");
    assert_eq!(saved.etag(), "\"1\"");
    let stale = admin
        .send_json(
            http::Method::PUT,
            "/settings",
            &[("if-match", "\"0\"")],
            &saved.body,
        )
        .await;
    stale.expect_problem(412, "stale-version");
}

#[tokio::test]
async fn the_sms_policy_reads_as_its_safe_defaults_and_a_bad_one_is_refused_member_by_member() {
    let suite = Suite::start_with(1).await;
    let admin = suite.user("acme", "ada", ADMIN);
    let defaults = admin.get("/settings").await;
    assert_eq!(
        defaults.body["smsPolicy"],
        json!({"dailyLimit": 1000, "dailyLimitPerNumber": 6, "limitPerJobAndTrigger": 3}),
        "no countries: the default country's, and a new organisation has none"
    );
    let bad = put_settings(
        &admin,
        json!({"smsPolicy": {"countries": ["SE", "xx", "se"], "dailyLimit": 0,
                             "dailyLimitPerNumber": 51, "limitPerJobAndTrigger": 11}}),
    )
    .await;
    bad.expect_problem(422, "validation-failed");
    assert_eq!(
        bad.field_errors(),
        [
            ("/smsPolicy/countries/1", "unknown_country"),
            ("/smsPolicy/countries/2", "duplicate"),
            ("/smsPolicy/dailyLimit", "invalid_range"),
            ("/smsPolicy/dailyLimitPerNumber", "invalid_range"),
            ("/smsPolicy/limitPerJobAndTrigger", "invalid_range"),
        ]
        .map(|(field, code)| (field.to_owned(), code.to_owned()))
    );
    let unknown = put_settings(&admin, json!({"smsPolicy": {"monthlyLimit": 5}})).await;
    assert_eq!(unknown.status, 422, "{}", unknown.body);
    let saved = put_settings(
        &admin,
        json!({"smsPolicy": {"countries": ["no"], "dailyLimitPerNumber": 10}}),
    )
    .await;
    saved.expect(200);
    assert_eq!(
        saved.body["smsPolicy"],
        json!({"countries": ["NO"], "dailyLimit": 1000, "dailyLimitPerNumber": 10,
               "limitPerJobAndTrigger": 3})
    );
    assert_eq!(admin.get("/settings").await.body, saved.body);
}

#[tokio::test]
async fn defaults_and_required_channels_shape_new_customers_but_never_lock_old_ones() {
    let suite = Suite::start_with(1).await;
    let admin = suite.user("acme", "ada", ADMIN);
    let old = admin
        .post(
            "/customers",
            &json!({"customerNumber": "1", "firstName": "Old", "lastName": "Timer"}),
        )
        .await;
    old.expect(201);

    put_settings(
        &admin,
        json!({"defaultCountry": "SE", "defaultLanguage": "sv", "defaultPaymentTerms": "net30",
               "requiredChannels": ["email", "mobile"], "numberInDisplayName": true}),
    )
    .await
    .expect(200);

    let missing = admin
        .post(
            "/customers",
            &json!({"customerNumber": "2", "firstName": "New", "email": "new@example.com"}),
        )
        .await;
    missing.expect_problem(422, "validation-failed");
    assert_eq!(
        missing.field_errors(),
        vec![("/mobile".into(), "required_channel".into())]
    );

    let new = admin
        .post(
            "/customers",
            &json!({"customerNumber": "2", "firstName": "New", "email": "new@example.com", "mobile": "070-123 45 67"}),
        )
        .await;
    new.expect(201);
    assert_eq!(
        new.body["mobile"], "+46701234567",
        "national number read with the default country"
    );
    assert_eq!(new.body["language"], "sv");
    assert_eq!(new.body["terms"]["paymentTerms"], "net30");
    assert_eq!(new.body["displayName"], "2 New");

    let path = format!("/customers/{}", id_of(&old));
    admin
        .patch(
            &path,
            "\"1\"",
            &json!({"description": "still editable without e-mail"}),
        )
        .await
        .expect(200);
    let with_email = admin
        .patch(&path, "\"2\"", &json!({"email": "old@example.com"}))
        .await;
    with_email.expect(200);
    let removed = admin.patch(&path, "\"3\"", &json!({"email": null})).await;
    removed.expect_problem(422, "validation-failed");
    assert_eq!(
        removed.field_errors(),
        vec![("/email".into(), "required_channel".into())]
    );
}

#[tokio::test]
async fn generated_numbers_are_unique_even_when_created_at_once() {
    let suite = Suite::start_with(4).await;
    let admin = suite.user("acme", "ada", ADMIN);
    put_settings(
        &admin,
        json!({"autoNumber": true, "autoNumberPrefix": "C-", "numberMinLength": 6}),
    )
    .await
    .expect(200);
    // Other instances may still hold the old settings for a few seconds.
    tokio::time::sleep(std::time::Duration::from_secs(11)).await;

    let first = admin
        .post("/customers", &json!({"firstName": "Anna"}))
        .await;
    first.expect(201);
    assert_eq!(first.body["customerNumber"], "C-0001");
    admin
        .post(
            "/customers",
            &json!({"customerNumber": "C-0002", "firstName": "Typed"}),
        )
        .await
        .expect(201);
    let next = admin.post("/customers", &json!({"firstName": "Bo"})).await;
    assert_eq!(
        next.body["customerNumber"], "C-0003",
        "a number typed by hand is skipped"
    );

    let replies = join_all((0..10).map(|i| {
        let admin = admin.clone();
        async move {
            admin
                .post("/customers", &json!({"firstName": format!("P{i}")}))
                .await
        }
    }))
    .await;
    let mut numbers: Vec<String> = replies
        .iter()
        .map(|r| {
            r.expect(201).body["customerNumber"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    numbers.sort();
    numbers.dedup();
    assert_eq!(numbers.len(), 10, "ten distinct numbers: {numbers:?}");
}

/// A blank number, as a form sends an empty field, is an absent one: with automatic numbering
/// it gets the next number (it was refused `required` before); without, it stays required.
#[tokio::test]
async fn a_blank_number_is_generated_like_an_absent_one_where_numbering_is_automatic() {
    let suite = Suite::start_with(1).await;
    let admin = suite.user("acme", "ada", ADMIN);
    let unnumbered = admin
        .post(
            "/customers",
            &json!({"customerNumber": "  ", "firstName": "Anna"}),
        )
        .await;
    unnumbered.expect_problem(422, "validation-failed");
    assert_eq!(
        unnumbered.field_errors(),
        vec![("/customerNumber".into(), "required".into())]
    );

    put_settings(
        &admin,
        json!({"autoNumber": true, "autoNumberPrefix": "C-"}),
    )
    .await
    .expect(200);
    for (blank, name) in [("  ", "Anna"), ("", "Bo")] {
        let created = admin
            .post(
                "/customers",
                &json!({"customerNumber": blank, "firstName": name}),
            )
            .await;
        created.expect(201);
        let number = created.body["customerNumber"].as_str().unwrap();
        assert!(number.starts_with("C-"), "{number:?} for {blank:?}");
    }
}

#[tokio::test]
async fn custom_fields_are_validated_and_can_be_retired() {
    let suite = Suite::start_with(1).await;
    let admin = suite.user("acme", "ada", ADMIN);
    let fields = json!([
        {"key": "gateCode", "label": "Gate code", "type": "text"},
        {"key": "contractTier", "label": "Contract tier", "type": "choice", "options": ["gold", "silver"], "required": true}
    ]);
    put_settings(&admin, json!({"customFields": fields}))
        .await
        .expect(200);

    let bad = admin
        .post("/customers", &json!({"customerNumber": "1", "firstName": "A", "customFields": {"contractTier": "bronze", "colour": "red"}}))
        .await;
    bad.expect_problem(422, "validation-failed");
    let errors = bad.field_errors();
    assert!(errors.contains(&(
        "/customFields/contractTier".into(),
        "invalid_custom_value".into()
    )));
    assert!(errors.contains(&("/customFields/colour".into(), "unknown_custom_field".into())));

    let good = admin
        .post("/customers", &json!({"customerNumber": "1", "firstName": "A", "customFields": {"contractTier": "gold", "gateCode": "1234"}}))
        .await;
    good.expect(201);
    assert_eq!(good.body["customFields"]["contractTier"], "gold");

    let removed = put_settings(&admin, json!({"customFields": [fields[1].clone()]})).await;
    removed.expect_problem(422, "validation-failed");
    let mut retired = fields.clone();
    retired[0]["retired"] = json!(true);
    put_settings(&admin, json!({"customFields": retired}))
        .await
        .expect(200);
    let path = format!("/customers/{}", id_of(&good));
    let edited = admin
        .patch(&path, "\"1\"", &json!({"description": "x"}))
        .await;
    edited.expect(200);
    assert_eq!(
        edited.body["customFields"]["gateCode"], "1234",
        "retired values are kept"
    );
}

#[tokio::test]
async fn a_customer_number_changes_atomically_and_only_by_administrators() {
    let suite = Suite::start_with(4).await;
    let admin = suite.user("acme", "ada", ADMIN);
    let other_admin = suite.user("acme", "otto", ADMIN);
    let coordinator = suite.user("acme", "cole", &["coordinator"]);
    let a = id_of(
        &admin
            .post("/customers", &customer("100", "Anna", "Berg"))
            .await,
    );
    let b = id_of(&admin.post("/customers", &customer("200", "Bo", "Ek")).await);

    let refused = coordinator
        .post(
            &format!("/customers/{a}/number"),
            &json!({"customerNumber": "101"}),
        )
        .await;
    refused.expect_problem(403, "forbidden");
    assert_eq!(refused.body["missingPermission"], "changeCustomerNumber");

    let changed = admin
        .post(
            &format!("/customers/{a}/number"),
            &json!({"customerNumber": "101"}),
        )
        .await;
    changed.expect(200);
    assert_eq!(changed.body["customerNumber"], "101");
    let history = admin.get(&format!("/customers/{a}/history")).await;
    assert_eq!(history.body["items"][0]["kind"], "numberChanged");
    assert_eq!(
        history.body["items"][0]["changes"],
        json!([{"field": "/customerNumber", "before": "100", "after": "101"}])
    );
    assert_eq!(
        admin.get("/customers?number=100").await.body["items"],
        json!([])
    );
    let mut new_owner = customer("100", "New", "Owner");
    new_owner["email"] = json!("new.owner@example.com");
    admin
        .post("/customers?confirmDuplicates=true", &new_owner)
        .await
        .expect(201); // the old number was freed

    // Two administrators move two customers to the same number at once: one wins.
    let (path_a, path_b) = (
        format!("/customers/{a}/number"),
        format!("/customers/{b}/number"),
    );
    let body = json!({"customerNumber": "999"});
    let (ra, rb) = tokio::join!(admin.post(&path_a, &body), other_admin.post(&path_b, &body));
    let mut statuses = [ra.status, rb.status];
    statuses.sort();
    assert_eq!(statuses, [200, 409], "{} / {}", ra.body, rb.body);
    let holder = admin.get("/customers?number=999").await;
    assert_eq!(holder.body["items"].as_array().unwrap().len(), 1);
}
