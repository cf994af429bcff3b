import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, etagOf, fieldPath, type Api, type Settings } from "../api/client";
import { useCan } from "../caller";
import { PageTitle, ProblemView } from "../ui";

/** Optional members GET leaves out while unset; shown so they can be set. */
const OPTIONAL_TEXT = ["organisationName", "defaultCountry", "defaultLanguage", "timeZone"];

/** "numberMinLength" → "Number min length". */
function labelOf(name: string): string {
  const words = name.replace(/([A-Z])/g, " $1").toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

type Draft = Record<string, string | boolean>;

/** Every member as the form edits it: booleans as checkboxes, lists and objects as JSON. */
function draftOf(settings: Settings): Draft {
  const draft: Draft = {};
  for (const name of OPTIONAL_TEXT) draft[name] = "";
  for (const [name, value] of Object.entries(settings)) {
    draft[name] = typeof value === "boolean" ? value : typeof value === "object" ? JSON.stringify(value, null, 2) : String(value);
  }
  return draft;
}

function settingsOf(draft: Draft, original: Settings): Settings {
  const out: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(draft)) {
    const before = (original as Record<string, unknown>)[name];
    if (typeof value === "boolean") out[name] = value;
    else if (typeof before === "number") out[name] = value.trim() === "" ? undefined : Number(value);
    else if (before !== null && typeof before === "object") out[name] = JSON.parse(value);
    else if (value.trim() !== "" || typeof before === "string") out[name] = value;
  }
  return out as Settings;
}

export function SettingsPage({ api }: { api: Api }) {
  const [loaded, setLoaded] = useState<{ settings: Settings; etag: string }>();
  const [draft, setDraft] = useState<Draft>({});
  const [error, setError] = useState<unknown>();
  const [saved, setSaved] = useState(false);
  const [version, setVersion] = useState(0);
  const ids = useRef(new Map<string, string>());
  const can = useCan();

  useEffect(() => {
    call(api.GET("/settings")).then(
      ({ data, response }) => {
        setLoaded({ settings: data, etag: etagOf(response) });
        setDraft(draftOf(data));
        setError(undefined);
      },
      setError,
    );
  }, [api, version]);

  if (!loaded) return <ProblemView error={error} />;
  const fieldErrors = new Map<string, string[]>();
  if (error instanceof ApiError) {
    for (const e of error.problem.errors ?? []) {
      // `customFields.2.name` belongs beside `customFields`.
      const path = fieldPath(e.field);
      const member = path.split(".")[0];
      fieldErrors.set(member, [...(fieldErrors.get(member) ?? []), path === member ? e.message : `${path}: ${e.message}`]);
    }
  }
  const stale = error instanceof ApiError && error.status === 412;

  async function save() {
    setError(undefined);
    setSaved(false);
    let body: Settings;
    try {
      body = settingsOf(draft, loaded!.settings);
    } catch {
      setError(new Error("A list or object field is not valid JSON."));
      return;
    }
    try {
      const { data, response } = await call(
        api.PUT("/settings", { params: { header: { "If-Match": loaded!.etag } }, body }),
      );
      setLoaded({ settings: data, etag: etagOf(response) });
      setDraft(draftOf(data));
      setSaved(true);
    } catch (e) {
      setError(e);
    }
  }

  const idOf = (name: string) => {
    if (!ids.current.has(name)) ids.current.set(name, `setting-${name}`);
    return ids.current.get(name)!;
  };

  return (
    <section>
      <PageTitle>Settings</PageTitle>
      {saved && <p role="status">Saved.</p>}
      {stale ? (
        <div class="problem conflict" role="alert">
          <p>
            <strong>Someone else changed the settings after you opened them.</strong> Yours were not saved. Reload to
            see the settings as they are now.
          </p>
          <button type="button" onClick={() => setVersion(version + 1)}>
            Reload the settings
          </button>
        </div>
      ) : (
        <ProblemView error={error} shownFields={(error instanceof ApiError ? error.problem.errors ?? [] : []).map((e) => fieldPath(e.field))} />
      )}
      <form
        class="settings"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        {/* Read-only for those who may not change them: every role reads the settings. */}
        <fieldset class="plain" disabled={!can("manageSettings")}>
          {Object.entries(draft).map(([name, value]) => {
          const id = idOf(name);
          const errors = fieldErrors.get(name);
          const described = errors ? `${id}-error` : undefined;
          const input =
            typeof value === "boolean" ? (
              <input id={id} name={name} type="checkbox" checked={value} aria-describedby={described} onChange={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).checked })} />
            ) : value.includes("\n") || value.startsWith("[") || value.startsWith("{") ? (
              <textarea id={id} name={name} rows={Math.min(12, value.split("\n").length + 1)} value={value} aria-describedby={described} aria-invalid={errors ? true : undefined} onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLTextAreaElement).value })} />
            ) : (
              <input id={id} name={name} value={value} aria-describedby={described} aria-invalid={errors ? true : undefined} onInput={(e) => setDraft({ ...draft, [name]: (e.target as HTMLInputElement).value })} />
            );
          return (
            <div key={name} class={errors ? "field invalid" : typeof value === "boolean" ? "field check" : "field"}>
              <label for={id}>{labelOf(name)}</label>
              {input}
              {errors && (
                <small class="field-error" id={described}>
                  {errors.join(" ")}
                </small>
              )}
            </div>
          );
        })}
        </fieldset>
        {can("manageSettings") ? (
          <div class="actions">
            <button type="submit">Save settings</button>
          </div>
        ) : (
          <p>Only administrators change the settings (the permission manageSettings); you can read them.</p>
        )}
      </form>
    </section>
  );
}
