//! The store against the emulator, each test on its own table made from the template.

use chrono::Utc;
use domain::ChangeKind;
use domain::{Customer, CustomerInput, CustomerStatus, ValidationContext, fold, validate_customer};
use store::{
    CustomerStore, IdempotencyRecord, ListQuery, StatusFilter, StoreError, StoredResponse, TenantId,
};

fn tenant(name: &str) -> TenantId {
    TenantId::parse(name).unwrap()
}

fn new_customer(number: &str, first: &str, last: &str, email: Option<&str>) -> Customer {
    let input = CustomerInput {
        customer_number: Some(number.into()),
        first_name: Some(first.into()),
        last_name: Some(last.into()),
        email: email.map(str::to_owned),
        mobile: Some("+46701234567".into()),
        ..Default::default()
    };
    let fields = validate_customer(input, &ValidationContext::default()).unwrap();
    Customer::new(fields, "test", Utc::now())
}

async fn store() -> CustomerStore {
    let (_, table) = e2e::fresh_table().await;
    e2e::store(table).await
}

fn next_version(before: &Customer) -> Customer {
    let mut after = before.clone();
    after.version += 1;
    after
}

#[tokio::test]
async fn a_created_customer_reads_back_equal() {
    let store = store().await;
    let acme = tenant("acme");
    let anna = new_customer("1", "Anna", "Berg", Some("anna@example.com"));
    store.create(&acme, &anna, None).await.unwrap();
    assert_eq!(
        store.get(&acme, &anna.id).await.unwrap(),
        Some(anna.clone())
    );
    assert_eq!(store.get(&tenant("other"), &anna.id).await.unwrap(), None);
}

/// The card is its own `created` entry: no history item is written with it, and the history
/// ends with it, after the stored entries, without outgrowing a page.
#[tokio::test]
async fn the_history_ends_with_the_created_entry_read_from_the_card() {
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let acme = tenant("acme");
    let anna = new_customer("1", "Anna", "Berg", None);
    store.create(&acme, &anna, None).await.unwrap();
    let partition = client
        .query()
        .table_name(&table)
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            aws_sdk_dynamodb::types::AttributeValue::S(format!("T#acme#C#{}", anna.id)),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(partition.count(), 1, "the card alone");
    let created = domain::HistoryEntry::created(&anna);
    let page = store.history(&acme, &anna, 20, None).await.unwrap();
    assert_eq!(
        (page.items, page.next_cursor),
        (vec![created.clone()], None)
    );

    let mut before = anna.clone();
    for _ in 0..2 {
        let mut after = next_version(&before);
        after.fields.description = Some(format!("v{}", after.version));
        let entry = domain::HistoryEntry::of(ChangeKind::Updated, Some(&before), &after);
        store
            .replace(&acme, &before, &after, &entry, None)
            .await
            .unwrap();
        before = after;
    }
    let versions = |page: &store::Page<domain::HistoryEntry>| -> Vec<u64> {
        page.items.iter().map(|e| e.version).collect()
    };
    let whole = store.history(&acme, &before, 3, None).await.unwrap();
    assert_eq!((versions(&whole), whole.next_cursor), (vec![3, 2, 1], None));
    assert_eq!(whole.items[2], created);
    let first = store.history(&acme, &before, 2, None).await.unwrap();
    assert_eq!(versions(&first), [3, 2]);
    let rest = store
        .history(&acme, &before, 2, first.next_cursor.as_deref())
        .await
        .unwrap();
    assert_eq!((rest.items, rest.next_cursor), (vec![created], None));
}

#[tokio::test]
async fn numbers_are_unique_per_tenant_and_case_insensitive() {
    let store = store().await;
    let acme = tenant("acme");
    store
        .create(&acme, &new_customer("ab-1", "A", "A", None), None)
        .await
        .unwrap();
    let err = store
        .create(&acme, &new_customer("AB-1", "B", "B", None), None)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NumberTaken), "{err}");
    store
        .create(
            &tenant("other"),
            &new_customer("AB-1", "C", "C", None),
            None,
        )
        .await
        .expect("another tenant may use the same number");
}

#[tokio::test]
async fn a_replace_from_a_stale_version_is_refused() {
    let store = store().await;
    let acme = tenant("acme");
    let anna = new_customer("1", "Anna", "Berg", None);
    store.create(&acme, &anna, None).await.unwrap();
    let mut first = next_version(&anna);
    first.fields.on_hold = true;
    store
        .replace(
            &acme,
            &anna,
            &first,
            &e2e::history_entry(ChangeKind::Updated),
            None,
        )
        .await
        .unwrap();

    let mut second = next_version(&anna);
    second.fields.description = Some("lost update".into());
    let err = store
        .replace(
            &acme,
            &anna,
            &second,
            &e2e::history_entry(ChangeKind::Updated),
            None,
        )
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err}");
    assert_eq!(store.get(&acme, &anna.id).await.unwrap(), Some(first));
}

#[tokio::test]
async fn lookups_follow_changed_emails_and_numbers() {
    let store = store().await;
    let acme = tenant("acme");
    let anna = new_customer("1", "Anna", "Berg", Some("old@example.com"));
    store.create(&acme, &anna, None).await.unwrap();
    assert_eq!(
        store
            .find_by_email(&acme, "OLD@example.com")
            .await
            .unwrap()
            .len(),
        1
    );

    let mut after = next_version(&anna);
    after.fields.email = Some("new@example.com".into());
    after.fields.customer_number = "2".into();
    store
        .replace(
            &acme,
            &anna,
            &after,
            &e2e::history_entry(ChangeKind::Updated),
            None,
        )
        .await
        .unwrap();

    assert!(
        store
            .find_by_email(&acme, "old@example.com")
            .await
            .unwrap()
            .is_empty()
    );
    assert_eq!(
        store.find_by_email(&acme, "new@example.com").await.unwrap(),
        vec![after.clone()]
    );
    assert_eq!(
        store.find_by_phone(&acme, "+46701234567").await.unwrap(),
        vec![after.clone()]
    );
    assert_eq!(
        store.find_by_number(&acme, "1").await.unwrap(),
        None,
        "the old number is free"
    );
    assert_eq!(store.find_by_number(&acme, "2").await.unwrap(), Some(after));
    store
        .create(&acme, &new_customer("1", "Bo", "Ek", None), None)
        .await
        .expect("the freed number can be taken again");
}

/// One page of a name search (`descending`: reverse name order).
async fn search_page(
    store: &CustomerStore,
    tenant: &TenantId,
    prefix: &str,
    descending: bool,
    cursor: Option<String>,
) -> Result<store::Page<Customer>, StoreError> {
    let query = ListQuery {
        name_prefix: Some(fold(prefix)),
        limit: 5,
        descending,
        cursor,
        ..Default::default()
    };
    store.list(tenant, &query).await
}

/// A name search reads the list by name and both name indexes and merges them: page after
/// page in name order, both ways, each customer once, nothing left out, wherever the matching
/// name lies (the list's display name, the number guard's first name slot, its second, or a
/// name item).
#[tokio::test]
async fn a_name_search_merges_the_name_indexes_page_by_page() {
    let (client, table) = e2e::fresh_table().await;
    let store = e2e::store(table.clone()).await;
    let acme = tenant("acme");
    let mut expected = Vec::new();
    for i in 0..23 {
        let berg = format!("Berg{:02}", (i * 7) % 23);
        // The display name "bergNN zed" is in the list by name only; "bergNN anna", the
        // display name reversed, is the guard's first name; after a company name, its second;
        // after two names sorting before it, a contact's "bergNN cia" is a name item.
        let (first, last, company, contact) = match i % 4 {
            0 => (berg.as_str(), "Zed", None, None),
            1 => ("Anna", berg.as_str(), None, None),
            2 => ("Anna", berg.as_str(), Some("Acme AB"), None),
            _ => ("Anna", "Aaa", Some("Acme AB"), Some(("Cia", berg.as_str()))),
        };
        let input = CustomerInput {
            customer_number: Some(i.to_string()),
            first_name: Some(first.into()),
            last_name: Some(last.into()),
            company_name: company.map(str::to_owned),
            contacts: contact.map(|(first, last)| {
                vec![domain::ContactInput {
                    first_name: Some(first.into()),
                    last_name: Some(last.into()),
                    ..Default::default()
                }]
            }),
            ..Default::default()
        };
        let fields = validate_customer(input, &ValidationContext::default()).unwrap();
        let c = Customer::new(fields, "test", Utc::now());
        store.create(&acme, &c, None).await.unwrap();
        let matched = match contact {
            Some((first, last)) => format!("{last} {first}"),
            None if i % 4 == 0 => format!("{first} {last}"),
            None => format!("{last} {first}"),
        };
        expected.push((fold(&matched), c.fields.display_name()));
    }
    let other = new_customer("99", "Bertil", "Berg", None);
    store.create(&tenant("other"), &other, None).await.unwrap();
    expected.sort();
    let expected: Vec<String> = expected.into_iter().map(|(_, name)| name).collect();

    let mut carriers = std::collections::BTreeSet::new();
    for index in store::lookups::NAME_INDEXES {
        let entries = client
            .query()
            .table_name(&table)
            .index_name(index.name)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :berg)")
            .expression_attribute_names("#pk", index.pk)
            .expression_attribute_names("#sk", index.sk)
            .expression_attribute_values(
                ":pk",
                aws_sdk_dynamodb::types::AttributeValue::S("T#acme#NAMES".into()),
            )
            .expression_attribute_values(
                ":berg",
                aws_sdk_dynamodb::types::AttributeValue::S("berg".into()),
            )
            .send()
            .await
            .unwrap();
        for entry in entries.items() {
            let sk = entry["SK"].as_s().unwrap();
            carriers.insert((index.name, sk == "GUARD"));
        }
    }
    assert_eq!(
        carriers,
        [("GSI7", false), ("GSI7", true), ("GSI8", true)].into(),
        "matches on both of the guards' slots and on name items"
    );

    for descending in [false, true] {
        let mut found = Vec::new();
        let mut cursor = None;
        loop {
            let page = search_page(&store, &acme, "berg", descending, cursor.take())
                .await
                .unwrap();
            assert!(page.items.len() <= 5);
            found.extend(page.items.iter().map(|c| c.fields.display_name()));
            match page.next_cursor {
                Some(next) => cursor = Some(next),
                None => break,
            }
        }
        let mut wanted = expected.clone();
        if descending {
            wanted.reverse();
        }
        assert_eq!(found, wanted, "descending: {descending}");
    }

    let first = search_page(&store, &acme, "berg", false, None)
        .await
        .unwrap();
    let elsewhere = search_page(&store, &acme, "anna", false, first.next_cursor.clone()).await;
    assert!(
        matches!(elsewhere, Err(StoreError::InvalidCursor(_))),
        "a cursor of another search is refused: {elsewhere:?}"
    );
    let other_tenant =
        search_page(&store, &tenant("other"), "berg", false, first.next_cursor).await;
    assert!(
        matches!(other_tenant, Err(StoreError::InvalidCursor(_))),
        "a cursor of another organisation is refused: {other_tenant:?}"
    );
}

#[tokio::test]
async fn lists_sort_by_folded_name_filter_by_status_and_page() {
    let store = store().await;
    let acme = tenant("acme");
    let names = [
        ("Öberg", "Åsa"),
        ("Berg", "Anna"),
        ("Ek", "Bo"),
        ("Ahl", "Cia"),
    ];
    let mut created = Vec::new();
    for (i, (last, first)) in names.iter().enumerate() {
        let c = new_customer(&i.to_string(), first, last, None);
        store.create(&acme, &c, None).await.unwrap();
        created.push(c);
    }
    let mut inactive = next_version(&created[2]);
    inactive.status = CustomerStatus::Inactive;
    store
        .replace(
            &acme,
            &created[2],
            &inactive,
            &e2e::history_entry(ChangeKind::Deactivated),
            None,
        )
        .await
        .unwrap();

    let names_of = |page: &store::Page<domain::Customer>| -> Vec<String> {
        page.items.iter().map(|c| c.fields.display_name()).collect()
    };
    let all = store
        .list(
            &acme,
            &ListQuery {
                status: StatusFilter::All,
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        names_of(&all),
        ["Anna Berg", "Åsa Öberg", "Bo Ek", "Cia Ahl"]
    );

    let search = store
        .list(
            &acme,
            &ListQuery {
                name_prefix: Some(fold("ÅSA")),
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(search.items.len(), 1);
    assert_eq!(search.items[0].fields.display_name(), "Åsa Öberg");

    let active = store
        .list(
            &acme,
            &ListQuery {
                limit: 10,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        names_of(&active),
        ["Anna Berg", "Åsa Öberg", "Cia Ahl"],
        "lists show active customers unless asked otherwise"
    );

    let first = store
        .list(
            &acme,
            &ListQuery {
                status: StatusFilter::All,
                limit: 3,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(first.items.len(), 3);
    let cursor = first.next_cursor.expect("more to come");
    let second = store
        .list(
            &acme,
            &ListQuery {
                status: StatusFilter::All,
                limit: 3,
                cursor: Some(cursor.clone()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(names_of(&second), ["Cia Ahl"]);

    for (other_tenant, status) in [
        ("other", StatusFilter::All),
        ("acme", StatusFilter::Active),
        ("acme", StatusFilter::Inactive),
    ] {
        let foreign = store
            .list(
                &tenant(other_tenant),
                &ListQuery {
                    status,
                    limit: 3,
                    cursor: Some(cursor.clone()),
                    ..Default::default()
                },
            )
            .await
            .unwrap_err();
        assert!(matches!(foreign, StoreError::InvalidCursor(_)), "{foreign}");
    }
}

/// Deactivation and reactivation put the card whole, and its list keys are rebuilt from it
/// (`items::customer_item`, which every write of a card uses, the import's too): the customer
/// moves between the statuses' lists in every order.
#[tokio::test]
async fn a_status_change_moves_the_customer_in_every_order() {
    let store = store().await;
    let acme = tenant("acme");
    let anna = new_customer("7", "Anna", "Berg", None);
    store.create(&acme, &anna, None).await.unwrap();
    let ids = |page: store::Page<Customer>| -> Vec<domain::CustomerId> {
        page.items.into_iter().map(|c| c.id).collect()
    };
    let listed = async |status: StatusFilter| -> Vec<Vec<domain::CustomerId>> {
        let mut found = Vec::new();
        for sort in [store::Sort::Name, store::Sort::Number, store::Sort::Created] {
            let query = ListQuery {
                sort,
                status,
                limit: 10,
                ..Default::default()
            };
            found.push(ids(store.list(&acme, &query).await.unwrap()));
        }
        found
    };
    let everywhere = vec![vec![anna.id.clone()]; 3];
    let nowhere = vec![Vec::new(); 3];
    assert_eq!(listed(StatusFilter::Active).await, everywhere);
    assert_eq!(listed(StatusFilter::Inactive).await, nowhere);

    let mut inactive = next_version(&anna);
    inactive.status = CustomerStatus::Inactive;
    store
        .replace(
            &acme,
            &anna,
            &inactive,
            &e2e::history_entry(ChangeKind::Deactivated),
            None,
        )
        .await
        .unwrap();
    assert_eq!(listed(StatusFilter::Active).await, nowhere);
    assert_eq!(listed(StatusFilter::Inactive).await, everywhere);
    assert_eq!(listed(StatusFilter::All).await, everywhere);

    let mut active = next_version(&inactive);
    active.status = CustomerStatus::Active;
    store
        .replace(
            &acme,
            &inactive,
            &active,
            &e2e::history_entry(ChangeKind::Reactivated),
            None,
        )
        .await
        .unwrap();
    assert_eq!(listed(StatusFilter::Active).await, everywhere);
    assert_eq!(listed(StatusFilter::Inactive).await, nowhere);
}

#[tokio::test]
async fn an_idempotency_record_commits_with_the_customer_and_replays() {
    let store = store().await;
    let acme = tenant("acme");
    let record = IdempotencyRecord {
        key: "k1".into(),
        fingerprint: "f1".into(),
        response: StoredResponse {
            status: 201,
            headers: vec![("etag".into(), "\"1\"".into())],
            body: "{}".into(),
        },
        expires_at: Utc::now().timestamp() + 60,
    };
    let anna = new_customer("1", "Anna", "Berg", None);
    store.create(&acme, &anna, Some(&record)).await.unwrap();

    let retry = new_customer("1", "Anna", "Berg", None);
    match store
        .create(&acme, &retry, Some(&record))
        .await
        .unwrap_err()
    {
        StoreError::IdempotencyKeyUsed(first) => assert_eq!(*first, record),
        other => panic!("expected a replay, got {other}"),
    }
    assert_eq!(
        store.get(&acme, &retry.id).await.unwrap(),
        None,
        "the retry wrote nothing"
    );
}

#[tokio::test]
async fn requests_and_capacity_are_counted() {
    let store = store().await;
    let acme = tenant("acme");
    let anna = new_customer("1", "Anna", "Berg", Some("anna@example.com"));

    store.usage().reset();
    store.create(&acme, &anna, None).await.unwrap();
    let create = store.usage().snapshot();
    assert_eq!(create.requests, 1, "create is one transaction");

    store.usage().reset();
    store.get(&acme, &anna.id).await.unwrap();
    let get = store.usage().snapshot();
    assert_eq!(get.requests, 1);
    assert!(get.read_units > 0.0);

    store.usage().reset();
    store
        .list(
            &acme,
            &ListQuery {
                limit: 50,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(
        store.usage().snapshot().requests,
        1,
        "a list page is one query"
    );
}

#[tokio::test]
async fn settings_round_trip_with_optimistic_concurrency() {
    let store = store().await;
    let acme = tenant("acme");
    let defaults = store.settings(&acme).await.unwrap();
    assert_eq!(defaults.version, 0);
    assert_eq!(defaults.settings, domain::Settings::default());

    let changed = domain::Settings {
        default_country: Some("SE".into()),
        required_channels: vec![domain::Channel::Email],
        ..Default::default()
    };
    assert_eq!(store.put_settings(&acme, &changed, 0).await.unwrap(), 1);
    let read = store.settings(&acme).await.unwrap();
    assert_eq!((read.settings, read.version), (changed.clone(), 1));

    let err = store.put_settings(&acme, &changed, 0).await.unwrap_err();
    assert!(matches!(err, StoreError::VersionConflict), "{err}");
    assert_eq!(store.settings(&tenant("other")).await.unwrap().version, 0);
}

#[tokio::test]
async fn the_number_counter_counts_per_tenant() {
    let store = store().await;
    let (acme, other) = (tenant("acme"), tenant("other"));
    assert_eq!(store.next_customer_number(&acme).await.unwrap(), 1);
    assert_eq!(store.next_customer_number(&acme).await.unwrap(), 2);
    assert_eq!(store.next_customer_number(&other).await.unwrap(), 1);
}

/// The emulator's transactions (infra/local/emulator.py keeps a journal instead of copying
/// tables): a cancelled transaction leaves neither its writes nor their stream records.
#[tokio::test]
async fn a_cancelled_transaction_leaves_no_item_and_no_stream_record() {
    use aws_sdk_dynamodb::types::{AttributeValue, ConditionCheck, Put, TransactWriteItem};
    let (client, table) = e2e::fresh_table().await;
    let s = |v: &str| AttributeValue::S(v.to_owned());
    let key = |pk: &str| [("PK".to_owned(), s(pk)), ("SK".to_owned(), s("X"))];
    client
        .put_item()
        .table_name(&table)
        .set_item(Some(key("kept").into_iter().collect()))
        .send()
        .await
        .unwrap();
    let put = Put::builder()
        .table_name(&table)
        .set_item(Some(key("written-then-undone").into_iter().collect()))
        .build()
        .unwrap();
    let check = ConditionCheck::builder()
        .table_name(&table)
        .set_key(Some(key("kept").into_iter().collect()))
        .condition_expression("attribute_not_exists(PK)")
        .build()
        .unwrap();
    let cancelled = client
        .transact_write_items()
        .transact_items(TransactWriteItem::builder().put(put).build())
        .transact_items(TransactWriteItem::builder().condition_check(check).build())
        .send()
        .await;
    assert!(cancelled.is_err(), "the condition fails");
    let undone = client
        .get_item()
        .table_name(&table)
        .set_key(Some(key("written-then-undone").into_iter().collect()))
        .send()
        .await
        .unwrap();
    assert!(undone.item.is_none(), "the put was rolled back");

    let stream_arn = client
        .describe_table()
        .table_name(&table)
        .send()
        .await
        .unwrap()
        .table
        .and_then(|t| t.latest_stream_arn)
        .expect("the table has a stream");
    let streams = aws_sdk_dynamodbstreams::Client::new(&devhost::aws_config().await);
    let shard = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .unwrap()
        .stream_description
        .and_then(|d| d.shards)
        .and_then(|mut shards| shards.pop())
        .and_then(|shard| shard.shard_id)
        .expect("a shard");
    let iterator = streams
        .get_shard_iterator()
        .stream_arn(&stream_arn)
        .shard_id(shard)
        .shard_iterator_type(aws_sdk_dynamodbstreams::types::ShardIteratorType::TrimHorizon)
        .send()
        .await
        .unwrap()
        .shard_iterator
        .unwrap();
    let records = streams
        .get_records()
        .shard_iterator(iterator)
        .send()
        .await
        .unwrap()
        .records
        .unwrap_or_default();
    assert_eq!(
        records.len(),
        1,
        "only the first put is in the stream: {records:?}"
    );
}

/// A text of a version of job `job` going en route, as the texts' function builds it (the
/// count claims it).
fn new_text(job: &str, version: u64) -> domain::TextRecord {
    let now = Utc::now();
    domain::TextRecord {
        id: format!("{job}#v{version:010}#onTheWay"),
        work_order_id: "W1".into(),
        job_id: job.into(),
        trigger: domain::TextTrigger::OnTheWay,
        state: domain::TextState::Pending,
        reason: None,
        to: None,
        contact_id: None,
        text: None,
        message_id: None,
        attempts: 0,
        created_at: now,
        updated_at: now,
    }
}

#[tokio::test]
async fn concurrent_texts_share_the_sms_limits_in_the_table_and_a_retry_counts_once() {
    let store = store().await;
    let acme = tenant("acme");
    let customer = domain::CustomerId("C1".into());
    let settings = domain::Settings {
        sms_policy: domain::SmsPolicy {
            daily_limit: 4,
            ..domain::SmsPolicy::default()
        },
        ..domain::Settings::default()
    };
    let day: chrono::DateTime<Utc> = "2030-01-01T10:00:00Z".parse().unwrap();
    let mut texts = Vec::new();
    for i in 0..10 {
        texts.push(new_text(&format!("J{i}"), 2));
    }
    // Ten invocations at once, each with its own text to its own number.
    let counted = futures::future::join_all(texts.iter().enumerate().map(|(i, text)| {
        let (store, acme, customer, settings) = (&store, &acme, &customer, &settings);
        async move {
            let number = format!("+4670123456{i}");
            store
                .count_text(acme, customer, text, &number, settings, day)
                .await
                .expect("counted")
        }
    }))
    .await;
    let granted = counted
        .iter()
        .filter(|q| **q == store::Quota::Granted)
        .count();
    assert_eq!(granted, 4, "{counted:?}");
    assert!(
        counted
            .iter()
            .filter(|q| **q != store::Quota::Granted)
            .all(|q| *q == store::Quota::Over(vec![domain::SmsLimit::OrganisationDaily]))
    );
    // A granted text tried again (its publish failed) holds its count: nothing counted twice.
    let first = counted
        .iter()
        .position(|q| *q == store::Quota::Granted)
        .unwrap();
    let number = format!("+4670123456{first}");
    let count_first_again = || async {
        store
            .count_text(&acme, &customer, &texts[first], &number, &settings, day)
            .await
            .unwrap()
    };
    assert_eq!(count_first_again().await, store::Quota::Held);
    // Once sent and settled, another attempt counts nothing and cannot settle it again.
    let mut sent = texts[first].clone();
    sent.state = domain::TextState::Sent;
    assert!(store.settle_text(&acme, &customer, &sent).await.unwrap());
    assert_eq!(count_first_again().await, store::Quota::Settled);
    let mut suppressed = texts[first].clone();
    suppressed.state = domain::TextState::Suppressed;
    assert!(
        !store
            .settle_text(&acme, &customer, &suppressed)
            .await
            .unwrap()
    );
    // The next day starts afresh.
    let next_day: chrono::DateTime<Utc> = "2030-01-02T10:00:00Z".parse().unwrap();
    let refused = counted
        .iter()
        .position(|q| *q != store::Quota::Granted)
        .unwrap();
    let tomorrow = store
        .count_text(
            &acme,
            &customer,
            &texts[refused],
            "+46701234560",
            &settings,
            next_day,
        )
        .await
        .unwrap();
    assert_eq!(tomorrow, store::Quota::Granted);
    // One number, one job: the job's limit (3) and the number's (6) in the same transaction.
    let settings = domain::Settings::default();
    let mut outcomes = Vec::new();
    for version in 2..6 {
        let text = new_text("JX", version);
        outcomes.push(
            store
                .count_text(&acme, &customer, &text, "+46709999999", &settings, next_day)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        outcomes,
        [
            store::Quota::Granted,
            store::Quota::Granted,
            store::Quota::Granted,
            store::Quota::Over(vec![domain::SmsLimit::JobAndTrigger])
        ]
    );
}
