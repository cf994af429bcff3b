import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { makeApi, type Api } from "./api/client";
import { currentIdentity, finishHostedSignIn, signOut, type Identity } from "./auth";
import { CanContext, loadCan, type Can } from "./caller";
import { loadConfig, type Config } from "./config";
import { CustomerPage } from "./pages/Customer";
import { CustomersPage } from "./pages/Customers";
import { ImportsPage } from "./pages/Imports";
import { SettingsPage } from "./pages/Settings";
import { SignInPage } from "./pages/SignIn";
import "./styles.css";

/** Hash routes (`#/customers/ID`), so the static files need no rewrites on S3 or CloudFront. */
function useRoute(): string[] {
  const read = () => location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const changed = () => setRoute(read());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function App({ config }: { config: Config }) {
  const [identity, setIdentity] = useState<Identity | undefined>(currentIdentity);
  const [expired, setExpired] = useState(false);
  const [api] = useState<Api>(() =>
    makeApi(config.apiUrl, () => currentIdentity()?.token, () => {
      signOut();
      setExpired(true);
      setIdentity(undefined);
    }),
  );
  const route = useRoute();
  const [can, setCan] = useState<Can>(() => () => false);
  useEffect(() => {
    let live = true;
    if (identity) void loadCan(api).then((loaded) => live && setCan(() => loaded));
    return () => {
      live = false;
    };
  }, [api, identity]);

  if (!identity) {
    return (
      <SignInPage
        config={config}
        expired={expired}
        onSignedIn={(who) => {
          setExpired(false);
          setIdentity(who);
        }}
      />
    );
  }
  const [section, id] = route;
  let page;
  if (section === "customers" && id) page = <CustomerPage api={api} id={id} key={id} />;
  else if (section === "settings") page = <SettingsPage api={api} />;
  else if (section === "imports") page = <ImportsPage api={api} />;
  else page = <CustomersPage api={api} />;
  const current = (name: string) => ((section ?? "customers") === name ? "page" : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header>
        <nav aria-label="Main">
          <a href="#/customers" aria-current={current("customers")}>Customers</a>
          {can("upload") && <a href="#/imports" aria-current={current("imports")}>Imports</a>}
          <a href="#/settings" aria-current={current("settings")}>Settings</a>
        </nav>
        <div class="who">
          <span>
            {identity.user}
            {identity.tenant && <> · {identity.tenant}</>}
          </span>
          <button
            type="button"
            class="link"
            onClick={() => {
              signOut();
              setIdentity(undefined);
            }}
          >
            Sign out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <CanContext.Provider value={can}>{page}</CanContext.Provider>
      </main>
    </>
  );
}

async function start() {
  const root = document.getElementById("app")!;
  try {
    const config = await loadConfig();
    if (config.cognito) await finishHostedSignIn(config.cognito);
    render(<App config={config} />, root);
  } catch (error) {
    root.textContent = `The console cannot start: ${error instanceof Error ? error.message : error}`;
  }
}

void start();
