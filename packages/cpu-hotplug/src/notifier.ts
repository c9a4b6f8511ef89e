/**
 * kernel/notifier.c of 2.6.34: the raw notifier chain. A raw chain has no
 * locking of its own; its user serialises it (cpu_chain: cpu_add_remove_lock).
 */
import { BUG, NOTIFY_DONE, NOTIFY_STOP_MASK, run_atomic, type KernelCall, type NotifierBlock } from "@ksim/core";

/** -ENOENT, returned by notifier_chain_unregister for a block not on the chain. */
const ENOENT = 2;

/** The `int *nr_calls` out-parameter of __raw_notifier_call_chain. */
export interface NrCalls {
  value: number;
}

/** struct notifier_block's `next` link, kept beside the block. */
interface ChainNode {
  readonly nb: NotifierBlock;
  next: ChainNode | null;
}

/**
 * One walk of the chain in progress (notifier_call_chain's loop state), so
 * a wait-for explainer can say which notifiers are still to be called.
 */
export interface NotifierWalk {
  readonly action: number;
  readonly v: number;
  /** The notifier being called right now; null between calls. */
  readonly current: NotifierBlock | null;
  /** nr_to_call left, counting the current call (-1: no limit). */
  readonly nr_to_call: number;
}

interface WalkState extends NotifierWalk {
  current: NotifierBlock | null;
  nr_to_call: number;
  /** The node after `current`, read before the call as the kernel does. */
  next: ChainNode | null;
}

/** Told about every call a chain makes: the hotplug log and trace use it. */
export interface NotifierCallObserver {
  notifier_call_begin(nb: NotifierBlock, action: number, v: number): void;
  notifier_call_end(nb: NotifierBlock, action: number, v: number, ret: number): void;
}

/** struct raw_notifier_head */
export class RawNotifierHead {
  private head: ChainNode | null = null;
  private readonly live: WalkState[] = [];
  observer: NotifierCallObserver | null = null;

  /**
   * @param name what the chain is called in messages ("cpu_chain")
   * @param action_name how an action reads in messages (cpu_event_name for cpu_chain)
   */
  constructor(
    readonly name: string,
    readonly action_name: (action: number) => string = (a) => `0x${a.toString(16)}`,
  ) {}

  /**
   * notifier_chain_register(): in front of the first block of strictly lower
   * priority, so higher priorities come first and equal ones keep their
   * registration order.
   */
  notifier_chain_register(n: NotifierBlock): number {
    if (this.contains(n)) BUG(`notifier_chain_register: ${n.name} is already on ${this.name}`);
    let prev: ChainNode | null = null;
    let nl = this.head;
    while (nl !== null) {
      if (n.priority > nl.nb.priority) break;
      prev = nl;
      nl = nl.next;
    }
    const node: ChainNode = { nb: n, next: nl };
    if (prev === null) this.head = node;
    else prev.next = node;
    return 0;
  }

  /**
   * notifier_chain_unregister(): unlinks the block but leaves its own `next`,
   * so a walk that is calling it right now goes on to the right successor.
   */
  notifier_chain_unregister(n: NotifierBlock): number {
    let prev: ChainNode | null = null;
    for (let nl = this.head; nl !== null; prev = nl, nl = nl.next) {
      if (nl.nb !== n) continue;
      if (prev === null) this.head = nl.next;
      else prev.next = nl.next;
      return 0;
    }
    return -ENOENT;
  }

  contains(n: NotifierBlock): boolean {
    for (let nl = this.head; nl !== null; nl = nl.next) if (nl.nb === n) return true;
    return false;
  }

  /** The blocks in calling order. */
  blocks(): NotifierBlock[] {
    const out: NotifierBlock[] = [];
    for (let nl = this.head; nl !== null; nl = nl.next) out.push(nl.nb);
    return out;
  }

  find(name: string): NotifierBlock | null {
    for (let nl = this.head; nl !== null; nl = nl.next) if (nl.nb.name === name) return nl.nb;
    return null;
  }

  /** The walks in progress, innermost last. */
  get walks(): readonly NotifierWalk[] {
    return this.live;
  }

  /**
   * The blocks `walk` will still call after its current one, if none of them
   * stops the chain and nobody changes it meanwhile.
   */
  still_to_call(walk: NotifierWalk): NotifierBlock[] {
    const w = this.live.find((x) => x === walk);
    if (!w) return [];
    const out: NotifierBlock[] = [];
    // nr_to_call counts the current call while one is in progress.
    let left = w.nr_to_call < 0 ? Number.POSITIVE_INFINITY : w.current ? w.nr_to_call - 1 : w.nr_to_call;
    for (let nl = w.next; nl !== null && left > 0; nl = nl.next, left--) out.push(nl.nb);
    return out;
  }

  /**
   * __raw_notifier_call_chain() (notifier_call_chain): calls the blocks in
   * order in the caller's process context, where a callback may block.
   * Stops after a return with NOTIFY_STOP_MASK set or when nr_to_call
   * reaches 0 (-1: call all); counts every call made, the stopping one too.
   * Returns the last callback's value (NOTIFY_DONE if none was called).
   */
  *__raw_notifier_call_chain(
    action: number,
    v: number,
    nr_to_call = -1,
    nr_calls: NrCalls | null = null,
  ): KernelCall<number> {
    let ret = NOTIFY_DONE;
    const w = this.walk_begin(action, v, nr_to_call);
    try {
      let nl = this.head;
      while (nl !== null && w.nr_to_call !== 0) {
        const nb = nl.nb;
        w.next = nl.next;
        w.current = nb;
        this.observer?.notifier_call_begin(nb, action, v);
        const now = nb.notifier_call_nosleep?.(nb, action, v);
        ret = now != null ? now : yield* nb.notifier_call(nb, action, v);
        this.observer?.notifier_call_end(nb, action, v, ret);
        w.current = null;
        if (nr_calls) nr_calls.value++;
        if ((ret & NOTIFY_STOP_MASK) === NOTIFY_STOP_MASK) break;
        nl = w.next;
        w.nr_to_call--;
      }
    } finally {
      this.walk_end(w);
    }
    return ret;
  }

  /** raw_notifier_call_chain(): every block, no count. */
  raw_notifier_call_chain(action: number, v: number): KernelCall<number> {
    return this.__raw_notifier_call_chain(action, v, -1, null);
  }

  /**
   * The same walk with interrupts off (CPU_DYING in take_cpu_down,
   * CPU_STARTING on a CPU coming up): each callback must finish without
   * blocking or consuming CPU time, else it is the kernel's "scheduling
   * while atomic" BUG.
   */
  raw_notifier_call_chain_atomic(action: number, v: number, nr_to_call = -1, nr_calls: NrCalls | null = null): number {
    const walk = this.__raw_notifier_call_chain(action, v, nr_to_call, nr_calls);
    const walks = this.walks;
    return run_atomic(walk, () => `${walks[walks.length - 1]?.current?.name ?? "a notifier"} at ${this.action_name(action)}`);
  }

  private walk_begin(action: number, v: number, nr_to_call: number): WalkState {
    const w: WalkState = { action, v, current: null, nr_to_call, next: this.head };
    this.live.push(w);
    return w;
  }

  private walk_end(w: WalkState): void {
    const i = this.live.lastIndexOf(w);
    if (i >= 0) this.live.splice(i, 1);
  }
}
