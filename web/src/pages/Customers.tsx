import { useEffect, useState } from "preact/hooks";
import { ApiError, call, idempotencyKey, type Api, type Customer, type Schemas } from "../api/client";
import { useCan } from "../caller";
import { ExportButton } from "./Export";
import { Field, PageTitle, ProblemView, Select } from "../ui";

interface Query {
  q: string;
  status: "active" | "inactive" | "all";
  paymentType: "" | "account" | "cash";
  vip: "" | "true" | "false";
  onHold: "" | "true" | "false";
  tag: string;
  sort: "name" | "number" | "created";
  order: "asc" | "desc";
}

/** The list's query parameters for `query`, without its page: GET /customers and POST
 * /exports take the same. */
function filtersOf(query: Query) {
  return {
    q: query.q.trim() || undefined,
    status: query.status,
    sort: query.sort,
    order: query.order,
    paymentType: query.paymentType || undefined,
    vip: query.vip || undefined,
    onHold: query.onHold || undefined,
    tag: query.tag.trim() || undefined,
  };
}

const START: Query = { q: "", status: "active", paymentType: "", vip: "", onHold: "", tag: "", sort: "name", order: "asc" };
const PAGE_SIZE = 20;

export function CustomersPage({ api }: { api: Api }) {
  const [draft, setDraft] = useState<Query>(START);
  const [query, setQuery] = useState<Query>(START);
  // Cursors of the pages before this one (opaque: paging goes forward, so back is a stack).
  const [cursors, setCursors] = useState<(string | undefined)[]>([undefined]);
  const [page, setPage] = useState<{ items: Customer[]; nextCursor?: string }>();
  const [error, setError] = useState<unknown>();
  const [creating, setCreating] = useState(false);
  const cursor = cursors[cursors.length - 1];
  const can = useCan();

  useEffect(() => {
    let live = true;
    setError(undefined);
    call(
      api.GET("/customers", {
        params: {
          query: { limit: PAGE_SIZE, cursor, ...filtersOf(query) },
        },
      }),
    ).then(
      ({ data }) => live && setPage(data),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, [api, query, cursor]);

  const set = <K extends keyof Query>(key: K) => (value: string) => setDraft({ ...draft, [key]: value as Query[K] });

  return (
    <section>
      <div class="title-row">
        <PageTitle>Customers</PageTitle>
        {can("create") && (
          <button type="button" onClick={() => setCreating(!creating)} aria-expanded={creating}>
            New customer
          </button>
        )}
      </div>
      {creating && <NewCustomer api={api} onCancel={() => setCreating(false)} />}
      <form
        class="filters"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setCursors([undefined]);
          setQuery(draft);
        }}
      >
        <Field label="Search" name="q" type="search" value={draft.q} onInput={set("q")} hint="Name (start of it), number, e-mail or phone" />
        <Select label="Status" name="status" value={draft.status} onChange={set("status")} options={[["active", "Active"], ["inactive", "Inactive"], ["all", "All"]]} />
        <Select label="Payment" name="paymentType" value={draft.paymentType} onChange={set("paymentType")} options={[["", "Any"], ["account", "On account"], ["cash", "Cash"]]} />
        <Select label="VIP" name="vip" value={draft.vip} onChange={set("vip")} options={[["", "Any"], ["true", "VIP"], ["false", "Regular"]]} />
        <Select label="On hold" name="onHold" value={draft.onHold} onChange={set("onHold")} options={[["", "Any"], ["true", "On hold"], ["false", "Not on hold"]]} />
        <Field label="Tag" name="tag" value={draft.tag} onInput={set("tag")} />
        <Select label="Sort by" name="sort" value={draft.sort} onChange={set("sort")} options={[["name", "Name"], ["number", "Number"], ["created", "Created"]]} />
        <Select label="Order" name="order" value={draft.order} onChange={set("order")} options={[["asc", "Ascending"], ["desc", "Descending"]]} />
        <button type="submit">Search</button>
      </form>
      {can("export") && <ExportButton api={api} filters={filtersOf(query)} key={JSON.stringify(query)} />}
      <ProblemView error={error} />
      <div aria-live="polite">
        {page && page.items.length === 0 && <p>No customers match.</p>}
        {page && page.items.length > 0 && (
          <table class="list">
            <thead>
              <tr>
                <th scope="col">Customer</th>
                <th scope="col">Number</th>
                <th scope="col">E-mail</th>
                <th scope="col">Phone</th>
                <th scope="col">Sites</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {page.items.map((c) => (
                <tr key={c.id}>
                  <td data-label="Customer">
                    <a href={`#/customers/${encodeURIComponent(c.id)}`}>{c.displayName}</a>
                  </td>
                  <td data-label="Number">{c.customerNumber}</td>
                  <td data-label="E-mail">{c.email}</td>
                  <td data-label="Phone">{c.phone ?? c.mobile}</td>
                  <td data-label="Sites">{c.sitesCount}</td>
                  <td data-label="Status">{c.status}{c.onHold && " · on hold"}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
      </div>
      <nav class="pager" aria-label="Pages">
        <button type="button" disabled={cursors.length < 2} onClick={() => setCursors(cursors.slice(0, -1))}>
          Previous page
        </button>
        <span>Page {cursors.length}</span>
        <button type="button" disabled={!page?.nextCursor} onClick={() => setCursors([...cursors, page?.nextCursor])}>
          Next page
        </button>
      </nav>
    </section>
  );
}

type Duplicate = Schemas["PossibleDuplicate"];

function NewCustomer({ api, onCancel }: { api: Api; onCancel: () => void }) {
  const [form, setForm] = useState({ kind: "person", firstName: "", lastName: "", companyName: "", email: "", phone: "", customerNumber: "" });
  const [error, setError] = useState<unknown>();
  const [duplicates, setDuplicates] = useState<Duplicate[]>();
  // One key per customer being created: a retry after a lost answer is not a second customer.
  const [key] = useState(idempotencyKey);
  const [busy, setBusy] = useState(false);
  const fieldErrors = error instanceof ApiError ? error.fieldErrors() : new Map<string, string>();
  const set = (name: keyof typeof form) => (value: string) => setForm({ ...form, [name]: value });

  async function create(confirmDuplicates: boolean) {
    setBusy(true);
    setError(undefined);
    const text = (value: string) => value.trim() || undefined;
    const person = form.kind === "person";
    try {
      const { data } = await call(
        api.POST("/customers", {
          params: {
            header: { "Idempotency-Key": key },
            query: confirmDuplicates ? { confirmDuplicates: "true" } : {},
          },
          body: {
            kind: form.kind as "person" | "company",
            firstName: person ? text(form.firstName) : undefined,
            lastName: person ? text(form.lastName) : undefined,
            companyName: person ? undefined : text(form.companyName),
            email: text(form.email),
            phone: text(form.phone),
            customerNumber: text(form.customerNumber),
          },
        }),
      );
      location.hash = `#/customers/${encodeURIComponent(data.id)}`;
    } catch (e) {
      if (e instanceof ApiError && e.type === "/problems/possible-duplicate") {
        setDuplicates((e.problem as unknown as { duplicates: Duplicate[] }).duplicates);
      } else {
        setError(e);
      }
    } finally {
      setBusy(false);
    }
  }

  const shown = ["kind", "firstName", "lastName", "companyName", "email", "phone", "customerNumber"];
  return (
    <form
      class="panel"
      aria-label="New customer"
      onSubmit={(e) => {
        e.preventDefault();
        void create(false);
      }}
    >
      <h2>New customer</h2>
      <ProblemView error={error} shownFields={shown} />
      <Select label="Kind" name="kind" value={form.kind} onChange={set("kind")} options={[["person", "Person"], ["company", "Company"]]} />
      {form.kind === "person" ? (
        <>
          <Field label="First name" name="firstName" value={form.firstName} onInput={set("firstName")} error={fieldErrors.get("firstName")} />
          <Field label="Last name" name="lastName" value={form.lastName} onInput={set("lastName")} error={fieldErrors.get("lastName")} />
        </>
      ) : (
        <Field label="Company name" name="companyName" value={form.companyName} onInput={set("companyName")} error={fieldErrors.get("companyName")} />
      )}
      <Field label="E-mail" name="email" type="email" value={form.email} onInput={set("email")} error={fieldErrors.get("email")} />
      <Field label="Phone" name="phone" type="tel" value={form.phone} onInput={set("phone")} error={fieldErrors.get("phone")} />
      <Field label="Customer number" name="customerNumber" value={form.customerNumber} onInput={set("customerNumber")} error={fieldErrors.get("customerNumber")} hint="Leave empty when numbers are given automatically" />
      {duplicates && (
        <div class="problem" role="alert">
          <p>
            <strong>There may already be such a customer:</strong>
          </p>
          <ul>
            {duplicates.map((d) => (
              <li key={d.id}>
                <a href={`#/customers/${encodeURIComponent(d.id)}`}>{d.displayName}</a> (same {d.matchedOn.join(", ")})
              </li>
            ))}
          </ul>
          <button type="button" onClick={() => void create(true)} disabled={busy}>
            Create anyway
          </button>
        </div>
      )}
      <div class="actions">
        <button type="submit" disabled={busy}>
          Create
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}
