//! Customer exports end to end (POST /exports, GET /exports/{id}, the file through its
//! presigned URL): the file holds the customers the list's filters name, in the template's
//! columns and the custom fields, every cell spreadsheet-safe; imported back into the same
//! organisation it changes no customer (no new version, no history entry) and the import
//! counts every row unchanged. A technician may not export.

use e2e::{Session, Suite};
use http::Method;
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

async fn put_settings(admin: &Session<'_>, changes: Value) {
    let mut settings = admin.get("/settings").await.body;
    for (key, value) in changes.as_object().unwrap() {
        settings[key] = value.clone();
    }
    admin
        .send_json(Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
}

/// Customers with every column filled somewhere, and values that trouble spreadsheets and CSV:
/// formulas, `+46` numbers, commas, quotes, line breaks, non-ASCII, negative amounts.
fn odd_customers() -> Vec<Value> {
    vec![
        json!({
            "customerNumber": "X-1", "kind": "person",
            "firstName": "=SUM(A1:A9)", "lastName": "Berg, \"the elder\"",
            "email": "anna.berg@example.com",
            "phone": "+46 8 123 456 78 ext. 12", "mobile": "+46 70 123 45 67",
            "invoiceEmail": "faktura@example.com",
            "visitingAddress": {"line1": "Åsgränd 3", "line2": "c/o Öberg; 2 tr",
                                "postalCode": "114 51", "city": "Göteborg", "country": "SE"},
            "invoiceAddress": {"line1": "Box 12", "postalCode": "123 21", "city": "Stockholm",
                               "region": "@Stockholms län", "country": "SE"},
            "language": "sv", "tags": ["export", "garden", "-minus"],
            "costCentre": "+CC 10", "orderNumber": "PO \"7\"",
            "description": "Gate code 1234\nline two; =cmd|' /C calc'!A0\r\n\ttabbed",
            "terms": {"paymentType": "account", "currency": "SEK", "creditLimit": 500050,
                      "paymentTerms": "net30", "openBalance": -12050},
            "externalRefs": [{"system": "other", "id": "@ext-1"}],
            "customFields": {"level": "Gold", "units": 1.234, "alarm": true,
                             "installed": "2026-01-31", "remark": "'quoted' =x, +y"}
        }),
        json!({
            "customerNumber": "X-2", "kind": "company", "companyName": "+Plus & Co AB",
            "organisationNumber": "556036-0793",
            "email": "info@plus.example.com", "phone": "+4681234567",
            "contacts": [{"firstName": "Örjan", "lastName": "-Lind", "mobile": "+46701112233",
                          "primary": true}],
            "tags": ["export"], "tier": "vip", "onHold": true, "language": "fi",
            "terms": {"paymentType": "cash", "currency": "EUR", "paymentTerms": "dueOnReceipt",
                      "openBalance": 0},
            "externalRefs": [{"system": "quickbooks", "id": "QB-7"}],
            // Sent with spaces around it: stored trimmed, so it reads back as stored.
            "customFields": {"units": -5, "alarm": false, "remark": "  padded remark\t"}
        }),
        json!({
            "customerNumber": "X-3", "firstName": "Zoë", "lastName": "O'Neil",
            "mobile": "+47 412 34 567", "tags": ["export"],
            "description": "\"quoted\", and\nmore"
        }),
        // Not tagged "export": the filter leaves it out.
        json!({"customerNumber": "X-4", "firstName": "Left", "lastName": "Out",
               "tags": ["other"]}),
    ]
}

/// Every customer's ETag and number of history entries, by number.
async fn versions(office: &Session<'_>, ids: &[(String, String)]) -> Vec<(String, String, usize)> {
    let mut out = Vec::new();
    for (number, id) in ids {
        let card = office.get(&format!("/customers/{id}")).await;
        card.expect(200);
        let history = office
            .get(&format!("/customers/{id}/history?limit=100"))
            .await;
        history.expect(200);
        let entries = history.body["items"].as_array().map_or(0, Vec::len);
        out.push((number.clone(), card.etag(), entries));
    }
    out
}

#[tokio::test]
async fn an_export_imported_back_changes_no_customer() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    put_settings(
        &office,
        json!({"defaultCountry": "SE", "customFields": [
            {"key": "level", "label": "Contract level", "type": "choice", "options": ["Gold", "Silver"]},
            {"key": "units", "label": "Units", "type": "number"},
            {"key": "alarm", "label": "Alarm", "type": "yesNo"},
            {"key": "installed", "label": "Installed", "type": "date"},
            // Labelled like one of our columns: exported under its key instead.
            {"key": "remark", "label": "Phone", "type": "text"}
        ]}),
    )
    .await;
    let mut ids = Vec::new();
    for card in odd_customers() {
        let created = office
            .post("/customers?confirmDuplicates=true", &card)
            .await;
        created.expect(201);
        let id = created.body["id"].as_str().expect("an id").to_owned();
        ids.push((card["customerNumber"].as_str().unwrap().to_owned(), id));
    }
    let before = versions(&office, &ids).await;

    let (export, file) = office.export_csv("?tag=export&sort=number").await;
    assert_eq!(export["rows"], 3, "{export}");
    assert_eq!(
        export["filters"],
        json!({"tag": "export", "sort": "number"})
    );
    assert!(file.starts_with('\u{feff}'), "UTF-8 with a byte-order mark");
    assert!(!file.contains("X-4"), "the filter leaves X-4 out: {file}");
    let header = file.lines().next().unwrap();
    assert!(
        header.ends_with(",Contract level,Units,Alarm,Installed,remark"),
        "custom fields by label, or key where the label is one of ours: {header}"
    );
    assert!(file.contains("'=SUM(A1:A9)"), "{file}");
    assert!(
        file.contains("'+46701234567"),
        "E.164 numbers keep their +: {file}"
    );
    assert!(
        file.contains("-120.50"),
        "a negative amount stays a number: {file}"
    );
    assert_spreadsheet_safe(&file);

    let import = office
        .import_csv(&json!({"fileName": "export.csv"}), file.as_bytes())
        .await;
    assert_eq!(import["status"], "completed", "{import}");
    let counts = &import["counts"];
    assert_eq!(counts["rowsRead"], 3, "{import}");
    assert_eq!(counts["unchanged"], 3, "every row is unchanged: {import}");
    assert_eq!(counts["created"], 0, "{import}");
    assert_eq!(counts["updated"], 0, "{import}");
    assert_eq!(counts["failed"], 0, "{import}");

    let after = versions(&office, &ids).await;
    assert_eq!(
        before, after,
        "no customer has a new version or history entry"
    );
}

/// Read as a spreadsheet set to `,`, `;` or tab would read it (quotes honoured): no cell
/// begins a formula.
fn assert_spreadsheet_safe(file: &str) {
    for separator in [b',', b';', b'\t'] {
        let mut reader = csv::ReaderBuilder::new()
            .delimiter(separator)
            .has_headers(false)
            .flexible(true)
            .from_reader(file.trim_start_matches('\u{feff}').as_bytes());
        for record in reader.records() {
            for cell in record.expect("the file reads").iter() {
                let text = cell.trim_start_matches([' ', '"']);
                let negative_number = text.strip_prefix('-').is_some_and(|n| {
                    !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                });
                assert!(
                    !text.starts_with(['=', '+', '-', '@', '\t', '\r']) || negative_number,
                    "read with {:?}, the cell {cell:?} is a formula",
                    separator as char
                );
            }
        }
    }
}

#[tokio::test]
async fn filters_are_the_lists_and_are_checked_like_the_lists() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    for (number, vip) in [("V-1", true), ("V-2", false), ("V-3", true)] {
        let tier = if vip { "vip" } else { "regular" };
        office
            .post(
                "/customers",
                &json!({"customerNumber": number, "firstName": "A",
                                        "lastName": number, "tier": tier}),
            )
            .await
            .expect(201);
    }
    let listed = office
        .get("/customers?vip=true&sort=number&order=desc")
        .await;
    let numbers: Vec<&str> = listed.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["customerNumber"].as_str().unwrap())
        .collect();
    let (export, file) = office.export_csv("?vip=true&sort=number&order=desc").await;
    assert_eq!(export["rows"], numbers.len(), "{export}");
    let exported: Vec<&str> = file
        .lines()
        .skip(1)
        .map(|line| line.split(',').next().unwrap())
        .collect();
    assert_eq!(
        exported, numbers,
        "the list's customers in the list's order"
    );

    for (query, parameter) in [
        ("?vip=maybe", "vip"),
        ("?sort=colour", "sort"),
        ("?limit=5", "limit"),
        ("?number=V-1", "number"),
    ] {
        let refused = office
            .send(Method::POST, &format!("/exports{query}"), &[], None)
            .await;
        refused.expect_problem(400, "invalid-parameter");
        assert!(
            refused.body["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(parameter),
            "{query}: {}",
            refused.body
        );
    }
    let exports = office.get("/exports").await;
    exports.expect(200);
    assert_eq!(
        exports.body["items"].as_array().map(Vec::len),
        Some(1),
        "refused requests record nothing: {}",
        exports.body
    );
    assert!(
        exports.body["items"][0].get("download").is_none(),
        "lists carry no download URLs"
    );
}

#[tokio::test]
async fn a_technician_may_not_export() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let (export, _) = office.export_csv("").await;
    let id = export["id"].as_str().unwrap();
    let technician = suite.user("acme", "tom", &["technician"]);
    let requested = technician.send(Method::POST, "/exports", &[], None).await;
    requested.expect_problem(403, "forbidden");
    assert_eq!(requested.body["missingPermission"], "export");
    technician
        .get("/exports")
        .await
        .expect_problem(403, "forbidden");
    technician
        .get(&format!("/exports/{id}"))
        .await
        .expect_problem(403, "forbidden");
    let coordinator = suite.user("acme", "cora", &["coordinator"]);
    coordinator.get(&format!("/exports/{id}")).await.expect(200);
}

#[tokio::test]
async fn a_retry_with_the_same_key_gets_the_first_export() {
    let suite = Suite::start_with(1).await;
    let office = suite.user("acme", "ada", ADMIN);
    let key = [("idempotency-key", "export-once")];
    let first = office
        .send(Method::POST, "/exports?tag=a", &key, None)
        .await;
    first.expect(202);
    let again = office
        .send(Method::POST, "/exports?tag=a", &key, None)
        .await;
    again.expect(202);
    assert_eq!(again.body["id"], first.body["id"]);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(
        again.header("location").map(str::to_owned),
        Some(format!("/exports/{}", first.body["id"].as_str().unwrap()))
    );
    let other = office
        .send(Method::POST, "/exports?tag=b", &key, None)
        .await;
    assert_eq!(
        other.status, 422,
        "another request with the key: {}",
        other.body
    );
    let finished = office
        .finished_export(first.body["id"].as_str().unwrap())
        .await;
    assert_eq!(finished["rows"], 0, "{finished}");
}
