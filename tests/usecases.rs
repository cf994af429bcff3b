//! The API's rules tested on its use cases, without HTTP: an `App` over a fresh table of the
//! emulator, a `Scope` made directly from a caller (tenant, grants from roles, the
//! organisation's settings), and the use cases called with typed input. What the handlers add
//! (reading requests, writing responses) is tested end to end in api.rs and its neighbours.

use customers_api::App;
use customers_api::bucket::ImportsBucket;
use customers_api::usecases::customers::{self, Search};
use customers_api::usecases::idempotency::Retry;
use customers_api::usecases::{
    Created, PageRequest, Scope, assignments, history, linked, notes, sites, work_orders,
};
use domain::{ChangeKind, Customer, CustomerStatus, Grants, Note, SiteInput, WorkOrderInput};
use kit::{Caller, Problem};
use serde_json::{Value, json};
use store::TenantId;

const ADMIN: &[&str] = &["administrator"];
const TECHNICIAN: &[&str] = &["technician"];

/// The API's application over a table of its own. The imports bucket is named but never
/// touched: none of these use cases presigns.
async fn app() -> App {
    let (_, table) = e2e::fresh_table().await;
    let credentials = aws_sdk_s3::config::SharedCredentialsProvider::new(
        aws_sdk_s3::config::Credentials::new("test", "test", None, None, "tests"),
    );
    App::new(
        e2e::store(table).await,
        ImportsBucket::new(kit::objects::Bucket::at(
            "us-east-1",
            None,
            credentials,
            e2e::unique_name("imports"),
        )),
    )
}

/// A caller of organisation `acme` with `roles`.
async fn scope(app: &App, user: &str, roles: &[&str]) -> Scope {
    scope_in(app, "acme", user, roles).await
}

/// A caller of `tenant` with `roles`, as the handlers build it from a verified token.
async fn scope_in(app: &App, tenant: &str, user: &str, roles: &[&str]) -> Scope {
    let tenant = TenantId::parse(tenant).expect("a valid tenant id");
    let caller = Caller {
        tenant: tenant.as_str().to_owned(),
        user: user.to_owned(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
    };
    Scope {
        grants: Grants::of_roles(&caller.roles),
        settings: app.settings(&tenant).await.expect("settings are read"),
        caller,
        tenant,
    }
}

fn input<T: serde::de::DeserializeOwned>(value: Value) -> T {
    serde_json::from_value(value).expect("a valid input")
}

/// Creates a customer (duplicates confirmed), as `scope`.
async fn create(app: &App, scope: &Scope, card: Value) -> Customer {
    match customers::create(app, scope, input(card), true, &Retry::default()).await {
        Ok(Created::Made(customer)) => customer,
        Ok(Created::Replayed(_)) => panic!("no key was sent, nothing to replay"),
        Err(problem) => panic!("not created: {problem:?}"),
    }
}

#[track_caller]
fn expect_problem<T>(result: Result<T, Problem>, status: u16, kind: &str) -> Problem {
    let Err(problem) = result else {
        panic!("expected {status} {kind}, and it went through");
    };
    assert_eq!(
        (problem.status, problem.kind.as_str()),
        (status, format!("/problems/{kind}").as_str()),
        "{problem:?}"
    );
    problem
}

#[tokio::test]
async fn a_technician_may_not_raise_the_credit_limit_of_an_assigned_customer() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let tess = scope(&app, "tess", TECHNICIAN).await;
    let customer = create(&app, &admin, e2e::customer("1", "Åsa", "Öberg")).await;
    let assigned = assignments::assign(&app, &admin, &customer.id, "tess", None)
        .await
        .unwrap();

    // Tess may edit the card (she is assigned): the name goes through, the limit does not.
    let patch = json!({"firstName": "Åse", "terms": {"creditLimit": 9_000_000}});
    let refused = expect_problem(
        customers::update(&app, &tess, &customer.id, Some(assigned.version), &patch).await,
        403,
        "forbidden",
    );
    assert_eq!(
        refused.extensions["missingPermission"],
        "changeCommercialTerms"
    );
    assert_eq!(refused.extensions["fields"], json!(["/terms/creditLimit"]));
    let unchanged = customers::get(&app, &tess, &customer.id).await.unwrap();
    assert_eq!(unchanged, assigned, "nothing was written");

    let renamed = customers::update(
        &app,
        &tess,
        &customer.id,
        Some(assigned.version),
        &json!({"firstName": "Åse"}),
    )
    .await
    .unwrap();
    assert_eq!(renamed.fields.first_name.as_deref(), Some("Åse"));
    let raised = customers::update(
        &app,
        &admin,
        &customer.id,
        Some(renamed.version),
        &json!({"terms": {"creditLimit": 9_000_000}}),
    )
    .await
    .unwrap();
    assert_eq!(raised.fields.terms.credit_limit, Some(9_000_000));
}

#[tokio::test]
async fn a_card_sharing_an_email_is_refused_as_a_possible_duplicate_until_confirmed() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let first = create(&app, &admin, e2e::customer("1", "Anna", "Berg")).await;
    let mut twin = json!({"customerNumber": "2", "firstName": "Anne", "lastName": "Berg",
                          "email": first.fields.email.clone()});

    let refused = expect_problem(
        customers::create(&app, &admin, input(twin.clone()), false, &Retry::default()).await,
        409,
        "possible-duplicate",
    );
    assert_eq!(
        refused.extensions["duplicates"],
        json!([{"id": first.id.0, "customerNumber": "1", "displayName": "Anna Berg",
                "matchedOn": ["email"]}])
    );
    let found = customers::find(&app, &admin, Search::Number("2".into()))
        .await
        .unwrap();
    assert!(found.items.is_empty(), "nothing was created");

    twin["customerNumber"] = json!("3");
    let confirmed = customers::create(&app, &admin, input(twin), true, &Retry::default()).await;
    assert!(matches!(confirmed, Ok(Created::Made(_))));
}

#[tokio::test]
async fn a_number_change_frees_the_old_number_and_claims_the_new_one() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let office = scope(&app, "cody", &["coordinator"]).await;
    let customer = create(&app, &admin, e2e::customer("100", "Bo", "Ek")).await;
    let other = create(&app, &admin, e2e::customer("200", "Li", "Ek")).await;

    let refused = expect_problem(
        customers::change_number(&app, &office, &customer.id, None, "101").await,
        403,
        "forbidden",
    );
    assert_eq!(
        refused.extensions["missingPermission"],
        "changeCustomerNumber"
    );
    expect_problem(
        customers::change_number(&app, &admin, &customer.id, None, "200").await,
        409,
        "customer-number-taken",
    );

    let changed = customers::change_number(&app, &admin, &customer.id, None, "101")
        .await
        .unwrap();
    assert_eq!(changed.fields.customer_number, "101");
    assert_eq!(changed.version, customer.version + 1);
    let by_new = customers::find(&app, &admin, Search::Number("101".into()))
        .await
        .unwrap();
    assert_eq!(by_new.items, [changed]);
    let by_old = customers::find(&app, &admin, Search::Number("100".into()))
        .await
        .unwrap();
    assert!(by_old.items.is_empty(), "the old number is free");
    // Free for the taking: the other customer takes it.
    let taken = customers::change_number(&app, &admin, &other.id, None, "100")
        .await
        .unwrap();
    assert_eq!(taken.fields.customer_number, "100");
}

#[tokio::test]
async fn deactivation_and_reactivation_need_their_permission_and_repeat_harmlessly() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let tess = scope(&app, "tess", TECHNICIAN).await;
    let customer = create(&app, &admin, e2e::customer("1", "Åsa", "Öberg")).await;
    assignments::assign(&app, &admin, &customer.id, "tess", None)
        .await
        .unwrap();

    for refused in [
        customers::deactivate(&app, &tess, &customer.id, None).await,
        customers::reactivate(&app, &tess, &customer.id, None).await,
    ] {
        let problem = expect_problem(refused, 403, "forbidden");
        assert_eq!(problem.extensions["missingPermission"], "changeStatus");
        assert_eq!(problem.extensions["fields"], json!(["/status"]));
    }

    let inactive = customers::deactivate(&app, &admin, &customer.id, None)
        .await
        .unwrap();
    assert_eq!(inactive.status, CustomerStatus::Inactive);
    let again = customers::deactivate(&app, &admin, &customer.id, None)
        .await
        .unwrap();
    assert_eq!(again, inactive, "deactivating again writes nothing");
    expect_problem(
        customers::reactivate(&app, &admin, &customer.id, Some(Some(inactive.version - 1))).await,
        412,
        "stale-version",
    );
    let active = customers::reactivate(&app, &admin, &customer.id, Some(Some(inactive.version)))
        .await
        .unwrap();
    assert_eq!(active.status, CustomerStatus::Active);
    assert_eq!(active.version, inactive.version + 1);
}

#[tokio::test]
async fn an_inactive_customer_takes_no_new_site() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let customer = create(&app, &admin, e2e::customer("1", "Åsa", "Öberg")).await;
    customers::deactivate(&app, &admin, &customer.id, None)
        .await
        .unwrap();

    let site: SiteInput = input(json!({"name": "Plant room"}));
    let refused = expect_problem(
        sites::link(&app, &admin, &customer.id, site, &Retry::default()).await,
        409,
        "customer-inactive",
    );
    assert_eq!(refused.extensions["customerStatus"], "inactive");
    let card = customers::get(&app, &admin, &customer.id).await.unwrap();
    assert_eq!(card.sites_count, 0);
}

#[tokio::test]
async fn a_site_with_open_work_is_not_unlinked() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let customer = create(&app, &admin, e2e::customer("1", "Åsa", "Öberg")).await;
    let site = match sites::link(
        &app,
        &admin,
        &customer.id,
        input(json!({"name": "Plant room"})),
        &Retry::default(),
    )
    .await
    {
        Ok(Created::Made(site)) => site,
        other => panic!("no site: {:?}", other.err()),
    };
    let order: WorkOrderInput =
        input(json!({"kind": "order", "title": "Heat pump service", "siteId": site.id}));
    let Ok(Created::Made(order)) =
        work_orders::create(&app, &admin, &customer.id, order, &Retry::default()).await
    else {
        panic!("no work order");
    };

    let refused = expect_problem(
        sites::unlink(&app, &admin, &customer.id, &site.id).await,
        409,
        "site-in-use",
    );
    assert_eq!(
        refused.extensions["dependants"],
        json!([{"kind": "work order", "id": order.id, "status": "planned"}])
    );
    let kept = linked::read::<domain::Site>(&app, &admin, &customer.id, &site.id)
        .await
        .unwrap();
    assert_eq!(kept, site, "the site is as it was");
    let card = customers::get(&app, &admin, &customer.id).await.unwrap();
    assert_eq!(card.sites_count, 1);
}

/// The scope's tenant is the organisation: another one's customer is not found, not even by
/// its number.
#[tokio::test]
async fn another_organisation_finds_nothing() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let customer = create(&app, &admin, e2e::customer("1", "Åsa", "Öberg")).await;
    let stranger = scope_in(&app, "other", "eve", ADMIN).await;
    expect_problem(
        customers::get(&app, &stranger, &customer.id).await,
        404,
        "not-found",
    );
    let found = customers::find(&app, &stranger, Search::Number("1".into()))
        .await
        .unwrap();
    assert!(found.items.is_empty());
}

/// Writes a note as `scope`.
async fn note(app: &App, scope: &Scope, customer: &Customer, body: Value) -> Note {
    match notes::create(app, scope, &customer.id, input(body), &Retry::default()).await {
        Ok(Created::Made(note)) => note,
        other => panic!("no note: {:?}", other.err()),
    }
}

/// Notes: a technician writes one on an assigned customer's site, the office reads it newest
/// first, only the author changes it, each note and change is in the history, and an inactive
/// customer still takes notes (it takes no new site).
#[tokio::test]
async fn notes_are_signed_changed_by_their_author_only_and_kept_in_the_history() {
    let app = app().await;
    let admin = scope(&app, "ada", ADMIN).await;
    let tess = scope(&app, "tess", TECHNICIAN).await;
    let customer = create(&app, &admin, e2e::customer("1", "Åsa", "Öberg")).await;
    assignments::assign(&app, &admin, &customer.id, "tess", None)
        .await
        .unwrap();
    let Ok(Created::Made(site)) = sites::link(
        &app,
        &admin,
        &customer.id,
        input(json!({"name": "Villa"})),
        &Retry::default(),
    )
    .await
    else {
        panic!("no site");
    };

    let card_before = customers::get(&app, &admin, &customer.id).await.unwrap();
    let gate = note(
        &app,
        &tess,
        &customer,
        json!({"text": "Gate code 4711\nDog in the yard", "siteId": site.id}),
    )
    .await;
    assert_eq!(gate.created_by, "tess");
    assert_eq!(gate.fields.site_id.as_deref(), Some(site.id.as_str()));
    let later = note(&app, &admin, &customer, json!({"text": "Pays late"})).await;

    let newest_first = PageRequest {
        limit: 10,
        cursor: None,
        ascending: true,
    };
    let listed = notes::page(&app, &admin, &customer.id, newest_first)
        .await
        .unwrap();
    let ids: Vec<&str> = listed.items.iter().map(|n| n.id.as_str()).collect();
    assert_eq!(ids, [later.id.as_str(), gate.id.as_str()], "newest first");

    let edit = json!({"text": "Gate code 0815"});
    let refused = expect_problem(
        notes::change(&app, &admin, &customer.id, &gate.id, None, &edit).await,
        403,
        "not-author",
    );
    assert_eq!(refused.extensions["author"], "tess");
    let changed = notes::change(&app, &tess, &customer.id, &gate.id, Some(1), &edit)
        .await
        .unwrap();
    assert_eq!(changed.fields.text, "Gate code 0815");
    assert_eq!(changed.version, 2);

    let entries = history::list(&app, &admin, &customer.id, 50, None)
        .await
        .unwrap()
        .items;
    let text_of = |kind: ChangeKind| {
        entries
            .iter()
            .filter(|e| e.kind == kind)
            .flat_map(|e| e.changes.iter())
            .find(|c| c.field == format!("/notes/{}/text", gate.id))
            .cloned()
    };
    let added = text_of(ChangeKind::NoteAdded).expect("the note is in the history");
    assert_eq!(added.after, Some(json!("Gate code 4711\nDog in the yard")));
    let edited = text_of(ChangeKind::NoteChanged).expect("the change is in the history");
    assert_eq!(
        edited.before,
        Some(json!("Gate code 4711\nDog in the yard"))
    );
    assert_eq!(edited.after, Some(json!("Gate code 0815")));
    let card = customers::get(&app, &admin, &customer.id).await.unwrap();
    assert_eq!(card, card_before, "notes do not change the card");

    customers::deactivate(&app, &admin, &customer.id, None)
        .await
        .unwrap();
    note(&app, &admin, &customer, json!({"text": "Moved abroad"})).await;
    let elsewhere = json!({"text": "Their site", "siteId": ulid::Ulid::new().to_string()});
    expect_problem(
        notes::create(
            &app,
            &admin,
            &customer.id,
            input(elsewhere),
            &Retry::default(),
        )
        .await,
        422,
        "validation-failed",
    );
}
