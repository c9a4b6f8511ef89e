#!/usr/bin/env node
/**
 * Where an event's cost goes, by kind (the README's "Where the misses
 * stand"): each event's handler is timed with process.hrtime around it, and
 * the time is summed by the event's name without its CPU ("hrtick/3" is an
 * hrtick). The timing adds a fixed cost to every event (printed, measured
 * alone), so compare kinds and machines with each other, not with the bench.
 *
 *   node apps/machine/bench/kinds.mjs stress [hours]          patched seed-stress (6 h)
 *   node apps/machine/bench/kinds.mjs scale CPUS [from] [to]  the scaling machine, events from..to (250 k..1 M)
 */
import { Engine } from "@ksim/core";
import { scale_scenario } from "./children.mjs";

const lib = await import("../dist/index.js");
const [mode = "stress", a, b, c] = process.argv.slice(2);

/** Every event, once, gets a handler that times the one it had. */
const kinds = new Map();
let on = false;
const enqueue = Engine.prototype.enqueue;
Engine.prototype.enqueue = function (ev) {
  if (!Object.hasOwn(ev, "timed")) {
    const fire = ev.fire;
    const kind = ev.name.replace(/\/\d+$/, "");
    Object.defineProperty(ev, "fire", {
      value: (e) => {
        if (!on) return fire(e);
        const t0 = process.hrtime.bigint();
        fire(e);
        const k = kinds.get(kind) ?? kinds.set(kind, { n: 0, ns: 0n }).get(kind);
        k.n++;
        k.ns += process.hrtime.bigint() - t0;
      },
    });
    Object.defineProperty(ev, "timed", { value: true });
  }
  return enqueue.call(this, ev);
};

let m;
let from = 0;
let to;
if (mode === "stress") {
  const { spec } = lib.load_scenario("seed-stress", { sets: ["kernel.migration_thread_stop=CPU_POST_DEAD"], duration: `${Number(a ?? 6)}h`, seed: 1 });
  m = lib.build_machine(spec);
} else if (mode === "scale") {
  m = lib.build_machine(lib.parse_scenario(scale_scenario(Number(a)), `bench-scale-${a}`));
  from = Number(b ?? 250_000);
  to = Number(c ?? 1_000_000);
} else {
  throw new Error("usage: kinds.mjs stress [hours] | scale CPUS [from] [to]");
}
if (from > 0) m.run({ max_events: from });
on = true;
const t0 = process.hrtime.bigint();
m.run(to === undefined ? {} : { max_events: to });
const total_us = Number(process.hrtime.bigint() - t0) / 1e3;

let timer_us = 0;
{
  const N = 1_000_000;
  let s = 0n;
  for (let i = 0; i < N; i++) {
    const t = process.hrtime.bigint();
    s += process.hrtime.bigint() - t;
  }
  timer_us = Number(s) / 1e3 / N;
}
let n = 0;
let in_us = 0;
for (const k of kinds.values()) {
  n += k.n;
  in_us += Number(k.ns) / 1e3;
}
const f = (x) => x.toFixed(3);
console.log(`${mode} ${a ?? ""}: ${n} events; ${f(total_us / n)} us an event in all, ${f(in_us / n)} in handlers, ${f((total_us - in_us) / n)} outside them; the timing reads ${f(timer_us)} us inside each handler's figure`);
const rows = [...kinds].sort((x, y) => Number(y[1].ns - x[1].ns)).slice(0, 10);
for (const [kind, k] of rows) {
  const us = Number(k.ns) / 1e3;
  console.log(`  ${kind.padEnd(20)} ${String(k.n).padStart(9)} events ${((100 * k.n) / n).toFixed(1).padStart(5)} %  ${f(us / k.n).padStart(7)} us each  ${((100 * us) / in_us).toFixed(1).padStart(5)} % of handler time`);
}
