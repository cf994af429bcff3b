//! What one DynamoDB call costs in CPU through the SDK, against the same call made as a signed
//! request of our own (aws-sigv4, hyper, serde_json), on one thread against the emulator: the
//! most a leaner client than the SDK's orchestrator could save per call, which is what part 1
//! of issue 15 hinges on for the functions that make several calls an event (the cascade's
//! four Queries, the texts' five calls; docs/architecture.md#performance). The Query is a
//! strongly consistent page of a sort-key prefix with nothing under it, as the cascade's
//! phases of a customer without records are. CPU is the thread's own
//! (`/proc/thread-self/schedstat`), so the emulator's time is not in it. Run by
//! `infra/local/bench`, with the emulator keeping connections open as AWS does.
use std::time::SystemTime;

use aws_sdk_dynamodb::config::ProvideCredentials;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, BillingMode, KeySchemaElement, KeyType,
    ReturnConsumedCapacity, ScalarAttributeType,
};
use aws_sigv4::http_request::{SignableBody, SignableRequest, SigningSettings, sign};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full};

fn cpu_ns() -> u64 {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap();
    text.split_whitespace().next().unwrap().parse().unwrap()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let config = kit::aws::sdk_config().await;
    let client = kit::aws::dynamodb(&config);
    let table = format!("bench-sdk-call-{}", ulid::Ulid::new());
    client
        .create_table()
        .table_name(&table)
        .billing_mode(BillingMode::PayPerRequest)
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("PK")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name("SK")
                .attribute_type(ScalarAttributeType::S)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("PK")
                .key_type(KeyType::Hash)
                .build()
                .unwrap(),
        )
        .key_schema(
            KeySchemaElement::builder()
                .attribute_name("SK")
                .key_type(KeyType::Range)
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let n: u64 = 2000;
    let sdk_query = || async {
        client
            .query()
            .table_name(&table)
            .key_condition_expression("#pk = :pk AND begins_with(#sk, :prefix)")
            .expression_attribute_names("#pk", "PK")
            .expression_attribute_names("#sk", "SK")
            .expression_attribute_values(":pk", AttributeValue::S("T#bench#C#01ABC".into()))
            .expression_attribute_values(":prefix", AttributeValue::S("SITE#".into()))
            .consistent_read(true)
            .limit(50)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .unwrap()
    };
    for _ in 0..50 {
        sdk_query().await;
    }
    let start = cpu_ns();
    for _ in 0..n {
        sdk_query().await;
    }
    let sdk = (cpu_ns() - start) as f64 / n as f64 / 1000.0;

    let endpoint = std::env::var("AWS_ENDPOINT_URL").unwrap();
    let region = config.region().unwrap().to_string();
    let provider = config.credentials_provider().unwrap();
    let mut tcp = hyper_util::client::legacy::connect::HttpConnector::new();
    tcp.set_nodelay(true);
    let http: hyper_util::client::legacy::Client<_, Full<bytes::Bytes>> =
        hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
            .build(tcp);
    let raw_query = || async {
        let credentials = provider.provide_credentials().await.unwrap();
        let body = serde_json::json!({
            "TableName": table,
            "KeyConditionExpression": "#pk = :pk AND begins_with(#sk, :prefix)",
            "ExpressionAttributeNames": {"#pk": "PK", "#sk": "SK"},
            "ExpressionAttributeValues": {":pk": {"S": "T#bench#C#01ABC"}, ":prefix": {"S": "SITE#"}},
            "ConsistentRead": true,
            "Limit": 50,
            "ReturnConsumedCapacity": "TOTAL",
        })
        .to_string();
        let url = format!("{endpoint}/");
        let headers = [
            ("content-type", "application/x-amz-json-1.0"),
            ("x-amz-target", "DynamoDB_20120810.Query"),
        ];
        let signable = SignableRequest::new(
            "POST",
            &url,
            headers.iter().copied(),
            SignableBody::Bytes(body.as_bytes()),
        )
        .unwrap();
        let identity = credentials.into();
        let params = v4::SigningParams::builder()
            .identity(&identity)
            .region(&region)
            .name("dynamodb")
            .time(SystemTime::now())
            .settings(SigningSettings::default())
            .build()
            .unwrap()
            .into();
        let instructions = sign(signable, &params).unwrap().into_parts().0;
        let mut request = http::Request::builder().method("POST").uri(&url);
        for (name, value) in headers {
            request = request.header(name, value);
        }
        for (name, value) in instructions.headers() {
            request = request.header(name, value);
        }
        let request = request.body(Full::new(bytes::Bytes::from(body))).unwrap();
        let answer = http.request(request).await.unwrap();
        assert!(answer.status().is_success(), "{}", answer.status());
        let bytes = answer.into_body().collect().await.unwrap().to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert!(value["Items"].is_array(), "{value}");
    };
    for _ in 0..50 {
        raw_query().await;
    }
    let start = cpu_ns();
    for _ in 0..n {
        raw_query().await;
    }
    let raw = (cpu_ns() - start) as f64 / n as f64 / 1000.0;
    client
        .delete_table()
        .table_name(&table)
        .send()
        .await
        .unwrap();
    println!("CPU per DynamoDB call ({n} Queries, one thread, emulator excluded)");
    println!("  through the SDK                 {sdk:>6.1} us");
    println!(
        "  as a signed request of our own  {raw:>6.1} us  (saving {:.1} us a call)",
        sdk - raw
    );
}
