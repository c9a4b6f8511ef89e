import type { WaitEdge, WaitNode } from "./task.js";

/** A subsystem's explanation of the waits it knows about; null if none. */
export type WaitExplainer = (node: WaitNode) => WaitEdge | null;

export function wait_node_name(n: WaitNode): string {
  switch (n.kind) {
    case "task":
      return `task ${n.task.comm}/${n.task.pid}`;
    case "cpu":
      return `cpu ${n.cpu}`;
    case "rt_rq":
      return `rt_rq ${n.cpu}`;
    case "hrtimer":
      return `hrtimer ${n.timer.name}`;
    case "timer":
      return `timer ${n.timer.name}`;
    case "notifier":
      return `notifier ${n.name} (${n.event})`;
    case "other":
      return n.name;
  }
}

export interface WaitChain {
  /** Edges from the start node up to where the chain ends or loops. */
  readonly path: WaitEdge[];
  /** The edges that close a loop, rotated to start at the first looping node; empty if none. */
  readonly cycle: WaitEdge[];
}

/**
 * Collects every subsystem's explainer. Following one edge per node from a
 * blocked task either ends (something will happen by itself) or loops: the
 * loop is the proof of a hang.
 */
export class WaitForGraph {
  private readonly explainers: WaitExplainer[] = [];

  constructor() {
    // A task blocked on a waitable asks the waitable.
    this.add_explainer((n) => {
      if (n.kind !== "task") return null;
      const p = n.task;
      if ((p.state === "D" || p.state === "S") && p.blocked_on?.explain_waiter) {
        return p.blocked_on.explain_waiter(p);
      }
      return null;
    });
  }

  add_explainer(e: WaitExplainer): void {
    this.explainers.push(e);
  }

  explain(n: WaitNode): WaitEdge | null {
    for (const e of this.explainers) {
      const edge = e(n);
      if (edge) return edge;
    }
    return null;
  }

  follow(start: WaitNode, max_edges = 64): WaitChain {
    const path: WaitEdge[] = [];
    const seen = new Map<string, number>();
    let node = start;
    seen.set(wait_node_name(node), 0);
    while (path.length < max_edges) {
      const edge = this.explain(node);
      if (!edge) break;
      path.push(edge);
      const key = wait_node_name(edge.to);
      const at = seen.get(key);
      if (at !== undefined) return { path, cycle: path.slice(at) };
      seen.set(key, path.length);
      node = edge.to;
    }
    return { path, cycle: [] };
  }
}

/** A wait-for node as reports give it: its kind, its name, and the task or CPU it is. */
export interface WaitNodeInfo {
  kind: WaitNode["kind"];
  name: string;
  pid?: number;
  cpu?: number;
}

export function wait_node_info(n: WaitNode): WaitNodeInfo {
  const name = wait_node_name(n);
  switch (n.kind) {
    case "task":
      return { kind: n.kind, name, pid: n.task.pid, cpu: n.task.cpu };
    case "cpu":
    case "rt_rq":
      return { kind: n.kind, name, cpu: n.cpu };
    case "hrtimer":
    case "timer":
      return n.timer.cpu >= 0 ? { kind: n.kind, name, cpu: n.timer.cpu } : { kind: n.kind, name };
    case "notifier":
    case "other":
      return { kind: n.kind, name };
  }
}
