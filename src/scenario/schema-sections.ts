/**
 * The sections of a scenario (DESIGN §5) as zod 4 schemas: `iommu`, `devices`, `clients`,
 * `workload`, `memory`, `cost`, `thresholds` and `runtime`, each a strict object whose fields
 * default to default-values.ts and describe themselves for the JSON Schema. Field order is
 * DESIGN §5's, so problems list in file order. The rules inside one section live with it:
 * IOTLB ways divide entries, PRI needs ATS, an adversary lists each kind once, rid ranges
 * stay within 0xffff and do not overlap
 * (a group without `rid` follows the previous group), buffer sizes are whole 4 KiB pages,
 * churn fractions add up to at most 1, an arrival is exactly one of closedLoop or openLoop.
 *
 * Not here: rules across sections (schema.ts) and `cost` names (the cost model owns them).
 */

import { z } from 'zod';
import { ADVERSARY_KINDS } from '../device/adversary.js';
import { JobOp } from '../device/job.js';
import { COUNTER_NAMES } from '../metrics/counters.js';
import { LATENCY_KINDS } from '../metrics/kinds.js';
import { COST_KEYS } from '../sim/cost-model.js';
import { PatternKind } from '../workload/patterns.js';
import {
  DEFAULT_FIRST_RID,
  defaultAdversary,
  defaultDeviceGroup,
  defaultScenario,
} from './default-values.js';
import {
  BYTES,
  bool,
  cleanAt,
  DURATION,
  expecting,
  hex16,
  INT_MAX,
  int,
  isObj,
  num,
  objectError,
  oneOf,
  PAGE_BYTES,
  quantity,
  RATE,
  strict,
  whenClean,
  written,
} from './schema-fields.js';
import type { ArrivalConfig, DeviceGroup, ThresholdBound } from './types.js';
import { IotlbPolicy, Prefault, RuntimePlacement, ThresholdStat } from './types.js';
import { describeValue } from './units.js';

const D = defaultScenario;
/** Largest IOTLB or device TLB the scenario accepts (entries). */
const MAX_CACHE_ENTRIES = 1 << 20;
/** Largest simulated memory, in frames: 4 GiB, the most one typed array covers here. */
const MAX_FRAMES = 1 << 20;
const G = defaultDeviceGroup;

/** `iommu.iotlb`: geometry and replacement policy; assoc divides entries. */
const iotlbSchema = strict({
  entries: int(1, MAX_CACHE_ENTRIES)
    .default(D.iommu.iotlb.entries)
    .describe('IOTLB entries in total, 1..1048576; entries / assoc (the sets) a power of two'),
  assoc: int(1, INT_MAX)
    .default(D.iommu.iotlb.assoc)
    .describe('IOTLB ways per set; divides entries'),
  policy: oneOf(Object.values(IotlbPolicy))
    .default(D.iommu.iotlb.policy)
    .describe('IOTLB replacement policy'),
}).superRefine(
  (v, ctx) => {
    if (v.entries % v.assoc !== 0) {
      ctx.addIssue({
        code: 'custom',
        path: ['assoc'],
        message: `expected a divisor of iommu.iotlb.entries (${v.entries}), got ${v.assoc}`,
        input: v.assoc,
      });
    } else if (!Number.isInteger(Math.log2(v.entries / v.assoc))) {
      // the sets are indexed by the low bits of the page number
      ctx.addIssue({
        code: 'custom',
        path: ['assoc'],
        message: `expected entries / assoc (the sets) to be a power of two, got ${v.entries} / ${v.assoc} = ${v.entries / v.assoc}`,
        input: v.assoc,
      });
    }
  },
  whenClean(['entries'], ['assoc']),
);

const prqE = expecting('a power of two 4..1048576');
/** `kernel`: kernel bugs of the profile's era to reproduce. */
export const kernelSchema = strict({
  iopfAttachRegression: bool()
    .default(false)
    .describe(
      'Profile current only: v6.16 before its 2026 fix, where SVA on a function without PRI fails ENODEV',
    ),
});

/** `iommu`: the VT-d units, all alike. */
export const iommuSchema = strict({
  units: int(1, 64).default(D.iommu.units).describe('Number of VT-d units (all alike), 1..64'),
  pasidBits: int(1, 20)
    .default(D.iommu.pasidBits)
    .describe('Supported PASID width in bits (ecap PSS + 1), 1..20'),
  srs: bool().default(D.iommu.srs).describe('ecap SRS: supervisor requests supported'),
  dit: bool()
    .default(D.iommu.dit)
    .describe('ecap DIT: device-TLB invalidations carry the PFSID (else PFSID 0)'),
  prs: bool()
    .default(D.iommu.prs)
    .describe('ecap PRS: page requests supported (without it no function gets PRI)'),
  pds: bool()
    .default(D.iommu.pds)
    .describe(
      'ecap PDS: page-request drain supported (profile current gives no function PRI without it)',
    ),
  // no schema default: left out, it follows the profile (schema.ts fills it in)
  prqEntries: int(4, 1 << 20)
    .refine((n) => (n & (n - 1)) === 0, prqE)
    .optional()
    .describe(
      "Page request queue size in 32-byte entries, a power of two 4..1048576; default: the profile's (v5.8: 128)",
    ),
  iotlb: iotlbSchema.prefault({}).describe('IOTLB geometry and replacement policy'),
});

const kindsE = expecting(`a non-empty list of ${ADVERSARY_KINDS.join(', ')}`);
/** `devices[].adversary`: hostile transactions mixed into the group's work; kinds listed once. */
const adversarySchema = strict({
  rate: quantity(RATE, 0, true)
    .prefault(written(RATE, defaultAdversary.rate))
    .describe('Mean hostile transactions per second per accelerator (10k/s, or a number)'),
  kinds: z
    .array(oneOf(ADVERSARY_KINDS), kindsE)
    .min(1, kindsE)
    .default([...defaultAdversary.kinds])
    .superRefine((v, ctx) => {
      for (const [i, k] of v.entries()) {
        if (v.indexOf(k) !== i) {
          ctx.addIssue({
            code: 'custom',
            path: [i],
            message: `${k} is listed twice; list each kind once`,
            input: k,
          });
        }
      }
    })
    .describe('Hostile transaction kinds, drawn uniformly; default all'),
});

/** One entry of `devices`: a group of alike accelerators; PRI needs ATS. */
const deviceGroupSchema = strict({
  count: int(1, 0x10000).default(G.count).describe('Accelerators in the group, 1..65536'),
  rid: int(0, 0xffff, true)
    .optional()
    .describe("Rid of the group's first accelerator, 0..0xffff; default: after the previous group"),
  pasidBits: int(1, 20)
    .default(G.pasidBits)
    .describe('PASID capability width in bits, 1..20 (every client binds with a PASID)'),
  ats: bool().default(G.ats).describe('ATS capability enabled'),
  atsQdep: int(1, 32).default(G.atsQdep).describe('ATS Invalidate Queue Depth, 1..32'),
  pri: bool().default(G.pri).describe('PRI capability enabled (requires ats)'),
  devtlb: strict({
    entries: int(1, MAX_CACHE_ENTRIES)
      .default(G.devtlb.entries)
      .describe('Device TLB (ATC) entries, 1..1048576'),
  })
    .prefault({})
    .describe('Device TLB (ATC)'),
  priCredits: int(1, 0xffff_ffff)
    .default(G.priCredits)
    .describe('Outstanding page request allocation (PRI credits)'),
  workQueue: strict({
    // the accelerator's job table holds 1..64 jobs (src/device/accelerator.ts)
    depth: int(1, 64).default(G.workQueue.depth).describe('Work queue size in jobs, 1..64'),
  })
    .prefault({})
    .describe('Work queue'),
  engines: int(1, 64).default(G.engines).describe('Jobs the device processes at once, 1..64'),
  blockOnFault: bool()
    .default(G.blockOnFault)
    .describe('Jobs wait for a fault to be serviced (true) or fail with a partial completion'),
  adversary: adversarySchema
    .optional()
    .describe(
      'Hostile transactions each accelerator sends besides its jobs (see README, "Hostile accelerators")',
    ),
}).superRefine(
  (v, ctx) => {
    if (v.pri && !v.ats) {
      ctx.addIssue({
        code: 'custom',
        path: ['pri'],
        message: 'PRI requires ATS: set ats: true or pri: false',
        input: v.pri,
      });
    }
  },
  whenClean(['ats'], ['pri']),
);

type DeviceGroupOut = z.output<typeof deviceGroupSchema>;

/** Rids in order: a group without `rid` follows the previous group's last rid. */
function assignRids(groups: readonly DeviceGroupOut[]): DeviceGroup[] {
  let next = DEFAULT_FIRST_RID;
  return groups.map((g) => {
    const rid = g.rid ?? next;
    next = rid + g.count;
    return {
      count: g.count,
      rid,
      pasidBits: g.pasidBits,
      ats: g.ats,
      atsQdep: g.atsQdep,
      pri: g.pri,
      devtlb: { entries: g.devtlb.entries },
      priCredits: g.priCredits,
      workQueue: { depth: g.workQueue.depth },
      engines: g.engines,
      blockOnFault: g.blockOnFault,
      ...(g.adversary
        ? { adversary: { rate: g.adversary.rate, kinds: [...g.adversary.kinds] } }
        : {}),
    };
  });
}

/** Rid ranges stay within 0xffff and do not overlap (checked for groups whose rid and count are clean). */
function checkRids(groups: readonly DeviceGroupOut[], ctx: z.core.$RefinementCtx): void {
  let next = DEFAULT_FIRST_RID;
  const ranges: { first: number; last: number }[] = [];
  for (let i = 0; i < groups.length; i++) {
    const g = groups[i];
    const clean =
      isObj(g) &&
      cleanAt(ctx.issues, [
        [i, 'rid'],
        [i, 'count'],
      ]);
    if (!clean) {
      ranges.push({ first: -1, last: -2 });
      if (isObj(g) && typeof g.rid === 'number' && typeof g.count === 'number') {
        next = g.rid + g.count;
      }
      continue;
    }
    const first = g.rid ?? next;
    const last = first + g.count - 1;
    next = first + g.count;
    ranges.push({ first, last });
    const problem = (message: string) =>
      ctx.addIssue({ code: 'custom', path: [i, 'rid'], message, input: g.rid });
    if (last > 0xffff) {
      problem(`${g.count} rids from ${hex16(first)} run past 0xffff; lower rid or count`);
      ranges[i] = { first: -1, last: -2 };
      continue;
    }
    for (let j = 0; j < i; j++) {
      const h = ranges[j]!;
      if (first <= h.last && h.first <= last) {
        problem(
          `rids ${hex16(first)}..${hex16(last)} overlap devices[${j}] ` +
            `(${hex16(h.first)}..${hex16(h.last)}); give a free rid`,
        );
        break;
      }
    }
  }
}

const devicesE = expecting('a non-empty list of device groups');
/** `devices`: the accelerator groups, with rids assigned in order and checked for overlap. */
export const devicesSchema = z
  .array(deviceGroupSchema, devicesE)
  .min(1, devicesE)
  .superRefine(checkRids, { when: (p) => Array.isArray(p.value) })
  .transform(assignRids);

/** `clients.churn`: the life of a client; the munmap and mprotect fractions add up to at most 1. */
const churnSchema = strict({
  enabled: bool()
    .default(D.clients.churn.enabled)
    .describe('Clients unbind, exit and are replaced; false keeps every client bound'),
  bindLifetime: quantity(DURATION, 0, true)
    .prefault(written(DURATION, D.clients.churn.bindLifetime))
    .describe('Mean time a client stays bound: a duration (5ms, 500us, or ns)'),
  exitWhileBound: num('a fraction 0..1', 0, 1)
    .default(D.clients.churn.exitWhileBound)
    .describe('Fraction of lifetimes that end with exit while still bound, 0..1'),
  munmapFraction: num('a fraction 0..1', 0, 1)
    .default(D.clients.churn.munmapFraction)
    .describe('Fraction of lifetimes that munmap a buffer before unbinding, 0..1'),
  mprotectFraction: num('a fraction 0..1', 0, 1)
    .default(D.clients.churn.mprotectFraction)
    .describe('Fraction of lifetimes that mprotect a buffer read-only before unbinding, 0..1'),
}).superRefine(
  (v, ctx) => {
    if (v.munmapFraction + v.mprotectFraction > 1) {
      ctx.addIssue({
        code: 'custom',
        path: ['mprotectFraction'],
        message: `munmapFraction + mprotectFraction must be at most 1, got ${v.munmapFraction} + ${v.mprotectFraction}`,
        input: v.mprotectFraction,
      });
    }
  },
  whenClean(['munmapFraction'], ['mprotectFraction']),
);

/** `clients`: the SVA client processes and their buffers. */
export const clientsSchema = strict({
  count: int(1, INT_MAX).default(D.clients.count).describe('SVA client processes alive at once'),
  buffers: strict({
    count: int(1, INT_MAX).default(D.clients.buffers.count).describe('Buffers per client'),
    size: quantity(BYTES, 0, true, (n, input) =>
      n % PAGE_BYTES === 0 ? null : `expected a multiple of 4KiB, got ${describeValue(input)}`,
    )
      .prefault(written(BYTES, D.clients.buffers.size))
      .describe('Size of each buffer: a multiple of 4KiB (1MiB, 64KiB, or bytes)'),
    prefault: oneOf(Object.values(Prefault))
      .default(D.clients.buffers.prefault)
      .describe('Buffers written on the CPU before binding: none, src (the first) or all'),
  })
    .prefault({})
    .describe("Each client's buffers"),
  churn: churnSchema.prefault({}).describe('The life of a client: bind, work, unbind, exit'),
});

const closedLoopSchema = strict({
  queueDepth: int(1, INT_MAX)
    .default(D.workload.arrival.closedLoop?.queueDepth ?? 16)
    .describe('Jobs kept outstanding per client'),
});

const openLoopSchema = strict({
  rate: quantity(
    RATE,
    0,
    true,
    undefined,
    'missing: an open loop needs a rate (e.g. 200k/s)',
  ).describe('Arrivals per second per client (200k/s, 1.5M/s, or a number)'),
  poisson: bool().default(true).describe('Exponential gaps (true) or fixed gaps (false)'),
});

/** `workload.arrival`: exactly one of closedLoop or openLoop. */
const arrivalSchema = strict({
  closedLoop: closedLoopSchema
    .optional()
    .describe('Closed loop: each client keeps queueDepth jobs outstanding'),
  openLoop: openLoopSchema.optional().describe('Open loop: each client submits at a rate'),
})
  .meta({ minProperties: 1, maxProperties: 1 })
  .superRefine(
    (v, ctx) => {
      const n = (v.closedLoop !== undefined ? 1 : 0) + (v.openLoop !== undefined ? 1 : 0);
      if (n !== 1) {
        ctx.addIssue({
          code: 'custom',
          message: `expected exactly one of closedLoop or openLoop, got ${n === 0 ? 'neither' : 'both'}`,
          input: v,
        });
      }
    },
    { when: (p) => isObj(p.value) },
  )
  .transform(
    (v): ArrivalConfig =>
      v.openLoop !== undefined
        ? { openLoop: { rate: v.openLoop.rate, poisson: v.openLoop.poisson } }
        : { closedLoop: { queueDepth: v.closedLoop?.queueDepth ?? 16 } },
  );

/** `workload`: the jobs the clients submit. */
export const workloadSchema = strict({
  pattern: oneOf(Object.values(PatternKind))
    .default(D.workload.pattern)
    .describe("Access pattern over a buffer's pages"),
  op: oneOf(Object.keys(JobOp) as (keyof typeof JobOp)[])
    .default(D.workload.op)
    .describe('Job operation'),
  jobBytes: quantity(BYTES, 0, true)
    .prefault(written(BYTES, D.workload.jobBytes))
    .describe('Bytes per job, at most clients.buffers.size (4KiB, 64KiB, or bytes)'),
  stride: int(1, INT_MAX).default(D.workload.stride).describe('Stride of strided, in pages'),
  zipfTheta: num('a finite number ≥ 0', 0)
    .default(D.workload.zipfTheta)
    .describe('Skew of zipf, ≥ 0 (0 is uniform)'),
  arrival: arrivalSchema
    .prefault({ closedLoop: {} })
    .describe('Arrival process: exactly one of closedLoop or openLoop'),
});

/** `memory`: simulated physical memory. */
export const memorySchema = strict({
  frames: int(2, MAX_FRAMES)
    .default(D.memory.frames)
    .describe(
      'Simulated physical memory in 4 KiB frames, 2..1048576 (4 GiB: the most one typed array covers here; frame 0 is reserved)',
    ),
});

/** `cost`: overrides of the cost model by name, one of the cost model's knobs. */
export const costSchema = z
  .record(
    z.string().min(1),
    quantity(DURATION, 0, false).describe('A cost in ns, or a duration (550ns, 1us)'),
    objectError('expected a cost name'),
  )
  .superRefine((v, ctx) => {
    for (const key of Object.keys(v)) {
      if (!(COST_KEYS as readonly string[]).includes(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `not a cost knob; expected one of ${COST_KEYS.join(', ')}`,
          input: key,
        });
      }
    }
  });

const THRESHOLD_STATS: readonly string[] = Object.values(ThresholdStat);

/** Derived figures a threshold may bound: hit rates (fractions) and rates per simulated second. */
export const DERIVED_THRESHOLD_KEYS = [
  'iotlb.hitRate',
  'devtlb.hitRate',
  'jobs.perSecond',
  'requests.perSecond',
  'jobsOffered.perSecond',
] as const;

/** Every key a `thresholds` map may hold: latency `<kind>.<stat>` keys, counters, derived figures. */
export const THRESHOLD_KEYS: readonly string[] = [
  ...LATENCY_KINDS.flatMap((k) => THRESHOLD_STATS.map((s) => `${k}.${s}`)),
  ...COUNTER_NAMES,
  ...DERIVED_THRESHOLD_KEYS,
];

/** A fraction: `0.9` or `90%`. */
function parseFraction(v: string | number): number {
  const n =
    typeof v === 'number'
      ? v
      : /^\s*\d+(\.\d*)?\s*%\s*$/.test(v)
        ? Number.parseFloat(v) / 100
        : /^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(v)
          ? Number(v)
          : Number.NaN;
  if (!(n >= 0 && n <= 1))
    throw new Error(`expected a fraction 0..1 or a percentage, got ${describeValue(v)}`);
  return n;
}

/** A count: a plain number ≥ 0. */
function parseCount(v: string | number): number {
  const n = typeof v === 'number' ? v : /^\s*\d+(\.\d*)?\s*$/.test(v) ? Number(v) : Number.NaN;
  if (!(n >= 0)) throw new Error(`expected a count ≥ 0 (a plain number), got ${describeValue(v)}`);
  return n;
}

/**
 * One threshold's bound: an upper bound by default (`50us`, `<= 50us`, a number), a lower
 * bound with `>=` (`>= 1M/s`, or `{ atLeast: … }`, the resolved form). Resolves to the
 * number (upper bound) or `{ atLeast: number }`.
 */
function bound(parse: (v: string | number) => number, what: string, describe: string) {
  return z
    .union(
      [z.number(), z.string(), z.strictObject({ atLeast: z.union([z.number(), z.string()]) })],
      {
        error: (iss) => `expected ${what}, got ${describeValue(iss.input)}`,
      },
    )
    .transform((v, ctx): ThresholdBound => {
      try {
        if (typeof v === 'object') return { atLeast: parse(v.atLeast) };
        if (typeof v === 'string') {
          const t = v.trim();
          if (t.startsWith('>=')) return { atLeast: parse(t.slice(2)) };
          if (t.startsWith('<=')) return parse(t.slice(2));
        }
        return parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
    })
    .describe(describe);
}

/** `thresholds`: bounds on latency statistics, counters and derived figures, keyed by {@link THRESHOLD_KEYS}. */
export function thresholdsSchema() {
  const shape: Record<string, z.ZodType<ThresholdBound | undefined, unknown>> = {};
  const duration = (v: string | number): number => {
    const n = DURATION.parse(v);
    if (!(n >= 0)) throw new Error(`expected a duration ≥ 0, got ${describeValue(v)}`);
    return n;
  };
  for (const kind of LATENCY_KINDS) {
    for (const stat of THRESHOLD_STATS) {
      shape[`${kind}.${stat}`] = bound(
        duration,
        'a duration (50us, or ns)',
        `Bound of the ${stat} of ${kind}: a duration (50us, or ns); an upper bound unless written >= 50us`,
      ).optional();
    }
  }
  for (const name of COUNTER_NAMES) {
    shape[name] = bound(
      parseCount,
      'a count ≥ 0 (a plain number)',
      `Bound of the ${name} counter of the window's totals; an upper bound unless written >= N`,
    ).optional();
  }
  for (const key of DERIVED_THRESHOLD_KEYS) {
    shape[key] = key.endsWith('.hitRate')
      ? bound(
          parseFraction,
          'a fraction (0.9) or a percentage (90%)',
          `Bound of ${key} in the window; an upper bound unless written >= 90%`,
        ).optional()
      : bound(
          (v) => RATE.parse(v),
          'a rate (1M/s, or per second)',
          `Bound of ${key} of simulated time in the window; an upper bound unless written >= 1M/s`,
        ).optional();
  }
  const hint =
    `expected <kind>.<stat> with kind one of ${LATENCY_KINDS.join(', ')} and stat one of ` +
    `${THRESHOLD_STATS.join(', ')} (e.g. prq.service.p99), or a counter: ${COUNTER_NAMES.join(', ')}, ` +
    `or a derived figure: ${DERIVED_THRESHOLD_KEYS.join(', ')}`;
  return z
    .strictObject(shape, objectError(hint))
    .transform((v) => v as Record<string, ThresholdBound>);
}

/** `runtime`: how a threaded run uses the machine. */
export const runtimeSchema = strict({
  threads: int(0, 64)
    .default(D.runtime.threads)
    .describe('Worker threads of a threaded run, 0..64; 0 is one per CPU core'),
  placement: oneOf(Object.values(RuntimePlacement))
    .default(D.runtime.placement)
    .describe('Accelerators on threads: separate (none with the engine) or balanced'),
});
