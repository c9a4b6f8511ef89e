/**
 * kernel/cpu.c of 2.6.34: the cpu notifier chain, cpu_up / cpu_down, the
 * online / active / present masks and the get_online_cpus() refcount.
 */
import {
  BUG,
  CPU_DEAD,
  CPU_DOWN_FAILED,
  CPU_DOWN_PREPARE,
  CPU_DYING,
  CPU_ONLINE,
  CPU_POST_DEAD,
  CPU_STARTING,
  CPU_TASKS_FROZEN,
  CPU_UP_CANCELED,
  CPU_UP_PREPARE,
  CpuMask,
  EBUSY,
  EINVAL,
  LocalTimerIrqs,
  Mutex,
  NOTIFY_BAD,
  RUN,
  SCHEDULE,
  cpu_event_name,
  exec_context,
  raw_smp_processor_id,
  current,
  errno_name,
  mutex_lock,
  mutex_unlock,
  notify_name,
  smp_processor_id,
  wait_node_name,
  type CpuHotplugOps,
  type HotplugOpRecord,
  type Kernel,
  type KernelCall,
  type LocalTimerDevice,
  type NotificationRecord,
  type NotifierBlock,
  type TaskStruct,
  type WaitEdge,
  type WaitNode,
  type Waitable,
} from "@ksim/core";
import { RawNotifierHead, type NotifierCallObserver, type NrCalls } from "./notifier.js";

/**
 * CPU time per turn of _cpu_down's idle-wait loop. 2.6.34 only yield()s there;
 * without some time per turn the loop would take no simulated time.
 */
const CPU_RELAX_NS = 1_000;
/** Architecture hooks (arch/x86/kernel/smpboot.c in the kernel). */
export interface CpuHotplugArch {
  /**
   * __cpu_disable(), on the dying CPU with interrupts off: 0 or -errno.
   * x86 of 2.6.34 refuses CPU 0 with -EBUSY; the default refuses nothing.
   */
  cpu_disable?(cpu: number): number;
  /** The part of __cpu_up() that can fail (booting the CPU): 0 or -errno. */
  cpu_up?(cpu: number): number;
}

export interface CpuHotplugOptions {
  /** nr_cpu_ids: CPUs 0..nr_cpus-1 are possible and present. */
  nr_cpus: number;
  /** The CPU online from the start (default 0); the others wait for cpu_up. */
  boot_cpu?: number;
  arch?: CpuHotplugArch;
  /** Most operations `log` keeps (default 100000); the oldest are dropped first. */
  log_limit?: number;
}

type OpName = "cpu_up" | "cpu_down";

/** A return value, as notify_name() writes it, that has NOTIFY_STOP_MASK set. */
const STOPS_CHAIN = /^(NOTIFY_BAD|NOTIFY_STOP|notifier_from_errno\()/;

/** An operation in progress, as the wait-for explainer sees it. */
interface HotplugOp {
  readonly rec: HotplugOpRecord;
  readonly task: TaskStruct;
  /**
   * Events this operation will still send if nothing fails, in order: those
   * of `pending` from `pending_from` on (`pending` is one of the shared
   * DOWN_EVENTS / UP_EVENTS lists, never changed).
   */
  pending: readonly number[];
  pending_from: number;
  /**
   * Where it is when no notifier is being called: a sentence, or an event
   * it is sending, or WHERE_IDLE_WAIT; the sentence is written only when an
   * explainer asks (op_where), not at every step of every operation.
   */
  where: string | number;
}

/** The events cpu_down and cpu_up send if nothing fails, in order. */
const DOWN_EVENTS: readonly number[] = Object.freeze([CPU_DOWN_PREPARE, CPU_DYING, CPU_DEAD, CPU_POST_DEAD]);
const UP_EVENTS: readonly number[] = Object.freeze([CPU_UP_PREPARE, CPU_STARTING, CPU_ONLINE]);
const NO_EVENTS: readonly number[] = Object.freeze([]);
/** HotplugOp.where: _cpu_down waits for the dying CPU to run its idle task. */
const WHERE_IDLE_WAIT = -1;

/** struct cpu_hotplug of kernel/cpu.c. */
export interface CpuHotplugLock {
  active_writer: TaskStruct | null;
  readonly lock: Mutex;
  refcount: number;
}

/**
 * The cpu hotplug subsystem of 2.6.34. cpu_up and cpu_down are blocking
 * calls in the caller's process context; notifier callbacks run there too,
 * except CPU_DYING (on the dying CPU, interrupts off, via stop_machine) and
 * CPU_STARTING (on the new CPU, interrupts off).
 */
export class CpuHotplug implements CpuHotplugOps, NotifierCallObserver {
  readonly cpu_present_mask: CpuMask;
  readonly cpu_online_mask: CpuMask;
  readonly cpu_active_mask: CpuMask;
  readonly cpu_chain = new RawNotifierHead("cpu_chain", cpu_event_name);
  /** Serialises cpu_up / cpu_down and the updates of the masks. */
  readonly cpu_add_remove_lock = new Mutex("cpu_add_remove_lock");
  readonly cpu_hotplug: CpuHotplugLock = {
    active_writer: null,
    lock: new Mutex("cpu_hotplug.lock"),
    refcount: 0,
  };
  /** Set by disable_nonboot_cpus in the kernel; cpu_up/cpu_down then return -EBUSY. */
  cpu_hotplug_disabled = false;
  /** Every operation, oldest first (up to log_limit). */
  readonly log: HotplugOpRecord[] = [];
  /** Operations started so far, including any dropped from `log`. */
  nr_ops = 0;

  readonly nr_cpu_ids: number;
  private readonly arch: CpuHotplugArch;
  private readonly log_limit: number;
  /** The operation that holds cpu_add_remove_lock. */
  private op: HotplugOp | null = null;
  /** Tasks holding a get_online_cpus() reference, one entry per reference. */
  private readonly readers: TaskStruct[] = [];
  /** What cpu_hotplug_begin() sleeps on while readers hold references. */
  private readonly readers_gone: Waitable;
  /** Each CPU's local timer interrupt: masked from __cpu_disable until __cpu_up boots it again. */
  private readonly local_timers: LocalTimerIrqs;
  /**
   * One frozen record per (block, action, return value) seen: a long run
   * logs thousands of operations of a dozen calls each, nearly all alike,
   * and sharing them keeps the log a small part of the heap.
   */
  private readonly cpu_masks: CpuMask[] = [];
  private readonly notification_records = new Map<NotifierBlock, { ret: number; rec: NotificationRecord }[][]>();

  constructor(
    protected readonly k: Kernel,
    opts: CpuHotplugOptions,
  ) {
    const n = opts.nr_cpus;
    if (!(Number.isInteger(n) && n >= 1)) BUG(`CpuHotplug: nr_cpus ${n} is not a positive integer`);
    const boot = opts.boot_cpu ?? 0;
    if (!(Number.isInteger(boot) && boot >= 0 && boot < n)) BUG(`CpuHotplug: boot_cpu ${boot} outside 0..${n - 1}`);
    this.nr_cpu_ids = n;
    this.arch = opts.arch ?? {};
    this.log_limit = opts.log_limit ?? 100_000;
    this.cpu_present_mask = CpuMask.first_n(n);
    this.cpu_online_mask = CpuMask.cpumask_of(boot);
    this.cpu_active_mask = CpuMask.cpumask_of(boot);
    this.local_timers = new LocalTimerIrqs(n, (cpu) => cpu === boot);
    this.cpu_chain.observer = this;
    this.readers_gone = {
      name: "cpu_hotplug.refcount",
      explain_waiter: (w) => this.explain_writer(w),
    };
  }

  /** Registers the wait-for explainer: call once the Kernel record is complete. */
  init(): void {
    this.k.waitfor.add_explainer((n) => this.explain(n));
  }

  // ---- masks (include/linux/cpumask.h) ---------------------------------------

  cpu_online(cpu: number): boolean {
    return this.cpu_online_mask.test_cpu(cpu);
  }

  cpu_active(cpu: number): boolean {
    return this.cpu_active_mask.test_cpu(cpu);
  }

  cpu_present(cpu: number): boolean {
    return this.cpu_present_mask.test_cpu(cpu);
  }

  /** Every present CPU is possible in ksim: no CPUs are hot-added. */
  cpu_possible(cpu: number): boolean {
    return Number.isInteger(cpu) && cpu >= 0 && cpu < this.nr_cpu_ids;
  }

  num_online_cpus(): number {
    return this.cpu_online_mask.weight();
  }

  local_timer_masked(cpu: number): boolean {
    return this.local_timers.is_masked(cpu);
  }

  register_local_timer_device(dev: LocalTimerDevice): void {
    this.local_timers.register(dev);
  }

  set_cpu_online(cpu: number, online: boolean): void {
    if (online) this.cpu_online_mask.set_cpu(cpu);
    else this.cpu_online_mask.clear_cpu(cpu);
    const k = this.k;
    if (k.trace.enabled) k.trace.emit("cpu_online", raw_smp_processor_id(), { target_cpu: cpu, online: online ? 1 : 0 });
  }

  set_cpu_active(cpu: number, active: boolean): void {
    if (active) this.cpu_active_mask.set_cpu(cpu);
    else this.cpu_active_mask.clear_cpu(cpu);
  }

  // ---- the chain ---------------------------------------------------------------

  /**
   * register_cpu_notifier(). The kernel takes cpu_add_remove_lock around the
   * insertion; this interface does not block, so registering from a task
   * while an operation is walking the chain changes the walk as an
   * unlocked raw chain would.
   */
  register_cpu_notifier(nb: NotifierBlock): number {
    return this.cpu_chain.notifier_chain_register(nb);
  }

  unregister_cpu_notifier(nb: NotifierBlock): void {
    this.cpu_chain.notifier_chain_unregister(nb);
  }

  /** NotifierCallObserver: the walk in progress already names the block. */
  notifier_call_begin(): void {}

  notifier_call_end(nb: NotifierBlock, action: number, v: number, ret: number): void {
    const rec = this.notification_record(nb, action, ret);
    this.op?.rec.notifications.push(rec);
    const k = this.k;
    if (k.trace.enabled) {
      k.trace.emit("cpuhp_notify", raw_smp_processor_id(), { event: rec.event, notifier: rec.notifier, ret: rec.ret, target_cpu: v });
    }
  }

  // ---- locking -------------------------------------------------------------------

  /** cpu_maps_update_begin(): mutex_lock(&cpu_add_remove_lock). */
  *cpu_maps_update_begin(): KernelCall {
    yield* mutex_lock(this.cpu_add_remove_lock, "cpu_maps_update_begin");
  }

  cpu_maps_update_done(): void {
    mutex_unlock(this.cpu_add_remove_lock);
  }

  /**
   * get_online_cpus(): keeps CPUs from going away (or coming) while the
   * reference is held. A reader arriving during an operation blocks on
   * cpu_hotplug.lock, which the writer holds; the writer itself passes.
   */
  *get_online_cpus(): KernelCall {
    const p = current();
    const h = this.cpu_hotplug;
    if (h.active_writer === p) return;
    yield* mutex_lock(h.lock, "get_online_cpus");
    h.refcount++;
    this.readers.push(p);
    mutex_unlock(h.lock);
  }

  /** put_online_cpus(): the last reader wakes a writer waiting in cpu_hotplug_begin. */
  *put_online_cpus(): KernelCall {
    const p = current();
    const h = this.cpu_hotplug;
    if (h.active_writer === p) return;
    yield* mutex_lock(h.lock, "put_online_cpus");
    if (h.refcount <= 0) BUG(`put_online_cpus by ${p.name} without get_online_cpus: refcount ${h.refcount}`);
    h.refcount--;
    const i = this.readers.indexOf(p);
    this.readers.splice(i >= 0 ? i : 0, 1);
    if (h.refcount === 0 && h.active_writer) this.k.sched.wake_up_process(h.active_writer);
    mutex_unlock(h.lock);
  }

  /**
   * cpu_hotplug_begin(): the writer takes cpu_hotplug.lock once no reader
   * holds a reference, sleeping in D until put_online_cpus wakes it.
   */
  private *cpu_hotplug_begin(): KernelCall {
    const p = current();
    const h = this.cpu_hotplug;
    h.active_writer = p;
    for (;;) {
      yield* mutex_lock(h.lock, "cpu_hotplug_begin");
      if (h.refcount === 0) break;
      p.state = "D";
      p.blocked_on = this.readers_gone;
      p.wchan = "cpu_hotplug_begin";
      mutex_unlock(h.lock);
      yield SCHEDULE;
    }
  }

  private cpu_hotplug_done(): void {
    this.cpu_hotplug.active_writer = null;
    mutex_unlock(this.cpu_hotplug.lock);
  }

  // ---- cpu_down ------------------------------------------------------------------

  /** cpu_down(): 0, or -EBUSY / -EINVAL (or an arch error) with the CPU left online. */
  *cpu_down(cpu: number): KernelCall<number> {
    const op = this.op_begin("cpu_down", cpu);
    const sm = this.k.stop_machine;
    // stop_machine_create(): the kstop threads exist only around each cpu_down.
    if (sm.stop_machine_create) {
      op.where = "in stop_machine_create";
      const err = yield* sm.stop_machine_create();
      if (err) {
        this.op_end(op, err);
        return err;
      }
    }
    yield* this.cpu_maps_update_begin();
    this.op_locked(op, DOWN_EVENTS);
    let err: number;
    if (this.cpu_hotplug_disabled) err = -EBUSY;
    else err = yield* this._cpu_down(cpu, false, op);
    this.op_unlocked(op);
    this.cpu_maps_update_done();
    if (sm.stop_machine_destroy) {
      op.where = "in stop_machine_destroy";
      yield* sm.stop_machine_destroy();
    }
    this.op_end(op, err);
    return err;
  }

  /** _cpu_down(): requires cpu_add_remove_lock. */
  private *_cpu_down(cpu: number, tasks_frozen: boolean, op: HotplugOp): KernelCall<number> {
    const k = this.k;
    const mod = tasks_frozen ? CPU_TASKS_FROZEN : 0;
    const nr_calls: NrCalls = { value: 0 };

    if (this.num_online_cpus() === 1) return -EBUSY;
    if (!this.cpu_online(cpu)) return -EINVAL;

    op.where = "in cpu_hotplug_begin, waiting for get_online_cpus() readers";
    yield* this.cpu_hotplug_begin();
    this.set_cpu_active(cpu, false);
    this.op_reached(op, CPU_DOWN_PREPARE);
    let err = this.prepare_error(yield* this.cpu_chain.__raw_notifier_call_chain(CPU_DOWN_PREPARE | mod, cpu, -1, nr_calls));
    if (err) {
      this.set_cpu_active(cpu, true);
      op.pending = NO_EVENTS;
      // The notifier that refused hears nothing more.
      nr_calls.value--;
      yield* this.cpu_chain.__raw_notifier_call_chain(CPU_DOWN_FAILED | mod, cpu, nr_calls.value, null);
      this.printk(`_cpu_down: attempt to take down CPU ${cpu} failed`);
      this.cpu_hotplug_done();
      return err;
    }

    const restore_allowed = this.keep_caller_off(current());

    op.where = "in stop_machine(take_cpu_down)";
    err = yield* k.stop_machine.stop_machine(() => this.take_cpu_down(cpu, mod, op), this.cpumask_of(cpu));
    if (err) {
      this.set_cpu_active(cpu, true);
      op.pending = NO_EVENTS;
      // The CPU did not die: everyone hears it, nobody may refuse.
      if (this.nofail_refused(yield* this.cpu_chain.raw_notifier_call_chain(CPU_DOWN_FAILED | mod, cpu))) {
        BUG(`_cpu_down(${cpu}): a notifier returned NOTIFY_BAD at CPU_DOWN_FAILED`);
      }
    } else {
      if (this.cpu_online(cpu)) BUG(`_cpu_down(${cpu}): CPU still online after take_cpu_down`);

      // Wait for the dying CPU to switch to its idle task: yield(), plus a cpu_relax() worth of time.
      op.where = WHERE_IDLE_WAIT;
      while (!k.sched.idle_cpu(cpu)) {
        yield SCHEDULE;
        yield RUN(CPU_RELAX_NS);
      }

      this.__cpu_die(cpu);

      // Too late to refuse: the CPU is gone.
      this.op_reached(op, CPU_DEAD);
      if (this.nofail_refused(yield* this.cpu_chain.raw_notifier_call_chain(CPU_DEAD | mod, cpu))) {
        BUG(`_cpu_down(${cpu}): a notifier returned NOTIFY_BAD at CPU_DEAD`);
      }
      this.check_for_tasks(cpu);
    }

    // out_allowed:
    restore_allowed?.();
    // out_release: CPU_POST_DEAD runs without cpu_hotplug.lock, under cpu_add_remove_lock.
    this.cpu_hotplug_done();
    if (!err) {
      this.op_reached(op, CPU_POST_DEAD);
      if (this.nofail_refused(yield* this.cpu_chain.raw_notifier_call_chain(CPU_POST_DEAD | mod, cpu))) {
        BUG(`_cpu_down(${cpu}): a notifier returned NOTIFY_BAD at CPU_POST_DEAD`);
      }
    }
    return err;
  }

  /**
   * The error a CPU_DOWN_PREPARE or CPU_UP_PREPARE walk ends with, 0 to go
   * on. 2.6.34 tests `err == NOTIFY_BAD` and returns -EINVAL; any other
   * stop (an errno a notifier returned) lets the operation continue.
   */
  protected prepare_error(ret: number): number {
    return ret === NOTIFY_BAD ? -EINVAL : 0;
  }

  /** A chain walk that may not fail did (CPU_DEAD, CPU_POST_DEAD, CPU_DOWN_FAILED): 2.6.34 BUGs on NOTIFY_BAD. */
  protected nofail_refused(ret: number): boolean {
    return ret === NOTIFY_BAD;
  }

  /**
   * _cpu_down() of 2.6.34: "Ensure that we are not runnable on dying cpu":
   * the caller's affinity becomes cpu_active_mask; the returned function
   * restores it (out_allowed).
   */
  protected keep_caller_off(p: TaskStruct): (() => void) | null {
    const k = this.k;
    const old_allowed = p.cpus_allowed.clone();
    k.sched.set_cpus_allowed_ptr(p, this.cpu_active_mask);
    return () => k.sched.set_cpus_allowed_ptr(p, old_allowed);
  }

  /** take_cpu_down()'s part for the cpu_down caller after CPU_DYING: nothing in 2.6.34 (its affinity kept it off). */
  protected take_caller_off(_cpu: number, _caller: TaskStruct): void {}

  /** take_cpu_down(): stop_machine runs it on the dying CPU with interrupts off. */
  private take_cpu_down(cpu: number, mod: number, op: HotplugOp): number {
    if (smp_processor_id() !== cpu) BUG(`take_cpu_down(${cpu}) runs on CPU ${smp_processor_id()}`);
    const err = this.__cpu_disable(cpu);
    if (err < 0) return err;
    this.op_reached(op, CPU_DYING);
    this.cpu_chain.raw_notifier_call_chain_atomic(CPU_DYING | mod, cpu);
    this.take_caller_off(cpu, op.task);
    // The idle task runs as soon as the stopper lets go.
    this.k.sched.sched_idle_next();
    return 0;
  }

  /**
   * __cpu_disable(): x86's native_cpu_disable() masks the local timer
   * (clear_local_APIC) before the CPU leaves cpu_online_mask, so its clock
   * event devices are silent before the CPU_DYING chain runs.
   */
  private __cpu_disable(cpu: number): number {
    const err = this.arch.cpu_disable?.(cpu) ?? 0;
    if (err < 0) return err;
    this.local_timers.set_masked(cpu, true);
    this.set_cpu_online(cpu, false);
    return 0;
  }

  /** __cpu_die(): x86 polls (msleep(100), at most 10 times) for the CPU to report dead; ksim's is at once. */
  private __cpu_die(cpu: number): void {
    if (!this.k.sched.idle_cpu(cpu)) BUG(`__cpu_die(${cpu}): the CPU is not idle`);
  }

  /** check_for_tasks(): warn about runnable tasks that ran and are still on the dead CPU. */
  private check_for_tasks(cpu: number): void {
    for (const p of this.k.sched.for_each_process()) {
      if (p.cpu === cpu && p.state === "R" && p.se.sum_exec_runtime > 0) {
        this.printk(`Task ${p.comm} (pid = ${p.pid}) is on cpu ${cpu} (state = ${p.state}, flags = ${p.flags.toString(16)})`);
      }
    }
  }

  // ---- cpu_up --------------------------------------------------------------------

  /** cpu_up(): 0, or -EINVAL (online, not possible, or refused at CPU_UP_PREPARE), -EBUSY. */
  *cpu_up(cpu: number): KernelCall<number> {
    const op = this.op_begin("cpu_up", cpu);
    let err: number;
    if (!this.cpu_possible(cpu)) {
      this.printk(`can't online cpu ${cpu} because it is not configured as may-hotadd at boot time`);
      err = -EINVAL;
    } else {
      yield* this.cpu_maps_update_begin();
      this.op_locked(op, UP_EVENTS);
      if (this.cpu_hotplug_disabled) err = -EBUSY;
      else err = yield* this._cpu_up(cpu, false, op);
      this.op_unlocked(op);
      this.cpu_maps_update_done();
    }
    this.op_end(op, err);
    return err;
  }

  /** _cpu_up(): requires cpu_add_remove_lock. */
  private *_cpu_up(cpu: number, tasks_frozen: boolean, op: HotplugOp): KernelCall<number> {
    const mod = tasks_frozen ? CPU_TASKS_FROZEN : 0;
    const nr_calls: NrCalls = { value: 0 };

    if (this.cpu_online(cpu) || !this.cpu_present(cpu)) return -EINVAL;

    op.where = "in cpu_hotplug_begin, waiting for get_online_cpus() readers";
    yield* this.cpu_hotplug_begin();
    this.op_reached(op, CPU_UP_PREPARE);
    let ret = this.prepare_error(yield* this.cpu_chain.__raw_notifier_call_chain(CPU_UP_PREPARE | mod, cpu, -1, nr_calls));
    if (ret) {
      nr_calls.value--;
      this.printk(`_cpu_up: attempt to bring up CPU ${cpu} failed`);
    } else {
      ret = this.__cpu_up(cpu, op);
      if (ret === 0) {
        if (!this.cpu_online(cpu)) BUG(`_cpu_up(${cpu}): CPU not online after __cpu_up`);
        this.set_cpu_active(cpu, true);
        this.op_reached(op, CPU_ONLINE);
        yield* this.cpu_chain.raw_notifier_call_chain(CPU_ONLINE | mod, cpu);
      }
    }
    // out_notify:
    if (ret !== 0) {
      op.pending = NO_EVENTS;
      yield* this.cpu_chain.__raw_notifier_call_chain(CPU_UP_CANCELED | mod, cpu, nr_calls.value, null);
    }
    this.cpu_hotplug_done();
    return ret;
  }

  /**
   * __cpu_up(): the new CPU runs start_secondary(), which calls
   * notify_cpu_starting() on itself with interrupts off and then marks
   * itself online; the caller waits for that.
   */
  private __cpu_up(cpu: number, op: HotplugOp): number {
    const err = this.arch.cpu_up?.(cpu) ?? 0;
    if (err !== 0) return err;
    const ctx = exec_context();
    const saved_task = ctx.task;
    const saved_cpu = ctx.cpu;
    ctx.task = this.k.sched.cpu_curr(cpu);
    ctx.cpu = cpu;
    try {
      // smp_callin(): setup_local_APIC() before notify_cpu_starting().
      this.local_timers.set_masked(cpu, false);
      this.op_reached(op, CPU_STARTING);
      this.notify_cpu_starting(cpu);
      this.set_cpu_online(cpu, true);
    } finally {
      ctx.task = saved_task;
      ctx.cpu = saved_cpu;
    }
    // The new CPU's idle loop calls schedule().
    this.k.sched.resched_cpu(cpu);
    return 0;
  }

  /** notify_cpu_starting(): CPU_STARTING on the new CPU, interrupts off. */
  notify_cpu_starting(cpu: number): void {
    this.cpu_chain.raw_notifier_call_chain_atomic(CPU_STARTING, cpu);
  }

  /** smp_init(): brings up every present CPU that is not online yet, in order. */
  *smp_init(): KernelCall<number> {
    let up = 0;
    for (let cpu = this.cpu_present_mask.first(); cpu >= 0; cpu = this.cpu_present_mask.next(cpu + 1)) {
      if (this.cpu_online(cpu)) continue;
      if ((yield* this.cpu_up(cpu)) === 0) up++;
    }
    return up;
  }

  // ---- the log -------------------------------------------------------------------

  /** The shared record of `nb` returning `ret` for `action`. */
  private notification_record(nb: NotifierBlock, action: number, ret: number): NotificationRecord {
    let by_action = this.notification_records.get(nb);
    if (by_action === undefined) this.notification_records.set(nb, (by_action = []));
    // A block answers an action with one or two return values: a short list.
    const seen = (by_action[action] ??= []);
    for (const r of seen) if (r.ret === ret) return r.rec;
    const rec = Object.freeze({ event: cpu_event_name(action), notifier: nb.name, ret: notify_name(ret) });
    seen.push({ ret, rec });
    return rec;
  }

  /** cpumask_of(cpu), made once per CPU: stop_machine() copies what it is given. */
  private cpumask_of(cpu: number): CpuMask {
    return (this.cpu_masks[cpu] ??= CpuMask.cpumask_of(cpu));
  }

  /** printk(): into the machine's kernel log. */
  private printk(line: string): void {
    this.k.printk(line);
  }

  private op_begin(name: OpName, cpu: number): HotplugOp {
    const p = current();
    const rec: HotplugOpRecord = {
      op: name,
      cpu,
      from_cpu: smp_processor_id(),
      pid: p.pid,
      start_ns: this.k.engine.now,
      end_ns: null,
      result: "incomplete",
      notifications: [],
    };
    if (this.log.length >= this.log_limit) this.log.shift();
    this.log.push(rec);
    this.nr_ops++;
    const k = this.k;
    if (k.trace.enabled) k.trace.emit("cpuhp_op", raw_smp_processor_id(), { op: name, target_cpu: cpu, phase: "begin", result: "incomplete" });
    return { rec, task: p, pending: NO_EVENTS, pending_from: 0, where: "waiting for cpu_add_remove_lock" };
  }

  /** The operation holds cpu_add_remove_lock and will send `events`. */
  private op_locked(op: HotplugOp, events: readonly number[]): void {
    if (this.op !== null) BUG(`${op.rec.op}(${op.rec.cpu}) holds cpu_add_remove_lock while another operation is in progress`);
    this.op = op;
    op.pending = events;
    op.pending_from = 0;
    op.where = "about to begin";
  }

  /** The operation is about to send `event`: it and the events before it are no longer pending. */
  private op_reached(op: HotplugOp, event: number): void {
    const i = op.pending.indexOf(event, op.pending_from);
    if (i >= 0) op.pending_from = i + 1;
    op.where = event;
  }

  /** About to drop cpu_add_remove_lock: the next operation may take over. */
  private op_unlocked(op: HotplugOp): void {
    op.pending = NO_EVENTS;
    if (this.op === op) this.op = null;
  }

  private op_end(op: HotplugOp, err: number): void {
    op.rec.end_ns = this.k.engine.now;
    op.rec.result = err === 0 ? "ok" : errno_name(err);
    this.op_unlocked(op);
    const k = this.k;
    if (k.trace.enabled) {
      k.trace.emit("cpuhp_op", raw_smp_processor_id(), { op: op.rec.op, target_cpu: op.rec.cpu, phase: "end", result: op.rec.result });
    }
  }

  // ---- wait-for ------------------------------------------------------------------

  /**
   * A notifier not yet called waits for the task running the operation:
   * either the caller is inside an earlier notifier of the same chain, or
   * it has not reached that event yet.
   */
  explain(node: WaitNode): WaitEdge | null {
    if (node.kind !== "notifier") return null;
    const op = this.op;
    if (!op) return null;
    const nb = this.cpu_chain.find(node.name);
    if (!nb) return null;
    const task = op.task;
    const who = `${op.rec.op}(${op.rec.cpu}) in task ${task.comm}/${task.pid}`;
    const to: WaitNode = { kind: "task", task };
    const walks = this.cpu_chain.walks;
    for (let i = walks.length - 1; i >= 0; i--) {
      const w = walks[i]!;
      if (cpu_event_name(w.action) !== node.event) continue;
      if (!this.cpu_chain.still_to_call(w).includes(nb)) return null;
      const cur = w.current;
      const because = cur
        ? `${who} is ${blocked(task) ? "blocked" : "running"} in ${cur.name} (priority ${cur.priority}), which runs before ${nb.name} (priority ${nb.priority}) in the ${node.event} chain`
        : `${who} is walking the ${node.event} chain and has not called ${nb.name} yet`;
      return { from: node, to, because };
    }
    if (op.pending.slice(op.pending_from).some((a) => cpu_event_name(a) === node.event)) {
      return { from: node, to, because: `${who} has not sent ${node.event} yet: it is ${this.op_position(op)}` };
    }
    return this.explain_cut(op, nb, node);
  }

  /**
   * The event was sent and its walk is over without calling `nb`: a callback
   * before it returned with NOTIFY_STOP_MASK set, which ends the walk
   * (notifier_call_chain). `nb` waits on that callback, for good.
   */
  private explain_cut(op: HotplugOp, nb: NotifierBlock, node: WaitNode & { kind: "notifier" }): WaitEdge | null {
    let last: NotificationRecord | null = null;
    for (const r of op.rec.notifications) {
      if (r.event !== node.event) continue;
      if (r.notifier === nb.name) return null;
      last = r;
    }
    const stopper = last ? this.cpu_chain.find(last.notifier) : null;
    if (!last || !stopper || !STOPS_CHAIN.test(last.ret)) return null;
    return {
      from: node,
      to: { kind: "notifier", name: stopper.name, event: node.event },
      because:
        `${op.rec.op}(${op.rec.cpu})'s ${node.event} chain stopped at ${stopper.name} (priority ${stopper.priority}), ` +
        `which returned ${last.ret}: ${nb.name} (priority ${nb.priority}) is not called for CPU ${op.rec.cpu}`,
    };
  }

  /** Where the operation is, for a `because`. */
  private op_position(op: HotplugOp): string {
    const walks = this.cpu_chain.walks;
    const w = walks[walks.length - 1];
    if (w?.current) {
      const state = blocked(op.task) ? "blocked" : "running";
      return `${state} in ${w.current.name} (priority ${w.current.priority}) in the ${cpu_event_name(w.action)} chain`;
    }
    return op_where(op);
  }

  /** cpu_hotplug_begin's sleep: the writer waits for a reader to put its reference. */
  private explain_writer(waiter: TaskStruct): WaitEdge | null {
    const reader = this.readers[0];
    if (!reader) return null;
    const from: WaitNode = { kind: "task", task: waiter };
    const to: WaitNode = { kind: "task", task: reader };
    return {
      from,
      to,
      because: `${waiter.comm}/${waiter.pid} waits in cpu_hotplug_begin for ${this.cpu_hotplug.refcount} get_online_cpus() reference(s); ${wait_node_name(to)} holds one`,
    };
  }
}

/** HotplugOp.where as a sentence. */
function op_where(op: HotplugOp): string {
  const w = op.where;
  if (typeof w === "string") return w;
  if (w === WHERE_IDLE_WAIT) return `waiting for CPU ${op.rec.cpu} to run its idle task`;
  return `sending ${cpu_event_name(w)}`;
}

function blocked(p: TaskStruct): boolean {
  return p.state === "D" || p.state === "S";
}
