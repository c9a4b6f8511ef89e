import { ksim } from "@ksim/eslint-config";

// Examples are user code: they may import any ksim package, by its public entry.
export default ksim({ dir: import.meta.dirname, allow: ["@ksim/core", "@ksim/hrtimer", "@ksim/cpu-hotplug", "@ksim/kthread", "@ksim/sched", "@ksim/machine"] });
