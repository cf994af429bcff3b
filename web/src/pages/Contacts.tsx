// A customer's contacts: who to call, who gets work orders and service protocols by e-mail,
// who gets texts about visits. Added, changed and removed here one at a time, each with the
// ETag the page was loaded with (a card changed meanwhile is refused, with a reload offered);
// after each the page loads the card again, since the API may have moved the primary mark.

import { useState } from "preact/hooks";
import { ApiError, call, type Schemas } from "../api/client";
import { canEdit, useCan } from "../caller";
import { Checkbox, ConfirmInline, Field, ProblemOrConflict, RecordForm, textBinding, textPatch, useAction, withoutNulls } from "../ui";
import type { SectionProps } from "./Customer";

type Contact = Schemas["Contact"];

const TEXTS = ["firstName", "lastName", "role", "email", "phone", "mobile"] as const;
const FLAGS = ["primary", "sendWorkOrders", "sendServiceProtocols", "smsOptOut"] as const;
type Text = (typeof TEXTS)[number];
type Flag = (typeof FLAGS)[number];
type Form = Record<Text, string> & Record<Flag, boolean>;

const LABELS: Record<Text | Flag, string> = {
  firstName: "First name",
  lastName: "Last name",
  role: "Role",
  email: "E-mail",
  phone: "Phone",
  mobile: "Mobile",
  primary: "Primary contact",
  sendWorkOrders: "Send work orders to this e-mail",
  sendServiceProtocols: "Send service protocols to this e-mail",
  smsOptOut: "No texts about visits",
};

const EMPTY: Form = {
  firstName: "",
  lastName: "",
  role: "",
  email: "",
  phone: "",
  mobile: "",
  primary: false,
  sendWorkOrders: false,
  sendServiceProtocols: false,
  smsOptOut: false,
};

function formOf(contact: Contact): Form {
  const form = { ...EMPTY };
  for (const name of TEXTS) form[name] = contact[name] ?? "";
  // The extension is part of the phone as typed; the API stores it apart and reads it back.
  if (contact.phone && contact.phoneExtension) form.phone = `${contact.phone} ext. ${contact.phoneExtension}`;
  for (const name of FLAGS) form[name] = contact[name];
  return form;
}

/** What the form changed, as a JSON merge patch (an emptied field removed), or the whole
 * contact for a new one (blank fields left out). */
function bodyOf(before: Form, after: Form): Record<string, unknown> {
  const body: Record<string, unknown> = textPatch(before, after, TEXTS);
  for (const name of FLAGS) {
    if (after[name] !== before[name]) body[name] = after[name];
  }
  return body;
}

function describe(c: Contact): string {
  const phone = c.phone && `${c.phone}${c.phoneExtension ? ` ext. ${c.phoneExtension}` : ""}`;
  return [c.role, c.email, phone, c.mobile, c.smsOptOut && "no texts"].filter(Boolean).join(" · ");
}

type Props = SectionProps;

export function Contacts(props: Props) {
  const { customer } = props.loaded;
  // The contact being edited (its id), "new" for a new one, or none.
  const [editing, setEditing] = useState<string>();
  const { error, busy, run } = useAction();
  const editable = canEdit(useCan()) && customer.status !== "merged" && customer.erased === undefined;
  const contacts = customer.contacts ?? [];
  const path = { customerId: customer.id };
  const ifMatch = { "If-Match": props.loaded.etag };

  const remove = (contact: Contact) =>
    run(async () => {
      await call(props.api.DELETE("/customers/{customerId}/contacts/{contactId}", { params: { path: { ...path, contactId: contact.id }, header: ifMatch } }));
      props.onChanged(`${nameOf(contact)} was removed.`);
    });

  return (
    <section aria-labelledby="contacts">
      <h2 id="contacts">Contacts</h2>
      {props.notice && <p role="status">{props.notice}</p>}
      <ProblemOrConflict error={error} onReload={props.onReload} />
      {contacts.length === 0 && <p>No contacts.</p>}
      <ul class="rows">
        {contacts.map((c) =>
          editing === c.id ? (
            <li key={c.id}>
              <ContactForm {...props} contact={c} onCancel={() => setEditing(undefined)} />
            </li>
          ) : (
            <li key={c.id}>
              <strong>{nameOf(c)}</strong>
              {c.primary && " (primary)"} {describe(c) && `· ${describe(c)}`}
              {editable && (
                <div class="actions">
                  <button type="button" class="link" onClick={() => setEditing(c.id)} aria-label={`Edit ${nameOf(c)}`}>
                    Edit
                  </button>
                  <ConfirmInline label="Remove" subject={nameOf(c)} question={`Remove ${nameOf(c)}?`} busy={busy} onConfirm={() => remove(c)} />
                </div>
              )}
            </li>
          ),
        )}
      </ul>
      {editable &&
        (editing === "new" ? (
          <ContactForm {...props} onCancel={() => setEditing(undefined)} />
        ) : (
          <button type="button" class="secondary" onClick={() => setEditing("new")}>
            Add a contact
          </button>
        ))}
    </section>
  );
}

function nameOf(c: Contact): string {
  return [c.firstName, c.lastName].filter(Boolean).join(" ") || c.email || c.phone || c.mobile || "The contact";
}

/** A new contact (`contact` absent) or a change of one. */
function ContactForm(props: Props & { contact?: Contact; onCancel: () => void }) {
  const { api, loaded, contact } = props;
  const [start] = useState(() => (contact ? formOf(contact) : EMPTY));
  const [form, setForm] = useState(start);
  const { error, busy, run } = useAction();
  const fieldErrors = error instanceof ApiError ? error.fieldErrors() : new Map<string, string>();
  const title = contact ? `Edit ${nameOf(contact)}` : "New contact";
  const text = textBinding(form, setForm);

  const save = () =>
    run(async () => {
      const body = bodyOf(start, form);
      if (Object.keys(body).length === 0) return props.onCancel();
      const path = { customerId: loaded.customer.id };
      const header = { "If-Match": loaded.etag };
      if (contact) {
        await call(
          api.PATCH("/customers/{customerId}/contacts/{contactId}", {
            params: { path: { ...path, contactId: contact.id }, header },
            headers: { "Content-Type": "application/merge-patch+json" },
            body,
          }),
        );
      } else {
        await call(api.POST("/customers/{customerId}/contacts", { params: { path, header }, body: withoutNulls(body) }));
      }
      props.onChanged(contact ? "Contact saved." : "Contact added.");
    });

  return (
    <RecordForm title={title} submitLabel={contact ? "Save the contact" : "Add the contact"} busy={busy} onSubmit={save} onCancel={props.onCancel}>
      <ProblemOrConflict error={error} onReload={props.onReload} shownFields={[...TEXTS, ...FLAGS]} />
      {TEXTS.map((name) => (
        <Field key={name} label={LABELS[name]} {...text(name)} error={fieldErrors.get(name)} hint={name === "phone" ? "An extension may follow: ext. 12" : undefined} />
      ))}
      {FLAGS.map((name) => (
        <Checkbox key={name} label={LABELS[name]} name={name} checked={form[name]} onChange={(checked) => setForm({ ...form, [name]: checked })} />
      ))}
    </RecordForm>
  );
}
