import { useEffect, useState } from "preact/hooks";
import { call, type Api, type Import } from "../api/client";
import { PageTitle, ProblemView, formatDate, saveBlob } from "../ui";
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

  async function start() {
    if (!file) return;
    setBusy(true);
    setError(undefined);
    setProgress(0);
    try {
      const { data } = await call(api.POST("/imports", { body: { fileName: file.name } }));
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
          void start();
        }}
      >
        <div class="field">
          <label for="import-file">CSV file</label>
          <input id="import-file" name="file" type="file" accept=".csv,text/csv" onChange={(e) => setFile((e.target as HTMLInputElement).files?.[0])} />
          <small>
            Our <a href="#/imports" onClick={(e) => { e.preventDefault(); void downloadTemplate(api, setError); }}>template</a>, or an export of QuickBooks, Sage 50, Visma or a field-service system.
          </small>
        </div>
        <div class="actions">
          <button type="submit" disabled={!file || busy}>
            Upload and import
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
      {current && <ImportStatus api={api} item={current} onError={setError} />}
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

function ImportStatus({ api, item, onError }: { api: Api; item: Import; onError: (e: unknown) => void }) {
  const { counts } = item;
  return (
    <section class="panel" aria-labelledby="import-status" aria-live="polite">
      <h2 id="import-status">
        {item.fileName ?? "Import"}: <span class="import-state">{WORDS[item.status]}</span>
      </h2>
      <p>
        {counts.rowsRead} rows read: {counts.created} created, {counts.updated} updated, {counts.unchanged} unchanged,{" "}
        {counts.failed} failed.
      </p>
      {item.failure && <p class="problem">{item.failure}</p>}
      {item.errorReport && (
        <button type="button" onClick={() => void downloadReport(api, item, onError)}>
          Download the error report
        </button>
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
