//! The CSV files people download, opened as a spreadsheet in a country whose list separator is
//! `;` (Sweden) or pasted with tabs: a value such as `x;=1+1` in the inventory export or the
//! import's error report must not become a formula in any of those readings
//! (docs/imports.md#formulas).

use e2e::work::{customer_with_site, id_of, job, work_order};
use e2e::{Session, Suite};
use serde_json::json;

const TRIGGERS: [char; 6] = ['=', '+', '-', '@', '\t', '\r'];

/// The file split at every line break and at `separator`, quotes ignored, as the crudest
/// reader does; no cell may start a formula (a plain negative number is a number).
fn assert_no_formula_when_split_at(text: &str, separator: char) {
    for cell in text
        .split(['\n', '\r'])
        .flat_map(|line| line.split(separator))
    {
        let cell = cell.trim_start_matches([' ', '"']);
        let number = cell
            .strip_prefix('-')
            .is_some_and(|n| n.parse::<f64>().is_ok());
        assert!(
            !cell.starts_with(TRIGGERS) || number,
            "split at {separator:?}, {cell:?} is a formula: {text}"
        );
    }
}

async fn text_of(session: &Session<'_>, path: &str) -> String {
    let reply = session.get(path).await;
    reply.expect(200);
    reply.body.as_str().expect("CSV text").to_owned()
}

#[tokio::test]
async fn the_inventory_export_is_safe_with_any_separator() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", &["administrator"]);
    let (id, site) = customer_with_site(&office, "7601").await;
    let order = work_order(&office, &id, &site, "order").await;
    let job = job(&office, &id, &id_of(&order), 1).await;
    job.expect(201);
    for (material, quantity) in [("x;=1+1", "1"), ("y\t@SUM(A1)", "2"), ("z, -2+3", "-2")] {
        office
            .post(
                &format!("/customers/{id}/tickets"),
                &json!({"jobId": id_of(&job), "material": material, "quantity": quantity,
                        "unit": "pcs", "at": "2026-12-01T09:30:00+01:00"}),
            )
            .await
            .expect(201);
    }
    let text = text_of(&office, &format!("/customers/{id}/inventory/export")).await;
    for separator in [',', ';', '\t'] {
        assert_no_formula_when_split_at(&text, separator);
    }
    assert!(text.contains(",x;'=1+1,1,pcs,"), "{text}");
    assert!(
        text.contains(",\"z, '-2+3\",-2,pcs,"),
        "a quantity stays a number: {text}"
    );
}

#[tokio::test]
async fn the_error_report_is_safe_with_any_separator() {
    let suite = Suite::start().await;
    let office = suite.user("acme", "olga", &["administrator"]);
    let file = "Customer Number,First Name,Email\n7701,Anna,x;=1+1\n7702,Bo,\"y,@SUM(A1)\"\n";
    let done = office
        .import_csv(&json!({"fileName": "kunder.csv"}), file.as_bytes())
        .await;
    assert_eq!(done["counts"]["failed"], 2, "{done}");
    let text = office.error_report(&done).await;
    for separator in [',', ';', '\t'] {
        assert_no_formula_when_split_at(&text, separator);
    }
    assert!(text.contains(",x;'=1+1\n"), "{text}");
    assert!(text.contains(",\"y,'@SUM(A1)\"\n"), "{text}");
    // The template goes through the same writer.
    let template = text_of(&office, "/imports/template").await;
    for separator in [',', ';', '\t'] {
        assert_no_formula_when_split_at(&template, separator);
    }
}
