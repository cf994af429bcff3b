// Pieces every page uses: problems shown in words, fields with their errors beside them.

import type { ComponentChildren } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, fieldPath } from "./api/client";

/** What went wrong, as people read it; field errors not shown beside a field are listed. */
export function ProblemView({ error, shownFields = [] }: { error: unknown; shownFields?: string[] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => ref.current?.focus(), [error]);
  if (!error) return null;
  if (!(error instanceof ApiError)) {
    return (
      <div class="problem" role="alert" tabIndex={-1} ref={ref}>
        <p>{error instanceof Error ? error.message : String(error)}</p>
      </div>
    );
  }
  const rest = (error.problem.errors ?? []).filter((e) => !shownFields.includes(fieldPath(e.field)));
  return (
    <div class="problem" role="alert" tabIndex={-1} ref={ref}>
      <p>
        <strong>{error.problem.title}</strong>
        {error.problem.detail && error.problem.detail !== error.problem.title && (
          <> {error.problem.detail}</>
        )}
      </p>
      {rest.length > 0 && (
        <ul>
          {rest.map((e) => (
            <li key={e.field}>
              <code>{fieldPath(e.field)}</code>: {e.message}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A refusal in words; a 412 (the record changed since the page showed it) says so and offers
 * to show it again. The defaults speak of the customer; a record with a version of its own
 * (a site) names itself. */
export function ProblemOrConflict({
  error,
  onReload,
  shownFields,
  conflict = "Someone else changed this customer after you opened it.",
  reloadLabel = "Reload the customer",
}: {
  error: unknown;
  onReload: () => void;
  shownFields?: string[];
  conflict?: string;
  reloadLabel?: string;
}) {
  if (error instanceof ApiError && error.status === 412) {
    return (
      <div class="problem conflict" role="alert">
        <p>
          <strong>{conflict}</strong> Nothing was done. Reload to see it as it is now.
        </p>
        <button type="button" onClick={onReload}>
          {reloadLabel}
        </button>
      </div>
    );
  }
  return <ProblemView error={error} shownFields={shownFields} />;
}

/** An action on one record of a list that is asked about first, in the row itself: `label`
 * ("Remove"), then `question` with "Yes, <label>" and "Keep". */
export function ConfirmInline(props: { label: string; subject: string; question: string; busy: boolean; onConfirm: () => void }) {
  const [asking, setAsking] = useState(false);
  const verb = props.label.toLowerCase();
  if (!asking) {
    return (
      <button type="button" class="link" onClick={() => setAsking(true)} aria-label={`${props.label} ${props.subject}`}>
        {props.label}
      </button>
    );
  }
  return (
    <>
      <span>{props.question}</span>
      <button type="button" class="link" disabled={props.busy} onClick={props.onConfirm}>
        Yes, {verb}
      </button>
      <button type="button" class="link" onClick={() => setAsking(false)}>
        Keep
      </button>
    </>
  );
}

/** `record` without its null members, nested ones too: a merge patch's nulls remove members,
 * and a create takes what is filled in only. */
export function withoutNulls(record: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(record)
      .filter(([, value]) => value !== null)
      .map(([name, value]) => [name, value && typeof value === "object" && !Array.isArray(value) ? withoutNulls(value as Record<string, unknown>) : value]),
  );
}

let nextId = 0;

/** A labelled input whose field error (from a validation problem) sits right under it. */
export function Field(props: {
  label: string;
  name: string;
  value: string;
  onInput: (value: string) => void;
  error?: string;
  type?: "text" | "email" | "tel" | "search";
  hint?: string;
  required?: boolean;
}) {
  const id = useRef(`f${nextId++}`).current;
  const errorId = `${id}-error`;
  return (
    <div class={props.error ? "field invalid" : "field"}>
      <label for={id}>{props.label}</label>
      <input
        id={id}
        name={props.name}
        // Preact's input types are a union per `type`; any of ours takes the same attributes.
        {...({ type: props.type ?? "text" } as { type: "text" })}
        value={props.value}
        required={props.required}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? errorId : undefined}
        onInput={(e) => props.onInput((e.target as HTMLInputElement).value)}
      />
      {props.hint && <small>{props.hint}</small>}
      {props.error && (
        <small class="field-error" id={errorId}>
          {props.error}
        </small>
      )}
    </div>
  );
}

export function Select(props: {
  label: string;
  name: string;
  value: string;
  options: [string, string][];
  onChange: (value: string) => void;
}) {
  const id = useRef(`f${nextId++}`).current;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        value={props.value}
        onChange={(e) => props.onChange((e.target as HTMLSelectElement).value)}
      >
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
    </div>
  );
}

/** The input type that brings up the right keyboard on a phone, by the member's name. */
function inputTypeOf(name: string): "email" | "tel" | "text" {
  if (name === "email") return "email";
  return name === "phone" || name === "mobile" ? "tel" : "text";
}

/** The props that tie a `Field` to one text member of a form's state: its name, its value,
 * its input type and the change that replaces it. */
export function textBinding<F extends object>(form: F, setForm: (form: F) => void) {
  return (name: keyof F & string) => ({
    name,
    type: inputTypeOf(name),
    value: String(form[name] ?? ""),
    onInput: (value: string) => setForm({ ...form, [name]: value }),
  });
}

/** A form for one record inside a section (a contact, a site): its title, its fields, then
 * the button that sends it and the one that closes it. */
export function RecordForm(props: {
  title: string;
  submitLabel: string;
  busy: boolean;
  onSubmit: () => void;
  onCancel: () => void;
  children: ComponentChildren;
}) {
  return (
    <form
      aria-label={props.title}
      onSubmit={(e) => {
        e.preventDefault();
        props.onSubmit();
      }}
    >
      <h3>{props.title}</h3>
      {props.children}
      <div class="actions">
        <button type="submit" disabled={props.busy}>
          {props.submitLabel}
        </button>
        <button type="button" class="secondary" onClick={props.onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

/** A labelled checkbox. */
export function Checkbox(props: { label: string; name: string; checked: boolean; onChange: (checked: boolean) => void }) {
  const id = useRef(`f${nextId++}`).current;
  return (
    <div class="field check">
      <label for={id}>{props.label}</label>
      <input id={id} name={props.name} type="checkbox" checked={props.checked} onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)} />
    </div>
  );
}

/** Runs one request at a time: `busy` while it runs, its refusal kept in `error` to be shown. */
export function useAction() {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  async function run(action: () => Promise<void>) {
    setBusy(true);
    setError(undefined);
    try {
      await action();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }
  return { error, busy, run };
}

/** Loads one list for a section of the page; a failure is shown in that section only. */
export function useList<T>(load: () => Promise<{ data: { items: T[] } }>, deps: unknown[]) {
  const [items, setItems] = useState<T[]>();
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let live = true;
    load().then(
      ({ data }) => live && setItems(data.items),
      (e) => live && setError(e),
    );
    return () => {
      live = false;
    };
  }, deps);
  return { items, error };
}

/** Hands `blob` to the browser as a download named `name`. */
export function saveBlob(blob: Blob, name: string) {
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  // Not at once: a download may still be reading the blob after the click returns.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A JSON merge patch of the text fields a form changed: an emptied field is removed (null). */
export function textPatch<K extends string>(before: Record<K, string>, after: Record<K, string>, names: readonly K[]): Record<string, string | null> {
  const patch: Record<string, string | null> = {};
  for (const name of names) {
    const value = after[name].trim();
    if (value !== before[name].trim()) patch[name] = value || null;
  }
  return patch;
}

/** A page's title, focused when the page opens so keyboard and screen-reader users land there. */
export function PageTitle({ children }: { children: ComponentChildren }) {
  const ref = useRef<HTMLHeadingElement>(null);
  useEffect(() => ref.current?.focus(), []);
  return (
    <h1 tabIndex={-1} ref={ref}>
      {children}
    </h1>
  );
}

export function formatDate(iso: string | undefined): string {
  return iso ? new Date(iso).toLocaleString() : "";
}
