import { describe, expect, it } from "vitest";
import { Engine, SimEvent, type TiePolicy } from "../src/index.js";

/** Three events at 10 (a, b, c in that order), one at 20 that a schedules at 10 while it fires. */
function setup(e: Engine, fired: string[]): void {
  const d = new SimEvent("d", () => fired.push("d"));
  const a = new SimEvent("a", () => {
    fired.push("a");
    e.schedule(d, 10);
  });
  e.schedule(a, 10);
  e.schedule(new SimEvent("b", () => fired.push("b")), 10);
  e.schedule(new SimEvent("c", () => fired.push("c")), 10);
  e.schedule(new SimEvent("z", () => fired.push("z")), 20);
}

describe("tie policy", () => {
  it("without one, equal times fire in sequence order", () => {
    const e = new Engine();
    const fired: string[] = [];
    setup(e, fired);
    e.run(100);
    expect(fired).toEqual(["a", "b", "c", "d", "z"]);
  });

  it("chooses among every event due at the instant, including those scheduled during it", () => {
    const e = new Engine();
    const fired: string[] = [];
    const asked: string[][] = [];
    const ended: number[] = [];
    const last: TiePolicy = {
      choose(due) {
        asked.push(due.map((x) => x.name));
        return due.length - 1;
      },
      instant_end(now) {
        ended.push(now);
      },
    };
    e.tie_policy = last;
    setup(e, fired);
    e.run(100);
    expect(fired).toEqual(["c", "b", "a", "d", "z"]);
    expect(asked).toEqual([
      ["a", "b", "c"],
      ["a", "b"],
    ]);
    // d is alone once a has fired: no choice, but the instant ends only after it.
    expect(ended).toEqual([10]);
  });

  it("an instant with a choice that the run ends on is ended too", () => {
    const e = new Engine();
    const ended: number[] = [];
    e.tie_policy = { choose: () => 1, instant_end: (now) => ended.push(now) };
    e.schedule(new SimEvent("a", () => {}), 7);
    e.schedule(new SimEvent("b", () => {}), 7);
    expect(e.run(Number.MAX_SAFE_INTEGER)).toBe("drained");
    expect(ended).toEqual([7]);
  });

  it("a policy that stops the run at the end of an instant fires nothing later", () => {
    const e = new Engine();
    const fired: string[] = [];
    e.tie_policy = { choose: () => 0, instant_end: () => e.stop("seen") };
    setup(e, fired);
    expect(e.run(100)).toBe("stopped");
    expect(fired).toEqual(["a", "b", "c", "d"]);
  });
});
