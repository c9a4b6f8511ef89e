import { ksim } from "@ksim/eslint-config";

export default ksim({ dir: import.meta.dirname, allow: ["@ksim/core"] });
