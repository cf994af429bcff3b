// The typed client: paths and bodies come from src/api/schema.d.ts, generated from
// docs/openapi.yaml (npm run generate; the test command fails when it is stale).

import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema";

export type Schemas = components["schemas"];
export type Customer = Schemas["Customer"];
export type Problem = Schemas["Problem"];
export type FieldError = Schemas["FieldError"];
export type Import = Schemas["Import"];
export type Settings = Schemas["Settings"];

export type Api = ReturnType<typeof createClient<paths>>;

/** A refused request, with the problem details as the API (or the gateway) gave them. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(problem.detail ?? problem.title);
  }

  get type(): string {
    return this.problem.type;
  }

  /** The field errors of a validation problem, by field path (`contacts.0.email`). */
  fieldErrors(): Map<string, string> {
    return new Map((this.problem.errors ?? []).map((e) => [fieldPath(e.field), e.message]));
  }
}

/** A field error's JSON pointer (`/contacts/0/email`) as a dotted path (`contacts.0.email`). */
export function fieldPath(pointer: string): string {
  return pointer.replace(/^\//, "").split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~")).join(".");
}

/** Gateway answers (401, 413, 429, 5xx) are `{"message": ...}`, not problem details. */
function asProblem(status: number, body: unknown): Problem {
  if (body && typeof body === "object" && "title" in body && "type" in body) {
    return body as Problem;
  }
  const message =
    body && typeof body === "object" && "message" in body ? String(body.message) : undefined;
  const titles: Record<number, string> = {
    401: "Your sign-in is not valid (any more). Sign in again.",
    413: "The request is too large.",
    429: "Too many requests: wait a moment and try again.",
  };
  return {
    type: "about:blank",
    title: titles[status] ?? message ?? `The request failed (${status}).`,
    status,
  };
}

export interface Result<T> {
  data: T;
  response: Response;
}

/** The data of a successful call, or an [`ApiError`] with the problem. */
export async function call<T>(
  pending: Promise<{ data?: T; error?: unknown; response: Response }>,
): Promise<Result<T>> {
  const { data, error, response } = await pending;
  if (!response.ok) throw new ApiError(response.status, asProblem(response.status, error));
  return { data: data as T, response };
}

export function etagOf(response: Response): string {
  const etag = response.headers.get("ETag");
  if (!etag) throw new Error("The API sent no ETag (is it exposed by CORS?)");
  return etag;
}

/** A JSON merge patch of a customer, sent with the ETag it was read with; the customer as
 * changed and its new ETag. */
export async function patchCustomer(api: Api, id: string, etag: string, patch: Record<string, unknown>): Promise<{ customer: Customer; etag: string }> {
  const { data, response } = await call(
    api.PATCH("/customers/{customerId}", {
      params: { path: { customerId: id }, header: { "If-Match": etag } },
      headers: { "Content-Type": "application/merge-patch+json" },
      body: patch,
    }),
  );
  return { customer: data, etag: etagOf(response) };
}

export function makeApi(baseUrl: string, token: () => string | undefined, onUnauthorized: () => void): Api {
  const client = createClient<paths>({ baseUrl });
  const auth: Middleware = {
    onRequest({ request }) {
      const bearer = token();
      if (bearer) request.headers.set("Authorization", `Bearer ${bearer}`);
      return request;
    },
    onResponse({ response }) {
      if (response.status === 401) onUnauthorized();
      return response;
    },
  };
  client.use(auth);
  return client;
}

/** A fresh key for a create, so a retried click never creates twice. */
export function idempotencyKey(): string {
  return crypto.randomUUID();
}
