// The console in a real browser against the local stack: sign in, create a customer, find it
// by a search without its diacritics, edit it (an address too) while another tab changed it and
// see the conflict, import a CSV with one bad row and download the error report, upload a
// workbook by mistake and be told how to save it as CSV, check a Visma export and import it
// with a column corrected, merge a duplicate the import brought in, export the list as CSV,
// deactivate and reactivate a customer, add, change and remove a contact, link, change,
// deactivate and unlink a site, change the commercial terms, download a customer's personal
// data and erase it, see the text a visit booked through the API sent, assign a technician,
// who then sees that customer alone and no action they may not take, change the settings (a
// refused value shown at its field first). Headless Chromium from Debian's package, driven by
// playwright-core (no browser download). A screenshot of each step goes to web/screenshots/
// (ignored). Any console error, uncaught exception or failed request fails the test, except
// the statuses a step provokes on purpose (a 412, and 422s shown beside their fields).
//
// Env: WEB_URL (the console), TOKEN (a bearer token of an administrator of a fresh tenant),
// TECHNICIAN_TOKEN (a technician's of the same tenant), CHROMIUM
// (default /usr/bin/chromium). infra/local/browser-test starts the stack and sets them.
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const WEB_URL = process.env.WEB_URL ?? "http://127.0.0.1:5173/";
const TOKEN = process.env.TOKEN;
assert.ok(TOKEN, "TOKEN is required (infra/local/token --tenant T --user U --roles administrator)");
// A technician of the same organisation (infra/local/token ... --roles technician).
const TECHNICIAN_TOKEN = process.env.TECHNICIAN_TOKEN;
assert.ok(TECHNICIAN_TOKEN, "TECHNICIAN_TOKEN is required");
const shots = join(dirname(fileURLToPath(import.meta.url)), "..", "screenshots");
rmSync(shots, { recursive: true, force: true });
mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
  headless: true,
  // The network here is closed: without these Chromium's own background connections fail.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ acceptDownloads: true, viewport: { width: 1280, height: 900 } });

const problems = [];
/** Statuses a step provokes on purpose; anything else at 4xx/5xx is a failure. */
const expectedStatuses = new Set();
function watch(page, tab) {
  page.on("console", (message) => {
    if (message.type() !== "error") return;
    const status = /status of (\d{3})/.exec(message.text());
    if (status && expectedStatuses.has(Number(status[1]))) return;
    problems.push(`${tab}: console error: ${message.text()}`);
  });
  page.on("pageerror", (error) => problems.push(`${tab}: uncaught: ${error.message}`));
  page.on("requestfailed", (request) => {
    // A link to a presigned attachment becomes a download: Chromium ends its navigation so.
    const download = request.failure()?.errorText === "net::ERR_ABORTED" && request.url().includes("response-content-disposition=attachment");
    if (!download) problems.push(`${tab}: request failed: ${request.method()} ${request.url()}: ${request.failure()?.errorText}`);
  });
  page.on("response", (response) => {
    const status = response.status();
    // 303: the error report's redirect to its download URL.
    if (status >= 400 && !expectedStatuses.has(status)) {
      problems.push(`${tab}: ${status} from ${response.request().method()} ${response.url()}`);
    }
  });
}

let stepNumber = 0;
async function step(name, page, body) {
  stepNumber += 1;
  const label = `${String(stepNumber).padStart(2, "0")}-${name}`;
  const started = Date.now();
  try {
    await body();
  } finally {
    await page.screenshot({ path: join(shots, `${label}.png`), fullPage: true });
  }
  assert.deepEqual(problems, [], `after step ${label}`);
  console.error(`browser-test: ${label} ok (${Date.now() - started} ms)`);
}

async function signIn(page, token = TOKEN) {
  await page.goto(WEB_URL);
  await page.getByLabel("Token").fill(token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("heading", { name: "Customers", level: 1 }).waitFor();
}

/** The same with the keyboard alone: the page's title has the focus, Tab goes on from there. */
async function signInByKeyboard(page) {
  await page.goto(WEB_URL);
  await page.getByRole("heading", { name: "Customers console" }).waitFor();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "token");
  await page.keyboard.insertText(TOKEN);
  await page.keyboard.press("Tab");
  await page.keyboard.press("Enter");
  await page.getByRole("heading", { name: "Customers", level: 1 }).waitFor();
}

const tabA = await context.newPage();
watch(tabA, "tab A");
const stamp = Date.now().toString(36);
const email = `asa.${stamp}@example.com`;
let customerUrl;

try {
  await step("sign-in", tabA, () => signIn(tabA));

  await step("create-customer", tabA, async () => {
    await tabA.getByRole("button", { name: "New customer" }).click();
    const form = tabA.getByRole("form", { name: "New customer" });
    await form.getByLabel("First name").fill("Åsa");
    await form.getByLabel("Last name").fill("Öberg");
    await form.getByLabel("E-mail").fill(email);
    // Submitted from the keyboard: Enter in a field. Without a number (the settings give
    // none automatically) the API refuses it, and says so beside the field.
    expectedStatuses.add(422);
    await form.getByLabel("E-mail").press("Enter");
    const number = form.getByLabel("Customer number");
    await tabA.waitForSelector("[aria-invalid=true][name=customerNumber]");
    const described = await number.getAttribute("aria-describedby");
    assert.equal(await tabA.locator(`#${described}`).textContent(), "This field is required.");
    expectedStatuses.delete(422);
    await number.fill(`C-${stamp}`);
    await number.press("Enter");
    await tabA.getByRole("heading", { name: "Åsa Öberg", level: 1 }).waitFor();
    customerUrl = tabA.url();
  });

  await step("search-without-diacritics", tabA, async () => {
    await tabA.getByRole("link", { name: "Customers", exact: true }).click();
    await tabA.getByLabel("Search").fill("asa ober");
    await tabA.getByRole("button", { name: "Search" }).click();
    await tabA.getByRole("link", { name: "Åsa Öberg" }).waitFor();
    const rows = await tabA.locator("table.list tbody tr").count();
    assert.equal(rows, 1, "one customer matches");
  });

  await step("phone-sized-list", tabA, async () => {
    await tabA.setViewportSize({ width: 390, height: 844 });
    await tabA.getByRole("link", { name: "Åsa Öberg" }).waitFor();
    await tabA.setViewportSize({ width: 1280, height: 900 });
  });

  // Tab A opens the customer; tab B (its own sign-in: the token lives per tab) changes it.
  await tabA.getByRole("link", { name: "Åsa Öberg" }).click();
  await tabA.getByRole("heading", { name: "Åsa Öberg", level: 1 }).waitFor();
  const tabB = await context.newPage();
  watch(tabB, "tab B");
  await step("other-tab-changes-it", tabB, async () => {
    await signInByKeyboard(tabB);
    await tabB.goto(customerUrl);
    await tabB.getByRole("heading", { name: "Åsa Öberg", level: 1 }).waitFor();
    await tabB.getByLabel("Description").fill("Gate code 4711");
    await tabB.getByRole("button", { name: "Save" }).click();
    await tabB.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  });

  await step("edit-conflict", tabA, async () => {
    // A background tab's timers are throttled: bring tab A forward as a user would.
    await tabA.bringToFront();
    expectedStatuses.add(412);
    await tabA.getByLabel("Phone").fill("+46701234567");
    await tabA.getByRole("button", { name: "Save" }).click();
    await tabA.getByRole("alert").filter({ hasText: "Someone else changed this customer" }).waitFor();
    expectedStatuses.delete(412);
  });

  await step("reload-and-save", tabA, async () => {
    await tabA.getByRole("button", { name: "Reload the customer" }).click();
    // The form now holds tab B's change.
    await tabA.waitForFunction(() => document.querySelector("[name=description]")?.value === "Gate code 4711");
    // An office number with its extension, shown back as Sweden writes it.
    await tabA.getByLabel("Phone").fill("+46 8 123 456 78 ext. 12");
    // Where the work is done; the country in any case, stored upper case.
    const visiting = tabA.getByRole("group", { name: "Visiting address (where the work is done)" });
    await visiting.getByLabel("Street", { exact: true }).fill("Björkvägen 12");
    await visiting.getByLabel("Postal code").fill("181 30");
    await visiting.getByLabel("City").fill("Lidingö");
    await visiting.getByLabel("Country").fill("se");
    await tabA.getByRole("button", { name: "Save" }).click();
    await tabA.getByRole("status").filter({ hasText: "Saved." }).waitFor();
    await tabA.locator("dl.card").getByText("08-123 456 78 ankn. 12").waitFor();
    await tabA.locator("dl.card").getByText("Björkvägen 12, 181 30 Lidingö, SE").waitFor();
    assert.equal(await tabA.getByLabel("Phone").inputValue(), "+46812345678 ext. 12");
    await tabA.locator("ol.timeline > li").nth(2).waitFor();
  });

  await step("import-with-a-bad-row", tabA, async () => {
    await tabA.getByRole("link", { name: "Imports" }).click();
    const csv = [
      "Customer Number,Company Name,Email",
      `B-${stamp}-1,Berg Bygg AB,info@bergbygg.example`,
      `B-${stamp}-2,Norr El AB,not-an-email`,
      `B-${stamp}-3,Söder VVS AB,kontakt@sodervvs.example`,
      // The same company typed in again under another number: merged below.
      `B-${stamp}-4,Berg Bygg Aktiebolag,info@bergbygg.example`,
      "",
    ].join("\r\n");
    await tabA.getByLabel("CSV file").setInputFiles({ name: "kunder.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await tabA.getByRole("button", { name: "Upload and import" }).click();
    await tabA.locator("#upload-progress[value='1']").waitFor();
    await tabA.locator(".import-state", { hasText: "Done" }).waitFor({ timeout: 60_000 });
    await tabA.getByText("4 rows read: 3 created, 0 updated, 0 unchanged, 1 failed.").waitFor();
  });

  await step("download-error-report", tabA, async () => {
    const [download] = await Promise.all([
      tabA.waitForEvent("download"),
      tabA.getByRole("button", { name: "Download the error report" }).click(),
    ]);
    const report = readFileSync(await download.path(), "utf8");
    const lines = report.replace(/^\uFEFF/, "").trim().split(/\r?\n/);
    assert.match(lines[0], /^line,column,field,code,message,value$/);
    assert.equal(lines.length, 2, `one error line:\n${report}`);
    assert.match(lines[1], /^3,Email,\/email,invalid_email,/);
  });

  await step("a-workbook-is-refused-with-advice", tabA, async () => {
    // The usual mistake: the workbook itself, not a CSV saved from it.
    const xlsx = Buffer.from([0x50, 0x4b, 0x03, 0x04, 0x14, 0x00, 0x06, 0x00, 0x08, 0x00]);
    await tabA.getByLabel("CSV file").setInputFiles({ name: "kunder.xlsx", mimeType: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", buffer: xlsx });
    await tabA.getByRole("button", { name: "Upload and import" }).click();
    await tabA.locator(".import-state", { hasText: "Failed" }).waitFor({ timeout: 60_000 });
    await tabA.getByText(/an Excel workbook \(\.xlsx\).*"CSV UTF-8 \(Comma delimited\)"/).waitFor();
  });

  await step("check-a-file-then-import-it-corrected", tabA, async () => {
    // A Visma export whose office phone column the import cannot know by its name; the phone
    // is national, read with the row's country.
    const csv = ["Kundnummer;Namn;Land;Tfn arbete", `K-${stamp}-1;Norrland Värme AB;SE;060-123 45 67`, ""].join("\r\n");
    await tabA.getByLabel("CSV file").setInputFiles({ name: "visma.csv", mimeType: "text/csv", buffer: Buffer.from(csv) });
    await tabA.getByLabel("Only check the file").check();
    await tabA.getByRole("button", { name: "Upload and check" }).click();
    await tabA.locator(".import-state", { hasText: "Done" }).waitFor({ timeout: 60_000 });
    await tabA.getByText("checked only: nothing written").waitFor();
    await tabA.getByText("1 rows read: 1 would be created, 0 would be updated, 0 unchanged, 0 failed.").waitFor();
    await tabA.getByText("Read as a Visma export").waitFor();
    const phoneColumn = tabA.getByLabel("Read Tfn arbete as");
    assert.equal(await phoneColumn.inputValue(), "ignore");
    await phoneColumn.selectOption("phone");
    await tabA.getByRole("button", { name: "Import it with these columns" }).click();
    // The check's status gives way to the import's.
    await tabA.getByText("checked only").waitFor({ state: "detached" });
    await tabA.locator(".import-state", { hasText: "Done" }).waitFor({ timeout: 60_000 });
    await tabA.getByText("1 rows read: 1 created, 0 updated, 0 unchanged, 0 failed.").waitFor();
    // The customer has the phone the corrected column gave.
    await tabA.getByRole("link", { name: "Customers", exact: true }).click();
    await tabA.getByLabel("Search").fill("norrland");
    await tabA.getByRole("button", { name: "Search" }).click();
    await tabA.locator("table.list tbody tr", { hasText: "Norrland Värme AB" }).getByText("+46601234567").waitFor();
  });

  await step("merge-duplicate", tabA, async () => {
    await tabA.getByRole("link", { name: "Customers", exact: true }).click();
    await tabA.getByLabel("Search").fill("berg bygg");
    await tabA.getByRole("button", { name: "Search" }).click();
    await tabA.getByRole("link", { name: "Berg Bygg AB", exact: true }).click();
    await tabA.getByRole("heading", { name: "Berg Bygg AB", level: 1 }).waitFor();
    await tabA.getByLabel("Duplicate's customer number").fill(`B-${stamp}-4`);
    await tabA.getByRole("button", { name: "Find the duplicate" }).click();
    const confirm = tabA.getByRole("group", { name: "Confirm merge" });
    await confirm.getByText("Berg Bygg Aktiebolag").waitFor();
    await confirm.getByRole("button", { name: "Merge into this customer" }).click();
    await tabA.getByRole("status").filter({ hasText: "was merged into this customer" }).waitFor();
    await tabA.locator("ol.timeline").getByText("duplicateMerged").waitFor();
    // The duplicate is in no list any more.
    await tabA.getByRole("link", { name: "Customers", exact: true }).click();
    await tabA.getByLabel("Search").fill("berg bygg");
    await tabA.getByRole("button", { name: "Search" }).click();
    // The search's page replaces the unfiltered one: wait for it to hold the survivor alone.
    await tabA
      .waitForFunction(
        () => [...document.querySelectorAll("table.list tbody tr")].map((row) => row.textContent).join("|").match(/^Berg Bygg AB[^|]*$/),
        undefined,
        { timeout: 10_000 },
      )
      .catch(async () => {
        const rows = await tabA.locator("table.list tbody tr").allTextContents();
        assert.fail(`the survivor alone, not: ${rows.join(" | ")}`);
      });
  });

  await step("export-the-list", tabA, async () => {
    // The list as searched: the survivor alone, as a CSV written in the background.
    await tabA.getByRole("button", { name: "Export these customers (CSV)" }).click();
    const link = tabA.getByRole("link", { name: "Download the export (1 customer)" });
    await link.waitFor({ timeout: 30_000 });
    const [download] = await Promise.all([tabA.waitForEvent("download"), link.click()]);
    const lines = readFileSync(await download.path(), "utf8").replace(/^\uFEFF/, "").trim().split(/\r?\n/);
    assert.equal(lines.length, 2, `a header and one customer:\n${lines.join("\n")}`);
    assert.match(lines[1], new RegExp(`^B-${stamp}-1,`));
    assert.match(lines[1], /Berg Bygg AB/);
  });

  await step("deactivate-and-reactivate", tabA, async () => {
    await tabA.getByRole("link", { name: "Berg Bygg AB", exact: true }).click();
    await tabA.getByRole("button", { name: "Deactivate…" }).click();
    await tabA.getByRole("group", { name: "Confirm deactivation" }).getByRole("button", { name: "Deactivate now" }).click();
    await tabA.getByRole("status").filter({ hasText: "Deactivated." }).waitFor();
    await tabA.locator("dl.card").getByText("inactive", { exact: true }).waitFor();
    await tabA.getByRole("button", { name: "Reactivate" }).click();
    await tabA.getByRole("status").filter({ hasText: "does not undo the deactivation cascade" }).waitFor();
    await tabA.locator("dl.card").getByText("active", { exact: true }).waitFor();
  });

  await step("contacts", tabA, async () => {
    await tabA.getByRole("button", { name: "Add a contact" }).click();
    const form = tabA.getByRole("form", { name: "New contact" });
    await form.getByLabel("First name").fill("Ola");
    await form.getByLabel("Last name").fill("Nordin");
    await form.getByLabel("Role").fill("Site manager");
    await form.getByLabel("Phone").fill("+46 8 123 456 78 ext. 12");
    // A switchboard number as the mobile: refused beside the field.
    await form.getByLabel("Mobile").fill("+46 8 123 456 78");
    expectedStatuses.add(422);
    await form.getByRole("button", { name: "Add the contact" }).click();
    await tabA.waitForSelector("form[aria-label='New contact'] [aria-invalid=true][name=mobile]");
    expectedStatuses.delete(422);
    await form.getByLabel("Mobile").fill("+46 70 123 45 67");
    await form.getByRole("button", { name: "Add the contact" }).click();
    await tabA.getByRole("status").filter({ hasText: "Contact added." }).waitFor();
    const contacts = tabA.locator("section[aria-labelledby=contacts] ul.rows");
    await contacts.getByText("Site manager · +46812345678 ext. 12 · +46701234567").waitFor();

    await tabA.getByRole("button", { name: "Edit Ola Nordin" }).click();
    const edit = tabA.getByRole("form", { name: "Edit Ola Nordin" });
    assert.equal(await edit.getByLabel("Phone").inputValue(), "+46812345678 ext. 12");
    await edit.getByLabel("Role").fill("Facilities");
    await edit.getByRole("button", { name: "Save the contact" }).click();
    await tabA.getByRole("status").filter({ hasText: "Contact saved." }).waitFor();
    await contacts.getByText("Facilities · +46812345678 ext. 12").waitFor();

    await tabA.getByRole("button", { name: "Remove Ola Nordin" }).click();
    await tabA.getByRole("button", { name: "Yes, remove" }).click();
    await tabA.getByRole("status").filter({ hasText: "Ola Nordin was removed." }).waitFor();
    await tabA.locator("section[aria-labelledby=contacts]").getByText("No contacts.").waitFor();
  });

  await step("sites", tabA, async () => {
    await tabA.getByRole("button", { name: "Link a new site" }).click();
    const form = tabA.getByRole("form", { name: "New site" });
    await form.getByLabel("Site name").fill("Depot Västberga");
    await form.getByLabel("Street address").fill("Elektravägen 22");
    await form.getByLabel("Postal code").fill("126 30");
    await form.getByLabel("City").fill("Hägersten");
    await form.getByLabel("Country").fill("Sweden");
    await form.getByLabel("Contact's first name").fill("Ola");
    await form.getByLabel("Contact's phone").fill("+46 8 123 456 78 ext. 12");
    // A country's name instead of its code: refused beside the field.
    expectedStatuses.add(422);
    await form.getByRole("button", { name: "Link the site" }).click();
    await tabA.waitForSelector("form[aria-label='New site'] [aria-invalid=true][name=country]");
    expectedStatuses.delete(422);
    await form.getByLabel("Country").fill("SE");
    await form.getByRole("button", { name: "Link the site" }).click();
    await tabA.getByRole("status").filter({ hasText: "Depot Västberga was linked." }).waitFor();
    const sites = tabA.locator("section[aria-labelledby=sites] ul.rows");
    await sites.getByText("active · Elektravägen 22, 126 30, Hägersten · ask for Ola").waitFor();

    await tabA.getByRole("button", { name: "Edit Depot Västberga" }).click();
    const edit = tabA.getByRole("form", { name: "Edit Depot Västberga" });
    assert.equal(await edit.getByLabel("Contact's phone").inputValue(), "+46812345678 ext. 12");
    await edit.getByLabel("City").fill("Stockholm");
    await edit.getByRole("button", { name: "Save the site" }).click();
    await tabA.getByRole("status").filter({ hasText: "Depot Västberga was saved." }).waitFor();
    await sites.getByText("Elektravägen 22, 126 30, Stockholm").waitFor();

    await tabA.getByRole("button", { name: "Deactivate Depot Västberga" }).click();
    await tabA.getByRole("status").filter({ hasText: "Depot Västberga was deactivated." }).waitFor();
    await sites.getByText("inactive · Elektravägen 22").waitFor();

    await tabA.getByRole("button", { name: "Unlink Depot Västberga" }).click();
    await tabA.getByRole("button", { name: "Yes, unlink" }).click();
    await tabA.getByRole("status").filter({ hasText: "Depot Västberga was unlinked." }).waitFor();
    await tabA.locator("section[aria-labelledby=sites]").getByText("No sites.").waitFor();
  });

  await step("commercial-terms", tabA, async () => {
    await tabA.getByRole("button", { name: "Change the terms…" }).click();
    const form = tabA.getByRole("form", { name: "Change the terms" });
    await form.getByLabel("Payment type").selectOption("account");
    await form.getByLabel("Payment terms").selectOption("net30");
    await form.getByLabel("Credit limit").fill("5 000,50");
    // Not an amount: refused beside the field before anything is sent.
    await form.getByLabel("Open balance").fill("1.234,5");
    await form.getByRole("button", { name: "Save the terms" }).click();
    await tabA.waitForSelector("form[aria-label='Change the terms'] [aria-invalid=true][name=openBalance]");
    await form.getByLabel("Open balance").fill("-120");
    await form.getByLabel("On hold (no new work)").check();
    await form.getByRole("button", { name: "Save the terms" }).click();
    await tabA.getByRole("status").filter({ hasText: "Terms saved." }).waitFor();
    const card = tabA.locator("dl.card");
    await card.getByText("account, net30, EUR").waitFor();
    await card.getByText(/5,000\.50/).waitFor();
    await card.getByText(/-€120\.00|€-120\.00|-120\.00/).waitFor();
    await card.getByText("active, on hold").waitFor();
  });

  await step("download-personal-data", tabA, async () => {
    await tabA.goto(customerUrl);
    await tabA.getByRole("heading", { name: "Åsa Öberg", level: 1 }).waitFor();
    const [download] = await Promise.all([
      tabA.waitForEvent("download"),
      tabA.getByRole("button", { name: "Download personal data" }).click(),
    ]);
    assert.equal(download.suggestedFilename(), `personal-data-C-${stamp}.json`);
    const data = JSON.parse(readFileSync(await download.path(), "utf8"));
    assert.ok(JSON.stringify(data.records.Customer).includes(email), "the card with its e-mail");
    assert.ok(data.records.CustomerHistory.length >= 2, "its history");
  });

  await step("erase", tabA, async () => {
    const erase = tabA.getByRole("button", { name: "Erase for good" });
    assert.equal(await erase.isDisabled(), true, "not before the number is typed");
    // Case-insensitively, as numbers compare.
    await tabA.getByLabel("Type the customer number to confirm").fill(`c-${stamp}`);
    await erase.click();
    await tabA.getByRole("heading", { name: "Erased customer", level: 1 }).waitFor();
    await tabA.getByRole("status").filter({ hasText: "Erased." }).waitFor();
    assert.equal(await tabA.getByText(email).count(), 0, "no trace of the e-mail on the page");
    assert.equal(await tabA.getByRole("button", { name: "Save" }).count(), 0, "nothing to edit");
  });

  await step("texts-about-a-visit", tabA, async () => {
    // A customer with a mobile and a visit booked through the API, as a dispatch app books it.
    const { apiUrl } = await (await fetch(new URL("config.json", WEB_URL))).json();
    const api = async (path, body) => {
      const response = await fetch(`${apiUrl.replace(/\/$/, "")}${path}`, {
        method: "POST",
        headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!response.ok) assert.fail(`${path}: ${response.status} ${await response.text()}`);
      return response.json();
    };
    const cia = await api("/customers", { customerNumber: `T-${stamp}`, firstName: "Cia", lastName: "Lind", mobile: "+46 70 765 43 21" });
    const site = await api(`/customers/${cia.id}/sites`, { name: "Villa Lind", address: { line1: "Björkvägen 3", city: "Lidingö", country: "SE" } });
    const order = await api(`/customers/${cia.id}/work-orders`, { kind: "order", title: "Heat pump service", siteId: site.id });
    const start = new Date(Date.now() + 86_400_000);
    const end = new Date(start.getTime() + 4 * 3_600_000);
    await api(`/customers/${cia.id}/work-orders/${order.id}/jobs`, { window: { start: start.toISOString(), end: end.toISOString() }, technicians: ["tess"] });

    await tabA.goto(`${WEB_URL}#/customers/${cia.id}`);
    await tabA.getByRole("heading", { name: "Cia Lind", level: 1 }).waitFor();
    await tabA.getByRole("button", { name: "Texts about Heat pump service" }).click();
    const texts = tabA.getByRole("region", { name: "Texts about Heat pump service" });
    // Sent in the background within moments of the booking: check again until it is listed.
    for (let i = 0; (await texts.getByText("Visit booked").count()) === 0; i++) {
      assert.ok(i < 60, "the booking's text is listed within 30 s");
      await tabA.waitForTimeout(500);
      await texts.getByRole("button", { name: "Check again" }).click();
    }
    await texts.getByText(/Visit booked · (sent to \+46707654321|not sent: .+)/).waitFor();
  });

  await step("assign-a-technician", tabA, async () => {
    await tabA.getByLabel("User to assign").fill("tess");
    await tabA.getByRole("button", { name: "Assign", exact: true }).click();
    await tabA.getByRole("status").filter({ hasText: "tess is assigned." }).waitFor();
    await tabA.locator("section[aria-labelledby=assignees]").getByText("tess", { exact: true }).waitFor();
  });

  // A technician sees the customers assigned to them and no action they may not take.
  const tabC = await context.newPage();
  watch(tabC, "tab C");
  await step("technician-sees-what-they-may-do", tabC, async () => {
    const me = tabC.waitForResponse((response) => new URL(response.url()).pathname === "/me");
    await signIn(tabC, TECHNICIAN_TOKEN);
    assert.deepEqual((await (await me).json()).permissions, ["viewAssigned", "editAssigned"]);
    // What the console drew once it knew: Cia alone, assigned to tess above.
    await tabC.waitForLoadState("networkidle");
    await tabC.getByRole("link", { name: "Cia Lind" }).waitFor();
    assert.equal(await tabC.locator("table.list tbody tr").count(), 1, "the assigned customer alone");
    assert.equal(await tabC.getByRole("button", { name: "New customer" }).count(), 0, "no New customer");
    assert.equal(await tabC.getByRole("button", { name: "Export these customers (CSV)" }).count(), 0, "no export");
    // Tess edits Cia, her contacts and sites, and nothing else.
    await tabC.getByRole("link", { name: "Cia Lind" }).click();
    await tabC.getByRole("heading", { name: "Cia Lind", level: 1 }).waitFor();
    await tabC.getByRole("button", { name: "Save", exact: true }).waitFor();
    await tabC.getByRole("button", { name: "Add a contact" }).waitFor();
    for (const absent of ["Change the terms…", "Assign", "Deactivate…", "Download personal data", "Erase for good"]) {
      assert.equal(await tabC.getByRole("button", { name: absent, exact: true }).count(), 0, `no ${absent}`);
    }
    assert.equal(await tabC.getByRole("heading", { name: "Manage" }).count(), 0, "no Manage section");
    assert.equal(await tabC.getByRole("link", { name: "Imports" }).count(), 0, "no Imports");
    await tabC.getByRole("link", { name: "Settings" }).click();
    await tabC.getByText("Only administrators change the settings").waitFor();
    assert.equal(await tabC.getByRole("button", { name: "Save settings" }).count(), 0, "no Save settings");
    assert.equal(await tabC.getByLabel("Number min length").isDisabled(), true, "read-only");
  });

  await step("settings", tabA, async () => {
    await tabA.bringToFront();
    await tabA.getByRole("link", { name: "Settings" }).click();
    const minLength = tabA.getByLabel("Number min length");
    await minLength.fill("0");
    expectedStatuses.add(422);
    await tabA.getByRole("button", { name: "Save settings" }).click();
    // The refusal sits beside the field it is about.
    await tabA.waitForSelector("[name=numberMinLength][aria-describedby]");
    const described = await minLength.getAttribute("aria-describedby");
    assert.match(await tabA.locator(`#${described}`).textContent(), /\S/);
    expectedStatuses.delete(422);
    await minLength.fill("4");
    await tabA.getByLabel("Organisation name").fill("Berg & Söner");
    await tabA.getByRole("button", { name: "Save settings" }).click();
    await tabA.getByRole("status").filter({ hasText: "Saved." }).waitFor();
  });
} finally {
  await browser.close();
}
console.error(`browser-test: passed; screenshots in ${shots}`);
