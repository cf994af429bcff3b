// What a back office does to a whole card besides editing it: deactivate or reactivate it,
// merge a duplicate into it, download everything held about it (subject access) and erase
// it. Each asks before it does anything that cancels work or cannot be undone, and each
// sends the ETag the page was loaded with, so an action on a card someone else changed
// meanwhile is refused (412) instead of acting on a card nobody looked at.

import { useState } from "preact/hooks";
import { call, etagOf, type Api, type Customer } from "../api/client";
import { canEdit, useCan } from "../caller";
import { Field, ProblemOrConflict, ProblemView, saveBlob, useAction } from "../ui";
import type { SectionProps } from "./Customer";

type Props = SectionProps;

export function CustomerActions(props: Props) {
  const { customer } = props.loaded;
  const can = useCan();
  if (customer.status === "merged") return null;
  const erased = customer.erased !== undefined;
  // Each action shows only to those who may take it (GET /me); the API checks again.
  const actions = [
    !erased && can("changeStatus") && canEdit(can) && <StatusAction key="status" {...props} />,
    !erased && customer.status === "active" && can("merge") && <MergeAction key="merge" {...props} />,
    can("erase") && <PersonalDataAction key="data" api={props.api} customer={customer} />,
    !erased && can("erase") && <EraseAction key="erase" {...props} />,
  ].filter(Boolean);
  if (actions.length === 0 && !props.notice) return null;
  return (
    <section aria-labelledby="manage">
      <h2 id="manage">Manage</h2>
      {props.notice && <p role="status">{props.notice}</p>}
      {actions}
    </section>
  );
}

const path = (customer: Customer) => ({ customerId: customer.id });

function StatusAction({ api, loaded, onDone, onReload }: Props) {
  const { customer, etag } = loaded;
  const [asking, setAsking] = useState(false);
  const { error, busy, run } = useAction();
  const deactivate = () =>
    run(async () => {
      const { data, response } = await call(
        api.POST("/customers/{customerId}/deactivate", { params: { path: path(customer), header: { "If-Match": etag } } }),
      );
      onDone({ customer: data, etag: etagOf(response) }, "Deactivated. Its open work is being cancelled.");
    });
  const reactivate = () =>
    run(async () => {
      const { data, response } = await call(
        api.POST("/customers/{customerId}/reactivate", { params: { path: path(customer), header: { "If-Match": etag } } }),
      );
      onDone({ customer: data, etag: etagOf(response) }, `Reactivated. ${data.reactivation.note}`);
    });

  return (
    <div class="action">
      <h3>Status</h3>
      <ProblemOrConflict error={error} onReload={onReload} />
      {customer.status === "inactive" ? (
        <button type="button" disabled={busy} onClick={reactivate}>
          Reactivate
        </button>
      ) : asking ? (
        <div role="group" aria-label="Confirm deactivation">
          <p>
            Deactivating cancels the customer's open contracts, work orders and jobs, and it can call off no new work.
            Reactivating it later does not bring the cancelled work back.
          </p>
          <div class="actions">
            <button type="button" disabled={busy} onClick={deactivate}>
              Deactivate now
            </button>
            <button type="button" class="secondary" onClick={() => setAsking(false)}>
              Keep it active
            </button>
          </div>
        </div>
      ) : (
        <button type="button" class="secondary" onClick={() => setAsking(true)}>
          Deactivate…
        </button>
      )}
    </div>
  );
}

function MergeAction({ api, loaded, onDone, onReload }: Props) {
  const { customer, etag } = loaded;
  const [number, setNumber] = useState("");
  const [duplicate, setDuplicate] = useState<Customer | null>();
  const { error, busy, run } = useAction();

  const find = () =>
    run(async () => {
      setDuplicate(undefined);
      const { data } = await call(api.GET("/customers", { params: { query: { number: number.trim() } } }));
      setDuplicate(data.items.find((c) => c.id !== customer.id) ?? null);
    });
  const merge = (found: Customer) =>
    run(async () => {
      const { data, response } = await call(
        api.POST("/customers/{customerId}/merge", {
          params: { path: path(customer), header: { "If-Match": etag } },
          body: { duplicateId: found.id },
        }),
      );
      onDone(
        { customer: data, etag: etagOf(response) },
        `${found.displayName} (${found.customerNumber}) was merged into this customer. Its sites and work follow within moments.`,
      );
    });

  return (
    <div class="action">
      <h3>Merge a duplicate</h3>
      <ProblemOrConflict error={error} onReload={onReload} />
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (number.trim()) void find();
        }}
      >
        <Field
          label="Duplicate's customer number"
          name="duplicateNumber"
          value={number}
          onInput={(value) => {
            setNumber(value);
            setDuplicate(undefined);
          }}
          hint="The card entered twice: its contacts, tags and work move here, and its number becomes an alias of this one."
        />
        <div class="actions">
          <button type="submit" class="secondary" disabled={busy || !number.trim()}>
            Find the duplicate
          </button>
        </div>
      </form>
      {duplicate === null && <p role="status">No other customer has that number.</p>}
      {duplicate && (
        <div role="group" aria-label="Confirm merge">
          <p>
            Merge <strong>{duplicate.displayName}</strong> ({duplicate.customerNumber}
            {duplicate.email && `, ${duplicate.email}`}) into <strong>{customer.displayName}</strong>? The duplicate's card
            closes for good.
          </p>
          <button type="button" disabled={busy} onClick={() => merge(duplicate)}>
            Merge into this customer
          </button>
        </div>
      )}
    </div>
  );
}

function PersonalDataAction({ api, customer }: { api: Api; customer: Customer }) {
  const { error, busy, run } = useAction();
  const download = () =>
    run(async () => {
      const { data } = await call(api.GET("/customers/{customerId}/personal-data", { params: { path: path(customer) } }));
      const blob = new Blob([JSON.stringify(data, null, 2)], { type: "application/json" });
      saveBlob(blob, `personal-data-${customer.customerNumber}.json`);
    });

  return (
    <div class="action">
      <h3>Personal data</h3>
      <ProblemView error={error} />
      <p>Everything held about this customer, as a file to answer a subject access request.</p>
      <button type="button" class="secondary" disabled={busy} onClick={download}>
        Download personal data
      </button>
    </div>
  );
}

function EraseAction({ api, loaded, onDone, onReload }: Props) {
  const { customer, etag } = loaded;
  const [typed, setTyped] = useState("");
  const { error, busy, run } = useAction();
  const confirmed = typed.trim().toLowerCase() === customer.customerNumber.toLowerCase();
  const erase = () =>
    run(async () => {
      const { data, response } = await call(
        api.POST("/customers/{customerId}/erase", { params: { path: path(customer), header: { "If-Match": etag } } }),
      );
      onDone({ customer: data, etag: etagOf(response) }, "Erased. Its other records are being erased within seconds.");
    });

  return (
    <div class="action">
      <h3>Erase</h3>
      <ProblemOrConflict error={error} onReload={onReload} />
      <p>
        Removes the customer's names, e-mails, phones, addresses and contacts for good, and deactivates it. Its number,
        terms and work stay. <strong>This cannot be undone.</strong>
      </p>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          if (confirmed) void erase();
        }}
      >
        <Field label="Type the customer number to confirm" name="eraseConfirmation" value={typed} onInput={setTyped} />
        <div class="actions">
          <button type="submit" class="danger" disabled={busy || !confirmed}>
            Erase for good
          </button>
        </div>
      </form>
    </div>
  );
}
