#!/usr/bin/env node
/**
 * The bare event loop: the engine's heap and event records with no model
 * behind it, 64 timers re-arming themselves at pseudo-random delays. The
 * yardstick of every events/s figure in `pnpm bench`.
 *
 * Run as a program (`node bench/bare-loop.mjs N`) it runs N events and exits,
 * so that the bench can time it as a whole process, start-up included, the way
 * it times `ksim run`. It imports only @ksim/core.
 */
import { realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { Engine, SimEvent } from "@ksim/core";

/** Runs `n_events` events; returns how many ran. */
export function bare_loop(n_events) {
  const engine = new Engine();
  let x = 12345;
  for (let i = 0; i < 64; i++) {
    const ev = new SimEvent(`e${i}`, (e) => {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      engine.schedule(e, engine.now + 1 + (x & 0xfffff));
    });
    engine.schedule(ev, i);
  }
  engine.run(Number.MAX_SAFE_INTEGER, n_events);
  return engine.events;
}

if (process.argv[1] !== undefined && realpathSync(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const n = Number(process.argv[2]);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error("usage: bare-loop.mjs EVENTS");
  process.stdout.write(`${JSON.stringify({ events: bare_loop(n) })}\n`);
}
