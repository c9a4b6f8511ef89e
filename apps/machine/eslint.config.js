import { ksim } from "@ksim/eslint-config";

// The app assembles everything: every subsystem and every package of the data flow.
export default ksim({
  dir: import.meta.dirname,
  allow: [
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
  ],
});
