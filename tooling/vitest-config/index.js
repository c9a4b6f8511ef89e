// The one vitest configuration of the workspace: each package's
// vitest.config.ts is `export { default } from "@ksim/vitest-config"`.
import { defineProject } from "vitest/config";

// "@ksim/source" resolves workspace packages to their TypeScript sources, so a
// package's tests run without building its dependencies first.
const conditions = ["@ksim/source", "module", "node", "development|production"];

export default defineProject({
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    include: ["src/**/*.test.ts", "test/**/*.test.ts"],
    // Tests wait on simulated time, never on the wall clock; these bounds only
    // catch a test that is stuck, and must hold on a loaded 2-core machine.
    testTimeout: 300_000,
    hookTimeout: 300_000,
  },
});
