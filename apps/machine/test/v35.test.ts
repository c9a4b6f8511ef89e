/**
 * kernel.version through the whole app: the version-only knob refused, the
 * 2.6.35 assembly's state, and 2.6.34's results unchanged and labelled.
 */
import { load_scenario } from "@ksim/scenario";
import { describe, expect, it } from "vitest";
import { main } from "../src/cli.js";
import { KERNEL_SUBSYSTEMS, kernel_assembly } from "../src/kernels.js";
import { build_machine } from "../src/machine.js";

function ksim(...argv: string[]): { code: number; stdout: string; stderr: string } {
  let stdout = "";
  let stderr = "";
  const code = main(argv, {
    stdout: (s) => void (stdout += s),
    stderr: (s) => void (stderr += s),
    exit: () => undefined,
  }) as number;
  return { code, stdout, stderr };
}

describe("kernel.version", () => {
  it("migration_thread_stop under 2.6.35 is refused with exit 2, naming the field and the version", () => {
    const r = ksim("run", "seed-hang", "--set", "kernel.version=2.6.35", "--set", "kernel.migration_thread_stop=CPU_POST_DEAD");
    expect(r.code).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^ksim: seed-hang: kernel\.migration_thread_stop: not a knob of kernel 2\.6\.35: /);
  });

  it("the 2.6.35 assembly: 2.6.35's hotplug and scheduler, cpu_stop between them", () => {
    const { spec } = load_scenario("seed-hang", { sets: ["kernel.version=2.6.35"] });
    const names = [...kernel_assembly(spec, { on_hung: () => undefined }).keys()];
    expect(names).toEqual(KERNEL_SUBSYSTEMS["2.6.35"]);
  });

  it("without @ksim/stop-machine in this build, a 2.6.35 machine is refused at assembly, by name", () => {
    const r = ksim("run", "seed-hang", "--set", "kernel.version=2.6.35");
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      "ksim: seed-hang: kernel.version: kernel 2.6.35 cannot be assembled: its cpu_stop subsystem (kernel/stop_machine.c of 2.6.35, @ksim/stop-machine) is not part of this build of ksim\n",
    );
  });

  it("2.6.34 is the default: seed-hang still hangs, and the report says which kernel and implementations ran", () => {
    const m = build_machine(load_scenario("seed-hang").spec);
    const r = m.run();
    expect(r.outcome).toBe("hang");
    expect(r.kernel.version).toBe("2.6.34");
    expect(r.kernel.subsystems.map((s) => s.name)).toEqual(KERNEL_SUBSYSTEMS["2.6.34"]);
    expect(r.kernel.subsystems.find((s) => s.name === "sched")?.implementation).toContain("2.6.34");
    const text = ksim("run", "seed-hang");
    expect(text.code).toBe(0);
    expect(text.stdout).toContain("kernel: Linux 2.6.34\n  cpu_hotplug   kernel/cpu.c and kernel/notifier.c of 2.6.34\n");
  });
});
