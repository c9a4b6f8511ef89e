import { BUG } from "./bug.js";
import { current, exec_context, in_atomic } from "./context.js";
import { SCHEDULE, type KernelCall } from "./effects.js";
import type { TaskStruct, WaitEdge, WaitExplain, Waitable } from "./task.js";

/** wait_queue_head_t */
export class WaitQueueHead implements Waitable {
  readonly waiters: TaskStruct[] = [];
  constructor(
    readonly name: string,
    private readonly explain?: WaitExplain,
  ) {}
  explain_waiter(waiter: TaskStruct): WaitEdge | null {
    return this.explain ? this.explain(waiter) : null;
  }
}

const COMPLETE_ALL = Number.MAX_SAFE_INTEGER;

/** struct completion */
export class Completion implements Waitable {
  done = 0;
  readonly waiters: TaskStruct[] = [];
  constructor(
    readonly name: string,
    private readonly explain?: WaitExplain,
  ) {}
  explain_waiter(waiter: TaskStruct): WaitEdge | null {
    return this.explain ? this.explain(waiter) : null;
  }
}

/**
 * A task goes to sleep on `on` (in `state`, blocked in `wchan`): the
 * bookkeeping every sleeping primitive shares, its own or a package's. The
 * caller then yields SCHEDULE.
 */
export function block_on(p: TaskStruct, on: Waitable, waiters: TaskStruct[], state: "S" | "D", wchan: string): void {
  p.state = state;
  p.blocked_on = on;
  p.wchan = wchan;
  if (!waiters.includes(p)) waiters.push(p);
}

/** The woken task leaves the waiters and is blocked on nothing. */
export function unblock(p: TaskStruct, waiters: TaskStruct[]): void {
  const i = waiters.indexOf(p);
  if (i >= 0) waiters.splice(i, 1);
  p.blocked_on = null;
  p.wchan = null;
}

/** wait_for_completion(): TASK_UNINTERRUPTIBLE, no timeout. */
export function* wait_for_completion(x: Completion, wchan = "wait_for_completion"): KernelCall {
  const p = current();
  while (x.done === 0) {
    block_on(p, x, x.waiters, "D", wchan);
    yield SCHEDULE;
  }
  unblock(p, x.waiters);
  if (x.done !== COMPLETE_ALL) x.done--;
}

/** complete(): wakes one waiter, in the order they started waiting. */
export function complete(x: Completion): void {
  if (x.done !== COMPLETE_ALL) x.done++;
  const p = x.waiters.shift();
  if (p) p.waker.wake_up_process(p);
}

/** complete_all(): every waiter, now and later, passes. */
export function complete_all(x: Completion): void {
  x.done = COMPLETE_ALL;
  const ws = x.waiters.splice(0);
  for (const p of ws) p.waker.wake_up_process(p);
}

export function completion_done(x: Completion): boolean {
  return x.done > 0;
}

export function init_completion(x: Completion): void {
  x.done = 0;
}

/** wait_event(): sleep in `state` until `condition()` holds when woken. */
export function* wait_event(
  wq: WaitQueueHead,
  condition: () => boolean,
  state: "S" | "D" = "D",
  wchan = "wait_event",
): KernelCall {
  const p = current();
  while (!condition()) {
    block_on(p, wq, wq.waiters, state, wchan);
    yield SCHEDULE;
  }
  unblock(p, wq.waiters);
}

/** wake_up(): wakes every waiter; each re-checks its condition. */
export function wake_up(wq: WaitQueueHead): void {
  const ws = wq.waiters.splice(0);
  for (const p of ws) p.waker.wake_up_process(p);
}

/** True while code runs in a task's process context (may block). */
export function can_sleep(): boolean {
  return exec_context().task !== null && !in_atomic();
}

/**
 * struct mutex: sleeping lock with an owner, FIFO hand-off. A task blocked
 * on it waits for the owner, which is what the wait-for graph follows.
 */
export class Mutex implements Waitable {
  owner: TaskStruct | null = null;
  readonly waiters: TaskStruct[] = [];
  constructor(readonly name: string) {}
  explain_waiter(waiter: TaskStruct): WaitEdge | null {
    if (!this.owner) return null;
    return {
      from: { kind: "task", task: waiter },
      to: { kind: "task", task: this.owner },
      because: `${waiter.comm}/${waiter.pid} waits for ${this.name}, held by ${this.owner.comm}/${this.owner.pid}`,
    };
  }
}

export function* mutex_lock(m: Mutex, wchan = "mutex_lock"): KernelCall {
  const p = current();
  if (m.owner === p) BUG(`recursive mutex_lock of ${m.name} by ${p.comm}/${p.pid}`);
  while (m.owner !== null && m.owner !== p) {
    block_on(p, m, m.waiters, "D", wchan);
    yield SCHEDULE;
  }
  unblock(p, m.waiters);
  m.owner = p;
}

export function mutex_unlock(m: Mutex): void {
  const p = exec_context().task;
  if (m.owner === null || m.owner !== p) BUG(`mutex_unlock of ${m.name} by a task that does not hold it`);
  // Hand the lock straight to the first waiter, so it cannot be stolen.
  const next = m.waiters.shift() ?? null;
  m.owner = next;
  if (next) next.waker.wake_up_process(next);
}

export function mutex_is_locked(m: Mutex): boolean {
  return m.owner !== null;
}
