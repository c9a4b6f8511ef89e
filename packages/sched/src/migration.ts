import {
  BUG,
  BUG_ON,
  CPU_DEAD,
  CPU_DEAD_FROZEN,
  CPU_DOWN_FAILED,
  CPU_DOWN_FAILED_FROZEN,
  CPU_DOWN_PREPARE,
  CPU_DOWN_PREPARE_FROZEN,
  CPU_DYING,
  CPU_DYING_FROZEN,
  CPU_ONLINE,
  CPU_ONLINE_FROZEN,
  CPU_POST_DEAD,
  CPU_UP_CANCELED,
  CPU_UP_CANCELED_FROZEN,
  CPU_UP_PREPARE,
  CPU_UP_PREPARE_FROZEN,
  current,
  get_task_struct,
  NOTIFY_BAD,
  NOTIFY_DONE,
  NOTIFY_OK,
  put_task_struct,
  SCHEDULE,
  type KernelCall,
  type NotifierBlock,
  type NotifierCallNoSleep,
  type TaskStruct,
} from "@ksim/core";
import type { Scheduler } from "./sched.js";

/** MAX_RT_PRIO-1 as an rt_priority: the migration threads' SCHED_FIFO 99. */
const MIGRATION_RT_PRIORITY = 99;

/**
 * A notifier_block of the scheduler's, which carries its scheduler (the
 * kernel's are static, with one scheduler). The callbacks are declared once,
 * as the kernel's are: V8 gives every generator function object made per
 * machine a map of its own in the old generation, which would keep that
 * machine alive through every scavenge.
 */
export interface SchedNotifierBlock<S extends Scheduler = Scheduler> extends NotifierBlock {
  readonly sched: S;
  /**
   * The callback as a plain function for the actions at which it never
   * sleeps, null for the others (NotifierBlock.notifier_call_nosleep): the
   * chain then needs no generator for them.
   */
  readonly notifier_call_nosleep: NotifierCallNoSleep | undefined;
}

/** The scheduler a notifier_block of sched_notifier() belongs to. */
export function sched_of<S extends Scheduler>(nb: NotifierBlock): S {
  return (nb as SchedNotifierBlock<S>).sched;
}

/** A notifier_block of the scheduler's, with `notifier_call` as its callback. */
export function sched_notifier<S extends Scheduler>(
  sched: S,
  name: string,
  priority: number,
  notifier_call: NotifierBlock["notifier_call"],
  notifier_call_nosleep?: NotifierCallNoSleep,
): SchedNotifierBlock<S> {
  return { name, priority, notifier_call, sched, notifier_call_nosleep };
}

/**
 * migration_thread() of 2.6.34: sleeps until woken with work; exits when
 * asked to stop or when its CPU is offline. ksim moves tasks between CPUs
 * directly, so its migration_queue stays empty (README, Model fidelity).
 */
function* migration_thread(s: Scheduler, cpu: number): KernelCall<number> {
  const k = s.k;
  if (s.migration_thread[cpu] !== current()) BUG(`migration/${cpu} is not rq->migration_thread`);
  current().state = "S";
  while (!k.kthread.kthread_should_stop()) {
    if (!k.hotplug.cpu_online(cpu)) break;
    // rq->active_balance: a balancing CPU asked for this CPU's running task.
    s.active_load_balance(cpu);
    // The queue is empty: sleep until woken.
    current().wchan = "migration_thread";
    yield SCHEDULE;
    current().state = "S";
  }
  current().state = "R";
  return 0;
}

/** kthread_stop() + put_task_struct() of the dead CPU's migration thread. */
function* stop_migration_thread(s: Scheduler, cpu: number): KernelCall {
  const p = s.migration_thread[cpu];
  if (!p) return;
  yield* s.k.kthread.kthread_stop(p);
  put_task_struct(p);
  s.migration_thread[cpu] = null;
}

/** migration_call's notifier_block. */
export function migration_notifier(s: Scheduler): NotifierBlock {
  return sched_notifier(s, "migration_call", s.params.migration_call_priority, migration_call);
}

/**
 * migration_call(): the scheduler's CPU notifier (priority 10 in 2.6.34,
 * "so that task migration happens before everything else").
 */
function* migration_call(nb: NotifierBlock, action: number, cpu: number): KernelCall<number> {
  const s = sched_of(nb);
  const k = s.k;
  switch (action) {
    case CPU_UP_PREPARE:
    case CPU_UP_PREPARE_FROZEN: {
      const p: TaskStruct = yield* k.kthread.kthread_create(
        (c: number) => migration_thread(s, c),
        cpu,
        "migration/%d",
        cpu,
      );
      k.kthread.kthread_bind(p, cpu);
      // "Must be high prio: stop_machine expects to yield to it."
      s.sched_setscheduler(p, "FIFO", MIGRATION_RT_PRIORITY);
      get_task_struct(p);
      s.migration_thread[cpu] = p;
      return NOTIFY_OK;
    }
    case CPU_ONLINE:
    case CPU_ONLINE_FROZEN: {
      // "Strictly unnecessary, as first user will wake it."
      const p = s.migration_thread[cpu];
      if (p) s.wake_up_process(p);
      s.set_rq_online(cpu);
      return NOTIFY_OK;
    }
    case CPU_UP_CANCELED:
    case CPU_UP_CANCELED_FROZEN: {
      const p = s.migration_thread[cpu];
      if (!p) return NOTIFY_OK;
      // Unbind it from the offline CPU so it can run, then stop it.
      k.kthread.kthread_bind(p, k.hotplug.cpu_online_mask.first());
      yield* stop_migration_thread(s, cpu);
      return NOTIFY_OK;
    }
    case CPU_DYING:
    case CPU_DYING_FROZEN:
      // Update our root-domain: rq_offline_rt() -> __disable_runtime().
      s.set_rq_offline(cpu);
      return NOTIFY_OK;
    case CPU_DEAD:
    case CPU_DEAD_FROZEN:
      // cpuset_lock() is not modelled: nothing else here takes it.
      s.migrate_live_tasks(cpu);
      s.check_rq(cpu);
      if (s.params.migration_thread_stop === "CPU_DEAD") {
        // 2.6.34 as released: the thread was just moved here by
        // migrate_live_tasks(); it must run on this CPU to exit.
        yield* stop_migration_thread(s, cpu);
      }
      if (s.rq_nr_running(cpu) !== 0) BUG(`CPU ${cpu} is dead but its runqueue still has tasks`);
      return NOTIFY_OK;
    case CPU_POST_DEAD:
      // The fix: by now hrtimer_cpu_notify(CPU_DEAD) has migrated the timers.
      if (s.params.migration_thread_stop === "CPU_POST_DEAD") yield* stop_migration_thread(s, cpu);
      return NOTIFY_OK;
    default:
      // 2.6.34's migration_call ends in "return NOTIFY_OK" for every event.
      return NOTIFY_OK;
  }
}

/** cpuset_track_online_cpus's notifier_block. */
export function cpuset_track_online_cpus_notifier(s: Scheduler): NotifierBlock {
  return sched_notifier(s, "cpuset_track_online_cpus", 0, cpuset_track_online_cpus, cpuset_track_online_cpus_nosleep);
}

/**
 * cpuset_track_online_cpus() (kernel/cpuset.c, CONFIG_CPUSETS): the top
 * cpuset follows cpu_active_mask, and the scheduler rebuilds its domains:
 * partition_sched_domains() re-attaches every active rq to a new root
 * domain, which resets rt_time and rt_throttled on each (README).
 */
function* cpuset_track_online_cpus(nb: NotifierBlock, action: number, cpu: number): KernelCall<number> {
  return cpuset_track_online_cpus_nosleep(nb, action, cpu);
}

/** cpuset_track_online_cpus() never sleeps. */
function cpuset_track_online_cpus_nosleep(nb: NotifierBlock, action: number, _cpu: number): number {
  const s = sched_of(nb);
  switch (action) {
    case CPU_ONLINE:
    case CPU_ONLINE_FROZEN:
    case CPU_DOWN_PREPARE:
    case CPU_DOWN_PREPARE_FROZEN:
    case CPU_DOWN_FAILED:
    case CPU_DOWN_FAILED_FROZEN:
      s.partition_sched_domains(s.k.hotplug.cpu_active_mask);
      return NOTIFY_OK;
    default:
      return NOTIFY_DONE;
  }
}

/** update_runtime's notifier_block. */
export function update_runtime_notifier(s: Scheduler): NotifierBlock {
  return sched_notifier(s, "update_runtime", s.params.update_runtime_priority, update_runtime, update_runtime_nosleep);
}

/**
 * update_runtime(): sched_init_smp's notifier (priority 0): a CPU going down
 * stops lending RT runtime; one coming up (or staying) gets its own back.
 */
function* update_runtime(nb: NotifierBlock, action: number, cpu: number): KernelCall<number> {
  return update_runtime_nosleep(nb, action, cpu);
}

/** update_runtime() never sleeps. */
function update_runtime_nosleep(nb: NotifierBlock, action: number, cpu: number): number {
  const s = sched_of(nb);
  switch (action) {
    case CPU_DOWN_PREPARE:
    case CPU_DOWN_PREPARE_FROZEN:
      s.__disable_runtime(cpu);
      return NOTIFY_OK;
    case CPU_DOWN_FAILED:
    case CPU_DOWN_FAILED_FROZEN:
    case CPU_ONLINE:
    case CPU_ONLINE_FROZEN:
      s.__enable_runtime(cpu);
      return NOTIFY_OK;
    default:
      return NOTIFY_DONE;
  }
}

/**
 * migration_init() (an early_initcall): run migration_call by hand for the
 * boot CPU, then register it. Call from the boot task's process context.
 */
export function* migration_init(s: Scheduler, boot_cpu: number): KernelCall {
  const nb = migration_notifier(s);
  const err = yield* nb.notifier_call(nb, CPU_UP_PREPARE, boot_cpu);
  BUG_ON(err === NOTIFY_BAD, "migration_init: CPU_UP_PREPARE failed for the boot CPU");
  yield* nb.notifier_call(nb, CPU_ONLINE, boot_cpu);
  s.k.hotplug.register_cpu_notifier(nb);
}

/**
 * sched_init_smp(): arch_init_sched_domains(cpu_active_mask), then
 * hotcpu_notifier(update_runtime, 0), and sched_init_granularity() last.
 */
export function sched_init_smp(s: Scheduler): void {
  s.arch_init_sched_domains();
  s.k.hotplug.register_cpu_notifier(update_runtime_notifier(s));
  s.update_sysctl();
}

/**
 * cpuset_init_smp() (from do_basic_setup(), after sched_init_smp and
 * init_workqueues): hotcpu_notifier(cpuset_track_online_cpus, 0), so it
 * runs after update_runtime and workqueue_cpu_callback among the
 * priority-0 notifiers.
 */
export function cpuset_init_smp(s: Scheduler): void {
  s.k.hotplug.register_cpu_notifier(cpuset_track_online_cpus_notifier(s));
}
