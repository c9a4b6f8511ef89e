// The workspace's one vitest configuration (tooling/vitest-config).
export { default } from "@ksim/vitest-config";
