/**
 * The scenario schema of DESIGN §5 in zod 4: one definition that validates what a user wrote
 * (YAML, JSON or code), fills in the defaults of default-values.ts, parses units with the
 * parsers of units.ts, and yields the resolved {@link Scenario}. The same definition, read on
 * its input side, is the JSON Schema editors use ({@link scenarioJsonSchema}).
 *
 * Every object is strict (an unknown key is an error) and every field words its errors as
 * "expected <what is allowed>, got <value>", so each problem reads on its own. Cross-field
 * rules (PRI needs ATS, rid ranges, job size vs buffer size, memory vs buffers …) are
 * refinements that run only when the fields they read are clean, so one bad value is
 * reported once, not again through every rule that reads it.
 *
 * Not checked here: `cost` names (the cost model owns them) and anything that needs a run.
 */

import { z } from 'zod';
import { JobOp } from '../device/accelerator.js';
import { PROFILE_NAMES } from '../kernel/sva.js';
import { COUNTER_NAMES } from '../metrics/counters.js';
import { LATENCY_KINDS } from '../metrics/kinds.js';
import { PatternKind } from '../workload/patterns.js';
import { DEFAULT_FIRST_RID, defaultDeviceGroup, defaultScenario } from './default-values.js';
import type {
  ArrivalConfig,
  DeviceGroup,
  RuntimeConfig,
  Scenario,
  ScenarioProblem,
} from './types.js';
import { IotlbPolicy, Prefault, RuntimePlacement, ThresholdStat } from './types.js';
import {
  BYTE_UNITS,
  DURATION_UNITS,
  describeValue,
  formatBytes,
  formatNs,
  formatRate,
  parseBytes,
  parseDuration,
  parseRate,
} from './units.js';

/** Upper bound of unbounded integer fields (printed as "≥ min"). */
const INT_MAX = Number.MAX_SAFE_INTEGER;

/** Page size the buffer checks use, bytes. */
const PAGE_BYTES = 4096;

// ---------------------------------------------------------------------------------------------
// Field builders: each words all of its errors as one "expected …, got …" message.

type RawIssue = z.core.$ZodRawIssue;
type Path = readonly PropertyKey[];

/** Error parameters that word every issue of a field as `expected <what>, got <input>`. */
function expecting(what: string) {
  // abort: a value that fails one check is not also reported by the next (min, then max …)
  return {
    error: (iss: RawIssue) => `expected ${what}, got ${describeValue(iss.input)}`,
    abort: true,
  };
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

function range(min: number, max: number, hex: boolean): string {
  const f = (n: number): string => (hex ? hex16(n) : String(n));
  return max >= INT_MAX ? `≥ ${f(min)}` : `${f(min)}..${f(max)}`;
}

/** An integer in `min..max` (hex ranges printed as 0x0000..0xffff). */
function int(min: number, max: number, hex = false) {
  const e = expecting(`an integer ${range(min, max, hex)}`);
  const s = z.number(e).int(e).min(min, e);
  return max >= INT_MAX ? s : s.max(max, e);
}

/** A number in `min..max` worded as `what`. */
function num(what: string, min: number, max = Number.POSITIVE_INFINITY) {
  const e = expecting(what);
  const s = z.number(e).min(min, e);
  return Number.isFinite(max) ? s.max(max, e) : s;
}

const bool = () => z.boolean(expecting('a boolean'));

function oneOf<const T extends readonly string[]>(values: T) {
  return z.enum(values, expecting(`one of ${values.join(', ')}`));
}

/** A unit kind: its parser, formatter and the string forms an editor may check. */
interface UnitKind {
  parse: (input: string | number) => number;
  format: (n: number) => string;
  /** JSON Schema pattern of the string form. */
  pattern: string;
}

const NUMBER_RE = '\\s*(\\d+(\\.\\d*)?|\\.\\d+)\\s*';
const DURATION: UnitKind = {
  parse: parseDuration,
  format: formatNs,
  pattern: `^${NUMBER_RE}(${Object.keys(DURATION_UNITS).join('|')})?\\s*$`,
};
const BYTES: UnitKind = {
  parse: parseBytes,
  format: formatBytes,
  pattern: `^${NUMBER_RE}(${Object.keys(BYTE_UNITS).join('|')})?\\s*$`,
};
const RATE: UnitKind = {
  parse: parseRate,
  format: formatRate,
  pattern: `^${NUMBER_RE}([kKMG]?\\s*/\\s*s)?\\s*$`,
};

/** The parser's own message for a value it cannot read. */
function parseProblem(kind: UnitKind, input: unknown): string {
  try {
    kind.parse(input as string | number);
  } catch (err) {
    return (err as Error).message;
  }
  return `expected a string or a number, got ${describeValue(input)}`;
}

/**
 * A quantity with units written out (or a plain number in the base unit), parsed by `kind`,
 * greater than (`above`) or at least `min`; `extra` may add a rule on the parsed value.
 */
function quantity(
  kind: UnitKind,
  min: number,
  above: boolean,
  extra?: (n: number, input: unknown) => string | null,
  missing?: string,
) {
  return z
    .union([z.string().meta({ pattern: kind.pattern }), z.number().meta({ minimum: 0 })], {
      error: (iss: RawIssue) =>
        iss.input === undefined && missing !== undefined ? missing : parseProblem(kind, iss.input),
    })
    .transform((v, ctx) => {
      let n: number;
      try {
        n = kind.parse(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message, input: v });
        return z.NEVER;
      }
      if (above ? n <= min : n < min) {
        ctx.addIssue({
          code: 'custom',
          message: `expected a value ${above ? '>' : '≥'} ${min}, got ${describeValue(v)}`,
          input: v,
        });
        return z.NEVER;
      }
      const bad = extra?.(n, v) ?? null;
      if (bad !== null) {
        ctx.addIssue({ code: 'custom', message: bad, input: v });
        return z.NEVER;
      }
      return n;
    });
}

/** The input form of a default quantity: written out when that reads back exactly. */
function written(kind: UnitKind, n: number): string | number {
  const s = kind.format(n);
  try {
    return kind.parse(s) === n ? s : n;
  } catch {
    return n;
  }
}

/** Error parameters of an object: unknown keys list what is allowed (`hint`), else a type error. */
function objectError(hint: string) {
  return {
    error: (iss: RawIssue) =>
      iss.code === 'unrecognized_keys' || iss.code === 'invalid_key'
        ? hint
        : `expected an object, got ${describeValue(iss.input)}`,
  };
}

/** A strict object: an unknown key is reported as `unknown key 'k'; allowed: <its keys>`. */
function strict<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.strictObject(shape, objectError(`allowed: ${Object.keys(shape).join(', ')}`));
}

// ---------------------------------------------------------------------------------------------
// Cross-field rules run only where the fields they read are clean.

/** The paths an issue covers, relative to the schema running the check. */
function issuePaths(iss: RawIssue): Path[] {
  const base = iss.path ?? [];
  if (iss.code === 'unrecognized_keys') return (iss.keys as string[]).map((k) => [...base, k]);
  return [base];
}

/** True when one path lies at or under the other. */
function overlaps(a: Path, b: Path): boolean {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** True when no issue of `issues` lies at, above or under any of `paths`. */
function cleanAt(issues: readonly RawIssue[], paths: readonly Path[]): boolean {
  return issues.every((iss) => issuePaths(iss).every((p) => paths.every((q) => !overlaps(p, q))));
}

function isObj(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Refinement parameters: run when the value is an object and `paths` are clean. */
function whenClean(...paths: Path[]) {
  return { when: (p: z.core.ParsePayload) => isObj(p.value) && cleanAt(p.issues, paths) };
}

// ---------------------------------------------------------------------------------------------
// The scenario, section by section (field order is DESIGN §5's: problems list in file order).

const D = defaultScenario;
const G = defaultDeviceGroup;

const iotlbSchema = strict({
  entries: int(1, INT_MAX).default(D.iommu.iotlb.entries).describe('IOTLB entries in total'),
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
    }
  },
  whenClean(['entries'], ['assoc']),
);

const prqE = expecting('a power of two 4..1048576');
const iommuSchema = strict({
  units: int(1, 64).default(D.iommu.units).describe('Number of VT-d units (all alike), 1..64'),
  pasidBits: int(1, 20)
    .default(D.iommu.pasidBits)
    .describe('Supported PASID width in bits (ecap PSS + 1), 1..20'),
  srs: bool().default(D.iommu.srs).describe('ecap SRS: supervisor requests supported'),
  prqEntries: int(4, 1 << 20)
    .refine((n) => (n & (n - 1)) === 0, prqE)
    .default(D.iommu.prqEntries)
    .describe('Page request queue size in 32-byte entries, a power of two 4..1048576'),
  iotlb: iotlbSchema.prefault({}).describe('IOTLB geometry and replacement policy'),
});

const deviceGroupSchema = strict({
  count: int(1, 0x10000).default(G.count).describe('Accelerators in the group, 1..65536'),
  rid: int(0, 0xffff, true)
    .optional()
    .describe("Rid of the group's first accelerator, 0..0xffff; default: after the previous group"),
  pasidBits: int(0, 20)
    .default(G.pasidBits)
    .describe('PASID capability width in bits, 0 (no PASID capability)..20'),
  ats: bool().default(G.ats).describe('ATS capability enabled'),
  atsQdep: int(1, 32).default(G.atsQdep).describe('ATS Invalidate Queue Depth, 1..32'),
  pri: bool().default(G.pri).describe('PRI capability enabled (requires ats)'),
  devtlb: strict({
    entries: int(0, INT_MAX).default(G.devtlb.entries).describe('Device TLB (ATC) entries'),
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
const devicesSchema = z
  .array(deviceGroupSchema, devicesE)
  .min(1, devicesE)
  .superRefine(checkRids, { when: (p) => Array.isArray(p.value) })
  .transform(assignRids);

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

const clientsSchema = strict({
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

const workloadSchema = strict({
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

const memorySchema = strict({
  frames: int(1, 0xffff_ffff)
    .default(D.memory.frames)
    .describe('Simulated physical memory in 4 KiB frames'),
});

const costSchema = z.record(
  z.string().min(1),
  quantity(DURATION, 0, false).describe('A cost in ns, or a duration (550ns, 1us)'),
  objectError('expected a cost name'),
);

const THRESHOLD_STATS: readonly string[] = Object.values(ThresholdStat);

/** Every key a `thresholds` map may hold: latency `<kind>.<stat>` keys, then counter names. */
export const THRESHOLD_KEYS: readonly string[] = [
  ...LATENCY_KINDS.flatMap((k) => THRESHOLD_STATS.map((s) => `${k}.${s}`)),
  ...COUNTER_NAMES,
];

function thresholdsSchema() {
  const shape: Record<string, z.ZodType<number | undefined, unknown>> = {};
  for (const kind of LATENCY_KINDS) {
    for (const stat of THRESHOLD_STATS) {
      shape[`${kind}.${stat}`] = quantity(DURATION, 0, false)
        .optional()
        .describe(`Upper bound of the ${stat} of ${kind}: a duration (50us, or ns)`);
    }
  }
  for (const name of COUNTER_NAMES) {
    shape[name] = num('a count ≥ 0 (a plain number)', 0)
      .optional()
      .describe(`Upper bound of the ${name} counter of the report's totals (at most this many)`);
  }
  const hint =
    `expected <kind>.<stat> with kind one of ${LATENCY_KINDS.join(', ')} and stat one of ` +
    `${THRESHOLD_STATS.join(', ')} (e.g. prq.service.p99), or a counter: ${COUNTER_NAMES.join(', ')}`;
  return z.strictObject(shape, objectError(hint)).transform((v) => v as Record<string, number>);
}

const runtimeSchema = strict({
  threads: int(0, 64)
    .default(D.runtime.threads)
    .describe('Worker threads of a threaded run, 0..64; 0 is one per CPU core'),
  placement: oneOf(Object.values(RuntimePlacement))
    .default(D.runtime.placement)
    .describe('Accelerators on threads: separate (none with the engine) or balanced'),
});

/** The scenario schema: what a user writes in, a resolved {@link Scenario} out. */
export const scenarioSchema = strict({
  name: z
    .string(expecting('a non-empty string'))
    .min(1, expecting('a non-empty string'))
    .default(D.name)
    .describe('Scenario name, shown in reports'),
  profile: oneOf(PROFILE_NAMES)
    .default(D.profile)
    .describe('Kernel behaviour profile: v5.8 or current'),
  seed: int(0, 0xffff_ffff).default(D.seed).describe('Seed of every random stream, 0..2^32 − 1'),
  duration: quantity(DURATION, 0, true)
    .prefault(written(DURATION, D.duration))
    .describe('Simulated time to run: a duration (20ms, 500us, 1s, or ns)'),
  iommu: iommuSchema.prefault({}).describe('The VT-d units'),
  devices: devicesSchema
    .prefault([{}])
    .describe('Accelerator groups; rids assigned in order unless a group gives rid'),
  clients: clientsSchema.prefault({}).describe('The SVA client processes'),
  workload: workloadSchema.prefault({}).describe('The jobs the clients submit'),
  memory: memorySchema.prefault({}).describe('Simulated physical memory'),
  cost: costSchema.prefault({}).describe('Overrides of the cost model by name, in ns'),
  thresholds: thresholdsSchema()
    .prefault({})
    .describe('Upper bounds the run must meet: <kind>.<stat> durations and counter counts'),
  runtime: runtimeSchema
    .prefault({})
    .describe('How a threaded run uses the machine (never changes a result)'),
})
  .superRefine(
    (v, ctx) => {
      const size = v.clients.buffers.size;
      if (v.workload.jobBytes > size) {
        ctx.addIssue({
          code: 'custom',
          path: ['workload', 'jobBytes'],
          message: `expected at most clients.buffers.size (${size} bytes), got ${v.workload.jobBytes} bytes`,
          input: v.workload.jobBytes,
        });
      }
    },
    whenClean(['workload', 'jobBytes'], ['clients', 'buffers', 'size']),
  )
  .superRefine(
    (v, ctx) => {
      const c = v.clients;
      const bufferFrames = (c.count * c.buffers.count * c.buffers.size) / PAGE_BYTES;
      if (v.memory.frames < bufferFrames) {
        ctx.addIssue({
          code: 'custom',
          path: ['memory', 'frames'],
          message:
            `${v.memory.frames} frames cannot hold the clients' buffers (${c.count} × ` +
            `${c.buffers.count} × ${c.buffers.size} bytes = ${bufferFrames} frames, ` +
            'page tables not counted); raise memory.frames or shrink clients',
          input: v.memory.frames,
        });
      }
    },
    whenClean(['memory'], ['clients']),
  )
  .transform(
    (v): Scenario => ({
      name: v.name,
      profile: v.profile,
      seed: v.seed,
      duration: v.duration,
      iommu: v.iommu,
      devices: v.devices,
      clients: v.clients,
      workload: v.workload,
      memory: v.memory,
      cost: v.cost,
      thresholds: v.thresholds,
      runtime: v.runtime satisfies RuntimeConfig,
    }),
  );

/** A zod issue path as the scenario writes it: `devices[0].pasidBits`. */
export function formatPath(path: Path): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else out += out === '' ? String(seg) : `.${String(seg)}`;
  }
  return out;
}

/**
 * Where `path` is in `input`, as the position of each key among its object's keys (or the
 * array index): sorting by it lists problems in the order the input was written. A key the
 * input does not have (a default, a missing field) sorts after the keys it has.
 */
function inputOrder(input: unknown, path: Path): number[] {
  const order: number[] = [];
  let node = input;
  for (const seg of path) {
    let i = Number.POSITIVE_INFINITY;
    if (Array.isArray(node) && typeof seg === 'number') i = seg;
    else if (isObj(node)) {
      const k = Object.keys(node).indexOf(String(seg));
      if (k >= 0) i = k;
    }
    order.push(i);
    node = Number.isFinite(i) ? (node as Record<PropertyKey, unknown>)[seg] : undefined;
  }
  return order;
}

function compareOrder(a: readonly number[], b: readonly number[]): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
  return a.length - b.length;
}

/**
 * The problems of a failed parse, one per path (an unknown-keys issue gives one per key).
 * With the parsed `input`, they are listed in the order it was written (a file's order);
 * without, in the schema's order (DESIGN §5's).
 */
export function scenarioProblems(
  issues: readonly z.core.$ZodIssue[],
  input?: unknown,
): ScenarioProblem[] {
  const found: { path: Path; message: string }[] = [];
  for (const iss of issues) {
    if (iss.code === 'unrecognized_keys') {
      for (const key of iss.keys) {
        found.push({ path: [...iss.path, key], message: `unknown key '${key}'; ${iss.message}` });
      }
    } else if (iss.code === 'invalid_key') {
      const key = String(iss.path[iss.path.length - 1]);
      found.push({ path: iss.path, message: `bad key '${key}'; ${iss.message}` });
    } else {
      found.push({ path: iss.path, message: iss.message });
    }
  }
  if (input !== undefined) {
    const keyed = found.map((f) => ({ f, order: inputOrder(input, f.path) }));
    keyed.sort((a, b) => compareOrder(a.order, b.order));
    found.splice(0, found.length, ...keyed.map((k) => k.f));
  }
  return found.map((f) => ({ path: formatPath(f.path), message: f.message }));
}

/** Appends a field's scalar default to its one-line description, throughout `node`. */
function noteDefaults(node: unknown): void {
  if (Array.isArray(node)) {
    for (const v of node) noteDefaults(v);
    return;
  }
  if (!isObj(node)) return;
  const d = node.default;
  if (
    typeof node.description === 'string' &&
    d !== undefined &&
    (typeof d !== 'object' || d === null)
  ) {
    node.description = `${node.description}; default: ${String(d)}`;
  }
  for (const v of Object.values(node)) noteDefaults(v);
}

/**
 * The JSON Schema (draft 2020-12) of a scenario as a user writes it, with a one-line
 * description and the default of every field, for editors and `svasim schema`.
 */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', target: 'draft-2020-12' });
  noteDefaults(schema);
  const { $schema, ...rest } = schema as Record<string, unknown>;
  return {
    $schema,
    title: 'svasim scenario',
    description:
      'A scenario of svasim, the VT-d SVA simulator (DESIGN §5): every field optional, ' +
      'units written out (20ms, 1MiB, 200k/s) or plain numbers (ns, bytes, per second).',
    ...rest,
  };
}
