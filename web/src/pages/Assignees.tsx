// Who is responsible for the customer: the users assigned to it. A technician (who sees and
// changes only the customers assigned to them) gets to work on it once assigned, and is told
// so by a notification. Shown to everyone who sees the card; changed by those with `assign`.

import { useState } from "preact/hooks";
import { call, etagOf } from "../api/client";
import { useCan } from "../caller";
import { Field, ProblemOrConflict, useAction } from "../ui";
import type { SectionProps } from "./Customer";


export function Assignees({ api, loaded, notice, onDone, onReload }: SectionProps) {
  const { customer, etag } = loaded;
  const can = useCan();
  const [user, setUser] = useState("");
  const { error, busy, run } = useAction();
  const changeable = can("assign") && customer.status === "active" && customer.erased === undefined;
  const params = (userId: string) => ({ path: { customerId: customer.id, userId }, header: { "If-Match": etag } });

  const assign = () =>
    run(async () => {
      const userId = user.trim();
      const { data, response } = await call(api.PUT("/customers/{customerId}/assignees/{userId}", { params: params(userId) }));
      onDone({ customer: data, etag: etagOf(response) }, `${userId} is assigned.`);
    });
  const unassign = (userId: string) =>
    run(async () => {
      const { data, response } = await call(api.DELETE("/customers/{customerId}/assignees/{userId}", { params: params(userId) }));
      onDone({ customer: data, etag: etagOf(response) }, `${userId} is no longer assigned.`);
    });

  return (
    <section aria-labelledby="assignees">
      <h2 id="assignees">Assigned to</h2>
      {notice && <p role="status">{notice}</p>}
      <ProblemOrConflict error={error} onReload={onReload} shownFields={[]} />
      {customer.assignees.length === 0 && <p>Nobody.</p>}
      <ul class="rows">
        {customer.assignees.map((userId) => (
          <li key={userId}>
            <strong>{userId}</strong>{" "}
            {changeable && (
              <button type="button" class="link" disabled={busy} onClick={() => unassign(userId)} aria-label={`Unassign ${userId}`}>
                Unassign
              </button>
            )}
          </li>
        ))}
      </ul>
      {changeable && (
        <form
          class="inline"
          onSubmit={(e) => {
            e.preventDefault();
            if (user.trim()) void assign();
          }}
        >
          <Field label="User to assign" name="assignee" value={user} onInput={setUser} hint="Their user id (the sign-in's subject), e.g. tess" />
          <div class="actions">
            <button type="submit" class="secondary" disabled={busy || !user.trim()}>
              Assign
            </button>
          </div>
        </form>
      )}
    </section>
  );
}
