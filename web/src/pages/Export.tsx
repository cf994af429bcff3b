// The customer list as CSV, with the list's filters: recorded as an export the API writes in
// the background, followed here until its file is ready, then downloaded from storage (the
// file's link is presigned and works for 15 minutes).

import { useEffect, useState } from "preact/hooks";
import { call, idempotencyKey, type Api, type Schemas } from "../api/client";
import { ProblemView, useAction } from "../ui";

type Export = Schemas["Export"];

/** How often an export is asked about while it is written. */
const FOLLOW_MS = 1000;

const finished = (exported: Export | undefined) => exported?.status === "completed" || exported?.status === "failed";

/** `filters`: the list's query parameters as shown, without its page. */
export function ExportButton({ api, filters }: { api: Api; filters: Record<string, string | undefined> }) {
  const [exported, setExported] = useState<Export>();
  const [followError, setFollowError] = useState<unknown>();
  const { error, busy, run } = useAction();

  const request = () =>
    run(async () => {
      setExported(undefined);
      setFollowError(undefined);
      const { data } = await call(api.POST("/exports", { params: { header: { "Idempotency-Key": idempotencyKey() }, query: filters } }));
      setExported(data);
    });

  // Followed while it is written; leaving the page stops following it.
  useEffect(() => {
    if (!exported || finished(exported)) return;
    const timer = setTimeout(() => {
      call(api.GET("/exports/{exportId}", { params: { path: { exportId: exported.id } } })).then(({ data }) => setExported(data), setFollowError);
    }, FOLLOW_MS);
    return () => clearTimeout(timer);
  }, [api, exported]);

  const writing = exported !== undefined && !finished(exported) && !followError;
  return (
    <div class="export" aria-live="polite">
      <button type="button" class="secondary" disabled={busy || writing} onClick={request}>
        Export these customers (CSV)
      </button>
      <ProblemView error={error ?? followError} />
      {writing && <p>Writing the export…</p>}
      {exported?.status === "failed" && <p class="problem">The export failed: {exported.failure}</p>}
      {exported?.status === "completed" && exported.download && (
        <p>
          <a href={exported.download.url} download>
            Download the export ({exported.rows} {exported.rows === 1 ? "customer" : "customers"})
          </a>
        </p>
      )}
    </div>
  );
}
