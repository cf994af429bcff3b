// Fails when src/api/schema.d.ts is not what docs/openapi.yaml generates today, so the typed
// client cannot drift from the document (regenerate with `npm run generate`).
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const web = join(dirname(fileURLToPath(import.meta.url)), "..");
const committed = join(web, "src/api/schema.d.ts");
const scratch = mkdtempSync(join(tmpdir(), "schema-"));
const fresh = join(scratch, "schema.d.ts");
try {
  // The very command `npm run generate` runs, writing elsewhere.
  const generate = JSON.parse(readFileSync(join(web, "package.json"), "utf8")).scripts.generate;
  const args = generate.split(/\s+/).slice(1);
  const out = args.indexOf("-o");
  args[out + 1] = fresh;
  execFileSync(join(web, "node_modules/.bin/openapi-typescript"), args, { cwd: web, stdio: ["ignore", "ignore", "inherit"] });
  if (readFileSync(fresh, "utf8") !== readFileSync(committed, "utf8")) {
    console.error("web/src/api/schema.d.ts is stale: docs/openapi.yaml changed. Run `npm run generate` in web/ and commit it.");
    process.exit(1);
  }
  console.error("check-client: web/src/api/schema.d.ts matches docs/openapi.yaml");
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
