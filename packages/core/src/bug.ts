/**
 * BUG()/WARN() as a first-class outcome. A broken invariant throws a
 * KernelBug; the engine catches it, stops the run and reports outcome "bug"
 * with the message, never a bare exception.
 */
export class KernelBug extends Error {
  override readonly name = "KernelBug";
  /** "BUG" for BUG_ON, "WARNING" for WARN_ON (ksim runs as if panic_on_warn=1). */
  readonly kind: "BUG" | "WARNING";
  constructor(message: string, kind: "BUG" | "WARNING" = "BUG") {
    super(message);
    this.kind = kind;
  }
}

export function BUG(message: string): never {
  throw new KernelBug(message, "BUG");
}

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

export function is_kernel_bug(e: unknown): e is KernelBug {
  return e instanceof KernelBug;
}
