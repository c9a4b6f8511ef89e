import { BUG, CpuMask, NR_CPUS } from "@ksim/core";
import { CpuPri } from "./cpupri.js";

/** The machine's shape: `kernel.topology` of a scenario. CPUs are numbered package by package, core by core. */
export interface Topology {
  packages: number;
  cores_per_package: number;
  threads_per_core: number;
}

/** include/linux/sched.h of 2.6.34: sched_domain flags. */
export const SD_LOAD_BALANCE = 0x0001;
export const SD_BALANCE_NEWIDLE = 0x0002;
export const SD_BALANCE_EXEC = 0x0004;
export const SD_BALANCE_FORK = 0x0008;
export const SD_BALANCE_WAKE = 0x0010;
export const SD_WAKE_AFFINE = 0x0020;
export const SD_PREFER_LOCAL = 0x0040;
export const SD_SHARE_CPUPOWER = 0x0080;
export const SD_POWERSAVINGS_BALANCE = 0x0100;
export const SD_SHARE_PKG_RESOURCES = 0x0200;
export const SD_SERIALIZE = 0x0400;
export const SD_PREFER_SIBLING = 0x1000;

/** SCHED_LOAD_SCALE: the power of one full CPU. */
export const SCHED_LOAD_SCALE = 1024;

export type SdLevel = "SIBLING" | "MC" | "CPU";

/** The tunables of one level: SD_SIBLING_INIT, SD_MC_INIT, SD_CPU_INIT (include/linux/topology.h). */
interface SdInit {
  min_interval: number;
  max_interval: number;
  busy_factor: number;
  imbalance_pct: number;
  cache_nice_tries: number;
  busy_idx: number;
  idle_idx: number;
  newidle_idx: number;
  wake_idx: number;
  forkexec_idx: number;
  flags: number;
  smt_gain: number;
}

const LB_FLAGS = SD_LOAD_BALANCE | SD_BALANCE_NEWIDLE | SD_BALANCE_EXEC | SD_BALANCE_FORK | SD_WAKE_AFFINE;

/**
 * The 2.6.34 initialisers with sched_mc_power_savings and
 * sched_smt_power_savings at 0: sd_balance_for_mc_power() and
 * sd_balance_for_package_power() then give SD_PREFER_SIBLING, and
 * sd_power_saving_flags() nothing.
 */
const SD_INIT: Readonly<Record<SdLevel, SdInit>> = {
  SIBLING: {
    min_interval: 1, max_interval: 2, busy_factor: 64, imbalance_pct: 110, cache_nice_tries: 0,
    busy_idx: 0, idle_idx: 0, newidle_idx: 0, wake_idx: 0, forkexec_idx: 0,
    flags: LB_FLAGS | SD_SHARE_CPUPOWER | SD_SHARE_PKG_RESOURCES, smt_gain: 1178,
  },
  MC: {
    min_interval: 1, max_interval: 4, busy_factor: 64, imbalance_pct: 125, cache_nice_tries: 1,
    busy_idx: 2, idle_idx: 0, newidle_idx: 0, wake_idx: 0, forkexec_idx: 0,
    flags: LB_FLAGS | SD_SHARE_PKG_RESOURCES | SD_PREFER_SIBLING, smt_gain: 0,
  },
  CPU: {
    min_interval: 1, max_interval: 4, busy_factor: 64, imbalance_pct: 125, cache_nice_tries: 1,
    busy_idx: 2, idle_idx: 1, newidle_idx: 0, wake_idx: 0, forkexec_idx: 0,
    flags: LB_FLAGS | SD_PREFER_SIBLING, smt_gain: 0,
  },
};

/**
 * The largest *_idx of any level: rq->cpu_load[type - 1] is read for a type
 * up to this, so cpu_load[] entries from it on are never read (2.6.34
 * updates all CPU_LOAD_IDX_MAX of them; ksim keeps those that count).
 */
export const SD_LOAD_IDX_MAX = Math.max(
  ...Object.values(SD_INIT).map((i) => Math.max(i.busy_idx, i.idle_idx, i.newidle_idx, i.wake_idx, i.forkexec_idx)),
);

/** struct sched_group: the CPUs balanced as one unit at a level, and their power. */
export class SchedGroup {
  cpu_power = 0;
  /** The group's first CPU and how many it has (its mask never changes): a one-CPU group is read without a walk. */
  readonly first_cpu: number;
  readonly nr_cpus: number;
  constructor(readonly cpus: CpuMask) {
    this.first_cpu = cpus.first();
    this.nr_cpus = cpus.weight();
  }
}

/** struct sched_domain: one CPU's view of one level. */
export class SchedDomain {
  readonly min_interval: number;
  readonly max_interval: number;
  readonly busy_factor: number;
  readonly imbalance_pct: number;
  readonly cache_nice_tries: number;
  readonly busy_idx: number;
  readonly idle_idx: number;
  readonly newidle_idx: number;
  readonly wake_idx: number;
  readonly forkexec_idx: number;
  readonly smt_gain: number;
  flags: number;
  parent: SchedDomain | null = null;
  child: SchedDomain | null = null;
  /** ms; doubles while balanced, back to min_interval after a move. */
  balance_interval = 1;
  /** jiffies */
  last_balance = 0;
  nr_balance_failed = 0;

  /**
   * Every group is one CPU of capacity 1: load_balance() may skip a balance
   * that cannot find a busiest group, and find_busiest_group() need not
   * visit every group.
   */
  readonly single_cpu_groups: boolean;
  /** Every group has the power of one whole CPU, SCHED_LOAD_SCALE (no SMT sharing). */
  readonly unit_power: boolean;
  /** The sum of the groups' cpu_power (sds.total_pwr of a whole walk). */
  readonly total_power: number;
  /** The index in `groups` of each CPU's group (-1: not in the span; CPUs up to nr_cpu_ids). */
  readonly cpu_group: Int16Array;
  readonly span: CpuMask;
  /** The level's groups, shared by the CPUs of the span, in CPU order. */
  readonly groups: readonly SchedGroup[];

  constructor(
    readonly level: SdLevel,
    block: DomainBlock,
    /** sd->groups: this CPU's own group; the kernel's walks start there. */
    readonly first_group: number,
    jiffies: number,
  ) {
    const init = SD_INIT[level];
    this.min_interval = init.min_interval;
    this.max_interval = init.max_interval;
    this.busy_factor = init.busy_factor;
    this.imbalance_pct = init.imbalance_pct;
    this.cache_nice_tries = init.cache_nice_tries;
    this.busy_idx = init.busy_idx;
    this.idle_idx = init.idle_idx;
    this.newidle_idx = init.newidle_idx;
    this.wake_idx = init.wake_idx;
    this.forkexec_idx = init.forkexec_idx;
    this.smt_gain = init.smt_gain;
    this.flags = init.flags;
    this.last_balance = jiffies;
    this.span = block.span;
    this.groups = block.groups;
    this.single_cpu_groups = block.single_cpu_groups;
    this.unit_power = block.unit_power;
    this.total_power = block.total_power;
    this.cpu_group = block.cpu_group;
  }
}

/**
 * One block of CPUs of one level as __build_sched_domains lays it out for
 * a cpu_map: the span and groups its domains share, and what the balancer
 * reads of them. Never changed once built.
 */
export interface DomainBlock {
  readonly span: CpuMask;
  readonly groups: readonly SchedGroup[];
  readonly cpu_group: Int16Array;
  readonly single_cpu_groups: boolean;
  readonly unit_power: boolean;
  readonly total_power: number;
}

function domain_block(span: CpuMask, groups: readonly SchedGroup[], nr: number): DomainBlock {
  return {
    span,
    groups,
    cpu_group: group_index(groups, nr),
    single_cpu_groups: groups.every((g) => g.cpus.weight() === 1 && g.cpu_power * 2 >= SCHED_LOAD_SCALE),
    unit_power: groups.every((g) => g.cpu_power === SCHED_LOAD_SCALE),
    total_power: groups.reduce((sum, g) => sum + g.cpu_power, 0),
  };
}

/** Each CPU's index in `groups` (-1: in none), for CPUs 0..nr-1. */
export function group_index(groups: readonly SchedGroup[], nr: number = NR_CPUS): Int16Array {
  const index = new Int16Array(nr).fill(-1);
  groups.forEach((g, k) => {
    for (let c = g.cpus.first(); c >= 0; c = g.cpus.next(c + 1)) index[c] = k;
  });
  return index;
}

/**
 * struct root_domain: the CPUs of one domain partition; RT balancing and
 * RT runtime borrowing stay inside its span.
 */
export class RootDomain {
  readonly span = new CpuMask();
  /** rq->online CPUs of the span. */
  readonly online = new CpuMask();
  /** CPUs with more than one RT task, one of them migratable. */
  readonly rto_mask = new CpuMask();
  rto_count = 0;
  readonly cpupri: CpuPri;
  constructor(nr_cpus: number) {
    this.cpupri = new CpuPri(nr_cpus);
  }
}

/** The default topology: one package of `cpus` cores. */
export function default_topology(cpus: number): Topology {
  return { packages: 1, cores_per_package: cpus, threads_per_core: 1 };
}

export function check_topology(t: Topology, cpus: number): void {
  const n = t.packages * t.cores_per_package * t.threads_per_core;
  if (n !== cpus) BUG(`topology ${t.packages}x${t.cores_per_package}x${t.threads_per_core} has ${n} CPUs, not ${cpus}`);
}

/** cpu_smt_mask(), cpu_coregroup_mask() and the node's span: the block of CPUs of one level around `cpu`. */
function level_block(t: Topology, level: SdLevel, cpu: number, nr: number): { first: number; per: number } {
  const per = level === "SIBLING" ? t.threads_per_core : level === "MC" ? t.threads_per_core * t.cores_per_package : nr;
  return { first: Math.floor(cpu / per) * per, per };
}

function level_span(t: Topology, level: SdLevel, cpu: number, nr: number, cpu_map: CpuMask): CpuMask {
  const { first, per } = level_block(t, level, cpu, nr);
  const m = new CpuMask();
  for (let c = first; c < first + per && c < nr; c++) if (cpu_map.test_cpu(c)) m.set_cpu(c);
  return m;
}

/** level_span(...).weight() without making the mask. */
function level_weight(t: Topology, level: SdLevel, cpu: number, nr: number, cpu_map: CpuMask): number {
  const { first, per } = level_block(t, level, cpu, nr);
  let w = 0;
  for (let c = first; c < first + per && c < nr; c++) if (cpu_map.test_cpu(c)) w++;
  return w;
}

/**
 * The group of one CPU of a given power, by CPU and power, shared by every
 * layout that has it (groups never change once built): a hotplug operation
 * on a machine whose cpu_map is seldom the same twice would otherwise make
 * one per CPU, and one SIBLING block per CPU, at every rebuild.
 */
const single_groups: Map<number, SchedGroup>[] = [];

function single_cpu_group(cpu: number, power: number): SchedGroup {
  const by_power = (single_groups[cpu] ??= new Map());
  let g = by_power.get(power);
  if (!g) {
    g = new SchedGroup(CpuMask.cpumask_of(cpu));
    g.cpu_power = power;
    by_power.set(power, g);
  }
  return g;
}

/** The blocks of one CPU (span and only group that CPU), by CPU count, CPU and power: shared as single_cpu_group() is. */
const single_blocks = new Map<number, Map<number, DomainBlock>[]>();

function single_cpu_block(cpu: number, power: number, nr: number): DomainBlock {
  let by_cpu = single_blocks.get(nr);
  if (!by_cpu) single_blocks.set(nr, (by_cpu = []));
  const by_power = (by_cpu[cpu] ??= new Map());
  let b = by_power.get(power);
  if (!b) {
    const g = single_cpu_group(cpu, power);
    b = domain_block(g.cpus, [g], nr);
    by_power.set(power, b);
  }
  return b;
}

const CHILD: Readonly<Record<SdLevel, SdLevel | null>> = { SIBLING: null, MC: "SIBLING", CPU: "MC" };

/**
 * build_sched_groups(): a level's groups are the child level's spans (the
 * SIBLING level's are single CPUs), in CPU order, each with the power of
 * its CPUs. All the CPUs of the span share them, as the kernel's circular
 * list is shared; each domain starts at its own group.
 */
function build_groups(t: Topology, level: SdLevel, span: CpuMask, nr: number, cpu_map: CpuMask, power: readonly number[]): SchedGroup[] {
  const child = CHILD[level];
  const groups: SchedGroup[] = [];
  const seen = new CpuMask();
  for (let c = span.first(); c >= 0; c = span.next(c + 1)) {
    if (seen.test_cpu(c)) continue;
    if (child === null || level_weight(t, child, c, nr, cpu_map) === 1) {
      seen.set_cpu(c);
      groups.push(single_cpu_group(c, power[c]!));
      continue;
    }
    const cpus = level_span(t, child, c, nr, cpu_map);
    const g = new SchedGroup(cpus);
    for (let i = cpus.first(); i >= 0; i = cpus.next(i + 1)) {
      seen.set_cpu(i);
      g.cpu_power += power[i]!;
    }
    groups.push(g);
  }
  return groups;
}

const GROUP_FLAGS = SD_LOAD_BALANCE | SD_BALANCE_NEWIDLE | SD_BALANCE_FORK | SD_BALANCE_EXEC | SD_SHARE_CPUPOWER | SD_SHARE_PKG_RESOURCES;

/** sd_degenerate() */
function sd_degenerate(sd: SchedDomain): boolean {
  if (sd.span.weight() === 1) return true;
  if (sd.flags & GROUP_FLAGS && sd.groups.length > 1) return false;
  if (sd.flags & SD_WAKE_AFFINE) return false;
  return true;
}

/** sd_parent_degenerate(): one node, so SD_SERIALIZE does not count either. */
function sd_parent_degenerate(sd: SchedDomain, parent: SchedDomain): boolean {
  if (sd_degenerate(parent)) return true;
  if (!sd.span.equals(parent.span)) return false;
  let pflags = parent.flags;
  if (parent.groups.length === 1) pflags &= ~(GROUP_FLAGS | SD_SERIALIZE);
  return (~sd.flags & pflags) === 0;
}

/**
 * update_cpu_power() of each CPU: SCHED_LOAD_SCALE, shared as smt_gain
 * among the SMT siblings in cpu_map; RT time is not taken off (README).
 */
function cpu_powers(t: Topology, cpu_map: CpuMask, nr: number): number[] {
  const power: number[] = [];
  for (let c = 0; c < nr; c++) {
    const w = level_weight(t, "SIBLING", c, nr, cpu_map);
    power.push(w > 1 ? Math.floor(SD_INIT.SIBLING.smt_gain / w) : SCHED_LOAD_SCALE);
  }
  return power;
}

/**
 * __build_sched_domains(): for every CPU of `cpu_map`, SIBLING, MC and CPU
 * levels, each spanning its part of cpu_map, then cpu_attach_domain()'s
 * removal of degenerate levels. Returns each CPU's lowest remaining domain
 * (rq->sd), null for a CPU outside cpu_map or with none left.
 *
 * Which levels survive depends on the layout alone (spans, groups and the
 * initial flags), so a cached layout remembers each CPU's surviving blocks
 * and later builds make only those domains, fresh (their balancing state
 * is per build); the degenerate ones would be unreachable at once.
 */
export function build_sched_domains(t: Topology, cpu_map: CpuMask, nr: number, jiffies: number): (SchedDomain | null)[] {
  const cached = domain_layout(t, cpu_map, nr);
  const out: (SchedDomain | null)[] = new Array<SchedDomain | null>(nr).fill(null);
  const chains = cached.chains;
  if (chains !== null) {
    for (let cpu = cpu_map.first(); cpu >= 0; cpu = cpu_map.next(cpu + 1)) {
      const chain = chains[cpu]!;
      let child: SchedDomain | null = null;
      for (const link of chain) {
        const sd = new SchedDomain(link.level, link.block, link.block.cpu_group[cpu]!, jiffies);
        if (child === null) out[cpu] = sd;
        else {
          child.parent = sd;
          sd.child = child;
        }
        child = sd;
      }
    }
    return out;
  }
  const layout = cached.layout;
  const bottoms: (SchedDomain | null)[] = new Array<SchedDomain | null>(nr).fill(null);
  LEVELS.forEach((level, l) => {
    const blocks = layout[l]!;
    for (let cpu = cpu_map.first(); cpu >= 0; cpu = cpu_map.next(cpu + 1)) {
      const b = blocks.get(level_block(t, level, cpu, nr).first)!;
      const sd = new SchedDomain(level, b, b.cpu_group[cpu]!, jiffies);
      const child = bottoms[cpu] ?? null;
      if (level === "SIBLING") bottoms[cpu] = sd;
      else {
        let top = child;
        while (top && top.parent) top = top.parent;
        if (top) {
          top.parent = sd;
          sd.child = top;
        }
      }
    }
  });
  const new_chains: DomainLink[][] = [];
  for (let cpu = 0; cpu < nr; cpu++) new_chains.push([]);
  for (let cpu = cpu_map.first(); cpu >= 0; cpu = cpu_map.next(cpu + 1)) {
    const sd = drop_degenerate(bottoms[cpu] ?? null);
    out[cpu] = sd;
    const chain = new_chains[cpu]!;
    for (let x = sd; x !== null; x = x.parent) {
      const block = layout[LEVELS.indexOf(x.level)]!.get(level_block(t, x.level, cpu, nr).first)!;
      chain.push({ level: x.level, block });
    }
  }
  cached.chains = new_chains;
  return out;
}

const LEVELS = ["SIBLING", "MC", "CPU"] as const;

/** One domain of a CPU's chain after the degenerate ones are dropped: its level and block. */
interface DomainLink {
  readonly level: SdLevel;
  readonly block: DomainBlock;
}

/** A layout already built, what it was built for, and each CPU's surviving domains. */
interface CachedLayout {
  readonly packages: number;
  readonly cores_per_package: number;
  readonly threads_per_core: number;
  readonly nr: number;
  readonly cpu_map: CpuMask;
  readonly layout: Map<number, DomainBlock>[];
  /** By CPU, bottom first; null until the first build_sched_domains of this layout has dropped the degenerate levels. */
  chains: DomainLink[][] | null;
}

/**
 * Layouts already built, by topology, CPU count and cpu_map: a hotplug
 * stress run rebuilds the domains at every operation over a handful of
 * maps. Layouts never change, so sharing them changes nothing; the cache
 * is emptied when it holds LAYOUT_CACHE_MAX of them. Looked up by
 * comparing masks word by word: a string key (joining the mask's words)
 * cost more than the rest of a cache hit.
 */
const layout_cache: CachedLayout[] = [];
const LAYOUT_CACHE_MAX = 64;

function find_layout(t: Topology, cpu_map: CpuMask, nr: number): CachedLayout | null {
  for (const c of layout_cache) {
    if (
      c.nr === nr &&
      c.packages === t.packages &&
      c.cores_per_package === t.cores_per_package &&
      c.threads_per_core === t.threads_per_core &&
      c.cpu_map.equals(cpu_map)
    ) {
      return c;
    }
  }
  return null;
}

/** Each level's blocks for `cpu_map`, by the block's first CPU. */
function domain_layout(t: Topology, cpu_map: CpuMask, nr: number): CachedLayout {
  const hit = find_layout(t, cpu_map, nr);
  if (hit) return hit;
  const power = cpu_powers(t, cpu_map, nr);
  const layout = LEVELS.map((level) => {
    const blocks = new Map<number, DomainBlock>();
    for (let cpu = cpu_map.first(); cpu >= 0; cpu = cpu_map.next(cpu + 1)) {
      const { first } = level_block(t, level, cpu, nr);
      if (blocks.has(first)) continue;
      if (level_weight(t, level, cpu, nr, cpu_map) === 1) {
        blocks.set(first, single_cpu_block(cpu, power[cpu]!, nr));
        continue;
      }
      const span = level_span(t, level, cpu, nr, cpu_map);
      blocks.set(first, domain_block(span, build_groups(t, level, span, nr, cpu_map, power), nr));
    }
    return blocks;
  });
  if (layout_cache.length >= LAYOUT_CACHE_MAX) layout_cache.length = 0;
  const { packages, cores_per_package, threads_per_core } = t;
  const c: CachedLayout = { packages, cores_per_package, threads_per_core, nr, cpu_map: cpu_map.clone(), layout, chains: null };
  layout_cache.push(c);
  return c;
}

/** cpu_attach_domain(): drop degenerate parents, then a degenerate base. */
function drop_degenerate(bottom: SchedDomain | null): SchedDomain | null {
  for (let tmp = bottom; tmp; ) {
    const parent: SchedDomain | null = tmp.parent;
    if (!parent) break;
    if (sd_parent_degenerate(tmp, parent)) {
      tmp.parent = parent.parent;
      if (parent.parent) parent.parent.child = tmp;
    } else {
      tmp = parent;
    }
  }
  if (bottom && sd_degenerate(bottom)) {
    bottom = bottom.parent;
    if (bottom) bottom.child = null;
  }
  return bottom;
}
