/**
 * rt-app's resources as the threads of a user process see them: pthread
 * mutexes and condition variables, barriers and semaphores. Each is a futex
 * underneath, so a waiter sleeps in TASK_INTERRUPTIBLE (futex_wait_queue_me)
 * and khungtaskd, which only looks at D, never reports it. Each wait says
 * what it waits for: a task blocked on a mutex waits for the node
 * `mutex <name>`, which waits for the owner (the edge rt_app_deadlock
 * follows).
 */
import {
  block_on,
  current,
  Mutex,
  mutex_unlock,
  SCHEDULE,
  unblock,
  WaitQueueHead,
  type KernelCall,
  type TaskStruct,
  type Waitable,
  type WaitEdge,
} from "@ksim/core";

/** Where a futex waiter sleeps, as /proc/<pid>/wchan shows it. */
export const FUTEX_WCHAN = "futex_wait_queue_me";

/** A pthread mutex: core's Mutex (owner, FIFO hand-off) with a wait-for node of its own. */
export class UserMutex extends Mutex {
  /** `mutex <name>`, the wait-for node between waiters and the owner. */
  readonly node: string;
  constructor(name: string) {
    super(name);
    this.node = `mutex ${name}`;
  }
  override explain_waiter(waiter: TaskStruct): WaitEdge | null {
    return {
      from: { kind: "task", task: waiter },
      to: { kind: "other", name: this.node },
      because: `${waiter.name} waits in pthread_mutex_lock(${this.name})`,
    };
  }
  /** The node's own edge: the mutex waits for whoever holds it. */
  explain_node(): WaitEdge | null {
    if (!this.owner) return null;
    return {
      from: { kind: "other", name: this.node },
      to: { kind: "task", task: this.owner },
      because: `${this.name} is held by ${this.owner.name}`,
    };
  }
}

/** A pthread condition variable: a wait queue whose waiters wait for `cond <name>`. */
export class UserCond extends WaitQueueHead {
  constructor(name: string) {
    super(name, (waiter) => ({
      from: { kind: "task", task: waiter },
      to: { kind: "other", name: `cond ${name}` },
      because: `${waiter.name} waits in pthread_cond_wait(${name}) for a signal`,
    }));
  }
}

/**
 * pthread_mutex_lock(): FIFO hand-off by core's mutex_unlock. Locking a
 * default mutex one already holds deadlocks the thread on itself, which the
 * wait-for graph shows as a cycle of one thread.
 */
export function* user_mutex_lock(m: UserMutex): KernelCall {
  const p = current();
  if (m.owner === p) {
    for (;;) {
      block_on(p, m, m.waiters, "S", FUTEX_WCHAN);
      yield SCHEDULE;
    }
  }
  while (m.owner !== null && m.owner !== p) {
    block_on(p, m, m.waiters, "S", FUTEX_WCHAN);
    yield SCHEDULE;
  }
  unblock(p, m.waiters);
  m.owner = p;
}

/** pthread_mutex_unlock(): core's mutex_unlock (an unlock by a non-owner is a bug there). */
export function user_mutex_unlock(m: UserMutex): void {
  mutex_unlock(m);
}

/** futex_wait(): sleep on `waiters` (for `on`) until a waker takes the caller off the list. */
function* futex_wait(on: Waitable, waiters: TaskStruct[]): KernelCall {
  const p = current();
  block_on(p, on, waiters, "S", FUTEX_WCHAN);
  while (waiters.includes(p)) {
    p.state = "S";
    yield SCHEDULE;
  }
  unblock(p, waiters);
}

/** futex_wake() of every waiter, longest first. */
function futex_wake_all(waiters: TaskStruct[]): void {
  for (const p of waiters.splice(0)) p.waker.wake_up_process(p);
}

/** pthread_cond_wait(): drop the mutex, sleep until signalled, take the mutex again. */
export function* user_cond_wait(c: UserCond, m: UserMutex): KernelCall {
  user_mutex_unlock(m);
  yield* futex_wait(c, c.waiters);
  yield* user_mutex_lock(m);
}

/** pthread_cond_signal(): the longest waiter. */
export function user_cond_signal(c: UserCond): void {
  const p = c.waiters.shift();
  if (p) p.waker.wake_up_process(p);
}

/** pthread_cond_broadcast(): every waiter. */
export function user_cond_broadcast(c: UserCond): void {
  futex_wake_all(c.waiters);
}

/** A POSIX semaphore (sem_post / sem_wait), initial count 0. */
export class UserSem {
  count = 0;
  readonly waiters: TaskStruct[] = [];
  constructor(readonly name: string) {}
  explain_waiter(waiter: TaskStruct): WaitEdge | null {
    return {
      from: { kind: "task", task: waiter },
      to: { kind: "other", name: `sem ${this.name}` },
      because: `${waiter.name} waits in sem_wait(${this.name}) for a sem_post`,
    };
  }
}

export function* user_sem_wait(s: UserSem): KernelCall {
  const p = current();
  while (s.count === 0) {
    block_on(p, s, s.waiters, "S", FUTEX_WCHAN);
    yield SCHEDULE;
  }
  unblock(p, s.waiters);
  s.count--;
}

export function user_sem_post(s: UserSem): void {
  s.count++;
  const p = s.waiters.shift();
  if (p) p.waker.wake_up_process(p);
}

/**
 * rt-app's barrier: its own mutex and condition, and the count of users
 * still to arrive (users - 1 when nobody waits). The last to arrive
 * broadcasts; the others wait.
 */
export class UserBarrier {
  readonly mutex: UserMutex;
  readonly cond: UserCond;
  constructor(
    readonly name: string,
    public waiting: number,
  ) {
    this.mutex = new UserMutex(`barrier:${name}`);
    this.cond = new UserCond(`barrier:${name}`);
  }
}

export function* user_barrier(b: UserBarrier): KernelCall {
  yield* user_mutex_lock(b.mutex);
  if (b.waiting === 0) {
    user_cond_broadcast(b.cond);
  } else {
    b.waiting--;
    yield* user_cond_wait(b.cond, b.mutex);
    b.waiting++;
  }
  user_mutex_unlock(b.mutex);
}

/**
 * A pthread_barrier_t of `count` threads (glibc's: one futex). Those that
 * arrive before the last sleep on it; the last one wakes them all and goes
 * on. rt-app's main() holds its threads on one until every thread it
 * created at start has run.
 */
export class PthreadBarrier {
  readonly waiters: TaskStruct[] = [];
  constructor(
    readonly name: string,
    public left: number,
  ) {}
  explain_waiter(waiter: TaskStruct): WaitEdge | null {
    return {
      from: { kind: "task", task: waiter },
      to: { kind: "other", name: `pthread_barrier ${this.name}` },
      because: `${waiter.name} waits in pthread_barrier_wait(${this.name}) for ${this.left} more thread(s)`,
    };
  }
}

export function* pthread_barrier_wait(b: PthreadBarrier): KernelCall {
  b.left--;
  if (b.left <= 0) futex_wake_all(b.waiters);
  else yield* futex_wait(b, b.waiters);
}
