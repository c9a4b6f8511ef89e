/**
 * BUG()/WARN() as a first-class outcome. A broken invariant throws a
 * KernelBug; the engine catches it, stops the run and reports outcome "bug"
 * with the message, never a bare exception.
 *
 * The engine recognises a KernelBug by a registered symbol, not instanceof:
 * a BUG raised through one copy of @ksim/core must end a run driven by
 * another copy's engine.
 */
const KERNEL_BUG = Symbol.for("@ksim/core:KernelBug");

export type KernelBugKind = "BUG" | "WARNING";

export class KernelBug extends Error {
  override readonly name = "KernelBug";
  /** "BUG" for BUG_ON, "WARNING" for WARN_ON (ksim runs as if panic_on_warn=1). */
  readonly kind: KernelBugKind;
  readonly [KERNEL_BUG] = true;
  constructor(message: string, kind: KernelBugKind = "BUG") {
    super(message);
    this.kind = kind;
  }
}

export function BUG(message: string): never {
  throw new KernelBug(message, "BUG");
}

/**
 * The message is built before the call, true or not: where it interpolates
 * values, write `if (condition) BUG(...)` so that a hot path builds no string.
 */
export function BUG_ON(condition: boolean, message: string): void {
  if (condition) throw new KernelBug(message, "BUG");
}

/**
 * The kernel prints a warning and goes on; a simulator that is trusted to
 * say "this fix holds" stops instead, as with panic_on_warn.
 */
export function WARN_ON(condition: boolean, message: string): void {
  if (condition) throw new KernelBug(message, "WARNING");
}

/** True for a KernelBug from any copy of @ksim/core. */
export function is_kernel_bug(e: unknown): e is KernelBug {
  return typeof e === "object" && e !== null && (e as { [KERNEL_BUG]?: unknown })[KERNEL_BUG] === true;
}
