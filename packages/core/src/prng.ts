import { uniformFloat64 } from "pure-rand/distribution/uniformFloat64";
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";

type Generator = ReturnType<typeof xoroshiro128plus>;

/** A 32-bit avalanche hash (murmur3 finaliser) to spread seeds and names. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

function hash_name(name: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A seeded stream of random numbers (xoroshiro128+ from pure-rand). Each
 * consumer gets its own stream, derived from the scenario seed and the
 * consumer's name, so a new draw in one place never reshuffles another.
 */
export class Prng {
  private readonly rng: Generator;
  constructor(
    readonly seed: number,
    readonly stream = "",
  ) {
    this.rng = xoroshiro128plus(mix32(mix32(seed >>> 0) ^ hash_name(stream) ^ Math.floor(seed / 2 ** 32)));
  }

  /** An independent stream for `name`, keyed by this stream's seed. */
  split(name: string): Prng {
    return new Prng(this.seed, this.stream ? `${this.stream}/${name}` : name);
  }

  /** Uniform integer in [lo, hi], both included. */
  int(lo: number, hi: number): number {
    return uniformInt(this.rng, lo, hi);
  }

  /** Uniform float in [0, 1). */
  float(): number {
    return uniformFloat64(this.rng);
  }

  /** Uniform integer nanoseconds in [lo, hi]. */
  between(lo: number, hi: number): number {
    if (hi <= lo) return lo;
    // Large ranges (hours in ns) exceed 32 bits: scale a float draw.
    if (hi - lo > 0x7fffffff) return lo + Math.floor(this.float() * (hi - lo + 1));
    return uniformInt(this.rng, lo, hi);
  }

  chance(p: number): boolean {
    return this.float() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new RangeError("pick from an empty list");
    return items[this.int(0, items.length - 1)]!;
  }
}
