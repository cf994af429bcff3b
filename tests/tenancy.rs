//! Tenant isolation end to end. One organisation ("acme") builds one of everything through the
//! API; another ("globex"), an administrator with every role, then tries every route of
//! `Route::ALL` with acme's ids in the path, acme's cursors on every list, acme's import ids,
//! acme's tenant named in bodies and queries, acme's numbers, e-mail and Idempotency-Key in
//! its own creates, and an upload of its own naming acme's customers (through an upload form
//! whose policy holds it to globex's own key). It gets nothing: 404
//! problem documents (never 403, which would say that the id exists), 400 for acme's cursors,
//! no byte of acme's data in any answer; and acme's records, read through the API and item by
//! item from the table, are the same afterwards.
//!
//! The attack table is an exhaustive `match` over [`Route`] and the sweep iterates
//! [`Route::ALL`]: a new route does not compile until it has a tenancy case.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use aws_sdk_dynamodb::types::AttributeValue;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use customers_api::routes::Route;
use e2e::notifications::fresh_mobile;
use e2e::work::{id_of, job, move_through, window};
use e2e::{Reply, Session, Suite, customer};
use http::Method;
use serde_json::{Value, json};

const ADMIN: &[&str] = &["administrator"];
const EVERY_ROLE: &[&str] = &["administrator", "coordinator", "technician"];

/// How long acme's asynchronous work (the texts of its visits, its import) may take to settle.
const SETTLE_WAIT: Duration = Duration::from_secs(60);

/// Every id a route's path can hold, for one organisation.
#[derive(Debug, Clone, Default)]
struct Ids {
    customer: String,
    contact: String,
    site: String,
    contract: String,
    work_order: String,
    job: String,
    ticket: String,
    note: String,
    import: String,
    bulk_change: String,
    export: String,
    user: String,
}

impl Ids {
    /// The route's path with these ids in it.
    fn path(&self, route: Route) -> String {
        let path = [
            ("{customerId}", &self.customer),
            ("{contactId}", &self.contact),
            ("{siteId}", &self.site),
            ("{contractId}", &self.contract),
            ("{workOrderId}", &self.work_order),
            ("{jobId}", &self.job),
            ("{ticketId}", &self.ticket),
            ("{noteId}", &self.note),
            ("{importId}", &self.import),
            ("{bulkChangeId}", &self.bulk_change),
            ("{exportId}", &self.export),
            ("{userId}", &self.user),
        ]
        .iter()
        .fold(route.path().to_owned(), |path, (param, id)| {
            path.replace(param, id)
        });
        assert!(
            !path.contains('{'),
            "{}: a path parameter without an id in `Ids`",
            route.key()
        );
        path
    }
}

/// The GET routes: what acme reads its records with.
fn read_routes() -> impl Iterator<Item = Route> {
    Route::ALL
        .into_iter()
        .filter(|route| method_of(*route) == Method::GET)
}

fn method_of(route: Route) -> Method {
    Method::from_bytes(route.method().as_bytes()).expect("an HTTP method")
}

/// What acme built, and what must never reach globex.
struct Acme {
    ids: Ids,
    /// Every id of acme's records, and the names, numbers and texts only acme's records hold.
    secrets: Vec<String>,
    /// The current ETags of acme's records, so that globex's changes fail for no other reason
    /// than the organisation.
    etags: HashMap<&'static str, String>,
    /// acme's `nextCursor` of every paged list route (by route key).
    cursors: BTreeMap<&'static str, String>,
    /// The body and Idempotency-Key acme created its customer with, and the card's e-mail
    /// and phones as stored (normalised).
    card: Value,
    card_stored: Vec<String>,
    idempotency_key: String,
    settings: Value,
    /// acme's second customer, whose number, e-mail and phone globex looks up.
    other_card: Value,
}

impl Acme {
    /// The secrets that globex may legitimately hold after creating a customer of its own
    /// with acme's card: everything but the card's values (as sent and as stored).
    fn secrets_but_the_card(&self) -> Vec<String> {
        let card = self.card.to_string();
        self.secrets
            .iter()
            .filter(|s| !card.contains(s.as_str()) && !self.card_stored.contains(s))
            .cloned()
            .collect()
    }

    fn etag(&self, record: &str) -> Option<String> {
        Some(self.etags[record].clone())
    }
}

/// What globex answers on a route with acme's ids.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Expect {
    /// 404 `not-found`: the record does not exist in the caller's organisation.
    NotFound,
    /// 400 or 422: the request names what no request may name (a tenant, say).
    Refused,
    /// 200 with an empty list: nothing of this organisation's matches.
    EmptyList,
    /// 200: the caller's own (settings, the template), holding nothing of acme's.
    Own,
}

/// One request of the sweep: acme's ids go into the path; the rest is here.
struct Attack {
    query: &'static str,
    if_match: Option<String>,
    body: Option<Value>,
    expect: Expect,
    /// The route answers pages with a `nextCursor`.
    paged: bool,
}

impl Attack {
    fn read(paged: bool) -> Self {
        Self {
            query: "",
            if_match: None,
            body: None,
            expect: Expect::NotFound,
            paged,
        }
    }

    fn write(if_match: Option<String>, body: Option<Value>) -> Self {
        Self {
            if_match,
            body,
            ..Self::read(false)
        }
    }

    fn expecting(self, expect: Expect) -> Self {
        Self { expect, ..self }
    }

    fn with_query(self, query: &'static str) -> Self {
        Self { query, ..self }
    }
}

/// The tenancy case of every route. Bodies are valid and If-Match headers are acme's current
/// ETags: only the organisation can make them fail.
fn attack(route: Route, acme: &Acme) -> Attack {
    let with_tenant = |mut body: Value| {
        body["tenant"] = json!("acme");
        body
    };
    let patch = |record: &str, body: Value| Attack::write(acme.etag(record), Some(body));
    match route {
        Route::CreateCustomer => {
            Attack::write(None, Some(with_tenant(acme.card.clone()))).expecting(Expect::Refused)
        }
        Route::ListCustomers => Attack::read(true)
            .with_query("?tenant=acme")
            .expecting(Expect::Refused),
        Route::CustomerHistory
        | Route::ListSites
        | Route::ListContracts
        | Route::ListWorkOrders
        | Route::ListJobs
        | Route::ListTickets
        | Route::ListNotes
        | Route::Inventory
        | Route::WorkOrderTexts => Attack::read(true),
        Route::GetCustomer
        | Route::ListAssignees
        | Route::GetSite
        | Route::GetContract
        | Route::GetWorkOrder
        | Route::GetJob
        | Route::GetTicket
        | Route::GetNote
        | Route::ExportInventory
        | Route::Balance
        | Route::PersonalData
        | Route::GetImport
        | Route::ImportErrors
        | Route::GetExport => Attack::read(false),
        Route::UpdateCustomer => patch("customer", json!({"firstName": "Mallory"})),
        Route::DeactivateCustomer
        | Route::ReactivateCustomer
        | Route::DeleteCustomer
        | Route::EraseCustomer => Attack::write(acme.etag("customer"), None),
        Route::AddContact => Attack::write(None, Some(json!({"firstName": "Mallory"}))),
        Route::ChangeContact => patch("customer", json!({"firstName": "Mallory"})),
        Route::RemoveContact | Route::Assign | Route::Unassign => {
            Attack::write(acme.etag("customer"), None)
        }
        Route::CustomersOfUser => Attack::read(true).expecting(Expect::EmptyList),
        Route::ChangeNumber => Attack::write(
            acme.etag("customer"),
            Some(json!({"customerNumber": "GX-666"})),
        ),
        // The attacker names acme's customer as both cards: neither is in their organisation.
        Route::MergeCustomer => Attack::write(
            acme.etag("customer"),
            Some(json!({"duplicateId": acme.ids.customer})),
        ),
        Route::GetSettings | Route::ImportTemplate | Route::Me => {
            Attack::read(false).expecting(Expect::Own)
        }
        Route::PutSettings => {
            Attack::write(None, Some(with_tenant(acme.settings.clone()))).expecting(Expect::Refused)
        }
        Route::RequestImport => {
            Attack::write(None, Some(with_tenant(json!({})))).expecting(Expect::Refused)
        }
        Route::ListImports | Route::ListExports => Attack::read(true)
            .with_query("?tenant=acme")
            .expecting(Expect::Refused),
        Route::RequestExport => Attack::write(None, None)
            .with_query("?tenant=acme")
            .expecting(Expect::Refused),
        Route::CreateSite => Attack::write(None, Some(json!({"name": "Mallory's yard"}))),
        Route::UpdateSite => patch("site", json!({"name": "Mallory's yard"})),
        Route::UnlinkSite => Attack::write(acme.etag("site"), None),
        Route::CreateContract => Attack::write(
            None,
            Some(
                json!({"name": "Takeover", "period": {"start": "2026-01-01"},
                        "siteIds": [acme.ids.site]}),
            ),
        ),
        Route::UpdateContract => patch("contract", json!({"status": "cancelled"})),
        Route::CreateWorkOrder => Attack::write(
            None,
            Some(json!({"kind": "order", "title": "Takeover", "siteId": acme.ids.site})),
        ),
        Route::UpdateWorkOrder => patch("workOrder", json!({"status": "cancelled"})),
        Route::CreateJob => Attack::write(
            None,
            Some(json!({"window": window(5), "technicians": ["mallory"]})),
        ),
        Route::UpdateJob => patch("job", json!({"status": "cancelled"})),
        Route::CreateTicket => Attack::write(None, Some(ticket(&acme.ids.job, "Stolen pipe"))),
        Route::CreateNote => Attack::write(None, Some(json!({"text": "Mallory was here"}))),
        Route::RequestBulkChange => Attack::write(
            None,
            Some(with_tenant(
                json!({"selection": {"ids": [acme.ids.customer]},
                                    "change": {"addTag": "mallory"}}),
            )),
        )
        .expecting(Expect::Refused),
        Route::ListBulkChanges => Attack::read(true)
            .with_query("?tenant=acme")
            .expecting(Expect::Refused),
        Route::GetBulkChange => Attack::read(false),
        Route::UpdateNote => patch("note", json!({"text": "Mallory was here"})),
    }
}

fn ticket(job: &str, material: &str) -> Value {
    json!({"jobId": job, "material": material, "quantity": "2", "unit": "m",
           "at": "2026-12-01T09:30:00+01:00"})
}

async fn send(
    session: &Session<'_>,
    method: Method,
    path: &str,
    if_match: Option<&str>,
    body: Option<&Value>,
) -> Reply {
    let headers: Vec<(&str, &str)> = if_match.map(|e| ("if-match", e)).into_iter().collect();
    match body {
        Some(body) => session.send_json(method, path, &headers, body).await,
        None => session.send(method, path, &headers, None).await,
    }
}

/// The answer holds none of `secrets`, in its body or its headers (a Location, say).
fn assert_nothing_of(secrets: &[String], reply: &Reply, context: &str) {
    let text = format!("{} {:?}", reply.body, reply.headers);
    for secret in secrets {
        assert!(
            !text.contains(secret.as_str()),
            "{context}: the answer holds acme's {secret:?}: {text}"
        );
    }
}

fn assert_problem(reply: &Reply, statuses: &[u16], context: &str) {
    assert!(
        statuses.contains(&reply.status),
        "{context}: expected one of {statuses:?}, got {}: {}",
        reply.status,
        reply.body
    );
    assert_eq!(
        reply.header("content-type"),
        Some("application/problem+json"),
        "{context}: a problem document"
    );
    assert_eq!(reply.body["status"], reply.status, "{context}");
}

fn judge(reply: &Reply, expect: Expect, secrets: &[String], context: &str) {
    assert!(
        reply.status < 500,
        "{context}: {} {}",
        reply.status,
        reply.body
    );
    match expect {
        Expect::NotFound => {
            assert_problem(reply, &[404], context);
            assert_eq!(reply.body["type"], "/problems/not-found", "{context}");
        }
        Expect::Refused => assert_problem(reply, &[400, 422], context),
        Expect::EmptyList => {
            assert_eq!(reply.status, 200, "{context}: {}", reply.body);
            assert_eq!(reply.body["items"], json!([]), "{context}");
        }
        Expect::Own => assert_eq!(reply.status, 200, "{context}: {}", reply.body),
    }
    assert_nothing_of(secrets, reply, context);
}

// ---------------------------------------------------------------------------------------------
// acme's world

/// acme builds one of everything, two of everything that is listed (so that every list has a
/// `nextCursor` at `limit=1`), and waits for the texts of its visits and for its import.
async fn build_acme(suite: &Suite) -> Acme {
    let office = suite.user("acme", "ada", ADMIN);
    let settings = put_acme_settings(&office).await;
    let mut acme = create_acme_customers(&office, settings).await;
    acme.assign_users(&office).await;
    acme.add_sites_and_contracts(&office).await;
    acme.add_work(&office).await;
    acme.add_imports(suite, &office).await;
    acme.add_bulk_changes(&office).await;
    acme.add_exports(&office).await;
    wait_for_texts(&office, &acme.ids).await;
    acme.etags = etags_of(&office, &acme.ids).await;
    acme.cursors = cursors_of(&office, &acme).await;
    let listed = every_id_listed(&office, &acme).await;
    acme.secrets.extend(listed);
    acme.secrets.sort();
    acme.secrets.dedup();
    acme
}

/// acme's customer (with a contact whose mobile gets the visits' texts, created under an
/// Idempotency-Key) and two more, so that the customer list pages.
async fn create_acme_customers(office: &Session<'_>, settings: Value) -> Acme {
    let mobile = fresh_mobile();
    let mut card = customer("AC-7001", "Zebulon", "Quist");
    card["contacts"] = json!([{"firstName": "Xaviera", "lastName": "Moll",
                               "mobile": mobile, "primary": true}]);
    let idempotency_key = "acme-create-zebulon-quist-0001".to_owned();
    let created = office
        .send_json(
            Method::POST,
            "/customers",
            &[("idempotency-key", &idempotency_key)],
            &card,
        )
        .await;
    created.expect(201);
    let ids = Ids {
        customer: id_of(&created),
        contact: created.body["contacts"][0]["id"]
            .as_str()
            .expect("a contact id")
            .to_owned(),
        user: "alice".into(),
        ..Ids::default()
    };
    let card_stored: Vec<String> = ["email", "phone", "mobile"]
        .map(|channel| created.body[channel].as_str().expect(channel).to_owned())
        .into();
    let mut secrets: Vec<String> = [
        "Zebulon",
        "Quist",
        "Xaviera",
        "Ysolde",
        "AC-70",
        "Acme Heating",
        "Kopparrör",
        "acme-kunder",
    ]
    .map(str::to_owned)
    .into();
    secrets.extend([mobile, ids.customer.clone(), ids.contact.clone()]);
    secrets.extend(card_stored.iter().cloned());
    let mut acme = Acme {
        ids,
        secrets,
        etags: HashMap::new(),
        cursors: BTreeMap::new(),
        card,
        card_stored,
        idempotency_key,
        settings,
        other_card: customer("AC-7002", "Zebulon", "Quist Jr"),
    };
    let other_card = acme.other_card.clone();
    acme.post_id(office, "/customers", other_card).await;
    acme.post_id(office, "/customers", customer("AC-7003", "Ysolde", "Quist"))
        .await;
    acme
}

impl Acme {
    /// POSTs `body` and keeps the new record's id as a secret.
    async fn post_id(&mut self, office: &Session<'_>, path: &str, body: Value) -> String {
        let created = office.post(path, &body).await;
        created.expect(201);
        let id = id_of(&created);
        self.secrets.push(id.clone());
        id
    }

    fn customer_path(&self, below: &str) -> String {
        format!("/customers/{}/{below}", self.ids.customer)
    }

    /// alice and bob are the customer's assignees; alice also of a second customer, so that
    /// her list pages.
    async fn assign_users(&self, office: &Session<'_>) {
        let second = office.get("/customers?number=AC-7002").await.body["items"][0]["id"]
            .as_str()
            .expect("acme's second customer")
            .to_owned();
        for (customer, user) in [
            (&self.ids.customer, "alice"),
            (&self.ids.customer, "bob"),
            (&second, "alice"),
        ] {
            office
                .put_empty(&format!("/customers/{customer}/assignees/{user}"))
                .await
                .expect(200);
        }
    }

    async fn add_sites_and_contracts(&mut self, office: &Session<'_>) {
        let sites = self.customer_path("sites");
        self.ids.site = self
            .post_id(office, &sites, json!({"name": "Quist Villa"}))
            .await;
        self.post_id(office, &sites, json!({"name": "Quist Barn"}))
            .await;
        let contracts = self.customer_path("contracts");
        for name in ["Quist service 2026", "Quist service 2027"] {
            let body = json!({"name": name, "period": {"start": "2026-01-01"},
                              "siteIds": [self.ids.site]});
            self.ids.contract = self.post_id(office, &contracts, body).await;
        }
        let notes = self.customer_path("notes");
        for text in ["Quist gate code 4711", "Quist dog in the yard"] {
            let body = json!({"text": text, "siteId": self.ids.site});
            self.ids.note = self.post_id(office, &notes, body).await;
            self.secrets.push(text.to_owned());
        }
    }

    /// Two work orders; two visits of the second, one of them on its way (texts to the
    /// contact's mobile); two tickets of different material (two inventory lines).
    async fn add_work(&mut self, office: &Session<'_>) {
        let work_orders = self.customer_path("work-orders");
        for title in ["Quist heat pump", "Quist boiler"] {
            let body = json!({"kind": "order", "title": title, "siteId": self.ids.site,
                              "tasks": [{"title": "Quist filters"}]});
            self.ids.work_order = self.post_id(office, &work_orders, body).await;
        }
        for day in [2, 1] {
            let visit = job(office, &self.ids.customer, &self.ids.work_order, day).await;
            visit.expect(201);
            self.ids.job = id_of(&visit);
            self.secrets.push(self.ids.job.clone());
        }
        let on_the_way = self.customer_path(&format!("jobs/{}", self.ids.job));
        move_through(office, &on_the_way, &["enRoute"]).await;
        let tickets = self.customer_path("tickets");
        for material in ["Kopparrör 15 mm", "Kopparrör 22 mm"] {
            let body = ticket(&self.ids.job, material);
            self.ids.ticket = self.post_id(office, &tickets, body).await;
        }
    }

    /// Two finished exports of acme's register (the list pages), the file of one downloaded.
    async fn add_exports(&mut self, office: &Session<'_>) {
        let (export, file) = office.export_csv("").await;
        assert!(
            file.contains("Quist"),
            "acme's export holds acme's customers: {file}"
        );
        let (_, _) = office.export_csv("?status=all").await;
        self.ids.export = export["id"].as_str().expect("an export id").to_owned();
        self.secrets.push(self.ids.export.clone());
    }

    /// A finished import with an error report, and one awaiting its file.
    async fn add_imports(&mut self, suite: &Suite, office: &Session<'_>) {
        self.ids.import = import_with_report(suite, office).await;
        self.secrets.push(self.ids.import.clone());
        self.post_id(office, "/imports", json!({"fileName": "acme-kunder-2.csv"}))
            .await;
    }
}

impl Acme {
    /// Two bulk changes (so that their list pages), both run to completion before the sweep
    /// so that nothing of acme's changes during it.
    async fn add_bulk_changes(&mut self, office: &Session<'_>) {
        for tag in ["acme-kunder-bulk", "acme-kunder-bulk-2"] {
            let body = json!({"selection": {"ids": [self.ids.customer]},
                              "change": {"addTag": tag}});
            let requested = office.post("/bulk-changes", &body).await;
            requested.expect(202);
            let id = id_of(&requested);
            let path = format!("/bulk-changes/{id}");
            let started = Instant::now();
            while office.get(&path).await.body["status"] != "completed" {
                assert!(
                    started.elapsed() < SETTLE_WAIT,
                    "acme's bulk change {id} did not complete"
                );
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            self.secrets.push(id.clone());
            self.ids.bulk_change = id;
        }
    }
}

async fn put_acme_settings(office: &Session<'_>) -> Value {
    let mut settings = office.get("/settings").await.body;
    settings["organisationName"] = json!("Acme Heating AB");
    settings["timeZone"] = json!("Europe/Stockholm");
    let saved = office
        .send_json(Method::PUT, "/settings", &[], &settings)
        .await;
    saved.expect(200);
    saved.body
}

async fn post_id(office: &Session<'_>, path: &str, body: Value) -> String {
    let created = office.post(path, &body).await;
    created.expect(201);
    id_of(&created)
}

/// An import through acme's upload form with one good row and one bad one: acme has an import
/// id, a customer made by it and an error report under `reports/acme/`.
async fn import_with_report(suite: &Suite, office: &Session<'_>) -> String {
    let requested = office
        .post("/imports", &json!({"fileName": "acme-kunder-1.csv"}))
        .await;
    requested.expect(201);
    let id = id_of(&requested);
    let csv = "Customer Number;Förnamn;Efternamn;E-post\r\n\
               AC-7050;Wendelin;Quist;wendelin.quist@example.com\r\n\
               AC-7051;Walburga;Quist;not-an-e-mail\r\n";
    let posted = suite
        .upload(&requested.body["upload"], &[], csv.as_bytes())
        .await;
    assert_eq!(
        posted.status, 204,
        "the upload is accepted: {}",
        posted.body
    );
    let finished = office.finished_import(&id).await;
    assert_eq!(finished.body["status"], "completed", "{}", finished.body);
    assert_eq!(finished.body["counts"]["failed"], 1, "{}", finished.body);
    office
        .get(&format!("/imports/{id}/errors"))
        .await
        .expect(303);
    id
}

/// Waits until the visits' texts are recorded on the work order (two of them: the list pages).
async fn wait_for_texts(office: &Session<'_>, ids: &Ids) {
    let path = format!("{}?limit=1", ids.path(Route::WorkOrderTexts));
    let started = Instant::now();
    while office.get(&path).await.body["nextCursor"]
        .as_str()
        .is_none()
    {
        assert!(
            started.elapsed() < SETTLE_WAIT,
            "acme's visits were not texted"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

async fn etags_of(office: &Session<'_>, ids: &Ids) -> HashMap<&'static str, String> {
    let mut etags = HashMap::new();
    for (record, route) in [
        ("customer", Route::GetCustomer),
        ("site", Route::GetSite),
        ("contract", Route::GetContract),
        ("workOrder", Route::GetWorkOrder),
        ("job", Route::GetJob),
        ("note", Route::GetNote),
    ] {
        let reply = office.get(&ids.path(route)).await;
        reply.expect(200);
        etags.insert(record, reply.etag());
    }
    etags
}

/// acme's `nextCursor` of every paged list at `limit=1`. Every GET route is asked, so a
/// route that pages without being marked `paged` in [`attack`] fails here.
async fn cursors_of(office: &Session<'_>, acme: &Acme) -> BTreeMap<&'static str, String> {
    let mut cursors = BTreeMap::new();
    for route in read_routes() {
        let reply = office
            .get(&format!("{}?limit=1", acme.ids.path(route)))
            .await;
        let cursor = reply.body.get("nextCursor").and_then(Value::as_str);
        let paged = attack(route, acme).paged;
        assert_eq!(
            cursor.is_some(),
            paged,
            "{}: acme's page at limit=1 {} a nextCursor: {}",
            route.key(),
            if paged { "lacks" } else { "has" },
            reply.body
        );
        if let Some(cursor) = cursor {
            cursors.insert(route.key(), cursor.to_owned());
        }
    }
    cursors
}

/// The ids in acme's lists (the customer the import made, the tasks, the stock lines, the
/// texts...): all of them are acme's secrets too.
async fn every_id_listed(office: &Session<'_>, acme: &Acme) -> Vec<String> {
    let mut ids = Vec::new();
    for route in read_routes() {
        let reply = office.get(&acme.ids.path(route)).await;
        collect_ids(&reply.body, &mut ids);
    }
    ids
}

fn is_id(member: &str) -> bool {
    member == "id" || member.ends_with("Id")
}

fn collect_ids(value: &Value, into: &mut Vec<String>) {
    match value {
        Value::Object(members) => {
            for (name, member) in members {
                match member.as_str() {
                    // Short ids (user ids like "bob") could turn up by chance in a cursor.
                    Some(id) if is_id(name) && id.len() >= 10 => into.push(id.to_owned()),
                    _ => collect_ids(member, into),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|item| collect_ids(item, into)),
        _ => {}
    }
}

// ---------------------------------------------------------------------------------------------
// acme's state, before and after

/// What acme sees on every GET route (status, ETag, body; a redirect by where it points,
/// since its signature is new each time) and every item of acme's partitions in the table.
#[derive(Debug, PartialEq)]
struct State {
    answers: Vec<(&'static str, u16, Option<String>, Value)>,
    items: Vec<BTreeMap<String, AttributeValue>>,
}

async fn state_of(suite: &Suite, office: &Session<'_>, acme: &Acme) -> State {
    let mut answers = Vec::new();
    for route in read_routes() {
        let reply = office.get(&acme.ids.path(route)).await;
        let body = match reply.header("location") {
            Some(location) if reply.status == 303 => {
                json!(location.split_once('?').map_or(location, |(path, _)| path))
            }
            _ => without_signatures(reply.body.clone()),
        };
        answers.push((
            route.key(),
            reply.status,
            reply.header("etag").map(str::to_owned),
            body,
        ));
    }
    State {
        answers,
        items: items_of(suite, "T#acme#").await,
    }
}

/// A body with every presigned URL (a finished export's download) cut to its path and its
/// expiry left out: their signature and dates are new on every read.
fn without_signatures(mut body: Value) -> Value {
    if let Some(download) = body.get_mut("download").and_then(Value::as_object_mut) {
        download.remove("expiresAt");
        if let Some(url) = download.get("url").and_then(Value::as_str) {
            let path = url.split_once('?').map_or(url, |(path, _)| path).to_owned();
            download.insert("url".into(), json!(path));
        }
    }
    body
}

/// Every item whose partition key starts with `prefix`, in key order.
async fn items_of(suite: &Suite, prefix: &str) -> Vec<BTreeMap<String, AttributeValue>> {
    let mut items = Vec::new();
    let mut start = None;
    loop {
        let page = suite
            .dynamodb
            .scan()
            .table_name(suite.table())
            .filter_expression("begins_with(PK, :prefix)")
            .expression_attribute_values(":prefix", AttributeValue::S(prefix.to_owned()))
            .set_exclusive_start_key(start)
            .consistent_read(true)
            .send()
            .await
            .expect("the emulator scans");
        items.extend(
            page.items()
                .iter()
                .map(|item| item.clone().into_iter().collect::<BTreeMap<_, _>>()),
        );
        start = page.last_evaluated_key().cloned();
        if start.is_none() {
            break;
        }
    }
    let key = |item: &BTreeMap<String, AttributeValue>| {
        ["PK", "SK"].map(|k| item.get(k).and_then(|v| v.as_s().ok()).cloned())
    };
    items.sort_by_key(key);
    items
}

/// acme's state once its asynchronous work is done: two reads a second apart agree.
async fn settled_state(suite: &Suite, office: &Session<'_>, acme: &Acme) -> State {
    let started = Instant::now();
    let mut last = state_of(suite, office, acme).await;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = state_of(suite, office, acme).await;
        if now == last {
            return now;
        }
        assert!(
            started.elapsed() < SETTLE_WAIT,
            "acme's records keep changing"
        );
        last = now;
    }
}

/// The comparison and the secrets are not vacuous: acme reads every one of its records, and
/// every secret is something acme's own answers hold.
fn assert_worth_guarding(state: &State, acme: &Acme) {
    for (route, status, _, body) in &state.answers {
        assert!(
            matches!(status, 200 | 303),
            "{route}: acme reads its own: {status} {body}"
        );
    }
    let everything = format!("{:?}", state.answers);
    for secret in &acme.secrets {
        assert!(
            everything.contains(secret.as_str()),
            "{secret:?} is in none of acme's answers"
        );
    }
    let paged = read_routes()
        .filter(|route| attack(*route, acme).paged)
        .count();
    assert_eq!(acme.cursors.len(), paged, "every paged list has a cursor");
    assert!(paged >= 13, "the paged lists are counted");
    assert!(!state.items.is_empty());
}

fn assert_unchanged(before: &State, after: &State) {
    for (was, is) in before.answers.iter().zip(&after.answers) {
        assert_eq!(was, is, "{}: acme's answer changed", was.0);
    }
    assert_eq!(
        before.items.len(),
        after.items.len(),
        "acme's items came or went"
    );
    for (was, is) in before.items.iter().zip(&after.items) {
        assert_eq!(was, is, "an item of acme's changed");
    }
}

// ---------------------------------------------------------------------------------------------
// globex's own world

/// globex's own customer with one of everything, so that globex's own paths and lists exist.
async fn build_globex(suite: &Suite, globex: &Session<'_>) -> Ids {
    let mut card = customer("GX-1", "Gunnar", "Gloe");
    card["contacts"] = json!([{"firstName": "Greta", "email": "greta@example.com"}]);
    let created = globex.post("/customers", &card).await;
    created.expect(201);
    let mut ids = Ids {
        customer: id_of(&created),
        contact: created.body["contacts"][0]["id"]
            .as_str()
            .expect("a contact id")
            .to_owned(),
        user: "gina".into(),
        ..Ids::default()
    };
    let customers = format!("/customers/{}", ids.customer);
    globex
        .put_empty(&format!("{customers}/assignees/gina"))
        .await
        .expect(200);
    ids.site = post_id(
        globex,
        &format!("{customers}/sites"),
        json!({"name": "Gloe Yard"}),
    )
    .await;
    ids.contract = post_id(
        globex,
        &format!("{customers}/contracts"),
        json!({"name": "Gloe service", "period": {"start": "2026-01-01"}}),
    )
    .await;
    ids.work_order = post_id(
        globex,
        &format!("{customers}/work-orders"),
        json!({"kind": "order", "title": "Gloe pump", "siteId": ids.site}),
    )
    .await;
    let visit = job(globex, &ids.customer, &ids.work_order, 3).await;
    visit.expect(201);
    ids.job = id_of(&visit);
    ids.ticket = post_id(
        globex,
        &format!("{customers}/tickets"),
        ticket(&ids.job, "Gloe valve"),
    )
    .await;
    ids.note = post_id(
        globex,
        &format!("{customers}/notes"),
        json!({"text": "Gloe gate code", "siteId": ids.site}),
    )
    .await;
    let requested = globex.post("/imports", &json!({})).await;
    requested.expect(201);
    ids.import = id_of(&requested);
    let upload = &requested.body["upload"];
    let bucket_url = format!("/{}", suite.bucket());
    assert!(
        upload["url"]
            .as_str()
            .unwrap_or_default()
            .ends_with(&bucket_url),
        "{upload}"
    );
    let key = &upload["fields"]["key"];
    assert_eq!(
        key,
        format!("imports/globex/{}.csv", ids.import).as_str(),
        "globex's upload form is for globex's prefix only"
    );
    ids
}

// ---------------------------------------------------------------------------------------------
// The attacks

/// Every route with acme's ids, as the table in [`attack`] says.
async fn every_route_with_acmes_ids(globex: &Session<'_>, acme: &Acme) -> usize {
    let mut cases = 0;
    for route in Route::ALL {
        let attack = attack(route, acme);
        let path = format!("{}{}", acme.ids.path(route), attack.query);
        let reply = send(
            globex,
            method_of(route),
            &path,
            attack.if_match.as_deref(),
            attack.body.as_ref(),
        )
        .await;
        judge(&reply, attack.expect, &acme.secrets, route.key());
        cases += 1;
    }
    cases
}

/// acme's cursors: on acme's paths (nothing: 404, or 400 for the cursor), on globex's own
/// paths (400: the cursor belongs to another query), and rewritten to name globex's
/// partitions instead (a position in globex's own data at most: nothing of acme's).
async fn every_list_with_acmes_cursors(globex: &Session<'_>, acme: &Acme, own: &Ids) -> usize {
    let mut cases = 0;
    for route in Route::ALL {
        let Some(cursor) = acme.cursors.get(route.key()) else {
            continue;
        };
        let on_acme = format!("{}?limit=1&cursor={cursor}", acme.ids.path(route));
        let reply = globex.get(&on_acme).await;
        let context = format!("{} with acme's ids and cursor", route.key());
        assert_problem(&reply, &[400, 404], &context);
        assert_nothing_of(&acme.secrets, &reply, &context);

        let on_own = format!("{}?limit=1&cursor={cursor}", own.path(route));
        let reply = globex.get(&on_own).await;
        let context = format!("{} with acme's cursor", route.key());
        assert_problem(&reply, &[400], &context);
        assert_eq!(
            reply.body["type"], "/problems/invalid-parameter",
            "{context}"
        );
        assert_nothing_of(&acme.secrets, &reply, &context);

        let forged = format!("{}?limit=1&cursor={}", own.path(route), rebadged(cursor));
        let reply = globex.get(&forged).await;
        let context = format!("{} with acme's cursor rewritten to globex", route.key());
        assert!(
            matches!(reply.status, 200 | 400),
            "{context}: {} {}",
            reply.status,
            reply.body
        );
        assert_nothing_of(&acme.secrets, &reply, &context);
        cases += 3;
    }
    cases
}

/// acme's cursor with every `T#acme#` of its keys made `T#globex#`: what a forger who read
/// the (unsigned) cursor would send to pass the partition check.
fn rebadged(cursor: &str) -> String {
    let json = URL_SAFE_NO_PAD
        .decode(cursor)
        .expect("cursors are base64url");
    let json = String::from_utf8(json)
        .expect("cursors are JSON")
        .replace("T#acme#", "T#globex#");
    URL_SAFE_NO_PAD.encode(json)
}

/// globex's own creates and lookups with acme's values: acme's customer number, e-mail and
/// phone are globex's to use (no duplicate warning naming acme's customer), acme's
/// Idempotency-Key replays nothing of acme's, and lookups find nothing of acme's.
async fn acmes_values_in_globexs_requests(globex: &Session<'_>, acme: &Acme, own: &Ids) -> usize {
    let ids_and_names = acme.secrets_but_the_card();
    let mut card = acme.card.clone();
    card["firstName"] = json!("Gustav");
    card["lastName"] = json!("Gloe");
    card["contacts"] = json!([]);
    let created = globex
        .send_json(
            Method::POST,
            "/customers",
            &[("idempotency-key", &acme.idempotency_key)],
            &card,
        )
        .await;
    assert_eq!(
        created.status, 201,
        "a customer of globex's own: {}",
        created.body
    );
    assert_nothing_of(&ids_and_names, &created, "acme's card and Idempotency-Key");
    assert_eq!(created.body["firstName"], "Gustav", "not acme's replay");

    let other = &acme.other_card;
    let number = other["customerNumber"].as_str().expect("a number");
    let email = other["email"].as_str().expect("an e-mail");
    let phone = other["phone"].as_str().expect("a phone").replace(' ', "");
    let lookups = [
        format!("/customers?number={number}"),
        format!("/customers?email={email}"),
        format!("/customers?phone={}", phone.replace('+', "%2B")),
        "/customers?q=zebulon".to_owned(),
        "/customers?q=quist".to_owned(),
    ];
    // A query naming acme on globex's own record: refused or ignored, never acme's.
    let own_with_tenant = format!("{}?tenant=acme", own.path(Route::GetCustomer));
    let reply = globex.get(&own_with_tenant).await;
    assert!(
        matches!(reply.status, 200 | 400),
        "{own_with_tenant}: {}",
        reply.body
    );
    assert_nothing_of(&ids_and_names, &reply, &own_with_tenant);
    for lookup in &lookups {
        judge(
            &globex.get(lookup).await,
            Expect::EmptyList,
            &acme.secrets,
            lookup,
        );
    }
    lookups.len() + 2
}

/// globex's own records naming acme's: a contract over acme's site, a work order at it, a
/// ticket of acme's visit, a visit of acme's work order under globex's customer. None of them
/// is made, and the answers are those of any id that is not one of the customer's (422
/// `unknown_site`, `unknown_job`, 404): nothing says the id exists elsewhere.
async fn acmes_records_named_in_globexs_own(globex: &Session<'_>, acme: &Acme, own: &Ids) -> usize {
    let customer = format!("/customers/{}", own.customer);
    let contract = globex.get(&own.path(Route::GetContract)).await;
    contract.expect(200);
    let attempts = [
        (
            Method::POST,
            format!("{customer}/contracts"),
            None,
            json!({"name": "Takeover", "period": {"start": "2026-01-01"},
                   "siteIds": [acme.ids.site]}),
            &acme.ids.site,
            422,
        ),
        (
            Method::PATCH,
            own.path(Route::UpdateContract),
            Some(contract.etag()),
            json!({"siteIds": [acme.ids.site]}),
            &acme.ids.site,
            422,
        ),
        (
            Method::POST,
            format!("{customer}/work-orders"),
            None,
            json!({"kind": "order", "title": "Takeover", "siteId": acme.ids.site}),
            &acme.ids.site,
            422,
        ),
        (
            Method::POST,
            format!("{customer}/tickets"),
            None,
            ticket(&acme.ids.job, "Stolen pipe"),
            &acme.ids.job,
            422,
        ),
        (
            Method::POST,
            format!("{customer}/notes"),
            None,
            json!({"text": "Their gate code?", "siteId": acme.ids.site}),
            &acme.ids.site,
            422,
        ),
        (
            Method::POST,
            format!("{customer}/work-orders/{}/jobs", acme.ids.work_order),
            None,
            json!({"window": window(6), "technicians": ["mallory"]}),
            &acme.ids.work_order,
            404,
        ),
    ];
    let count = attempts.len();
    for (method, path, if_match, body, named, status) in attempts {
        let reply = send(globex, method, &path, if_match.as_deref(), Some(&body)).await;
        let context = format!("{path} naming acme's {named}");
        assert_problem(&reply, &[status], &context);
        // As for any id that is not one of this customer's: `unknown_site`, `unknown_job`.
        let codes = reply.field_errors();
        assert!(
            status == 404 || codes.iter().all(|(_, code)| code.starts_with("unknown_")),
            "{context}: {codes:?}"
        );
        let others: Vec<String> = acme
            .secrets
            .iter()
            .filter(|s| *s != named)
            .cloned()
            .collect();
        assert_nothing_of(&others, &reply, &context);
    }
    let after = globex.get(&own.path(Route::GetContract)).await;
    assert_eq!(
        after.etag(),
        contract.etag(),
        "globex's contract is unchanged"
    );
    count
}

/// After the attacks, every list and record of globex holds only globex's own.
async fn globexs_own_data_only(globex: &Session<'_>, acme: &Acme, own: &Ids) -> usize {
    let ids_and_names = acme.secrets_but_the_card();
    let mut cases = 0;
    for route in read_routes() {
        let reply = globex.get(&own.path(route)).await;
        assert!(reply.status < 500, "{}: {}", route.key(), reply.body);
        assert_nothing_of(&ids_and_names, &reply, route.key());
        cases += 1;
    }
    let customers = globex.get("/customers").await;
    customers.expect(200);
    assert_eq!(
        customers.body["items"].as_array().map(Vec::len),
        Some(2),
        "GX-1 and the one made with acme's card: {}",
        customers.body
    );
    let imports = globex.get("/imports").await;
    assert_eq!(
        imports.body["items"].as_array().map(Vec::len),
        Some(1),
        "globex's own request only: {}",
        imports.body
    );
    let exports = globex.get("/exports").await;
    assert_eq!(
        exports.body["items"].as_array().map(Vec::len),
        Some(0),
        "none of acme's exports: {}",
        exports.body
    );
    // globex's own export of its whole register holds its two customers and nothing of acme's
    // but the card globex made with acme's values.
    let (export, file) = globex.export_csv("?status=all").await;
    assert_eq!(export["rows"], 2, "{export}");
    assert!(file.contains("GX-1"), "{file}");
    for secret in acme.secrets_but_the_card() {
        assert!(
            !file.contains(&secret),
            "globex's export holds acme's {secret:?}: {file}"
        );
    }
    cases + 4
}

#[tokio::test]
async fn another_organisation_gets_nothing_of_acme_on_any_route() {
    let started = Instant::now();
    let suite = Suite::start().await;
    let acme = build_acme(&suite).await;
    let office = suite.user("acme", "ada", ADMIN);
    let before = settled_state(&suite, &office, &acme).await;
    assert_worth_guarding(&before, &acme);

    let globex = suite.user("globex", "gina", EVERY_ROLE);
    let own = build_globex(&suite, &globex).await;
    let mut cases = every_route_with_acmes_ids(&globex, &acme).await;
    cases += every_list_with_acmes_cursors(&globex, &acme, &own).await;
    cases += acmes_values_in_globexs_requests(&globex, &acme, &own).await;
    cases += acmes_records_named_in_globexs_own(&globex, &acme, &own).await;
    cases += globexs_own_data_only(&globex, &acme, &own).await;

    let after = state_of(&suite, &office, &acme).await;
    assert_unchanged(&before, &after);
    println!(
        "{} routes, {cases} cross-tenant cases, {:?}",
        Route::ALL.len(),
        started.elapsed()
    );
}

/// Uploads `csv` through a freshly requested upload form of `session`'s organisation and waits
/// for the import: the finished import's view.
async fn import_through_upload_form(
    suite: &Suite,
    session: &Session<'_>,
    tenant: &str,
    csv: &str,
) -> Value {
    let requested = session.post("/imports", &json!({})).await;
    requested.expect(201);
    let id = id_of(&requested);
    let upload = &requested.body["upload"];
    assert_eq!(
        upload["fields"]["key"],
        format!("imports/{tenant}/{id}.csv").as_str(),
        "an upload form for the caller's own prefix only: {upload}"
    );
    // S3 (and the emulator, which checks POST policies as S3 does) holds the form to its key.
    let elsewhere = format!("imports/someone-else/{id}.csv");
    let refused = suite
        .upload(upload, &[("key", &elsewhere)], csv.as_bytes())
        .await;
    assert_eq!(
        refused.status, 403,
        "S3 refuses the form for another prefix: {}",
        refused.body
    );
    let posted = suite.upload(upload, &[], csv.as_bytes()).await;
    assert_eq!(
        posted.status, 204,
        "the upload is accepted: {}",
        posted.body
    );
    session.finished_import(&id).await.body
}

#[tokio::test]
async fn a_file_naming_another_organisations_customers_imports_into_the_uploaders_own() {
    let suite = Suite::start().await;
    let acme = suite.user("acme", "ada", ADMIN);
    let theirs = import_through_upload_form(
        &suite,
        &acme,
        "acme",
        "Customer Number;Förnamn;Efternamn;E-post;External ID\r\n\
         AC-9001;Zebulon;Quist;zebulon.quist@example.com;EXT-9001\r\n",
    )
    .await;
    assert_eq!(theirs["counts"]["created"], 1, "{theirs}");
    let acmes_list = acme.get("/customers").await;
    let acmes_items = items_of(&suite, "T#acme#").await;

    // Same number, same external id, and a column naming acme (ignored: the organisation comes
    // from the key, and globex's URL is signed for globex's prefix).
    let globex = suite.user("globex", "gina", EVERY_ROLE);
    let ours = import_through_upload_form(
        &suite,
        &globex,
        "globex",
        "Customer Number;Förnamn;Efternamn;E-post;External ID;Tenant\r\n\
         AC-9001;Mallory;Gloe;mallory@example.com;EXT-9001;acme\r\n",
    )
    .await;
    assert_eq!(ours["status"], "completed", "{ours}");
    assert_eq!(
        ours["counts"]["created"], 1,
        "a customer of globex's own: {ours}"
    );
    assert_eq!(ours["counts"]["updated"], 0, "{ours}");

    let mine = globex.get("/customers?number=AC-9001").await;
    mine.expect(200);
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1));
    assert_eq!(mine.body["items"][0]["firstName"], "Mallory");
    let secrets = [
        "Zebulon".to_owned(),
        "Quist".to_owned(),
        acmes_list.body["items"][0]["id"]
            .as_str()
            .expect("acme's customer")
            .to_owned(),
        theirs["id"].as_str().expect("acme's import").to_owned(),
    ];
    for path in ["/customers", "/customers?q=quist", "/imports"] {
        assert_nothing_of(&secrets, &globex.get(path).await, path);
    }

    assert_eq!(acme.get("/customers").await.body, acmes_list.body);
    assert_eq!(
        items_of(&suite, "T#acme#").await,
        acmes_items,
        "acme's items are untouched"
    );
}
