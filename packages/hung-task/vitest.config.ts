import { defineProject } from "vitest/config";

// "@ksim/source" resolves workspace packages to their TypeScript sources, so a
// package's tests run without building its dependencies first.
export default defineProject({
  resolve: { conditions: ["@ksim/source", "module", "node", "development|production"] },
  ssr: { resolve: { conditions: ["@ksim/source", "module", "node", "development|production"] } },
  test: { include: ["src/**/*.test.ts", "test/**/*.test.ts"] },
});
