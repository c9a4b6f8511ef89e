import { ksim } from "@ksim/eslint-config";

// The package may name itself: examples/ import "@ksim/kthread" as a user would.
export default ksim({ dir: import.meta.dirname, allow: ["@ksim/core", "@ksim/kthread"] });
