/** NR_CPUS of ksim: the scenario format allows 1..256 CPUs. */
export const NR_CPUS = 256;
const WORDS = NR_CPUS / 32;

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** struct cpumask: a fixed bitmap of NR_CPUS bits. */
export class CpuMask {
  readonly bits = new Uint32Array(WORDS);

  static of(cpus: Iterable<number>): CpuMask {
    const m = new CpuMask();
    for (const c of cpus) m.set_cpu(c);
    return m;
  }

  /** cpumask_of(cpu) */
  static cpumask_of(cpu: number): CpuMask {
    return new CpuMask().set_cpu(cpu);
  }

  /** The first `n` CPUs, 0..n-1. */
  static first_n(n: number): CpuMask {
    const m = new CpuMask();
    for (let c = 0; c < n; c++) m.set_cpu(c);
    return m;
  }

  clone(): CpuMask {
    const m = new CpuMask();
    m.bits.set(this.bits);
    return m;
  }

  /** Word by word: TypedArray.prototype.set is a call into the runtime that costs more than the 8 words. */
  copy(from: CpuMask): this {
    const d = this.bits;
    const s = from.bits;
    for (let i = 0; i < WORDS; i++) d[i] = s[i]!;
    return this;
  }

  set_cpu(cpu: number): this {
    check_cpu(cpu);
    this.bits[cpu >>> 5]! |= 1 << (cpu & 31);
    return this;
  }

  clear_cpu(cpu: number): this {
    check_cpu(cpu);
    this.bits[cpu >>> 5]! &= ~(1 << (cpu & 31));
    return this;
  }

  test_cpu(cpu: number): boolean {
    if (cpu < 0 || cpu >= NR_CPUS) return false;
    return (this.bits[cpu >>> 5]! & (1 << (cpu & 31))) !== 0;
  }

  weight(): number {
    let n = 0;
    for (let i = 0; i < WORDS; i++) n += popcount(this.bits[i]!);
    return n;
  }

  is_empty(): boolean {
    for (let i = 0; i < WORDS; i++) if (this.bits[i] !== 0) return false;
    return true;
  }

  /** The first set CPU at or after `from`, or -1 (cpumask_next): a word at a time, the lowest bit by clz32. */
  next(from = 0): number {
    if (from < 0) from = 0;
    if (from >= NR_CPUS) return -1;
    let i = from >>> 5;
    // The word of `from` without the bits below it.
    let w = this.bits[i]! & (-1 << (from & 31));
    while (w === 0) {
      if (++i === WORDS) return -1;
      w = this.bits[i]!;
    }
    return i * 32 + (31 - Math.clz32(w & -w));
  }

  /** The first CPU at or after `from` set in both masks, or -1 (cpumask_next_and). */
  next_and(other: CpuMask, from = 0): number {
    if (from < 0) from = 0;
    if (from >= NR_CPUS) return -1;
    let i = from >>> 5;
    let w = this.bits[i]! & other.bits[i]! & (-1 << (from & 31));
    while (w === 0) {
      if (++i === WORDS) return -1;
      w = this.bits[i]! & other.bits[i]!;
    }
    return i * 32 + (31 - Math.clz32(w & -w));
  }

  first(): number {
    return this.next(0);
  }

  /** cpumask_first_and(this, other), or -1. */
  first_and(other: CpuMask): number {
    for (let i = 0; i < WORDS; i++) {
      const w = this.bits[i]! & other.bits[i]!;
      if (w !== 0) return i * 32 + (31 - Math.clz32(w & -w));
    }
    return -1;
  }

  intersects(other: CpuMask): boolean {
    for (let i = 0; i < WORDS; i++) if ((this.bits[i]! & other.bits[i]!) !== 0) return true;
    return false;
  }

  and(other: CpuMask): CpuMask {
    const m = new CpuMask();
    for (let i = 0; i < WORDS; i++) m.bits[i] = this.bits[i]! & other.bits[i]!;
    return m;
  }

  or(other: CpuMask): CpuMask {
    const m = new CpuMask();
    for (let i = 0; i < WORDS; i++) m.bits[i] = this.bits[i]! | other.bits[i]!;
    return m;
  }

  equals(other: CpuMask): boolean {
    for (let i = 0; i < WORDS; i++) if (this.bits[i] !== other.bits[i]) return false;
    return true;
  }

  to_list(): number[] {
    const out: number[] = [];
    for (let c = this.next(0); c >= 0; c = this.next(c + 1)) out.push(c);
    return out;
  }

  /** The kernel's cpulist format: "0-3,6". */
  toString(): string {
    const parts: string[] = [];
    const cpus = this.to_list();
    for (let i = 0; i < cpus.length; ) {
      let j = i;
      while (j + 1 < cpus.length && cpus[j + 1] === cpus[j]! + 1) j++;
      parts.push(i === j ? `${cpus[i]}` : `${cpus[i]}-${cpus[j]}`);
      i = j + 1;
    }
    return parts.join(",");
  }
}

function check_cpu(cpu: number): void {
  if (!Number.isInteger(cpu) || cpu < 0 || cpu >= NR_CPUS) {
    throw new RangeError(`cpu ${cpu} is outside 0..${NR_CPUS - 1}`);
  }
}
