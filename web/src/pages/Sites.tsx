// A customer's sites: the places where work is done (a house, a yard, a plant). Linked,
// changed, deactivated, reactivated and unlinked here. A site has a version of its own, so a
// change of one sends the ETag of the site as the list showed it (`"<version>"`): a site
// changed meanwhile is refused (412) and the list offers a reload. Linking and unlinking
// change the customer too (its sites count), so the page loads the card again after them.

import { useState } from "preact/hooks";
import { ApiError, call, idempotencyKey, type Schemas } from "../api/client";
import { canEdit, useCan } from "../caller";
import { Checkbox, ConfirmInline, Field, ProblemOrConflict, ProblemView, RecordForm, textBinding, textPatch, useAction, useList, withoutNulls } from "../ui";
import type { SectionProps } from "./Customer";

type Site = Schemas["Site"];

const PLACE = ["name", "line1", "postalCode", "city", "country"] as const;
const WHO = ["firstName", "lastName", "phone", "mobile"] as const;
const ADDRESS = ["line1", "postalCode", "city", "country"] as const;
type Form = Record<(typeof PLACE)[number] | (typeof WHO)[number], string> & { customerOwned: boolean };

const LABELS: Record<(typeof PLACE)[number] | (typeof WHO)[number], string> = {
  name: "Site name",
  line1: "Street address",
  postalCode: "Postal code",
  city: "City",
  country: "Country (two letters, e.g. SE)",
  firstName: "Contact's first name",
  lastName: "Contact's last name",
  phone: "Contact's phone",
  mobile: "Contact's mobile",
};

function formOf(site?: Site): Form {
  const contact = site?.contact;
  const phone = contact?.phone && `${contact.phone}${contact.phoneExtension ? ` ext. ${contact.phoneExtension}` : ""}`;
  return {
    name: site?.name ?? "",
    line1: site?.address?.line1 ?? "",
    postalCode: site?.address?.postalCode ?? "",
    city: site?.address?.city ?? "",
    country: site?.address?.country ?? "",
    firstName: contact?.firstName ?? "",
    lastName: contact?.lastName ?? "",
    phone: phone ?? "",
    mobile: contact?.mobile ?? "",
    customerOwned: site?.customerOwned ?? false,
  };
}

/** What the form changed, as a merge patch: the address and the contact merge member by member. */
function patchOf(before: Form, after: Form): Record<string, unknown> {
  const patch: Record<string, unknown> = textPatch(before, after, ["name"]);
  const address = textPatch(before, after, ADDRESS);
  if (Object.keys(address).length > 0) patch.address = address;
  const contact = textPatch(before, after, WHO);
  if (Object.keys(contact).length > 0) patch.contact = contact;
  if (after.customerOwned !== before.customerOwned) patch.customerOwned = after.customerOwned;
  return patch;
}

function describe(site: Site): string {
  const address = site.address && [site.address.line1, site.address.postalCode, site.address.city].filter(Boolean).join(", ");
  const contact = site.contact && [site.contact.firstName, site.contact.lastName].filter(Boolean).join(" ");
  return [site.status, site.customerOwned && "customer-owned", address, contact && `ask for ${contact}`].filter(Boolean).join(" · ");
}

type Props = SectionProps;

export function Sites(props: Props) {
  const { api, loaded } = props;
  const customerId = loaded.customer.id;
  // Bumped after a change of a site alone, to list the sites again.
  const [round, setRound] = useState(0);
  const [notice, setNotice] = useState(props.notice);
  const [editing, setEditing] = useState<string>();
  const { error, busy, run } = useAction();
  const editable = canEdit(useCan()) && loaded.customer.status === "active" && loaded.customer.erased === undefined;

  const { items: sites, error: loadError } = useList<Site>(
    () => call(api.GET("/customers/{customerId}/sites", { params: { path: { customerId }, query: { limit: 50 } } })),
    [api, customerId, round],
  );

  const siteChanged = (text: string) => {
    setEditing(undefined);
    setNotice(text);
    setRound((r) => r + 1);
  };
  const setStatus = (site: Site, status: "active" | "inactive") =>
    run(async () => {
      await call(
        api.PATCH("/customers/{customerId}/sites/{siteId}", {
          params: { path: { customerId, siteId: site.id }, header: { "If-Match": `"${site.version}"` } },
          headers: { "Content-Type": "application/merge-patch+json" },
          body: { status },
        }),
      );
      siteChanged(status === "inactive" ? `${site.name} was deactivated.` : `${site.name} was reactivated.`);
    });
  const unlink = (site: Site) =>
    run(async () => {
      await call(api.DELETE("/customers/{customerId}/sites/{siteId}", { params: { path: { customerId, siteId: site.id } } }));
      props.onChanged(`${site.name} was unlinked.`);
    });

  return (
    <section aria-labelledby="sites">
      <h2 id="sites">Sites</h2>
      {notice && <p role="status">{notice}</p>}
      <ProblemView error={loadError} />
      <ProblemOrConflict error={error} onReload={() => siteChanged("")} {...SITE_CONFLICT} />
      {sites?.length === 0 && <p>No sites.</p>}
      <ul class="rows">
        {sites?.map((site) => (
          <li key={site.id}>
            {editing === site.id ? (
              <SiteForm {...props} site={site} onSaved={siteChanged} onStale={() => siteChanged("")} onCancel={() => setEditing(undefined)} />
            ) : (
              <>
                <strong>{site.name}</strong> · {describe(site)}
                {editable && site.status !== "unlinked" && (
                  <div class="actions">
                    <button type="button" class="link" onClick={() => setEditing(site.id)} aria-label={`Edit ${site.name}`}>
                      Edit
                    </button>
                    <button type="button" class="link" disabled={busy} onClick={() => setStatus(site, site.status === "active" ? "inactive" : "active")} aria-label={`${site.status === "active" ? "Deactivate" : "Reactivate"} ${site.name}`}>
                      {site.status === "active" ? "Deactivate" : "Reactivate"}
                    </button>
                    <ConfirmInline label="Unlink" subject={site.name} question={`Unlink ${site.name}? Its closed work keeps naming it.`} busy={busy} onConfirm={() => unlink(site)} />
                  </div>
                )}
              </>
            )}
          </li>
        ))}
      </ul>
      {editable &&
        (editing === "new" ? (
          <SiteForm {...props} onSaved={props.onChanged} onStale={() => siteChanged("")} onCancel={() => setEditing(undefined)} />
        ) : (
          <button type="button" class="secondary" onClick={() => setEditing("new")}>
            Link a new site
          </button>
        ))}
    </section>
  );
}

/** The words of a 412 on a site: it has a version of its own, checked against the list's. */
const SITE_CONFLICT = { conflict: "Someone else changed this site after the list was shown.", reloadLabel: "Show the sites as they are now" };

/** A new site (`site` absent) or a change of one. */
function SiteForm(props: Props & { site?: Site; onSaved: (notice: string) => void; onStale: () => void; onCancel: () => void }) {
  const { api, loaded, site } = props;
  const [start] = useState(() => formOf(site));
  const [form, setForm] = useState(start);
  const { error, busy, run } = useAction();
  // Field errors by path: `name`, `address.city`, `contact.phone`.
  const fieldErrors = error instanceof ApiError ? error.fieldErrors() : new Map<string, string>();
  const errorAt = (name: string) => fieldErrors.get(name) ?? fieldErrors.get(`address.${name}`) ?? fieldErrors.get(`contact.${name}`);
  const title = site ? `Edit ${site.name}` : "New site";

  const save = () =>
    run(async () => {
      const patch = patchOf(start, form);
      if (Object.keys(patch).length === 0) return props.onCancel();
      const customerId = loaded.customer.id;
      if (site) {
        await call(
          api.PATCH("/customers/{customerId}/sites/{siteId}", {
            params: { path: { customerId, siteId: site.id }, header: { "If-Match": `"${site.version}"` } },
            headers: { "Content-Type": "application/merge-patch+json" },
            body: patch,
          }),
        );
        props.onSaved(`${form.name.trim() || site.name} was saved.`);
      } else {
        const body = withoutNulls(patch) as Schemas["SiteInput"];
        await call(api.POST("/customers/{customerId}/sites", { params: { path: { customerId }, header: { "Idempotency-Key": idempotencyKey() } }, body }));
        props.onSaved(`${body.name} was linked.`);
      }
    });

  const text = textBinding(form, setForm);
  const field = (name: (typeof PLACE)[number] | (typeof WHO)[number]) => (
    <Field key={name} label={LABELS[name]} {...text(name)} error={errorAt(name)} required={name === "name"} />
  );
  return (
    <RecordForm title={title} submitLabel={site ? "Save the site" : "Link the site"} busy={busy} onSubmit={save} onCancel={props.onCancel}>
      <ProblemOrConflict error={error} onReload={props.onStale} {...SITE_CONFLICT} shownFields={[...PLACE.map((n) => (n === "name" ? n : `address.${n}`)), ...WHO.map((n) => `contact.${n}`)]} />
      {PLACE.map(field)}
      <Checkbox label="The customer's own property" name="customerOwned" checked={form.customerOwned} onChange={(customerOwned) => setForm({ ...form, customerOwned })} />
      <fieldset>
        <legend>Who to call at the site</legend>
        {!site && <small>Left empty: the customer's primary contact, else the customer itself.</small>}
        {WHO.map(field)}
      </fieldset>
    </RecordForm>
  );
}
