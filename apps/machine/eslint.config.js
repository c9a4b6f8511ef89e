import { ksim } from "@ksim/eslint-config";

export default ksim({ dir: import.meta.dirname, allow: ["@ksim/core","@ksim/hrtimer","@ksim/cpu-hotplug","@ksim/kthread","@ksim/sched","@ksim/rt-app","@ksim/machine"] });
