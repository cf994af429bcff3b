//! The API side of imports end to end: requesting an upload form that the emulator's S3
//! accepts a file with (and holds to its policy), Idempotency-Key, following imports, the error report's redirect, the template, and who
//! may do any of it. Whether the import function then runs the uploaded file is the business
//! of tests/imports.rs: nothing here depends on it.

use std::time::Duration;

use chrono::{DateTime, Utc};
use e2e::{Reply, Session, Suite};
use http::Method;
use serde_json::{Value, json};
use store::{ImportCounts, ImportRecord, ImportSource, ImportStatus, TenantId};

const COORDINATOR: &[&str] = &["coordinator"];
const TECHNICIAN: &[&str] = &["technician"];
const ADMIN: &[&str] = &["administrator"];

const CSV: &str = "Customer Number;Förnamn;Efternamn;E-post\r\n5001;Åsa;Öberg;asa@example.com\r\n";

fn id_of(reply: &Reply) -> String {
    reply.body["id"].as_str().expect("an import id").to_owned()
}

fn at(value: &Value) -> DateTime<Utc> {
    value
        .as_str()
        .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_else(|| panic!("not a date-time: {value}"))
}

/// Members of the record that are the import function's business, never the client's.
fn assert_no_internals(view: &Value) {
    for hidden in [
        "objectKey",
        "etag",
        "checkpoint",
        "version",
        "errorReportKey",
    ] {
        assert!(view.get(hidden).is_none(), "{hidden} is exposed: {view}");
    }
}

/// The list's ids, retried briefly: the list is read from an index.
async fn listed_ids(session: &Session<'_>, wanted: &str) -> Vec<String> {
    let mut ids = Vec::new();
    for _ in 0..20 {
        let reply = session.get("/imports").await;
        reply.expect(200);
        ids = reply.body["items"]
            .as_array()
            .expect("items")
            .iter()
            .map(|i| i["id"].as_str().unwrap().to_owned())
            .collect();
        if ids.iter().any(|id| id == wanted) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    ids
}

/// A finished import written straight into the table, as the import function leaves one,
/// so the report routes are tested without depending on a real run.
async fn finished_import(
    suite: &Suite,
    tenant: &str,
    status: ImportStatus,
    report_key: Option<&str>,
) -> String {
    let store = suite.store();
    let id = ulid::Ulid::new().to_string();
    let now = Utc::now();
    let record = ImportRecord {
        id: id.clone(),
        status,
        source: ImportSource::Bucket,
        object_key: format!("imports/{tenant}/kunder.csv"),
        file_name: Some("kunder.csv".into()),
        requested_by: None,
        created_at: now,
        started_at: Some(now),
        finished_at: Some(now),
        etag: Some("\"abc\"".into()),
        size_bytes: Some(120),
        counts: ImportCounts {
            rows_read: 3,
            created: 1,
            updated: 0,
            unchanged: 1,
            failed: 1,
            without_key: 0,
            possible_duplicates: 0,
            ..ImportCounts::default()
        },
        checkpoint: None,
        done_ahead: Vec::new(),
        lanes: 0,
        invocations: 1,
        failure: (status == ImportStatus::Failed).then(|| "the file is empty".to_owned()),
        error_report_key: report_key.map(|k| k.replace("{id}", &id)),
        request: Default::default(),
        mapping: None,
        version: 4,
    };
    store
        .put_import(&TenantId::parse(tenant).unwrap(), &record, None)
        .await
        .expect("the record is stored");
    id
}

#[tokio::test]
async fn every_import_route_needs_upload() {
    let suite = Suite::start().await;
    let tess = suite.user("acme", "tess", TECHNICIAN);
    let some_id = ulid::Ulid::new().to_string();
    let requests = [
        (
            Method::POST,
            "/imports".to_owned(),
            Some(json!({"fileName": "x.csv"})),
        ),
        (Method::POST, "/imports".to_owned(), None),
        (Method::GET, "/imports".to_owned(), None),
        (Method::GET, "/imports/template".to_owned(), None),
        (Method::GET, format!("/imports/{some_id}"), None),
        (Method::GET, format!("/imports/{some_id}/errors"), None),
    ];
    for (method, path, body) in requests {
        let reply = match body {
            Some(body) => tess.send_json(method.clone(), &path, &[], &body).await,
            None => tess.send(method.clone(), &path, &[], None).await,
        };
        reply.expect_problem(403, "forbidden");
        assert_eq!(
            reply.body["missingPermission"], "upload",
            "{method} {path}: {}",
            reply.body
        );
    }
    let listed = suite.user("acme", "ada", ADMIN).get("/imports").await;
    listed.expect(200);
    assert_eq!(
        listed.body["items"],
        json!([]),
        "the refused request stored nothing"
    );
}

#[tokio::test]
async fn a_requested_upload_form_takes_the_file() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);

    let requested = cora
        .post("/imports", &json!({"fileName": "  Kunder åäö 2025.csv "}))
        .await;
    requested.expect(201);
    let id = id_of(&requested);
    assert_eq!(
        requested.header("location"),
        Some(format!("/imports/{id}").as_str())
    );
    let view = &requested.body;
    assert_eq!(view["status"], "awaitingUpload");
    assert_eq!(view["source"], "api");
    assert_eq!(view["fileName"], "Kunder åäö 2025.csv", "trimmed");
    assert_eq!(view["requestedBy"], "cora");
    assert_eq!(
        view["counts"],
        json!({"rowsRead": 0, "created": 0, "updated": 0, "unchanged": 0, "failed": 0, "withoutKey": 0, "phonesLeftOut": 0, "possibleDuplicates": 0})
    );
    assert_eq!(view["invocations"], 0);
    assert!(view.get("errorReport").is_none());
    assert_no_internals(view);

    let upload = &view["upload"];
    assert_eq!(upload["method"], "POST");
    let url = upload["url"].as_str().expect("an upload URL");
    let key = format!("imports/acme/{id}.csv");
    assert!(
        url.ends_with(&format!("/{}", suite.bucket())),
        "the bucket's URL: {url}"
    );
    assert_eq!(
        upload["fields"]["key"],
        key.as_str(),
        "exactly the import's key"
    );
    assert_eq!(upload["maxBytes"], customers_import::MAX_FILE_BYTES);
    let valid_for = at(&upload["expiresAt"]) - at(&view["createdAt"]);
    assert!(
        (899..=900).contains(&valid_for.num_seconds()),
        "15 minutes: {valid_for}"
    );

    // Excel and browsers send whatever content type they like: any is allowed.
    let posted = suite
        .upload(
            upload,
            &[("Content-Type", "application/vnd.ms-excel")],
            CSV.as_bytes(),
        )
        .await;
    assert_eq!(
        posted.status, 204,
        "the upload form is accepted: {}",
        posted.body
    );
    let stored = suite
        .s3()
        .await
        .head_object()
        .bucket(suite.bucket())
        .key(&key)
        .send()
        .await
        .expect("the file is at the import's key");
    assert_eq!(stored.content_length(), Some(CSV.len() as i64));

    // The import function may pick the file up at any moment: any status will do.
    let read = cora.get(&format!("/imports/{id}")).await;
    read.expect(200);
    assert_eq!(read.body["id"], id.as_str());
    assert_eq!(read.body["fileName"], "Kunder åäö 2025.csv");
    assert!(
        matches!(
            read.body["status"].as_str(),
            Some("awaitingUpload" | "running" | "completed" | "failed")
        ),
        "{}",
        read.body
    );
    assert!(
        read.body.get("upload").is_none(),
        "the URL is handed out once"
    );
    assert_no_internals(&read.body);

    assert!(listed_ids(&cora, &id).await.contains(&id));
}

/// S3 holds a POST upload to its policy: the exact key, 1 byte to the limit, no field added or
/// changed, the policy as signed. The emulator checks POST policies as S3 does (moto does not;
/// infra/local/emulator.py); the policy document itself is unit-tested in the API's
/// `upload_policy`. A file over the limit (100 MiB) is not sent here: the same
/// `content-length-range` refuses an empty one.
#[tokio::test]
async fn the_upload_form_holds_to_its_key_size_and_fields() {
    use base64::Engine;
    use base64::engine::general_purpose::STANDARD;
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let requested = cora.post("/imports", &json!({})).await;
    requested.expect(201);
    let upload = &requested.body["upload"];
    let policy: Value = serde_json::from_slice(
        &STANDARD
            .decode(upload["fields"]["policy"].as_str().unwrap())
            .unwrap(),
    )
    .unwrap();
    let wider = STANDARD.encode(policy.to_string().replace(
        &format!(",{}]", customers_import::MAX_FILE_BYTES),
        ",1099511627776]",
    ));
    // What is sent, what is changed in the form, the file, and S3's answer.
    type Refusal<'a> = (&'a str, &'a [(&'a str, &'a str)], &'a [u8], u16, &'a str);
    let refusals: [Refusal; 5] = [
        ("an empty file", &[], b"", 400, "EntityTooSmall"),
        (
            "another key",
            &[("key", "imports/acme/other.csv")],
            CSV.as_bytes(),
            403,
            "AccessDenied",
        ),
        (
            "another tenant's key",
            &[("key", "imports/globex/01J8ZQ4N6X3M2S7K9V5T1B0C8D.csv")],
            CSV.as_bytes(),
            403,
            "AccessDenied",
        ),
        (
            "an added field",
            &[("x-amz-meta-owner", "mallory")],
            CSV.as_bytes(),
            403,
            "AccessDenied",
        ),
        (
            "a widened policy",
            &[("policy", &wider)],
            CSV.as_bytes(),
            403,
            "SignatureDoesNotMatch",
        ),
    ];
    for (what, changed, file, status, code) in refusals {
        let reply = suite.upload(upload, changed, file).await;
        assert_eq!(reply.status, status, "{what}: {}", reply.body);
        assert!(
            reply.body.as_str().unwrap().contains(code),
            "{what}: {}",
            reply.body
        );
    }
    let stored = suite
        .s3()
        .await
        .list_objects_v2()
        .bucket(suite.bucket())
        .prefix("imports/")
        .send()
        .await
        .unwrap();
    assert_eq!(stored.key_count(), Some(0), "nothing refused was stored");
    let taken = suite.upload(upload, &[], CSV.as_bytes()).await;
    assert_eq!(taken.status, 204, "{}", taken.body);
}

/// POST /imports takes an Idempotency-Key like every other create: a retry (even at the same
/// moment) answers the same import and the same form; the key with another body is refused.
#[tokio::test]
async fn a_request_retried_with_its_idempotency_key_answers_the_same_import() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let key = [("idempotency-key", "import-kunder-2025")];
    let body = json!({"fileName": "kunder.csv"});
    let (one, other) = tokio::join!(
        cora.send_json(Method::POST, "/imports", &key, &body),
        cora.send_json(Method::POST, "/imports", &key, &body),
    );
    let again = cora.send_json(Method::POST, "/imports", &key, &body).await;
    let replies = [&one, &other, &again];
    for reply in replies {
        reply.expect(201);
        assert_eq!(reply.body, one.body, "the same import and form");
        assert_eq!(reply.header("location"), one.header("location"));
    }
    let replayed = replies
        .iter()
        .filter(|r| r.header("idempotent-replayed") == Some("true"))
        .count();
    assert_eq!(replayed, 2, "the first answer, then two replays");
    cora.send_json(
        Method::POST,
        "/imports",
        &key,
        &json!({"fileName": "other.csv"}),
    )
    .await
    .expect_problem(422, "idempotency-key-reused");
    let listed = cora.get("/imports").await;
    assert_eq!(
        listed.body["items"].as_array().unwrap().len(),
        1,
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn another_organisation_does_not_see_the_import() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let id = id_of(cora.post("/imports", &json!({})).await.expect(201));

    let gina = suite.user("globex", "gina", ADMIN);
    gina.get(&format!("/imports/{id}"))
        .await
        .expect_problem(404, "not-found");
    gina.get(&format!("/imports/{id}/errors"))
        .await
        .expect_problem(404, "not-found");
    let theirs = gina.get("/imports").await;
    theirs.expect(200);
    assert_eq!(theirs.body["items"], json!([]));

    cora.get(&format!("/imports/{id}")).await.expect(200);
}

#[tokio::test]
async fn import_ids_are_ulids() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    for path in [
        "/imports/not-an-id",
        "/imports/01JDZ8Q4W6X5V3T2R1P0N9M8K",
        "/imports/ZZZZZZZZZZZZZZZZZZZZZZZZZZ",
        "/imports/not-an-id/errors",
    ] {
        cora.get(path).await.expect_problem(404, "not-found");
    }
    let unknown = ulid::Ulid::new().to_string();
    cora.get(&format!("/imports/{unknown}"))
        .await
        .expect_problem(404, "not-found");

    let id = id_of(cora.post("/imports", &json!({})).await.expect(201));
    let lower = cora.get(&format!("/imports/{}", id.to_lowercase())).await;
    lower.expect(200);
    assert_eq!(lower.body["id"], id.as_str(), "read in any case");
}

#[tokio::test]
async fn the_request_body_is_optional_and_checked() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);

    let bare = cora.send(Method::POST, "/imports", &[], None).await;
    bare.expect(201);
    assert!(bare.body.get("fileName").is_none());
    assert!(bare.body["upload"]["url"].is_string());
    let blank = cora.post("/imports", &json!({"fileName": "   "})).await;
    blank.expect(201);
    assert!(blank.body.get("fileName").is_none(), "blank is no name");

    let long = cora
        .post("/imports", &json!({"fileName": "a".repeat(201)}))
        .await;
    long.expect_problem(422, "validation-failed");
    assert_eq!(
        long.field_errors(),
        [("/fileName".to_owned(), "too_long".to_owned())]
    );
    let control = cora
        .post("/imports", &json!({"fileName": "kunder\n.csv"}))
        .await;
    assert_eq!(
        control.field_errors(),
        [("/fileName".to_owned(), "invalid_characters".to_owned())]
    );
    let unknown = cora
        .post("/imports", &json!({"fileName": "a.csv", "bucket": "other"}))
        .await;
    assert_eq!(
        unknown.field_errors(),
        [("/bucket".to_owned(), "unknown_field".to_owned())]
    );
    cora.send(
        Method::POST,
        "/imports",
        &[("content-type", "text/csv")],
        Some(CSV.as_bytes().to_vec()),
    )
    .await
    .expect_problem(415, "unsupported-media-type");
    cora.send(
        Method::POST,
        "/imports",
        &[("content-type", "application/json")],
        Some(b"{".to_vec()),
    )
    .await
    .expect_problem(400, "malformed-body");
}

#[tokio::test]
async fn imports_are_listed_newest_first_in_pages() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let mut ids = Vec::new();
    for name in ["one.csv", "two.csv", "three.csv"] {
        ids.push(id_of(
            cora.post("/imports", &json!({ "fileName": name }))
                .await
                .expect(201),
        ));
        // ULIDs of the same millisecond need not sort by creation.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    listed_ids(&cora, &ids[0]).await;

    let first = cora.get("/imports?limit=2").await;
    first.expect(200);
    let names: Vec<&str> = first.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["fileName"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["three.csv", "two.csv"]);
    assert_no_internals(&first.body["items"][0]);
    let cursor = first.body["nextCursor"].as_str().expect("a next page");
    let second = cora.get(&format!("/imports?limit=2&cursor={cursor}")).await;
    second.expect(200);
    assert_eq!(second.body["items"][0]["id"], ids[0].as_str());

    cora.get("/imports?limit=0")
        .await
        .expect_problem(400, "invalid-parameter");
    cora.get("/imports?limit=101")
        .await
        .expect_problem(400, "invalid-parameter");
    cora.get("/imports?status=running")
        .await
        .expect_problem(400, "invalid-parameter");
    cora.get("/imports?cursor=garbage")
        .await
        .expect_problem(400, "invalid-parameter");
}

#[tokio::test]
async fn the_template_downloads_as_csv() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let reply = cora.get("/imports/template").await;
    reply.expect(200);
    assert_eq!(
        reply.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        reply.header("content-disposition"),
        Some("attachment; filename=\"customers-import-template.csv\"")
    );
    let text = reply.body.as_str().expect("CSV text");
    let text = text
        .strip_prefix('\u{feff}')
        .unwrap_or_else(|| panic!("no byte-order mark for Excel: {:?}", &text[..20]));
    assert!(!text.starts_with('\u{feff}'), "one byte-order mark");
    let mut lines = text.lines();
    let header = lines.next().unwrap();
    assert!(
        header.starts_with("Customer Number,External ID,Type,First Name,Last Name"),
        "{header}"
    );
    assert!(
        lines.next().unwrap().starts_with("EXAMPLE,"),
        "an example row, which the import refuses"
    );
}

#[tokio::test]
async fn the_error_report_waits_for_the_import_to_finish() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let id = id_of(cora.post("/imports", &json!({})).await.expect(201));
    let reply = cora.get(&format!("/imports/{id}/errors")).await;
    reply.expect_problem(409, "import-not-finished");
    assert_eq!(reply.body["importStatus"], "awaitingUpload");
}

#[tokio::test]
async fn a_finished_import_redirects_to_its_error_report() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let id = finished_import(
        &suite,
        "acme",
        ImportStatus::Completed,
        Some("reports/acme/{id}.csv"),
    )
    .await;
    let report =
        "\u{feff}line,column,field,code,message,value\r\n3,E-post,/email,invalid_email,bad,x\r\n";
    suite
        .s3()
        .await
        .put_object()
        .bucket(suite.bucket())
        .key(format!("reports/acme/{id}.csv"))
        .body(report.as_bytes().to_vec().into())
        .send()
        .await
        .expect("the report is stored");

    let view = cora.get(&format!("/imports/{id}")).await;
    view.expect(200);
    assert_eq!(
        view.body["errorReport"],
        format!("/imports/{id}/errors").as_str()
    );
    assert_eq!(view.body["counts"]["failed"], 1);
    assert_eq!(view.body["source"], "bucket");
    assert!(view.body.get("requestedBy").is_none());
    assert_no_internals(&view.body);

    let errors = cora.get(&format!("/imports/{id}/errors")).await;
    errors.expect(303);
    let location = errors.header("location").expect("a Location").to_owned();
    assert_eq!(errors.body["url"], location.as_str());
    assert!(
        location.contains(&format!("/{}/reports/acme/{id}.csv?", suite.bucket())),
        "{location}"
    );
    let valid_for = at(&errors.body["expiresAt"]) - Utc::now();
    assert!(valid_for.num_seconds() > 890 && valid_for.num_seconds() <= 900);
    let download = suite
        .send_to_url(Method::GET, &location, &[], Vec::new())
        .await;
    assert_eq!(download.status, 200, "{}", download.body);
    assert_eq!(download.body, report);
    assert!(
        download
            .header("content-disposition")
            .is_some_and(|d| d.contains(&format!("import-{id}-errors.csv"))),
        "{:?}",
        download.headers
    );
}

#[tokio::test]
async fn a_failed_import_has_no_error_report() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let id = finished_import(&suite, "acme", ImportStatus::Failed, None).await;
    let view = cora.get(&format!("/imports/{id}")).await;
    view.expect(200);
    assert_eq!(view.body["status"], "failed");
    assert_eq!(view.body["failure"], "the file is empty");
    assert!(view.body.get("errorReport").is_none());
    cora.get(&format!("/imports/{id}/errors"))
        .await
        .expect_problem(404, "no-error-report");
}

#[tokio::test]
async fn a_report_outside_the_tenants_prefix_is_never_handed_out() {
    let suite = Suite::start().await;
    let cora = suite.user("acme", "cora", COORDINATOR);
    let id = finished_import(
        &suite,
        "acme",
        ImportStatus::Completed,
        Some("reports/globex/{id}.csv"),
    )
    .await;
    let reply = cora.get(&format!("/imports/{id}/errors")).await;
    reply.expect_problem(500, "internal");
    assert!(reply.header("location").is_none());
}
