// A customer's commercial terms: how it pays, its credit limit and balance from accounting,
// whether it is on hold, its tier. These decide whether new work may be called off, so they
// need a permission of their own (changeCommercialTerms); the section shows only to those who
// hold it. Amounts are typed in the currency's major units ("5 000,50") and sent in minor
// units (cents, öre), as the API keeps money.

import { useState } from "preact/hooks";
import { ApiError, patchCustomer, type Schemas } from "../api/client";
import { useCan } from "../caller";
import { Checkbox, Field, ProblemOrConflict, RecordForm, Select, useAction } from "../ui";
import type { SectionProps } from "./Customer";

type PaymentType = Schemas["PaymentType"];

interface Form {
  paymentType: PaymentType;
  paymentTerms: string;
  currency: string;
  creditLimit: string;
  openBalance: string;
  onHold: boolean;
  vip: boolean;
}

/** Minor units as typed in major units, two decimals ("1234.5" for 123450). */
function major(minor: number | undefined): string {
  return minor === undefined ? "" : (minor / 100).toFixed(2);
}

/** Major units as typed ("5 000,50", "-12.5", "100") in minor units; `undefined` for an
 * empty field; `null` for anything else, which the form refuses beside the field. */
export function minorUnits(typed: string): number | undefined | null {
  const text = typed.replace(/[\s\u00a0']/g, "").replace(",", ".");
  if (text === "") return undefined;
  const match = /^(-?)(\d+)(?:\.(\d{1,2}))?$/.exec(text);
  if (!match) return null;
  const [, sign, whole, cents = ""] = match;
  const minor = Number(whole) * 100 + Number(cents.padEnd(2, "0"));
  return sign ? -minor : minor;
}

/** Money as people read it: "SEK 5,000.00" in the browser's own way of writing numbers. */
export function money(minor: number | undefined, currency: string): string | undefined {
  if (minor === undefined) return undefined;
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency }).format(minor / 100);
  } catch {
    return `${major(minor)} ${currency}`;
  }
}

function formOf(customer: Schemas["Customer"]): Form {
  const { terms } = customer;
  return {
    paymentType: terms.paymentType,
    paymentTerms: terms.paymentTerms,
    currency: terms.currency,
    creditLimit: major(terms.creditLimit),
    openBalance: major(terms.openBalance),
    onHold: customer.onHold,
    vip: customer.tier === "vip",
  };
}

const TERMS = ["dueOnReceipt", "net10", "net14", "net15", "net20", "net30", "net45", "net60", "net90"];

type Props = SectionProps;

export function Terms(props: Props) {
  const can = useCan();
  const [editing, setEditing] = useState(false);
  const { customer } = props.loaded;
  if (!can("changeCommercialTerms") || customer.status !== "active" || customer.erased !== undefined) return null;
  return (
    <section aria-labelledby="terms">
      <h2 id="terms">Commercial terms</h2>
      {props.notice && <p role="status">{props.notice}</p>}
      {editing ? (
        <TermsForm {...props} onCancel={() => setEditing(false)} />
      ) : (
        <button type="button" class="secondary" onClick={() => setEditing(true)}>
          Change the terms…
        </button>
      )}
    </section>
  );
}

function TermsForm(props: Props & { onCancel: () => void }) {
  const { customer, etag } = props.loaded;
  const [start] = useState(() => formOf(customer));
  const [form, setForm] = useState(start);
  const [invalid, setInvalid] = useState<Map<string, string>>(new Map());
  const { error, busy, run } = useAction();
  const apiErrors = error instanceof ApiError ? error.fieldErrors() : new Map<string, string>();
  const errorAt = (name: string) => invalid.get(name) ?? apiErrors.get(`terms.${name}`) ?? apiErrors.get(name);
  const set = <K extends keyof Form>(name: K) => (value: Form[K]) => setForm({ ...form, [name]: value });

  const save = () =>
    run(async () => {
      const amounts = { creditLimit: minorUnits(form.creditLimit), openBalance: minorUnits(form.openBalance) };
      const refused = new Map(
        Object.entries(amounts)
          .filter(([, value]) => value === null)
          .map(([name]) => [name, "An amount with at most two decimals, e.g. 5 000,50."]),
      );
      setInvalid(refused);
      if (refused.size > 0) return;
      const terms: Record<string, unknown> = {};
      if (form.paymentType !== start.paymentType) terms.paymentType = form.paymentType;
      if (form.paymentTerms !== start.paymentTerms) terms.paymentTerms = form.paymentTerms;
      if (form.currency.trim().toUpperCase() !== start.currency) terms.currency = form.currency.trim() || null;
      if (form.creditLimit !== start.creditLimit) terms.creditLimit = amounts.creditLimit ?? null;
      if (form.openBalance !== start.openBalance) terms.openBalance = amounts.openBalance ?? null;
      const patch: Record<string, unknown> = {};
      if (Object.keys(terms).length > 0) patch.terms = terms;
      if (form.onHold !== start.onHold) patch.onHold = form.onHold;
      if (form.vip !== start.vip) patch.tier = form.vip ? "vip" : "regular";
      if (Object.keys(patch).length === 0) return props.onCancel();
      props.onDone(await patchCustomer(props.api, customer.id, etag, patch), "Terms saved.");
    });

  const terms = TERMS.includes(start.paymentTerms) ? TERMS : [start.paymentTerms, ...TERMS];
  return (
    <RecordForm title="Change the terms" submitLabel="Save the terms" busy={busy} onSubmit={save} onCancel={props.onCancel}>
      <ProblemOrConflict error={error} onReload={props.onReload} shownFields={["terms.creditLimit", "terms.openBalance", "terms.currency"]} />
      <Select label="Payment type" name="paymentType" value={form.paymentType} onChange={(value) => set("paymentType")(value as PaymentType)} options={[["account", "On account (invoiced)"], ["cash", "Cash"]]} />
      <Select label="Payment terms" name="paymentTerms" value={form.paymentTerms} onChange={set("paymentTerms")} options={terms.map((t) => [t, t === "dueOnReceipt" ? "Due on receipt" : `Net ${t.slice(3)} days`])} />
      <Field label="Currency" name="currency" value={form.currency} onInput={set("currency")} error={errorAt("currency")} hint="ISO 4217, e.g. SEK" />
      <Field label="Credit limit" name="creditLimit" value={form.creditLimit} onInput={set("creditLimit")} error={errorAt("creditLimit")} hint="Empty: no limit recorded" />
      <Field label="Open balance" name="openBalance" value={form.openBalance} onInput={set("openBalance")} error={errorAt("openBalance")} hint="Negative for a credit" />
      <Checkbox label="On hold (no new work)" name="onHold" checked={form.onHold} onChange={set("onHold")} />
      <Checkbox label="VIP" name="vip" checked={form.vip} onChange={set("vip")} />
    </RecordForm>
  );
}
