//! Races decided by DynamoDB conditions, not by luck: many requests at once through several
//! function processes.

use e2e::{Suite, customer};
use futures::future::join_all;
use serde_json::json;

const RACERS: usize = 20;

#[tokio::test]
async fn of_twenty_creates_with_one_number_exactly_one_wins() {
    let suite = Suite::start_with(8).await;
    let alice = suite.user("acme", "alice", &["administrator"]);
    let replies = join_all((0..RACERS).map(|i| {
        let alice = alice.clone();
        async move {
            alice
                .post(
                    "/customers",
                    &customer("RACE-1", "Racer", &format!("No{i}")),
                )
                .await
        }
    }))
    .await;
    let created = replies.iter().filter(|r| r.status == 201).count();
    let conflicts = replies.iter().filter(|r| r.status == 409).count();
    assert_eq!(
        (created, conflicts),
        (1, RACERS - 1),
        "statuses: {:?}",
        statuses(&replies)
    );

    let stored = alice.get("/customers").await;
    assert_eq!(
        stored.body["items"].as_array().unwrap().len(),
        1,
        "one customer stored"
    );
    let by_number = alice.get("/customers?number=RACE-1").await;
    let winner = replies.iter().find(|r| r.status == 201).unwrap();
    assert_eq!(by_number.body["items"][0]["id"], winner.body["id"]);
}

#[tokio::test]
async fn of_twenty_updates_with_one_etag_exactly_one_wins() {
    let suite = Suite::start_with(8).await;
    let alice = suite.user("acme", "alice", &["administrator"]);
    let created = alice
        .post("/customers", &customer("1", "Anna", "Berg"))
        .await;
    let path = format!("/customers/{}", created.body["id"].as_str().unwrap());
    let etag = created.etag();

    let replies = join_all((0..RACERS).map(|i| {
        let (alice, path, etag) = (alice.clone(), path.clone(), etag.clone());
        async move {
            alice
                .patch(&path, &etag, &json!({"description": format!("writer {i}")}))
                .await
        }
    }))
    .await;
    let ok = replies.iter().filter(|r| r.status == 200).count();
    let stale = replies.iter().filter(|r| r.status == 412).count();
    assert_eq!(
        (ok, stale),
        (1, RACERS - 1),
        "statuses: {:?}",
        statuses(&replies)
    );

    let winner = replies.iter().find(|r| r.status == 200).unwrap();
    let now = alice.get(&path).await;
    assert_eq!(
        now.body["description"], winner.body["description"],
        "the winner's write is the one stored"
    );
    assert_eq!(now.etag(), "\"2\"");
}

fn statuses(replies: &[e2e::Reply]) -> Vec<u16> {
    replies.iter().map(|r| r.status).collect()
}

/// A company with an organisation number, its own customer number and e-mail (no duplicate
/// warning between racers).
fn company(number: &str, organisation_number: &str) -> serde_json::Value {
    let mut body = customer(number, "Racer", number);
    body["companyName"] = json!(format!("Racer {number} AB"));
    body["organisationNumber"] = json!(organisation_number);
    body["invoiceAddress"] = json!({"city": "Lund", "country": "SE"});
    body
}

#[tokio::test]
async fn of_twenty_creates_with_one_organisation_number_in_any_spelling_exactly_one_wins() {
    let suite = Suite::start_with(8).await;
    let alice = suite.user("acme", "alice", &["administrator"]);
    // The national number and the VAT number built from it are one organisation.
    let spellings = [
        "556012-5790",
        "5560125790",
        "SE 556012579001",
        "SE556012-579001",
    ];
    let replies = join_all((0..RACERS).map(|i| {
        let alice = alice.clone();
        let body = company(&format!("ORG-{i}"), spellings[i % spellings.len()]);
        async move { alice.post("/customers", &body).await }
    }))
    .await;
    let created: Vec<_> = replies.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "statuses: {:?}", statuses(&replies));
    for reply in replies.iter().filter(|r| r.status != 201) {
        reply.expect_problem(409, "organisation-number-taken");
    }
    let winner = created[0];
    let id = winner.body["id"].as_str().unwrap();

    // Found by exact lookup in any spelling, national ones by the country given.
    for query in [
        "organisationNumber=SE556012579001",
        "organisationNumber=556012-5790&organisationNumberCountry=SE",
        "organisationNumber=5560125790&organisationNumberCountry=se",
    ] {
        let found = alice.get(&format!("/customers?{query}")).await;
        assert_eq!(found.body["items"][0]["id"], id, "{query}");
    }
    assert_eq!(
        alice
            .get("/customers?organisationNumber=NO923609016MVA")
            .await
            .body["items"],
        json!([])
    );
    alice
        .get("/customers?organisationNumber=556012-5791&organisationNumberCountry=SE")
        .await
        .expect_problem(400, "invalid-parameter");
    alice
        .get("/customers?organisationNumber=SE556012579001&q=racer")
        .await
        .expect_problem(400, "invalid-parameter");

    // A change frees the old number and claims the new one.
    let path = format!("/customers/{id}");
    let changed = alice
        .patch(
            &path,
            &winner.etag(),
            &json!({"organisationNumber": "DK24256790"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{:?}", changed.body);
    assert_eq!(changed.body["organisationNumber"], "DK24256790");
    assert_eq!(changed.body["organisationNumberCountry"], "DK");
    let mut danish = company("ORG-X", "24256790");
    danish["invoiceAddress"]["country"] = json!("DK");
    alice
        .post("/customers", &danish)
        .await
        .expect_problem(409, "organisation-number-taken");
    let freed = alice
        .post("/customers", &company("ORG-Y", "556012-5790"))
        .await;
    assert_eq!(
        freed.status, 201,
        "the old number is free: {:?}",
        freed.body
    );

    // A delete frees it too.
    let freed_path = format!("/customers/{}", freed.body["id"].as_str().unwrap());
    assert_eq!(alice.delete(&freed_path).await.status, 204);
    let again = alice
        .post("/customers", &company("ORG-Z", "SE556012579001"))
        .await;
    assert_eq!(again.status, 201, "{:?}", again.body);
}
