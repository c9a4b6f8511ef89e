// Shared flat config. Every package calls it with its own directory and the
// workspace packages it may import, so the design card's dependency rule
// ("a subsystem depends on @ksim/core only") is checked by lint, not hoped for.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import js from "@eslint/js";
import tseslint from "typescript-eslint";

const WORKSPACE = [
  "@ksim/core",
  "@ksim/hrtimer",
  "@ksim/cpu-hotplug",
  "@ksim/kthread",
  "@ksim/sched",
  "@ksim/stop-machine",
  "@ksim/hung-task",
  "@ksim/timer",
  "@ksim/softirq",
  "@ksim/scenario",
  "@ksim/workload",
  "@ksim/report",
  "@ksim/campaign",
  "@ksim/rt-app",
  "@ksim/machine",
];

/**
 * @param {{ dir: string, allow?: string[] }} opts
 *   dir: the package directory (import.meta.dirname of its eslint.config.js)
 *   allow: workspace packages this package may import (besides itself)
 */
export function ksim({ dir, allow = [] }) {
  const self = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")).name;
  const forbidden = WORKSPACE.filter((p) => p !== self && !allow.includes(p));
  return tseslint.config(
    { ignores: ["dist/**", "coverage/**", "*.config.*", "docs/**"] },
    js.configs.recommended,
    ...tseslint.configs.recommendedTypeChecked,
    {
      languageOptions: {
        parserOptions: { projectService: true, tsconfigRootDir: dir },
      },
      rules: {
        "no-restricted-imports": [
          "error",
          {
            paths: forbidden.map((name) => ({
              name,
              message: "Not in this package's allow list: a subsystem meets its siblings through the interfaces in @ksim/core, data flows one way (scenario -> machine -> report; campaigns get a runner), and only apps/machine imports several subsystems.",
            })),
            patterns: [
              {
                group: ["@ksim/*/src", "@ksim/*/src/*", "../../*/src/*", "../../../packages/*", "../../../apps/*"],
                message: "Import a package by its public entry, never another package's src/ internals.",
              },
            ],
          },
        ],
        "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
        "@typescript-eslint/consistent-type-imports": "error",
        "@typescript-eslint/no-floating-promises": "error",
        "@typescript-eslint/switch-exhaustiveness-check": ["error", { considerDefaultExhaustiveForUnions: true }],
        "require-yield": "off",
      },
    },
    {
      // Plain JS (bench scripts) is outside the TypeScript project: lint it without types.
      files: ["**/*.mjs", "**/*.js"],
      ...tseslint.configs.disableTypeChecked,
      languageOptions: {
        parserOptions: { projectService: false, project: null },
        globals: { process: "readonly", console: "readonly", performance: "readonly" },
      },
    },
    {
      files: ["**/*.test.ts", "test/**", "bench/**"],
      rules: {
        "@typescript-eslint/no-non-null-assertion": "off",
        "@typescript-eslint/no-unsafe-assignment": "off",
        "@typescript-eslint/no-unsafe-member-access": "off",
      },
    },
  );
}
