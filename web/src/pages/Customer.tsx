import { useCallback, useEffect, useState } from "preact/hooks";
import { ApiError, call, etagOf, fieldPath, patchCustomer, type Api, type Customer, type Schemas } from "../api/client";
import { Field, PageTitle, ProblemView, formatDate, textBinding, textPatch, useAction, useList } from "../ui";
import { canEdit, useCan } from "../caller";
import { Assignees } from "./Assignees";
import { Contacts } from "./Contacts";
import { Sites } from "./Sites";
import { Work } from "./Work";
import { Terms, money } from "./Terms";
import { CustomerActions } from "./CustomerActions";

type History = Schemas["HistoryEntry"];

export interface Loaded {
  customer: Customer;
  etag: string;
}

/** What every section of a customer's page gets: the card as loaded, what the section's
 * last change did, and how to report a change: `onDone` with the card the API answered,
 * `onChanged` to load the card again (the change touched other parts of it), `onReload`
 * after a 412 (the card changed elsewhere). */
export interface SectionProps {
  api: Api;
  loaded: Loaded;
  notice?: string;
  onDone: (next: Loaded, notice: string) => void;
  onChanged: (notice: string) => void;
  onReload: () => void;
}

/** The editable part of the card, as text in the form. */
const EDITABLE = ["firstName", "lastName", "companyName", "organisationNumber", "email", "invoiceEmail", "phone", "mobile", "description"] as const;
type Editable = (typeof EDITABLE)[number];
/** The two addresses, each edited part by part (`visitingAddress.city`, as the API names a
 * part in its field errors). */
const ADDRESSES = ["visitingAddress", "invoiceAddress"] as const;
const PARTS = ["line1", "line2", "postalCode", "city", "country"] as const;
type AddressKey = `${(typeof ADDRESSES)[number]}.${(typeof PARTS)[number]}`;
const ADDRESS_KEYS = ADDRESSES.flatMap((address) => PARTS.map((part) => `${address}.${part}` as AddressKey));
type Form = Record<Editable | AddressKey, string> & { tags: string };

function formOf(customer: Customer): Form {
  const form = { tags: customer.tags.join(", ") } as Form;
  for (const name of EDITABLE) form[name] = (customer[name] as string | undefined) ?? "";
  // The extension is part of the phone as typed; the API stores it apart and reads it back.
  if (customer.phone && customer.phoneExtension) form.phone = `${customer.phone} ext. ${customer.phoneExtension}`;
  for (const address of ADDRESSES) {
    for (const part of PARTS) form[`${address}.${part}`] = customer[address]?.[part] ?? "";
  }
  return form;
}

/** A JSON merge patch of what the form changed: an emptied field is removed (null), and an
 * address merges part by part. */
function patchOf(before: Form, after: Form): Record<string, unknown> {
  const patch: Record<string, unknown> = textPatch(before, after, EDITABLE);
  for (const address of ADDRESSES) {
    const changed = Object.entries(textPatch(before, after, ADDRESS_KEYS.filter((key) => key.startsWith(`${address}.`))));
    if (changed.length > 0) patch[address] = Object.fromEntries(changed.map(([key, value]) => [key.split(".")[1], value]));
  }
  if (before.tags !== after.tags) {
    patch.tags = after.tags.split(",").map((t) => t.trim()).filter(Boolean);
  }
  return patch;
}

const LABELS: Record<Editable, string> = {
  firstName: "First name",
  lastName: "Last name",
  companyName: "Company name",
  organisationNumber: "Organisation number",
  email: "E-mail",
  invoiceEmail: "Invoice e-mail",
  phone: "Phone",
  mobile: "Mobile",
  description: "Description",
};
const ADDRESS_LABELS: Record<(typeof ADDRESSES)[number], string> = {
  visitingAddress: "Visiting address (where the work is done)",
  invoiceAddress: "Invoice address",
};
const PART_LABELS: Record<(typeof PARTS)[number], string> = {
  line1: "Street",
  line2: "Street, second line",
  postalCode: "Postal code",
  city: "City",
  country: "Country (two letters, e.g. SE)",
};

function addressText(address: Schemas["Address"] | undefined): string | undefined {
  return address && [address.line1, address.line2, [address.postalCode, address.city].filter(Boolean).join(" "), address.country].filter(Boolean).join(", ");
}

/** What the last save or action did, and the section that did it. */
interface Notice {
  text: string;
  from: "edit" | "terms" | "assignees" | "contacts" | "sites" | "manage";
}

export function CustomerPage({ api, id }: { api: Api; id: string }) {
  const [loaded, setLoaded] = useState<Loaded>();
  const [loadError, setLoadError] = useState<unknown>();
  const [version, setVersion] = useState(0);
  // Kept here: the edit form starts afresh from every new version of the customer.
  // What the last save or action did, shown where it was done.
  const [notice, setNotice] = useState<Notice>();

  const reload = useCallback(() => {
    setNotice(undefined);
    setVersion((v) => v + 1);
  }, []);
  const reloadWith = useCallback((text: string, from: Notice["from"]) => {
    setNotice({ text, from });
    setVersion((v) => v + 1);
  }, []);
  useEffect(() => {
    let live = true;
    call(api.GET("/customers/{customerId}", { params: { path: { customerId: id } } })).then(
      ({ data, response }) => live && setLoaded({ customer: data, etag: etagOf(response) }),
      (e) => live && setLoadError(e),
    );
    return () => {
      live = false;
    };
  }, [api, id, version]);

  const can = useCan();
  if (loadError) return <ProblemView error={loadError} />;
  if (!loaded) return <p aria-live="polite">Loading…</p>;
  const { customer } = loaded;
  // Each section starts afresh from every new version of the card (its `key`).
  const section = (from: Notice["from"]): SectionProps => ({
    api,
    loaded,
    notice: notice?.from === from ? notice.text : undefined,
    onDone: (next, text) => {
      setNotice({ text, from });
      setLoaded(next);
    },
    onChanged: (text) => reloadWith(text, from),
    onReload: reload,
  });
  const cardVersion = `${customer.id}:${customer.version}`;
  return (
    <article>
      <p>
        <a href="#/customers">← All customers</a>
      </p>
      <PageTitle>{customer.displayName}</PageTitle>
      <Card customer={customer} />
      {notice?.from === "edit" && <p role="status">{notice.text}</p>}
      {customer.erased === undefined && canEdit(can) && <EditCustomer {...section("edit")} key={`edit:${cardVersion}`} />}
      <Terms {...section("terms")} key={`terms:${cardVersion}`} />
      <Assignees {...section("assignees")} key={`assignees:${cardVersion}`} />
      <Contacts {...section("contacts")} key={`contacts:${cardVersion}`} />
      <Sites {...section("sites")} key={`sites:${cardVersion}`} />
      <Work api={api} id={id} />
      <Timeline api={api} id={id} version={customer.version} />
      <CustomerActions {...section("manage")} key={`manage:${cardVersion}`} />
    </article>
  );
}

function Card({ customer }: { customer: Customer }) {
  const rows: [string, string | undefined][] = [
    ["Number", customer.customerNumber],
    ["Kind", customer.kind],
    ["Status", customer.status + (customer.onHold ? ", on hold" : "")],
    ["Organisation number", customer.organisationNumber],
    ["E-mail", customer.email],
    ["Invoice e-mail", customer.invoiceEmail],
    ["Phone", customer.phoneDisplay ?? customer.phone],
    ["Mobile", customer.mobile],
    ["Visiting address", addressText(customer.visitingAddress)],
    ["Invoice address", addressText(customer.invoiceAddress)],
    ["Payment", `${customer.terms.paymentType}, ${customer.terms.paymentTerms}, ${customer.terms.currency}`],
    ["Credit limit", money(customer.terms.creditLimit, customer.terms.currency)],
    ["Open balance", money(customer.terms.openBalance, customer.terms.currency)],
    ["Tier", customer.tier === "vip" ? "VIP" : undefined],
    ["Tags", customer.tags.join(", ")],
    ["Call-off", customer.callOff.allowed ? "allowed" : `refused (${customer.callOff.refusals.map((r) => r.reason).join(", ")})`],
    ["Version", String(customer.version)],
  ];
  return (
    <section aria-labelledby="card">
      <h2 id="card">Card</h2>
      <dl class="card">
        {rows
          .filter(([, value]) => value)
          .map(([label, value]) => (
            <div key={label}>
              <dt>{label}</dt>
              <dd>{value}</dd>
            </div>
          ))}
      </dl>
    </section>
  );
}

function EditCustomer(props: SectionProps) {
  const { customer, etag } = props.loaded;
  const [start] = useState(() => formOf(customer));
  const [form, setForm] = useState(start);
  const { error, busy, run } = useAction();
  const stale = error instanceof ApiError && error.status === 412;
  const fieldErrors = error instanceof ApiError ? error.fieldErrors() : new Map<string, string>();
  // A person has no company name and no organisation number (a sole trader is a company here).
  const names = EDITABLE.filter((name) => (customer.kind === "company" ? name !== "firstName" && name !== "lastName" : name !== "companyName" && name !== "organisationNumber"));
  const text = textBinding(form, setForm);

  const save = () =>
    run(async () => {
      const patch = patchOf(start, form);
      if (Object.keys(patch).length === 0) return;
      props.onDone(await patchCustomer(props.api, customer.id, etag, patch), "Saved.");
    });

  return (
    <section aria-labelledby="edit">
      <h2 id="edit">Edit</h2>
      {stale ? (
        <div class="problem conflict" role="alert">
          <p>
            <strong>Someone else changed this customer after you opened it.</strong> Your changes were not saved, so
            that theirs are not overwritten. Reload to see the customer as it is now, then make your changes again.
          </p>
          <button type="button" onClick={props.onReload}>
            Reload the customer
          </button>
        </div>
      ) : (
        <ProblemView error={error} shownFields={[...names, ...ADDRESS_KEYS, "tags"]} />
      )}
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {names.map((name) => (
          <Field key={name} label={LABELS[name]} {...text(name)} error={fieldErrors.get(name)} />
        ))}
        {ADDRESSES.map((address) => (
          <fieldset key={address}>
            <legend>{ADDRESS_LABELS[address]}</legend>
            {PARTS.map((part) => (
              <Field key={part} label={PART_LABELS[part]} {...text(`${address}.${part}`)} error={fieldErrors.get(`${address}.${part}`)} />
            ))}
          </fieldset>
        ))}
        <Field label="Tags" name="tags" value={form.tags} onInput={(tags) => setForm({ ...form, tags })} hint="Separated by commas" error={fieldErrors.get("tags")} />
        <div class="actions">
          <button type="submit" disabled={busy}>
            Save
          </button>
        </div>
      </form>
    </section>
  );
}

function show(value: unknown): string {
  if (value === undefined || value === null) return "—";
  if (typeof value === "string") return value;
  // A whole record (a contact added or removed) by its name, as people tell records apart.
  if (typeof value === "object" && !Array.isArray(value)) {
    const record = value as Record<string, unknown>;
    const name = [record.firstName, record.lastName].filter(Boolean).join(" ") || record.name || record.email;
    if (typeof name === "string" && name) return name;
  }
  return JSON.stringify(value);
}

function Timeline({ api, id, version }: { api: Api; id: string; version: number }) {
  const { items, error } = useList<History>(() => call(api.GET("/customers/{customerId}/history", { params: { path: { customerId: id }, query: { limit: 50 } } })), [api, id, version]);
  return (
    <section aria-labelledby="history">
      <h2 id="history">History</h2>
      <ProblemView error={error} />
      <ol class="timeline">
        {items?.map((entry) => (
          <li key={entry.id}>
            <time dateTime={entry.at}>{formatDate(entry.at)}</time>
            <p>
              <strong>{entry.kind}</strong> by {entry.by} (version {entry.version})
            </p>
            {entry.changes.length > 0 && (
              <ul>
                {entry.changes.map((change) => (
                  <li key={change.field}>
                    <code>{fieldPath(change.field)}</code>:{" "}
                    {/* An erasure names the fields it cleared, never their values. */}
                    {entry.kind === "erased" ? "cleared" : `${show(change.before)} → ${show(change.after)}`}
                  </li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
    </section>
  );
}
