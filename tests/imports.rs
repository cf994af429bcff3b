//! Bulk imports end to end: files go into the emulator's bucket (through the upload form, or
//! dropped straight in), S3 notifies the queue, devhost delivers the messages to the built
//! import function, and the API shows the import and the customers. The parsing cases
//! themselves are unit-tested in `shared/import`.

use std::time::Duration;

use aws_sdk_dynamodb::types::AttributeValue;
use e2e::imports::fetch;
use e2e::{Suite, customer};
use serde_json::{Value, json};

const COORDINATOR: &[&str] = &["coordinator"];

/// A Visma-shaped, semicolon-separated file as Excel saves it: two good rows, an invalid
/// e-mail, a repeated customer number, and a number that is a formula.
const MIXED: &str = "Kundnummer;Förnamn;Efternamn;Företag;E-post;Mobil;Ort;Land;Kreditgräns\r\n\
1001;Åsa;Öberg;;asa@example.com;070-123 45 67;Malmö;SE;\"5 000,50\"\r\n\
1002;;;\"Berg; Söner AB\";info@berg.se;;Lund;SE;\r\n\
1003;Bo;Ek;;not-an-email;;Umeå;SE;\r\n\
1001;Dup;Row;;dup@example.com;;;SE;\r\n\
=1+2;Eve;Lind;;eve@example.com;;;SE;\r\n";

fn csv_rows(count: usize, first_number: usize) -> String {
    let mut csv = String::from("Customer Number,First Name,Last Name,Email,City\n");
    for i in 0..count {
        let n = first_number + i;
        csv.push_str(&format!("{n},First{n},Last{n},c{n}@example.com,Town\n"));
    }
    csv
}

fn count(view: &Value, name: &str) -> u64 {
    view["counts"][name].as_u64().unwrap_or_default()
}

#[tokio::test]
async fn an_uploaded_file_is_imported_with_a_report_of_every_bad_row() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let requested = office
        .post("/imports", &json!({"fileName": "kunder.csv"}))
        .await;
    requested.expect(201);
    let id = requested.body["id"].as_str().unwrap().to_owned();
    let posted = suite
        .upload(&requested.body["upload"], &[], MIXED.as_bytes())
        .await;
    assert_eq!(
        posted.status, 204,
        "the upload form takes the file: {}",
        posted.body
    );

    let done = office.finished_import(&id).await;
    assert_eq!(done.body["status"], "completed", "{}", done.body);
    assert_eq!(count(&done.body, "rowsRead"), 5);
    assert_eq!(count(&done.body, "created"), 2);
    assert_eq!(count(&done.body, "failed"), 3);

    let asa = office.get("/customers?number=1001").await;
    let asa = &asa.body["items"][0];
    assert_eq!(asa["firstName"], "Åsa");
    assert_eq!(
        asa["mobile"], "+46701234567",
        "national number read as Swedish"
    );
    assert_eq!(
        asa["terms"]["creditLimit"], 500050,
        "decimal comma, minor units"
    );
    let asa_id = asa["id"].as_str().unwrap();
    // Linked to the import: deactivate, never delete.
    let admin = suite.user("acme", "ada", &["administrator"]);
    admin
        .delete(&format!("/customers/{asa_id}"))
        .await
        .expect_problem(409, "customer-in-use");
    let berg = office.get("/customers?number=1002").await;
    assert_eq!(berg.body["items"][0]["companyName"], "Berg; Söner AB");
    assert_eq!(berg.body["items"][0]["kind"], "company");

    let report = office.get(&format!("/imports/{id}/errors")).await;
    report.expect(303);
    let (status, bytes) = fetch(
        http::Method::GET,
        report.header("location").unwrap(),
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).unwrap();
    let rows: Vec<&str> = text.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(rows[0], "line,column,field,code,message,value");
    assert!(
        rows[1].starts_with("4,E-post,/email,invalid_email"),
        "{text}"
    );
    assert!(
        rows[2].starts_with("5,Kundnummer,/customerNumber,duplicate_in_file"),
        "{text}"
    );
    assert!(
        rows[3].starts_with("6,Kundnummer,/customerNumber,"),
        "{text}"
    );
    assert!(rows[3].ends_with(",'=1+2"), "formula escaped: {text}");
    assert!(!text.contains(",=1+2"), "{text}");
}

/// The upload form works for its whole 15 minutes, but an import counts its first upload
/// only: the first object event claims the import (awaiting -> running), and a second upload
/// with the same form (a replay, a double submit) starts no import and changes nothing.
#[tokio::test]
async fn a_second_upload_with_the_same_form_starts_no_second_import() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let requested = office.post("/imports", &json!({})).await;
    requested.expect(201);
    let id = requested.body["id"].as_str().unwrap().to_owned();
    let upload = &requested.body["upload"];
    let first = suite
        .upload(upload, &[], csv_rows(2, 4001).as_bytes())
        .await;
    assert_eq!(first.status, 204, "{}", first.body);
    let done = office.finished_import(&id).await;
    assert_eq!(count(&done.body, "created"), 2, "{}", done.body);

    let second = suite
        .upload(upload, &[], csv_rows(3, 5001).as_bytes())
        .await;
    assert_eq!(second.status, 204, "S3 takes it: the form is still valid");
    // The second upload's event reaches the import function within a second or two.
    tokio::time::sleep(Duration::from_secs(5)).await;
    let all = office.get("/imports?limit=100").await;
    let items = all.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one import: {}", all.body);
    assert_eq!(items[0]["id"], id.as_str());
    assert_eq!(count(&items[0], "created"), 2, "{}", items[0]);
    let customers = office.get("/customers?limit=100").await;
    assert_eq!(
        customers.body["items"].as_array().unwrap().len(),
        2,
        "nothing of the second file: {}",
        customers.body
    );
}

#[tokio::test]
async fn a_dropped_file_imports_once_per_delivery_and_again_as_unchanged() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let key = "imports/acme/erp/customers.csv";
    suite.drop_file(key, csv_rows(3, 2001)).await;
    let first = office.finished_imports(1).await;
    assert_eq!(count(&first[0], "created"), 3, "{}", first[0]);
    assert_eq!(first[0]["source"], "bucket");
    assert_eq!(first[0]["fileName"], "customers.csv");

    // The same notification delivered twice (SQS delivers at least once): one import.
    let head = suite
        .s3()
        .await
        .head_object()
        .bucket(suite.bucket())
        .key(key)
        .send()
        .await
        .unwrap();
    let notification = json!({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "eventTime": "2026-12-01T10:00:00.000Z",
        "s3": {"bucket": {"name": suite.bucket()},
               "object": {"key": "imports/acme/erp/customers.csv", "size": 10,
                          "eTag": head.e_tag().unwrap().trim_matches('"'),
                          "sequencer": "00REDELIVERED"}}}]})
    .to_string();
    let sqs = suite.sqs().await;
    let queue = &suite.stack.queues["ImportsQueue"];
    for _ in 0..2 {
        sqs.send_message()
            .queue_url(queue)
            .message_body(&notification)
            .send()
            .await
            .unwrap();
    }
    let after = office.finished_imports(2).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let all = office.get("/imports?limit=100").await;
    assert_eq!(
        all.body["items"].as_array().unwrap().len(),
        2,
        "{}",
        all.body
    );
    let again = &after[0];
    assert_eq!(count(again, "unchanged"), 3, "{again}");
    assert_eq!(count(again, "created"), 0);

    // The same file uploaded again later: a new import, nothing changes.
    suite.drop_file(key, csv_rows(3, 2001)).await;
    let third = office.finished_imports(3).await;
    assert_eq!(count(&third[0], "unchanged"), 3, "{}", third[0]);
    let list = office.get("/customers?limit=100").await;
    assert_eq!(list.body["items"].as_array().unwrap().len(), 3);
}

#[tokio::test]
async fn a_long_file_checkpoints_and_resumes_without_losing_or_repeating_a_row() {
    // Seven rows per invocation: forty rows take six hand-overs.
    let suite = Suite::start_with_parameters(2, &[("ImportRowsPerInvocation", "7")]).await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let mut csv = csv_rows(40, 3001);
    // Line 32 repeats the customer of line 3, across several hand-overs.
    csv = csv.replace("3031,First3031", "3002,Again3002");
    suite.drop_file("imports/acme/big.csv", csv).await;
    let done = &office.finished_imports(1).await[0];
    assert_eq!(count(done, "rowsRead"), 40, "{done}");
    assert_eq!(count(done, "created"), 39);
    assert_eq!(count(done, "failed"), 1);
    assert!(done["invocations"].as_u64().unwrap() >= 6, "{done}");
    let mut numbers = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/customers?sort=number&limit=100&cursor={c}"),
            None => "/customers?sort=number&limit=100".to_owned(),
        };
        let page = office.get(&path).await;
        for item in page.body["items"].as_array().unwrap() {
            numbers.push(item["customerNumber"].as_str().unwrap().to_owned());
        }
        cursor = page.body["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    let expected: Vec<String> = (3001..=3040)
        .filter(|n| *n != 3031)
        .map(|n| n.to_string())
        .collect();
    assert_eq!(numbers, expected);
    let again = office.get("/customers?number=3002").await;
    assert_eq!(again.body["items"][0]["firstName"], "First3002");

    // Each invocation counts the rows it committed: over all of them, every row once.
    let metrics = suite.metrics("ImportRowsCreated");
    let sum = |name: &str| {
        metrics
            .iter()
            .map(|m| m[name].as_u64().unwrap())
            .sum::<u64>()
    };
    assert_eq!((sum("ImportRowsCreated"), sum("ImportRowsFailed")), (39, 1));
    assert!(
        metrics.len() >= 6,
        "one line per invocation: {}",
        metrics.len()
    );
    assert_eq!(suite.metrics("ImportsCompleted").len(), 1);
    assert!(metrics.iter().all(|m| m["tenant"] == "acme"));
}

#[tokio::test]
async fn a_file_of_several_batches_is_written_whole_in_full_transactions() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    // 460 rows: two batches of reading (400 rows each at most), the first ending in a block
    // that waits for the next batch's rows; line 452 repeats line 12, a batch earlier, and is
    // reported.
    let csv = csv_rows(460, 6001).replace("6451,First6451", "6011,Again6011");
    suite.drop_file("imports/acme/many.csv", csv).await;
    let done = &office.finished_imports(1).await[0];
    assert_eq!(count(done, "rowsRead"), 460, "{done}");
    assert_eq!(count(done, "created"), 459);
    assert_eq!(count(done, "failed"), 1);
    let mut seen = 0;
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(c) => format!("/customers?sort=number&limit=100&cursor={c}"),
            None => "/customers?sort=number&limit=100".to_owned(),
        };
        let page = office.get(&path).await;
        seen += page.body["items"].as_array().unwrap().len();
        cursor = page.body["nextCursor"].as_str().map(str::to_owned);
        if cursor.is_none() {
            break;
        }
    }
    assert_eq!(seen, 459);
    let report = suite
        .object_text(&format!(
            "reports/acme/{}.csv",
            done["id"].as_str().unwrap()
        ))
        .await;
    assert!(
        report.contains("\n452,Customer Number,/customerNumber,duplicate_in_file"),
        "{report}"
    );
}

#[tokio::test]
async fn an_import_updates_what_the_file_changes_and_says_so_in_the_history() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let created = office
        .post("/customers", &customer("4001", "Anna", "Berg"))
        .await;
    created.expect(201);
    let id = created.body["id"].as_str().unwrap().to_owned();
    let csv = "Customer Number,First Name,Last Name,City,Credit Limit\n\
               4001,Anna,Berg,Uppsala,\"7,000.00\"\n";
    suite.drop_file("imports/acme/update.csv", csv).await;
    let done = &office.finished_imports(1).await[0];
    assert_eq!(count(done, "updated"), 1, "{done}");
    let card = office.get(&format!("/customers/{id}")).await;
    assert_eq!(card.body["visitingAddress"]["city"], "Uppsala");
    assert_eq!(card.body["terms"]["creditLimit"], 700000);
    assert_eq!(card.body["terms"]["paymentTerms"], "net30", "kept");
    assert_eq!(card.body["email"], "customer.4001@example.com", "kept");
    let history = office.get(&format!("/customers/{id}/history")).await;
    let latest = &history.body["items"][0];
    assert_eq!(latest["kind"], "updated");
    assert_eq!(
        latest["by"],
        format!("import:{}", done["id"].as_str().unwrap())
    );
}

#[tokio::test]
async fn files_outside_a_tenant_prefix_are_rejected_and_recorded() {
    let suite = Suite::start().await;
    let acme = suite.user("acme", "olga", COORDINATOR);
    let globex = suite.user("globex", "gil", COORDINATOR);
    let rows = csv_rows(1, 5001);
    // A key with ".." parts, as S3 would notify it (HTTP clients collapse such paths, so it
    // is sent as the notification S3 would send).
    let sneaky = json!({"Records": [{
        "eventName": "ObjectCreated:Put", "eventTime": "2026-12-01T10:00:00.000Z",
        "s3": {"bucket": {"name": suite.bucket()},
               "object": {"key": "imports/acme/%2E%2E/globex/sneaky.csv", "eTag": "e",
                          "sequencer": "01"}}}]});
    suite
        .sqs()
        .await
        .send_message()
        .queue_url(&suite.stack.queues["ImportsQueue"])
        .message_body(sneaky.to_string())
        .send()
        .await
        .unwrap();
    suite.drop_file("imports/nobody.csv", rows).await;
    // A good file afterwards: once it is done, the queue has passed the bad ones.
    suite
        .drop_file("imports/acme/fine.csv", csv_rows(1, 5002))
        .await;
    acme.finished_imports(1).await;
    tokio::time::sleep(Duration::from_secs(2)).await;

    assert_eq!(
        globex.get("/imports").await.body["items"],
        json!([]),
        "nothing reached the other tenant"
    );
    assert_eq!(globex.get("/customers").await.body["items"], json!([]));
    assert_eq!(
        acme.get("/imports").await.body["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        acme.get("/customers?number=5001").await.body["items"],
        json!([])
    );

    let day = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let rejected = suite
        .dynamodb
        .query()
        .table_name(suite.table())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(
            ":pk",
            AttributeValue::S(format!("SYSTEM#REJECTED_IMPORTS#{day}")),
        )
        .send()
        .await
        .unwrap();
    let keys: Vec<String> = rejected
        .items()
        .iter()
        .map(|item| item["SK"].as_s().unwrap().clone())
        .collect();
    assert!(
        keys.contains(&"imports/acme/../globex/sneaky.csv".to_owned()),
        "{keys:?}"
    );
    assert!(keys.contains(&"imports/nobody.csv".to_owned()), "{keys:?}");
}

/// Visma's Organisationsnummer column is read and checked by the row's country; a number
/// another customer holds (in any spelling) and an invalid one are the rows' errors.
#[tokio::test]
async fn a_visma_file_brings_organisation_numbers_checked_and_unique() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let mut holder = customer("5100", "Anna", "Berg");
    holder["companyName"] = json!("Berg AB");
    holder["organisationNumber"] = json!("556012-5790");
    holder["invoiceAddress"] = json!({"country": "SE"});
    office.post("/customers", &holder).await.expect(201);
    let csv = "Kundnummer;Namn;Organisationsnummer;Ort;Land\r\n\
               5001;Bergs Måleri AB;5567037485;Lund;SE\r\n\
               5002;Dubbel AB;SE 556012-5790 01;Lund;SE\r\n\
               5003;Fel AB;556703-7486;Lund;SE\r\n\
               5004;Samma AB;556703-7485;Lund;SE\r\n";
    suite.drop_file("imports/acme/visma.csv", csv).await;
    let done = &office.finished_imports(1).await[0];
    assert_eq!(count(done, "created"), 1, "{done}");
    assert_eq!(count(done, "failed"), 3, "{done}");
    let found = office
        .get("/customers?organisationNumber=556703-7485&organisationNumberCountry=SE")
        .await;
    assert_eq!(found.body["items"][0]["customerNumber"], "5001");
    assert_eq!(found.body["items"][0]["organisationNumber"], "556703-7485");
    assert_eq!(found.body["items"][0]["organisationNumberCountry"], "SE");

    let id = done["id"].as_str().unwrap();
    let report = office.get(&format!("/imports/{id}/errors")).await;
    report.expect(303);
    let (status, bytes) = fetch(
        http::Method::GET,
        report.header("location").unwrap(),
        Vec::new(),
    )
    .await;
    assert_eq!(status, 200);
    let text = String::from_utf8(bytes).unwrap();
    assert!(text.contains("3,,,organisation_number_taken,"), "{text}");
    assert!(
        text.contains("5,Organisationsnummer,/organisationNumber,organisation_number_taken"),
        "a second row of the file with the number: {text}"
    );
    assert!(
        text.contains("Organisationsnummer,/organisationNumber,invalid_organisation_number"),
        "{text}"
    );
}

/// A QuickBooks Online customer list: no customer-number column.
const QUICKBOOKS_WITHOUT_NUMBERS: &str = "Display Name,Email,Phone,Billing Street,Billing City\n\
Anna Berg,anna@example.com,08-123 456 78,Storgatan 1,Stockholm\n\
Bo Ek,bo@example.com,,Lillgatan 2,Uppsala\n";

async fn number_automatically(admin: &e2e::Session<'_>) {
    let mut settings = admin.get("/settings").await.body;
    settings["autoNumber"] = json!(true);
    settings["defaultCountry"] = json!("SE");
    admin
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
}

/// Without automatic numbering every row of a file without numbers would fail alike: the
/// import fails once, for the file, saying how to fix it (before, each row failed `required`
/// with no column named). With numbering turned on, the same file imports.
#[tokio::test]
async fn a_quickbooks_list_without_numbers_fails_once_with_the_fix_until_numbering_is_on() {
    let suite = Suite::start_with(1).await;
    let admin = suite.user("acme", "ada", &["administrator"]);
    let file = QUICKBOOKS_WITHOUT_NUMBERS.as_bytes();

    let refused = admin.import_csv(&json!({}), file).await;
    assert_eq!(refused["status"], "failed", "{refused}");
    let failure = refused["failure"].as_str().unwrap();
    assert!(failure.contains("QuickBooks"), "{failure}");
    assert!(failure.contains("automatic numbering"), "{failure}");
    assert!(failure.contains("Customer Number"), "{failure}");
    assert_eq!(count(&refused, "rowsRead"), 0);
    assert!(refused.get("errorReport").is_none(), "{refused}");
    // What the import understood of the header is shown all the same.
    assert_eq!(refused["mapping"]["shape"], "quickBooksOnline");

    number_automatically(&admin).await;
    let imported = admin.import_csv(&json!({}), file).await;
    assert_eq!(imported["status"], "completed", "{imported}");
    assert_eq!(count(&imported, "created"), 2);
    assert_eq!(count(&imported, "failed"), 0);
}

/// A new customer with the e-mail of an existing one is imported, as a file cannot confirm a
/// possible duplicate the way an API caller does, and counted and named with the customer it
/// resembles.
#[tokio::test]
async fn a_row_with_an_existing_customers_email_is_imported_and_named_a_possible_duplicate() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let mut anna = customer("1001", "Anna", "Berg");
    anna["email"] = json!("anna@example.com");
    office.post("/customers", &anna).await.expect(201);
    let csv = "Customer Number,First Name,Last Name,Email\n\
               2001,Anna,Bergström,anna@example.com\n\
               2002,Bo,Ek,bo@example.com\n";

    let done = office.import_csv(&json!({}), csv.as_bytes()).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(count(&done, "created"), 2);
    assert_eq!(count(&done, "failed"), 0);
    assert_eq!(count(&done, "possibleDuplicates"), 1);
    let warnings = done["warnings"].to_string();
    assert!(warnings.contains("possible duplicates"), "{warnings}");
    let report = office.error_report(&done).await;
    let lines: Vec<&str> = report.trim_start_matches('\u{feff}').lines().collect();
    assert_eq!(lines.len(), 2, "{report}");
    assert!(
        lines[1].starts_with("2,Email,/email,possible_duplicate,"),
        "{report}"
    );
    assert!(lines[1].contains("1001 (Anna Berg)"), "{report}");
    assert!(lines[1].ends_with(",anna@example.com"), "{report}");
    office.get("/customers?number=2001").await.expect(200);
}

/// The template as downloaded imports nothing: its example row is refused by name.
#[tokio::test]
async fn the_template_imported_as_it_is_creates_no_customer() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", COORDINATOR);
    let template = office.get("/imports/template").await;
    template.expect(200);
    let template = template.body.as_str().expect("CSV text").to_owned();

    let done = office.import_csv(&json!({}), template.as_bytes()).await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(count(&done, "created"), 0);
    assert_eq!(count(&done, "failed"), 1);
    let report = office.error_report(&done).await;
    assert!(
        report.contains("\n2,Customer Number,/customerNumber,example_row,"),
        "{report}"
    );
    let listed = office.get("/customers?limit=10").await;
    let items = listed.body["items"].as_array().map_or(0, Vec::len);
    assert_eq!(items, 0, "{}", listed.body);
}
