import { defineProject } from "vitest/config";

// "source" resolves workspace packages to their TypeScript sources, so a
// package's tests run without building its dependencies first.
export default defineProject({
  resolve: { conditions: ["source", "module", "node", "development|production"] },
  ssr: { resolve: { conditions: ["source", "module", "node", "development|production"] } },
  test: { include: ["test/**/*.test.ts"] },
});
