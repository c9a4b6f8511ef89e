import { ksim } from "@ksim/eslint-config";

// What @ksim/scenario may import (data flows one way: scenario -> machine -> report;
// campaigns drive machines through a runner they are given). It names itself
// so examples/ import "@ksim/scenario" as a user would.
export default ksim({ dir: import.meta.dirname, allow: ["@ksim/core", "@ksim/rt-app", "@ksim/scenario"] });
