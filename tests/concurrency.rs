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
