export { Scheduler, RR_TIMESLICE, type SchedParams, type MigrationThreadStop } from "./sched.js";
export { RUNTIME_INF, RtRq, CfsRq } from "./rq.js";
export {
  cpuset_init_smp,
  cpuset_track_online_cpus_notifier,
  migration_init,
  migration_notifier,
  sched_init_smp,
  update_runtime_notifier,
} from "./migration.js";
export { RootDomain, SchedDomain, SchedGroup, default_topology, type Topology, type SdLevel } from "./sched_domains.js";
export { CpuPri } from "./cpupri.js";
export { sched_explainer, type ExplainedSched } from "./explain.js";
export { nice_to_weight, prio_to_weight, NICE_0_LOAD } from "./weights.js";
export {
  sched_subsystem,
  sched_2635_subsystem,
  type SchedSubsystemOptions,
  type Sched2635SubsystemOptions,
  type SchedParams2635,
} from "./subsystem.js";
export { Scheduler2635, type MigrationArg } from "./sched_2635.js";
export { migration_init_2635, migration_notifier_2635 } from "./migration_2635.js";
