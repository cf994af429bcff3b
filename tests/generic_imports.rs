//! Exports of systems we have no shape for, end to end: a generic CRM export imports with its
//! phones, ids and countries, a second import changes nothing, a dry run writes nothing and
//! reports exactly what the real import then does, and a corrected mapping imports what the
//! guess left out. The reading itself is unit-tested in `shared/import`.

use e2e::{Session, Suite};
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];

/// Ten rows in the shape of a generic CRM export: "Customer Id", "Phone 1", "Phone 2",
/// countries by name ("Slovakia (Slovak Republic)", "Korea, Republic of", "Côte d'Ivoire",
/// "Sverige"), phones in each country's style with extensions ("201.555.0147x718",
/// "08-123 456 78 anknytning 12"), CRLF line ends, a stray space after an e-mail.
const GENERIC_CRM: &str = include_str!("fixtures/generic-crm-customers.csv");

/// The organisation numbers customers automatically, as a new user's would.
async fn numbering_automatically(admin: &Session<'_>) {
    let mut settings = admin.get("/settings").await.body;
    settings["autoNumber"] = json!(true);
    settings["defaultCountry"] = json!("SE");
    admin
        .send_json(http::Method::PUT, "/settings", &[], &settings)
        .await
        .expect(200);
}

/// Imports `csv` with `request` through the upload form; answers the completed import.
async fn import(session: &Session<'_>, request: Value, csv: &str) -> Value {
    let done = session.import_csv(&request, csv.as_bytes()).await;
    assert_eq!(done["dryRun"], request["dryRun"].as_bool().unwrap_or(false));
    assert_eq!(done["status"], "completed", "{done}");
    done
}

async fn customers(session: &Session<'_>) -> Vec<Value> {
    let page = session.get("/customers?limit=100").await;
    page.expect(200);
    page.body["items"].as_array().cloned().unwrap_or_default()
}

fn counts(import: &Value) -> Vec<(&'static str, u64)> {
    [
        "rowsRead",
        "created",
        "updated",
        "unchanged",
        "failed",
        "withoutKey",
    ]
    .into_iter()
    .map(|name| (name, import["counts"][name].as_u64().unwrap_or(u64::MAX)))
    .collect()
}

fn external_id(customer: &Value) -> &str {
    customer["externalRefs"][0]["id"]
        .as_str()
        .unwrap_or_default()
}

#[tokio::test]
async fn a_generic_crm_export_imports_every_row_with_its_phones_id_and_country_once() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    numbering_automatically(&admin).await;

    let first = import(
        &admin,
        json!({"fileName": "customers-100.csv"}),
        GENERIC_CRM,
    )
    .await;
    assert_eq!(first["counts"]["created"], 10, "{first}");
    assert_eq!(first["counts"]["failed"], 0, "{first}");
    assert_eq!(first["counts"]["withoutKey"], 0, "{first}");
    // What the import understood, column by column.
    let mapping = &first["mapping"];
    assert_eq!(mapping["shape"], "generic");
    assert_eq!(mapping["delimiter"], ",");
    assert_eq!(mapping["encoding"], "utf8");
    let fields: Vec<(&str, &str)> = mapping["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap(), c["field"].as_str().unwrap()))
        .collect();
    assert_eq!(
        fields,
        vec![
            ("Index", "ignore"),
            ("Customer Id", "externalId"),
            ("First Name", "firstName"),
            ("Last Name", "lastName"),
            ("Company", "companyName"),
            ("City", "city"),
            ("Country", "country"),
            ("Phone 1", "phoneOrMobile"),
            ("Phone 2", "phoneOrMobile"),
            ("Email", "email"),
            ("Subscription Date", "ignore"),
            ("Website", "ignore"),
        ]
    );
    assert_eq!(
        first["warnings"],
        json!([]),
        "nothing that looks like data is left out"
    );

    let mut stored = customers(&admin).await;
    stored.sort_by(|a, b| external_id(a).cmp(external_id(b)));
    let seen: Vec<Value> = stored
        .iter()
        .map(|c| {
            json!([
                external_id(c),
                c["visitingAddress"]["country"],
                c["phone"],
                c["phoneExtension"],
                c["mobile"],
                c["customerNumber"].is_string()
            ])
        })
        .collect();
    let expected = vec![
        json!([
            "053d585Ab6b3159",
            "SK",
            "+421254435678",
            null,
            "+421905123456",
            true
        ]),
        json!([
            "0e04AFde9f225dE",
            "SE",
            "+46812345678",
            "12",
            "+46701234567",
            true
        ]),
        json!([
            "1Ef7b82A4CAAD10",
            "CL",
            "+56223456789",
            null,
            "+56961234567",
            true
        ]),
        json!(["2d08FB17EE273F4", "CI", null, null, null, true]),
        json!(["5Cef8BFA16c5e3c", "BA", "+38733213456", null, null, true]),
        json!([
            "6F94879bDAfE5a6",
            "BG",
            "+35929876543",
            null,
            "+359881234567",
            true
        ]),
        json!(["8C2811a503C7c5a", "TL", null, null, null, true]),
        json!(["C2dE4dEEc489ae0", "CA", "+16139924793", "4410", null, true]),
        json!([
            "DD37Cf93aecA6Dc",
            "US",
            "+12015550147",
            "718",
            "+12015550123",
            true
        ]),
        json!([
            "EA4d384DfDbBf77",
            "KR",
            "+8223123456",
            null,
            "+821012345678",
            true
        ]),
    ];
    assert_eq!(seen, expected);
    assert!(
        stored
            .iter()
            .all(|c| c["externalRefs"][0]["system"] == "other")
    );

    // The same file again: every row finds its customer by the CRM's id.
    let second = import(
        &admin,
        json!({"fileName": "customers-100.csv"}),
        GENERIC_CRM,
    )
    .await;
    assert_eq!(
        counts(&second),
        vec![
            ("rowsRead", 10),
            ("created", 0),
            ("updated", 0),
            ("unchanged", 10),
            ("failed", 0),
            ("withoutKey", 0)
        ],
        "{second}"
    );
    let mut again = customers(&admin).await;
    again.sort_by(|a, b| external_id(a).cmp(external_id(b)));
    assert_eq!(again, stored, "nothing changed");
}

/// Good rows, and rows with an unknown country, a bad e-mail, a number that is no phone
/// number (left out: the row imports without it), a repeated id, and no id at all.
const WITH_BAD_ROWS: &str = "Customer Id;First Name;Last Name;Country;Phone 1;Email\n\
A-1;Anna;Berg;Sweden;08-123 456 78;anna@example.com\n\
A-2;Bo;Ek;Narnia;;bo@example.com\n\
A-3;Cecilia;Lund;Norge;;not-an-email\n\
A-4;Dan;Ros;Danmark;12345;dan@example.com\n\
A-1;Anna;Again;Sverige;;again@example.com\n\
;Eva;Lind;Suomi;;eva@example.com\n\
A-5;Frida;Ström;Deutschland;030 1234567 Durchwahl 3;frida@example.com\n";

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_what_the_import_then_does() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    numbering_automatically(&admin).await;

    let dry = import(
        &admin,
        json!({"fileName": "kunder.csv", "dryRun": true}),
        WITH_BAD_ROWS,
    )
    .await;
    assert_eq!(dry["dryRun"], true);
    assert_eq!(
        counts(&dry),
        vec![
            ("rowsRead", 7),
            ("created", 4),
            ("updated", 0),
            ("unchanged", 0),
            ("failed", 3),
            ("withoutKey", 1)
        ],
        "{dry}"
    );
    assert_eq!(dry["counts"]["phonesLeftOut"], 1, "{dry}");
    let warnings = dry["warnings"].to_string();
    assert!(warnings.contains("1 row(s) had neither"), "{warnings}");
    assert!(warnings.contains("(the first on line 5)"), "{warnings}");
    assert!(
        !warnings.contains("  "),
        "sentences without runs of spaces: {warnings}"
    );
    assert_eq!(
        customers(&admin).await,
        Vec::<Value>::new(),
        "a dry run writes no customer"
    );
    let dry_report = &admin.error_report(&dry).await;
    for expected in [
        "3,Country,/visitingAddress/country,unknown_country",
        "4,Email,/email,invalid_email",
        "6,Customer Id,/externalRefs/0/id,duplicate_in_file",
    ] {
        assert!(dry_report.contains(expected), "{expected}: {dry_report}");
    }
    assert!(!dry_report.contains("invalid_phone"), "{dry_report}");

    let real = import(&admin, json!({"fileName": "kunder.csv"}), WITH_BAD_ROWS).await;
    assert_eq!(real["dryRun"], false);
    assert_eq!(counts(&real), counts(&dry), "{real}");
    assert_eq!(
        real["warnings"].to_string(),
        warnings.replace("would be", "were")
    );
    assert_eq!(&admin.error_report(&real).await, dry_report);
    let stored = customers(&admin).await;
    assert_eq!(stored.len(), 4);
    let dan = stored.iter().find(|c| c["firstName"] == "Dan").unwrap();
    assert!(
        dan.get("phone").is_none(),
        "the number 12345 was left out: {dan}"
    );
    let frida = stored.iter().find(|c| c["firstName"] == "Frida").unwrap();
    assert_eq!(frida["phone"], "+49301234567");
    assert_eq!(frida["phoneExtension"], "3");
}

#[tokio::test]
async fn a_corrected_mapping_imports_what_the_guess_left_out() {
    let suite = Suite::start().await;
    let admin = suite.user("acme", "ada", ADMIN);
    numbering_automatically(&admin).await;

    // A field no import fills is refused before anything is uploaded, at its column.
    let refused = admin
        .post(
            "/imports",
            &json!({"mapping": {"Tfn arbete": "phone", "Fax": "faxNumber"}}),
        )
        .await;
    refused.expect_problem(422, "validation-failed");
    assert_eq!(refused.body["errors"][0]["field"], "/mapping/Fax");
    assert_eq!(refused.body["errors"][0]["code"], "unknown_field");

    let file = "Kund-ID,Namn,Tfn arbete,Mailadress,Fax\n\
                K-77,Anna Berg,08-123 456 78,anna@example.com,08-123 456 79\n";
    let guessed = import(&admin, json!({"dryRun": true}), file).await;
    let warnings = guessed["warnings"].to_string();
    for column in ["Kund-ID", "Tfn arbete", "Mailadress", "Fax"] {
        assert!(
            warnings.contains(column),
            "{column} is called out: {warnings}"
        );
    }

    let mapping = json!({"Kund-ID": "externalId", "Tfn arbete": "phone", "Mailadress": "email"});
    let done = import(&admin, json!({"mapping": mapping}), file).await;
    assert_eq!(done["counts"]["created"], 1, "{done}");
    assert_eq!(done["requestedMapping"], mapping);
    let overridden: Vec<&str> = done["mapping"]["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["overridden"] == true)
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(overridden, vec!["Kund-ID", "Tfn arbete", "Mailadress"]);
    let anna = &customers(&admin).await[0];
    assert_eq!(external_id(anna), "K-77");
    assert_eq!(anna["phone"], "+46812345678");
    assert_eq!(anna["email"], "anna@example.com");
}
