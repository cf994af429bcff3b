// Pieces every page uses: problems shown in words, fields with their errors beside them.

import type { ComponentChildren } from "preact";
import { useEffect, useRef } from "preact/hooks";
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

/** A refusal in words; a 412 (the customer changed since the page loaded it) offers a reload. */
export function ProblemOrConflict({ error, onReload, shownFields }: { error: unknown; onReload: () => void; shownFields?: string[] }) {
  if (error instanceof ApiError && error.status === 412) {
    return (
      <div class="problem conflict" role="alert">
        <p>
          <strong>Someone else changed this customer after you opened it.</strong> Nothing was done. Reload to see the
          customer as it is now.
        </p>
        <button type="button" onClick={onReload}>
          Reload the customer
        </button>
      </div>
    );
  }
  return <ProblemView error={error} shownFields={shownFields} />;
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
