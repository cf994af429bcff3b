import { useState } from "preact/hooks";
import { signIn, startHostedSignIn, type Identity } from "../auth";
import type { Config } from "../config";
import { PageTitle } from "../ui";

export function SignInPage(props: { config: Config; expired: boolean; onSignedIn: (who: Identity) => void }) {
  const [token, setToken] = useState("");
  const [error, setError] = useState<string>();
  const { cognito } = props.config;
  return (
    <main id="main" class="signin">
      <PageTitle>Customers console</PageTitle>
      {props.expired && (
        <p class="problem" role="alert">
          Your sign-in ended. Sign in again to go on.
        </p>
      )}
      {cognito ? (
        <button type="button" onClick={() => void startHostedSignIn(cognito)}>
          Sign in
        </button>
      ) : (
        <form
          onSubmit={(e) => {
            e.preventDefault();
            const who = signIn(token);
            if (who) props.onSignedIn(who);
            else setError("That is not a token. Paste the whole output of infra/local/token.");
          }}
        >
          <div class={error ? "field invalid" : "field"}>
            <label for="token">Token</label>
            <textarea
              id="token"
              name="token"
              rows={5}
              value={token}
              aria-invalid={error ? true : undefined}
              aria-describedby="token-help"
              onInput={(e) => setToken((e.target as HTMLTextAreaElement).value)}
            />
            <small id="token-help">
              {error ?? (
                <>
                  Make one with <code>infra/local/token --tenant acme --user alice --roles administrator</code>{" "}
                  and paste it here.
                </>
              )}
            </small>
          </div>
          <button type="submit">Sign in</button>
        </form>
      )}
    </main>
  );
}
