import { defineConfig } from "vitest/config";

// `pnpm vitest` at the root runs every package's tests as one workspace;
// `pnpm --filter <pkg> test` runs one package alone.
export default defineConfig({
  test: { projects: ["packages/*", "apps/*", "examples"] },
});
