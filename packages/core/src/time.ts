/**
 * Simulated time: integer nanoseconds in a JS number, exact up to 2^53 ns
 * (about 104 days), which bounds every duration ksim accepts.
 */
export type Nanoseconds = number;

export const NSEC_PER_USEC = 1_000;
export const NSEC_PER_MSEC = 1_000_000;
export const NSEC_PER_SEC = 1_000_000_000;
export const NSEC_PER_MIN = 60 * NSEC_PER_SEC;
export const NSEC_PER_HOUR = 60 * NSEC_PER_MIN;
/** The largest time ksim represents exactly. */
export const KTIME_MAX = Number.MAX_SAFE_INTEGER;

const UNITS: Readonly<Record<string, number>> = {
  ns: 1,
  us: NSEC_PER_USEC,
  ms: NSEC_PER_MSEC,
  s: NSEC_PER_SEC,
  m: NSEC_PER_MIN,
  h: NSEC_PER_HOUR,
};

export class DurationError extends Error {
  override readonly name = "DurationError";
}

const DURATION_RE = /^\s*(\d+(?:\.\d+)?|\.\d+)\s*(ns|us|ms|s|m|h)\s*$/;

/** Parses "1500ms", "2.5s", "48h" into whole nanoseconds. */
export function parse_duration(text: string): Nanoseconds {
  if (typeof text !== "string") {
    throw new DurationError(`expected a duration string such as "1500ms" or "2.5s", got ${typeof text}`);
  }
  const m = DURATION_RE.exec(text);
  if (!m) {
    throw new DurationError(
      `expected a duration such as "1500ms", "2.5s" or "48h" (units ns, us, ms, s, m, h), got ${JSON.stringify(text)}`,
    );
  }
  const unit = UNITS[m[2]!]!;
  const [intPart, fracPart = ""] = m[1]!.split(".");
  // Integer arithmetic on the digits, so "0.1s" is exactly 100000000 ns.
  const scale = 10 ** fracPart.length;
  const whole = Number(intPart || "0") * unit;
  const frac = (Number(fracPart || "0") * unit) / scale;
  if (!Number.isInteger(frac)) {
    throw new DurationError(`${JSON.stringify(text)} is not a whole number of nanoseconds`);
  }
  const ns = whole + frac;
  if (!Number.isSafeInteger(ns)) {
    throw new DurationError(`${JSON.stringify(text)} is longer than ksim can represent (about 104 days)`);
  }
  return ns;
}

/** The shortest exact spelling: 1500000000 -> "1.5s", 172800e9 -> "48h". */
export function format_duration(ns: Nanoseconds): string {
  if (!Number.isFinite(ns)) return String(ns);
  if (ns === 0) return "0s";
  const sign = ns < 0 ? "-" : "";
  const abs = Math.abs(ns);
  for (const [name, unit] of [["h", NSEC_PER_HOUR], ["m", NSEC_PER_MIN], ["s", NSEC_PER_SEC], ["ms", NSEC_PER_MSEC], ["us", NSEC_PER_USEC]] as const) {
    if (abs >= unit && (abs * 1000) % unit === 0) return `${sign}${abs / unit}${name}`;
  }
  return `${sign}${abs}ns`;
}

/** The kernel's trace timestamp: seconds.microseconds ("  12.345678"). */
export function format_trace_ts(ns: Nanoseconds): string {
  const secs = Math.floor(ns / NSEC_PER_SEC);
  const usecs = Math.floor((ns % NSEC_PER_SEC) / NSEC_PER_USEC);
  return `${String(secs).padStart(5, " ")}.${String(usecs).padStart(6, "0")}`;
}
