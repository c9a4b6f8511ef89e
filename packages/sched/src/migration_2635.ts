/**
 * migration_call() and migration_init() of 2.6.35 (kernel/sched.c): no
 * threads to create or stop any more (cpu_stop_cpu_callback manages the
 * stoppers, also named migration/N); what is left keeps the runqueues in
 * step with hotplug.
 */
import {
  BUG,
  BUG_ON,
  CPU_DEAD,
  CPU_DEAD_FROZEN,
  CPU_DYING,
  CPU_DYING_FROZEN,
  CPU_ONLINE,
  CPU_ONLINE_FROZEN,
  CPU_UP_PREPARE,
  CPU_UP_PREPARE_FROZEN,
  NOTIFY_BAD,
  NOTIFY_OK,
  type KernelCall,
  type NotifierBlock,
} from "@ksim/core";
import { sched_notifier, sched_of } from "./migration.js";
import type { Scheduler2635 } from "./sched_2635.js";

/** migration_call's notifier_block (2.6.35). */
export function migration_notifier_2635(s: Scheduler2635): NotifierBlock {
  return sched_notifier(s, "migration_call", s.params.migration_call_priority, migration_call);
}

/**
 * migration_call() of 2.6.35, priority 10. It returns NOTIFY_OK for every
 * event, including those it ignores.
 */
function* migration_call(nb: NotifierBlock, action: number, cpu: number): KernelCall<number> {
  const s = sched_of<Scheduler2635>(nb);
  switch (action) {
    case CPU_UP_PREPARE:
    case CPU_UP_PREPARE_FROZEN:
      // rq->calc_load_update = calc_load_update: ksim keeps no load average.
      break;
    case CPU_ONLINE:
    case CPU_ONLINE_FROZEN:
      // Update our root-domain.
      s.set_rq_online(cpu);
      break;
    case CPU_DEAD:
    case CPU_DEAD_FROZEN:
      s.migrate_live_tasks(cpu);
      s.check_rq(cpu);
      if (s.rq_nr_running(cpu) !== 0) BUG(`CPU ${cpu} is dead but its runqueue still has tasks`);
      break;
    case CPU_DYING:
    case CPU_DYING_FROZEN:
      // Update our root-domain: rq_offline_rt() -> __disable_runtime().
      s.set_rq_offline(cpu);
      break;
  }
  return NOTIFY_OK;
}

/**
 * migration_init() of 2.6.35 (an early_initcall): migration_call by hand
 * for the boot CPU, then on the chain. It creates no thread.
 */
export function* migration_init_2635(s: Scheduler2635, boot_cpu: number): KernelCall {
  const nb = migration_notifier_2635(s);
  const err = yield* nb.notifier_call(nb, CPU_UP_PREPARE, boot_cpu);
  BUG_ON(err === NOTIFY_BAD, "migration_init: CPU_UP_PREPARE failed for the boot CPU");
  yield* nb.notifier_call(nb, CPU_ONLINE, boot_cpu);
  s.k.hotplug.register_cpu_notifier(nb);
}
