// What the signed-in user may do, from GET /me: the console shows only those actions (the API
// still checks every request). Read once per sign-in; the roles' mapping stays in the API.

import { createContext } from "preact";
import { useContext } from "preact/hooks";
import { call, type Api, type Schemas } from "./api/client";

export type Permission = Schemas["Permission"];
export type Can = (permission: Permission) => boolean;

/** Nothing until GET /me has answered, so that no action shows and then disappears. */
export const CanContext = createContext<Can>(() => false);

export function useCan(): Can {
  return useContext(CanContext);
}

/** Changing a customer the console shows: every one with `edit`; with `editAssigned`, the
 * ones assigned to the caller, which are all a caller with only `viewAssigned` is shown. */
export function canEdit(can: Can): boolean {
  return can("edit") || can("editAssigned");
}

/** The caller's permissions; if GET /me cannot be read, every action shows and the API's
 * 403 tells what is missing, as before the console knew. */
export async function loadCan(api: Api): Promise<Can> {
  try {
    const { data } = await call(api.GET("/me"));
    const granted = new Set(data.permissions);
    return (permission) => granted.has(permission);
  } catch {
    return () => true;
  }
}
