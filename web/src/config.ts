// Where the API is and how people sign in, read at start from config.json next to
// index.html: infra/local/run writes it for the local stack, the deployment for S3. The same
// build then serves every environment.

export interface CognitoConfig {
  /** The hosted UI's domain, e.g. `https://acme.auth.eu-north-1.amazoncognito.com`. */
  domain: string;
  clientId: string;
}

export interface Config {
  /** Base URL of the HTTP API, without a trailing slash. */
  apiUrl: string;
  /** Present when the identity stack is there: sign in through Cognito's hosted UI. */
  cognito?: CognitoConfig;
}

export async function loadConfig(): Promise<Config> {
  const response = await fetch("config.json", { cache: "no-store" });
  if (!response.ok) {
    throw new Error(`config.json: ${response.status} ${response.statusText}`);
  }
  const config = (await response.json()) as Config;
  return { ...config, apiUrl: config.apiUrl.replace(/\/+$/, "") };
}
