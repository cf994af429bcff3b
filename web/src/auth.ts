// The bearer token the API verifies. Locally it is pasted (made by infra/local/token);
// deployed it comes from Cognito's hosted UI (authorization code with PKCE). Kept in
// sessionStorage: it lasts as long as the tab, and another tab signs in on its own.

import type { CognitoConfig } from "./config";

const TOKEN_KEY = "customers.token";
const VERIFIER_KEY = "customers.pkce";

export interface Identity {
  token: string;
  tenant?: string;
  user?: string;
  roles: string[];
  expiresAt?: Date;
}

export function currentIdentity(): Identity | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (!token) return undefined;
  const identity = describe(token);
  if (identity?.expiresAt && identity.expiresAt.getTime() < Date.now()) {
    signOut();
    return undefined;
  }
  return identity;
}

/** Reads the token's claims for display only: the API verifies it, the console does not. */
export function describe(token: string): Identity | undefined {
  const payload = token.split(".")[1];
  if (!payload) return undefined;
  try {
    const bytes = Uint8Array.from(atob(payload.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0));
    const claims = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    const roles = claims.roles ?? claims["cognito:groups"] ?? [];
    return {
      token,
      tenant: typeof claims.tenant_id === "string" ? claims.tenant_id : undefined,
      user: typeof claims.sub === "string" ? claims.sub : undefined,
      roles: Array.isArray(roles) ? roles.map(String) : String(roles).split(","),
      expiresAt: typeof claims.exp === "number" ? new Date(claims.exp * 1000) : undefined,
    };
  } catch {
    return undefined;
  }
}

export function signIn(token: string): Identity | undefined {
  const identity = describe(token.trim().replace(/^Bearer\s+/i, ""));
  if (identity) sessionStorage.setItem(TOKEN_KEY, identity.token);
  return identity;
}

export function signOut(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

function redirectUri(): string {
  return `${location.origin}${location.pathname}`;
}

function base64Url(bytes: Uint8Array): string {
  return btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
}

/** Sends the browser to the hosted UI; it comes back with `?code=`. */
export async function startHostedSignIn(cognito: CognitoConfig): Promise<void> {
  const verifier = base64Url(crypto.getRandomValues(new Uint8Array(32)));
  sessionStorage.setItem(VERIFIER_KEY, verifier);
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier));
  const url = new URL("/oauth2/authorize", cognito.domain);
  url.search = new URLSearchParams({
    response_type: "code",
    client_id: cognito.clientId,
    redirect_uri: redirectUri(),
    scope: "openid email profile",
    code_challenge_method: "S256",
    code_challenge: base64Url(new Uint8Array(digest)),
  }).toString();
  location.assign(url.toString());
}

/** Back from the hosted UI: trades the code for tokens. The ID token carries the tenant
 *  and roles claims the API reads. */
export async function finishHostedSignIn(cognito: CognitoConfig): Promise<Identity | undefined> {
  const params = new URLSearchParams(location.search);
  const code = params.get("code");
  const verifier = sessionStorage.getItem(VERIFIER_KEY);
  if (!code || !verifier) return undefined;
  sessionStorage.removeItem(VERIFIER_KEY);
  history.replaceState(null, "", redirectUri() + location.hash);
  const response = await fetch(new URL("/oauth2/token", cognito.domain), {
    method: "POST",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({
      grant_type: "authorization_code",
      client_id: cognito.clientId,
      redirect_uri: redirectUri(),
      code,
      code_verifier: verifier,
    }),
  });
  if (!response.ok) throw new Error(`Sign-in failed: ${response.status}`);
  const tokens = (await response.json()) as { id_token?: string };
  return tokens.id_token ? signIn(tokens.id_token) : undefined;
}
