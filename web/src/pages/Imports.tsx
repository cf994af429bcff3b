import { useEffect, useState } from "preact/hooks";
import { call, type Api, type Import, type Schemas } from "../api/client";
import { Checkbox, PageTitle, ProblemView, formatDate, saveBlob } from "../ui";
import { uploadFile, type PresignedUpload } from "../upload";

const POLL_MS = 1000;
const FINISHED = ["completed", "failed"];

export function ImportsPage({ api }: { api: Api }) {
  const [file, setFile] = useState<File>();
  const [progress, setProgress] = useState<number>();
  const [current, setCurrent] = useState<Import>();
  const [error, setError] = useState<unknown>();
  const [recent, setRecent] = useState<Import[]>();
  const [busy, setBusy] = useState(false);
  const [dryRun, setDryRun] = useState(false);
  // The organisation's custom fields: a column may fill one (`customFields/<key>`).
  const [customFields, setCustomFields] = useState<string[]>([]);
  useEffect(() => {
    call(api.GET("/settings")).then(({ data }) => setCustomFields((data.customFields ?? []).map((f) => `customFields/${f.key}`)), () => undefined);
  }, [api]);

  useEffect(() => {
    call(api.GET("/imports", { params: { query: { limit: 10 } } })).then(({ data }) => setRecent(data.items), setError);
  }, [api, current?.status]);

  // Follows the import until it is done.
  useEffect(() => {
    if (!current || FINISHED.includes(current.status)) return;
    const timer = setTimeout(() => {
      call(api.GET("/imports/{importId}", { params: { path: { importId: current.id } } })).then(({ data }) => setCurrent(data), setError);
    }, POLL_MS);
    return () => clearTimeout(timer);
  }, [api, current]);

  /** Uploads the chosen file as a new import: checked only (`check`), and with the columns
   * read as `mapping` says where it corrects the import's guess. */
  async function start(check: boolean, mapping?: Record<string, string>) {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    setProgress(0);
    try {
      const { data } = await call(api.POST("/imports", { body: { fileName: file.name, dryRun: check || undefined, mapping } }));
      setCurrent(data);
      // Either a presigned POST with form fields or a presigned PUT: see upload.ts.
      await uploadFile(data.upload as unknown as PresignedUpload, file, setProgress);
      const { data: after } = await call(api.GET("/imports/{importId}", { params: { path: { importId: data.id } } }));
      setCurrent(after);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section>
      <PageTitle>Imports</PageTitle>
      <form
        class="panel"
        onSubmit={(e) => {
          e.preventDefault();
          void start(dryRun);
        }}
      >
        <div class="field">
          <label for="import-file">CSV file</label>
          <input id="import-file" name="file" type="file" accept=".csv,.txt,text/csv,text/plain" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0])} />
          <small>
            Our <a href="#/imports" onClick={(e) => { e.preventDefault(); void downloadTemplate(api, setError); }}>template</a>, or an export of QuickBooks, Sage 50, Visma or a field-service system (CSV, or Excel's "Unicode text").
          </small>
        </div>
        <Checkbox label="Only check the file: read and validate every row, write nothing" name="dryRun" checked={dryRun} onChange={setDryRun} />
        <div class="actions">
          <button type="submit" disabled={!file || busy}>
            {dryRun ? "Upload and check" : "Upload and import"}
          </button>
        </div>
        {progress !== undefined && (
          <div class="field">
            <label for="upload-progress">Upload</label>
            <progress id="upload-progress" max={1} value={progress}>
              {Math.round(progress * 100)} %
            </progress>
          </div>
        )}
      </form>
      <ProblemView error={error} />
      {current && (
        <ImportStatus
          api={api}
          item={current}
          onError={setError}
          customFields={customFields}
          // The file chosen on this page can be sent again, checked or imported with corrections.
          onRun={file && !busy && FINISHED.includes(current.status) ? (check, mapping) => void start(check, mapping) : undefined}
          key={current.id}
        />
      )}
      <h2>Recent imports</h2>
      {recent && recent.length === 0 && <p>No imports yet.</p>}
      {recent && recent.length > 0 && (
        <table class="list">
          <thead>
            <tr>
              <th scope="col">File</th>
              <th scope="col">Requested</th>
              <th scope="col">Status</th>
              <th scope="col">Rows</th>
              <th scope="col">Failed</th>
            </tr>
          </thead>
          <tbody>
            {recent.map((i) => (
              <tr key={i.id}>
                <td data-label="File">
                  <button type="button" class="link" onClick={() => setCurrent(i)}>
                    {i.fileName ?? i.id}
                  </button>
                </td>
                <td data-label="Requested">{formatDate(i.createdAt)}</td>
                <td data-label="Status">{i.status}</td>
                <td data-label="Rows">{i.counts.rowsRead}</td>
                <td data-label="Failed">{i.counts.failed}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

const WORDS: Record<Import["status"], string> = {
  awaitingUpload: "Waiting for the file",
  running: "Importing",
  completed: "Done",
  failed: "Failed",
};

const SHAPES: Record<Schemas["ImportMapping"]["shape"], string> = {
  quickBooksOnline: "a QuickBooks Online export",
  quickBooksDesktop: "a QuickBooks Desktop export",
  sage50: "a Sage 50 export",
  visma: "a Visma export",
  generic: "a file of its own",
};
const ENCODINGS: Record<Schemas["ImportMapping"]["encoding"], string> = {
  utf8: "UTF-8",
  windows1252: "Windows-1252",
  asciiSoFar: "plain ASCII",
  utf16Le: "UTF-16",
  utf16Be: "UTF-16, big-endian",
};
const DELIMITERS: Record<Schemas["ImportMapping"]["delimiter"], string> = { ",": "commas", ";": "semicolons", "\t": "tabs" };

/** Fields a column may fill, offered when the import's guess is corrected. The API decides
 * (docs/imports.md); these are suggestions, and a field it refuses is shown beside nothing
 * but in the problem. */
const FIELDS = [
  "customerNumber", "externalId", "kind", "displayName", "fullName", "firstName", "middleInitial", "lastName",
  "companyName", "contactName", "email", "phone", "mobile", "phoneOrMobile", "invoiceEmail",
  "invoiceLine1", "invoiceLine2", "invoicePostalCode", "invoiceCity", "invoiceRegion", "invoiceCountry",
  "visitingLine1", "visitingLine2", "visitingPostalCode", "visitingCity", "visitingRegion", "visitingCountry",
  "street", "street2", "postalCode", "city", "region", "country", "language", "tags", "customerType",
  "costCentre", "orderNumber", "description", "paymentType", "paymentTerms", "creditLimit", "openBalance",
  "currency", "vip", "onHold",
];

function ImportStatus(props: {
  api: Api;
  item: Import;
  onError: (e: unknown) => void;
  customFields: string[];
  onRun?: (check: boolean, mapping?: Record<string, string>) => void;
}) {
  const { api, item, onError, onRun } = props;
  const { counts } = item;
  // Corrections of the import's guess: header name -> field.
  const [corrected, setCorrected] = useState<Record<string, string>>(() => ({ ...(item.requestedMapping ?? {}) }));
  const columns = item.mapping?.columns ?? [];
  const changed = columns.some((c) => (corrected[c.name] ?? c.field) !== c.field);
  const options = (current: string) => [...new Set([current, "ignore", ...FIELDS, ...props.customFields])];
  return (
    <section class="panel" aria-labelledby="import-status" aria-live="polite">
      <h2 id="import-status">
        {item.fileName ?? "Import"}: <span class="import-state">{WORDS[item.status]}</span>
        {item.dryRun && " (checked only: nothing written)"}
      </h2>
      {item.dryRun ? (
        <p>
          {counts.rowsRead} rows read: {counts.created} would be created, {counts.updated} would be updated, {counts.unchanged} unchanged,{" "}
          {counts.failed} failed.
        </p>
      ) : (
        <p>
          {counts.rowsRead} rows read: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged,{" "}
          {counts.failed} failed.
        </p>
      )}
      {item.failure && <p class="problem">{item.failure}</p>}
      {(item.warnings ?? []).length > 0 && (
        <ul class="warnings">
          {item.warnings!.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
      {item.errorReport && (
        <button type="button" onClick={() => void downloadReport(api, item, onError)}>
          Download the error report
        </button>
      )}
      {item.mapping && (
        <details open={item.dryRun || changed}>
          <summary>
            Read as {SHAPES[item.mapping.shape]} ({ENCODINGS[item.mapping.encoding]}, separated by {DELIMITERS[item.mapping.delimiter]})
          </summary>
          <table class="list mapping">
            <thead>
              <tr>
                <th scope="col">Column in the file</th>
                <th scope="col">Read as</th>
              </tr>
            </thead>
            <tbody>
              {columns.map((c) => (
                <tr key={c.name}>
                  <td data-label="Column">{c.name}</td>
                  <td data-label="Read as">
                    {onRun ? (
                      <select aria-label={`Read ${c.name} as`} value={corrected[c.name] ?? c.field} onChange={(e) => setCorrected({ ...corrected, [c.name]: (e.target as HTMLSelectElement).value })}>
                        {options(c.field).map((field) => (
                          <option key={field} value={field}>
                            {field === "ignore" ? "(ignored)" : field}
                          </option>
                        ))}
                      </select>
                    ) : c.field === "ignore" ? (
                      "(ignored)"
                    ) : (
                      c.field
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      )}
      {onRun && (
        <div class="actions">
          {(item.dryRun || changed) && (
            <button type="button" onClick={() => onRun(false, changed || item.requestedMapping ? corrected : undefined)}>
              Import it {changed ? "with these columns" : "now"}
            </button>
          )}
          {changed && (
            <button type="button" class="secondary" onClick={() => onRun(true, corrected)}>
              Check again with these columns
            </button>
          )}
        </div>
      )}
    </section>
  );
}

/** The API answers 303 to a presigned download; fetch follows it (no token goes along). */
async function downloadReport(api: Api, item: Import, onError: (e: unknown) => void) {
  try {
    const { data } = await call(api.GET("/imports/{importId}/errors", { params: { path: { importId: item.id } }, parseAs: "blob" }));
    saveBlob(data as unknown as Blob, `errors-${(item.fileName ?? item.id).replace(/\.csv$/i, "")}.csv`);
  } catch (e) {
    onError(e);
  }
}

async function downloadTemplate(api: Api, onError: (e: unknown) => void) {
  try {
    const { data } = await call(api.GET("/imports/template", { parseAs: "blob" }));
    saveBlob(data as unknown as Blob, "customers-template.csv");
  } catch (e) {
    onError(e);
  }
}
