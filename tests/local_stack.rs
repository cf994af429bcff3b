//! The local stack against careless clients (infra/local/emulator.py): a presigned PUT sent
//! with a form content type, as Python's urllib sends one by default, stores the bytes as sent;
//! a client that announces a body and never sends it holds up no one else, and stores nothing;
//! a Query filtering on a key attribute is refused, as DynamoDB refuses it.

use std::time::Duration;

use aws_sdk_s3::presigning::PresigningConfig;
use e2e::Suite;
use http::Method;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

const CSV: &[u8] = b"Customer Number;First Name\r\n9001;Anna\r\n";

#[tokio::test]
async fn a_form_typed_put_is_stored_as_sent_and_a_stalled_client_stops_no_one() {
    let suite = Suite::start().await;
    let s3 = suite.s3().await;
    // Outside imports/: no import starts, only S3 is exercised.
    let key = "scratch/urllib.csv";
    let url = s3
        .put_object()
        .bucket(suite.bucket())
        .key(key)
        .presigned(PresigningConfig::expires_in(Duration::from_secs(300)).unwrap())
        .await
        .unwrap()
        .uri()
        .to_owned();
    let put = suite
        .send_to_url(
            Method::PUT,
            &url,
            &[("content-type", "application/x-www-form-urlencoded")],
            CSV.to_vec(),
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);
    assert_eq!(
        stored_bytes(&s3, suite.bucket(), key).await,
        CSV,
        "the bytes as sent, not an empty form"
    );

    // Announces 100 bytes, sends 10, and keeps the connection open.
    let endpoint = std::env::var("AWS_ENDPOINT_URL").expect("the emulator's endpoint");
    let address = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let path = url.split_once(address).map_or("/", |(_, path)| path);
    let mut stalled = TcpStream::connect(address).await.unwrap();
    stalled
        .write_all(
            format!(
                "PUT {path} HTTP/1.1\r\nHost: {address}\r\n\
                 Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 100\r\n\r\n\
                 0123456789"
            )
            .as_bytes(),
        )
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;

    let others = async {
        let listed = s3
            .list_objects_v2()
            .bucket(suite.bucket())
            .send()
            .await
            .expect("S3 answers");
        assert_eq!(listed.key_count(), Some(1));
        let office = suite.user("acme", "olga", &["coordinator"]);
        office.get("/imports").await.expect(200);
    };
    tokio::time::timeout(Duration::from_secs(10), others)
        .await
        .expect("the emulator answers others while one client stalls");
    // Closed before its announced body: refused as S3 does, nothing stored.
    drop(stalled);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(stored_bytes(&s3, suite.bucket(), key).await, CSV);
}

async fn stored_bytes(s3: &aws_sdk_s3::Client, bucket: &str, key: &str) -> Vec<u8> {
    s3.get_object()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .unwrap()
        .body
        .collect()
        .await
        .unwrap()
        .to_vec()
}

#[tokio::test]
async fn a_query_filtering_on_a_key_attribute_is_refused_as_dynamodb_refuses_it() {
    use aws_sdk_dynamodb::error::ProvideErrorMetadata;
    use aws_sdk_dynamodb::types::AttributeValue;
    let (client, table) = e2e::fresh_table().await;
    let query = |filter: &'static str, name: &'static str| {
        client
            .query()
            .table_name(&table)
            .key_condition_expression("#pk = :pk")
            .filter_expression(filter)
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#f", name)
            .expression_attribute_values(":pk", AttributeValue::S("T#acme#C#1".into()))
            .expression_attribute_values(":v", AttributeValue::S("SITE#".into()))
            .send()
    };
    let refused = query("begins_with(#f, :v)", "SK").await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some("ValidationException"),
        "{refused:?}: the sort key"
    );
    let refused = query("#f = :v", "PK").await.unwrap_err();
    assert_eq!(
        refused.code(),
        Some("ValidationException"),
        "the partition key"
    );
    query("begins_with(#f, :v)", "entity")
        .await
        .expect("a filter on any other attribute is applied");
}
