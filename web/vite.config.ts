import { defineConfig } from "vite";

// Static files only (dist/): served by infra/local/run on a port of their own, deployed to S3
// behind CloudFront. Relative asset paths, so the files work from any prefix.
export default defineConfig({
  base: "./",
  build: { target: "es2022", sourcemap: true },
});
