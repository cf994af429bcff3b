// A customer's work orders, and for each the texts (SMS) to the customer about its visits:
// the dispatcher's "did the customer get the text?" answered where they look for it. Texts
// are sent in the background within moments of a job's change, so the list can be checked
// again.

import { useState } from "preact/hooks";
import { call, type Api, type Schemas } from "../api/client";
import { ProblemView, formatDate, useList } from "../ui";

type WorkOrder = Schemas["WorkOrder"];
type TextRecord = Schemas["TextRecord"];

const TRIGGERS: Record<TextRecord["trigger"], string> = {
  scheduled: "Visit booked",
  onTheWay: "Technician on the way",
  completed: "Visit completed",
};

const REASONS: Record<NonNullable<TextRecord["reason"]>, string> = {
  noMobile: "no mobile number to text",
  optedOut: "the contact asked for no texts",
  cardOptedOut: "the customer asked for no texts",
  optedOutAtCarrier: "the number replied STOP",
  countryNotAllowed: "the number's country is not allowed in the settings",
  organisationDailyLimit: "the organisation's daily limit was reached",
  numberDailyLimit: "the number's daily limit was reached",
  jobAndTriggerLimit: "this visit's limit was reached",
};

function outcome(text: TextRecord): string {
  if (text.state === "sent") return `sent to ${text.to ?? "the customer"}`;
  if (text.state === "suppressed") return `not sent: ${text.reason ? REASONS[text.reason] : "suppressed"}`;
  return "being sent";
}

export function Work({ api, id }: { api: Api; id: string }) {
  const { items, error } = useList<WorkOrder>(() => call(api.GET("/customers/{customerId}/work-orders", { params: { path: { customerId: id }, query: { limit: 50 } } })), [api, id]);
  const [open, setOpen] = useState<string>();
  return (
    <section aria-labelledby="work">
      <h2 id="work">Work</h2>
      <ProblemView error={error} />
      {items?.length === 0 && <p>No work orders.</p>}
      <ul class="rows">
        {items?.map((w) => (
          <li key={w.id}>
            <strong>{w.title}</strong> · {w.kind} · {w.status}
            {w.window && ` · ${formatDate(w.window.start)}`}{" "}
            <button type="button" class="link" aria-expanded={open === w.id} onClick={() => setOpen(open === w.id ? undefined : w.id)} aria-label={`Texts about ${w.title}`}>
              Texts
            </button>
            {open === w.id && <Texts api={api} customerId={id} workOrder={w} />}
          </li>
        ))}
      </ul>
    </section>
  );
}

function Texts({ api, customerId, workOrder }: { api: Api; customerId: string; workOrder: WorkOrder }) {
  const [round, setRound] = useState(0);
  const { items, error } = useList<TextRecord>(
    () => call(api.GET("/customers/{customerId}/work-orders/{workOrderId}/texts", { params: { path: { customerId, workOrderId: workOrder.id }, query: { limit: 100 } } })),
    [api, customerId, workOrder.id, round],
  );
  return (
    <div class="texts" role="region" aria-label={`Texts about ${workOrder.title}`}>
      <ProblemView error={error} />
      {items?.length === 0 && <p>No texts yet.</p>}
      <ul>
        {items?.map((text) => (
          <li key={text.id}>
            <strong>{TRIGGERS[text.trigger]}</strong> · {outcome(text)} · <time dateTime={text.updatedAt}>{formatDate(text.updatedAt)}</time>
            {text.text && <blockquote>{text.text.body}</blockquote>}
          </li>
        ))}
      </ul>
      <button type="button" class="link" onClick={() => setRound(round + 1)}>
        Check again
      </button>
    </div>
  );
}
