import { describe, expect, it } from "vitest";
import { AssemblyError, order_initcalls, type Initcall, type Subsystem } from "../src/index.js";

function subsystem(name: string, initcalls: Initcall[]): Subsystem {
  return { name, implementation: "test", initcalls };
}

const call = (name: string, after?: string[]): Initcall => ({ name, level: "core", ...(after ? { after } : {}), fn: () => {} });

describe("order_initcalls", () => {
  it("orders by what each initcall comes after, also when the same names were ordered before with other dependencies", () => {
    const first = order_initcalls([subsystem("s", [call("x"), call("y", ["x"])])]);
    expect(first.map((c) => c.name)).toEqual(["x", "y"]);
    const again = [call("x"), call("y", ["x"])];
    // A second machine of the same declarations gets its own initcalls, in the same order.
    expect(order_initcalls([subsystem("s", again)])).toEqual(again);
    const swapped = order_initcalls([subsystem("s", [call("x", ["y"]), call("y")])]);
    expect(swapped.map((c) => c.name)).toEqual(["y", "x"]);
  });

  it("after_if_present orders after an initcall the machine has, and ignores one it has not", () => {
    const cpuset: Initcall = { name: "cpuset_init_smp", level: "core", after_if_present: ["init_workqueues"], fn: () => {} };
    const both = order_initcalls([subsystem("sched", [cpuset]), subsystem("wq", [call("init_workqueues")])]);
    expect(both.map((c) => c.name)).toEqual(["init_workqueues", "cpuset_init_smp"]);
    // The same names without the soft dependency keep subsystem order: the cache must tell them apart.
    const plain = order_initcalls([subsystem("sched", [call("cpuset_init_smp")]), subsystem("wq", [call("init_workqueues")])]);
    expect(plain.map((c) => c.name)).toEqual(["cpuset_init_smp", "init_workqueues"]);
    expect(order_initcalls([subsystem("sched", [cpuset])]).map((c) => c.name)).toEqual(["cpuset_init_smp"]);
  });

  it("refuses initcalls that wait for each other, every time", () => {
    const cyclic = () => order_initcalls([subsystem("s", [call("x", ["y"]), call("y", ["x"])])]);
    expect(cyclic).toThrow(AssemblyError);
    expect(cyclic).toThrow(AssemblyError);
  });
});
