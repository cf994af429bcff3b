//! What each customers-API operation costs in DynamoDB requests and capacity units (from
//! ReturnConsumedCapacity). Counts, not timings of the emulator: run with `infra/local/bench`
//! (the functions' start, CPU, memory and size are `bench-lambdas`).
//!
//! The operations call the store exactly as the handlers do: create = one `create`; get = one
//! `get`; update = `get` + `replace`; list page = one `list` of 50 (active customers, the
//! default; every status: two Queries merged).

use chrono::Utc;
use domain::ChangeKind;
use domain::{Customer, CustomerInput, ValidationContext};
use store::{ListQuery, TenantId, Usage};

const CUSTOMERS: usize = 120;

fn sample(i: usize) -> Customer {
    let json = e2e::customer(&format!("B{i:05}"), "Bench", &format!("Customer{i:05}"));
    let input: CustomerInput = serde_json::from_value(json).expect("sample is valid input");
    let fields =
        domain::validate_customer(input, &ValidationContext::default()).expect("sample validates");
    Customer::new(fields, "bench", Utc::now())
}

fn row(operation: &str, usage: Usage, count: usize) {
    let n = count as f64;
    println!(
        "{operation:<30} {:>8.2} {:>9.2} {:>9.2} {:>9.2} {:>9.2}",
        f64::from(usage.requests) / n,
        usage.read_units / n,
        usage.write_units / n,
        usage.estimated_read_units / n,
        usage.estimated_write_units / n,
    );
}

#[tokio::main]
async fn main() {
    let (_, table) = e2e::fresh_table().await;
    let store = e2e::store(table).await;
    let tenant = TenantId::parse("bench").unwrap();
    let customers: Vec<Customer> = (0..CUSTOMERS).map(sample).collect();

    println!("DynamoDB cost per operation ({CUSTOMERS} customers, averages)");
    println!(
        "{:<30} {:>8} {:>9} {:>9} {:>9} {:>9}",
        "operation", "requests", "RCU emu", "WCU emu", "RCU est", "WCU est"
    );
    println!("(emu: as the emulator reports it, nothing for transactions; est: DynamoDB's");
    println!(
        " documented rules applied to the items read and written, shared/store/src/capacity.rs)"
    );

    store.usage().reset();
    for c in &customers {
        store.create(&tenant, c, None).await.expect("create");
    }
    row("create", store.usage().snapshot(), CUSTOMERS);

    store.usage().reset();
    for c in &customers {
        store.get(&tenant, &c.id).await.expect("get");
    }
    row("get", store.usage().snapshot(), CUSTOMERS);

    store.usage().reset();
    for c in &customers {
        let before = store
            .get(&tenant, &c.id)
            .await
            .expect("get")
            .expect("exists");
        let mut after = before.clone();
        after.version += 1;
        after.fields.on_hold = !after.fields.on_hold;
        store
            .replace(
                &tenant,
                &before,
                &after,
                &e2e::history_entry(ChangeKind::Updated),
                None,
            )
            .await
            .expect("replace");
    }
    row("update (get + put)", store.usage().snapshot(), CUSTOMERS);

    store.usage().reset();
    for c in &customers {
        let before = store
            .get(&tenant, &c.id)
            .await
            .expect("get")
            .expect("exists");
        let mut after = before.clone();
        after.version += 1;
        after.fields.email = Some(format!("changed.{}@example.com", c.id).to_lowercase());
        store
            .replace(
                &tenant,
                &before,
                &after,
                &e2e::history_entry(ChangeKind::Updated),
                None,
            )
            .await
            .expect("replace");
    }
    row(
        "update changing e-mail",
        store.usage().snapshot(),
        CUSTOMERS,
    );

    store.usage().reset();
    let mut pages = 0;
    let mut cursor = None;
    loop {
        let query = ListQuery {
            limit: 50,
            cursor,
            ..Default::default()
        };
        let page = store.list(&tenant, &query).await.expect("list");
        pages += 1;
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    row("list page of 50", store.usage().snapshot(), pages);

    store.usage().reset();
    store
        .list(
            &tenant,
            &ListQuery {
                name_prefix: Some("customer0001".into()),
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .expect("search");
    row("name prefix search page", store.usage().snapshot(), 1);

    store.usage().reset();
    let filtered = ListQuery {
        payment_type: Some(domain::PaymentType::Account),
        tag: Some("north".into()),
        limit: 50,
        ..Default::default()
    };
    store.list(&tenant, &filtered).await.expect("filtered list");
    row("filtered page (type + tag)", store.usage().snapshot(), 1);

    store.usage().reset();
    let by_number = ListQuery {
        sort: store::Sort::Number,
        limit: 50,
        ..Default::default()
    };
    store
        .list(&tenant, &by_number)
        .await
        .expect("list by number");
    row("page sorted by number", store.usage().snapshot(), 1);

    store.usage().reset();
    let every_status = ListQuery {
        status: store::StatusFilter::All,
        limit: 50,
        ..Default::default()
    };
    store
        .list(&tenant, &every_status)
        .await
        .expect("list of every status");
    row("page of every status", store.usage().snapshot(), 1);

    let first = &customers[0];
    store.usage().reset();
    let before = store
        .get(&tenant, &first.id)
        .await
        .expect("get")
        .expect("exists");
    let mut after = before.clone();
    after.version += 1;
    after.assignees.push("tess".into());
    let assign = store::Companion::Assign {
        user: "tess".into(),
        by: "bench".into(),
        at: Utc::now(),
    };
    store
        .replace(
            &tenant,
            &before,
            &after,
            &e2e::history_entry(ChangeKind::Assigned),
            Some(&assign),
        )
        .await
        .expect("assign");
    row(
        "assignment (get + transaction)",
        store.usage().snapshot(),
        1,
    );

    store.usage().reset();
    store
        .history(&tenant, first, 50, None)
        .await
        .expect("history");
    row("history page", store.usage().snapshot(), 1);

    store.usage().reset();
    store
        .customers_assigned_to(&tenant, "tess", 50, None)
        .await
        .expect("assigned");
    row("customers of a user", store.usage().snapshot(), 1);

    store.usage().reset();
    store
        .find_by_number(&tenant, "B00007")
        .await
        .expect("lookup");
    row("lookup by number", store.usage().snapshot(), 1);

    store.usage().reset();
    store
        .find_by_phone(&tenant, "+46701234567")
        .await
        .expect("lookup");
    row("lookup by phone", store.usage().snapshot(), 1);
}
