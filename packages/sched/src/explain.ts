import { rt_policy, type HrTimer, type Kernel, type RtRqStats, type TaskStruct, type WaitEdge, type WaitNode } from "@ksim/core";
import { RUNTIME_INF, type RtRq } from "./rq.js";

/** What the explanations read of the scheduler (sched.ts registers them: no import back). */
export interface ExplainedSched {
  readonly k: Kernel;
  readonly rt_rqs: readonly RtRq[];
  readonly rt_period_timer: HrTimer;
  /** def_rt_bandwidth: sched_rt_period_us and sched_rt_runtime_us, in ns. */
  readonly rt_period: number;
  readonly rt_runtime: number;
  cpu_curr(cpu: number): TaskStruct;
  rt_rq_stats(cpu: number): RtRqStats;
}

const ms = (ns: number): string => `${(ns / 1e6).toFixed(3).replace(/\.?0+$/, "")} ms`;

function describe_policy(s: ExplainedSched, cpu: number): string {
  const p = s.cpu_curr(cpu);
  return rt_policy(p.policy) ? `${p.policy} ${p.rt_priority}` : p.policy;
}

/**
 * While an RT task holds a CPU, what RT bandwidth leaves to the other
 * classes: the rt_rq's use of its runtime this period. A runtime grown to the
 * whole period (borrowed from the root domain's other CPUs) never throttles.
 */
function rt_budget(s: ExplainedSched, cpu: number): string {
  if (!rt_policy(s.cpu_curr(cpu).policy)) return "";
  const v = s.rt_rq_stats(cpu);
  if (v.rt_runtime === RUNTIME_INF) return `; rt_rq ${cpu} has no runtime limit`;
  let all = "";
  if (v.rt_runtime >= s.rt_period) {
    const borrowed = v.rt_runtime > s.rt_runtime ? " (borrowed from other CPUs of its root domain)" : "";
    all = `: the whole period${borrowed}, so it never throttles`;
  }
  return `; rt_rq ${cpu} has run ${ms(v.rt_time)} of its ${ms(v.rt_runtime)} runtime this period${all}`;
}

/**
 * The scheduler's side of the wait-for graph: a runnable task that does not
 * run waits for its CPU; a CPU holding queued RT tasks while throttled waits
 * for its rt_rq; a throttled rt_rq waits for sched_rt_period_timer; a task
 * queued on a dead CPU waits for migration_call(CPU_DEAD).
 */
export function sched_explainer(s: ExplainedSched): (n: WaitNode) => WaitEdge | null {
  return (n) => {
    switch (n.kind) {
      case "task": {
        const p = n.task;
        // A sleeper's hrtimer stranded on a dead CPU's base (hrtimer_nanosleep).
        const t = p.sleep_timer;
        if (p.state === "S" && p.wchan === "hrtimer_nanosleep" && t !== null && s.k.hrtimer.hrtimer_is_queued(t)) {
          if (s.k.hotplug.cpu_online(t.cpu)) return null;
          return {
            from: n,
            to: { kind: "hrtimer", timer: t },
            because: `${p.comm}/${p.pid} sleeps until its hrtimer fires, and that timer is queued on offline CPU ${t.cpu}`,
          };
        }
        if (p.state !== "R" || p.on_cpu || !p.on_rq) return null;
        // Only a wait the RT class causes is a wait: CFS gives every
        // runnable NORMAL task its turn by itself.
        const curr = s.cpu_curr(p.cpu);
        const rt_blocked = rt_policy(p.policy)
          ? s.rt_rqs[p.cpu]!.rt_throttled || !s.k.hotplug.cpu_online(p.cpu) || (rt_policy(curr.policy) && curr.prio <= p.prio)
          : rt_policy(curr.policy) || !s.k.hotplug.cpu_online(p.cpu);
        if (!rt_blocked) return null;
        const kind = rt_policy(p.policy) ? `${p.policy} ${p.rt_priority}` : `${p.policy}`;
        return {
          from: n,
          to: { kind: "cpu", cpu: p.cpu },
          because: `${p.comm}/${p.pid} (${kind}) is runnable on CPU ${p.cpu} but does not run`,
        };
      }
      case "cpu": {
        const cpu = n.cpu;
        if (!s.k.hotplug.cpu_online(cpu)) {
          return {
            from: n,
            to: { kind: "notifier", name: "migration_call", event: "CPU_DEAD" },
            because: `CPU ${cpu} is offline; tasks left on its runqueue move only when migration_call(CPU_DEAD) migrates them`,
          };
        }
        const rt = s.rt_rqs[cpu]!;
        if (rt.rt_throttled && rt.rt_nr_running > 0) {
          return {
            from: n,
            to: { kind: "rt_rq", cpu },
            because: `CPU ${cpu} runs no RT task while rt_rq ${cpu} is throttled`,
          };
        }
        const curr = s.cpu_curr(cpu);
        if (curr.pid === 0) return null;
        return {
          from: n,
          to: { kind: "task", task: curr },
          because: `CPU ${cpu} is running ${curr.comm}/${curr.pid} (${describe_policy(s, cpu)})${rt_budget(s, cpu)}`,
        };
      }
      case "rt_rq": {
        const view = s.rt_rq_stats(n.cpu);
        if (!view.rt_throttled) return null;
        const t = s.rt_period_timer;
        const budget = view.rt_runtime === RUNTIME_INF ? "no limit" : ms(view.rt_runtime);
        if (!s.k.hrtimer.hrtimer_active(t)) {
          return {
            from: n,
            to: { kind: "other", name: "nothing (sched_rt_period_timer is not armed)" },
            because: `rt_rq ${n.cpu} is throttled and no period timer is armed to replenish it`,
          };
        }
        return {
          from: n,
          to: { kind: "hrtimer", timer: t },
          because: `rt_rq ${n.cpu} is throttled (rt_time ${ms(view.rt_time)} > rt_runtime ${budget}); only sched_rt_period_timer replenishes it`,
        };
      }
      default:
        return null;
    }
  };
}
