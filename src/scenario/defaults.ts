/**
 * Scenario defaults and resolution (DESIGN §5): {@link defaultScenario} holds the values of
 * the DESIGN §5 example, and {@link resolveScenario} turns what a user wrote into a complete
 * {@link Scenario}: it merges with the defaults (objects deeply; `devices` replaced as a whole
 * list, each group filled from {@link defaultDeviceGroup}; `workload.arrival` replaced as a
 * whole, since it is a choice of one key), parses units, and checks values and a few
 * cross-field rules, collecting every problem into one `EINVAL` error.
 *
 * Rids: a group without `rid` starts right after the previous group's last rid, the first
 * group at {@link DEFAULT_FIRST_RID} (0x0100: bus 1, device 0, function 0). Rids within a
 * group are consecutive (+1 each, VF-like routing IDs across devfn).
 *
 * Not done here: the JSON Schema and its editor hints (a zod schema replaces this function
 * later), checking `cost` names against the cost model (it owns them), YAML parsing, presets.
 */

import { PatternKind } from '../workload/patterns.js';
import type {
  ArrivalConfig,
  ChurnConfig,
  ClientsConfig,
  DeviceGroup,
  IommuConfig,
  Scenario,
  ScenarioError,
  ScenarioInput,
  ScenarioProblem,
  WorkloadConfig,
} from './types.js';
import {
  IotlbPolicy,
  JobOp,
  LatencyKind,
  Prefault,
  ScenarioProfile,
  ThresholdStat,
} from './types.js';
import { describeValue, parseBytes, parseDuration, parseRate } from './units.js';

/** Rid of the first accelerator when no group gives one: bus 1, device 0, function 0. */
export const DEFAULT_FIRST_RID = 0x0100;

/** Upper bound of unbounded integer fields (printed as "≥ min"). */
const INT_MAX = Number.MAX_SAFE_INTEGER;

/** Page size the buffer checks use, bytes. */
const PAGE_BYTES = 4096;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The values a device group takes for every field it does not give (rid aside). */
export const defaultDeviceGroup: Readonly<Omit<DeviceGroup, 'rid'>> = deepFreeze({
  count: 8,
  pasidBits: 20,
  ats: true,
  atsQdep: 32,
  pri: true,
  devtlb: { entries: 32 },
  priCredits: 32,
  workQueue: { depth: 16 },
  engines: 1,
  blockOnFault: true,
});

/** The scenario run when none is given: the DESIGN §5 example values (deeply frozen). */
export const defaultScenario: Scenario = deepFreeze({
  name: 'default',
  profile: ScenarioProfile.V5_8,
  seed: 1,
  duration: 20_000_000,
  iommu: {
    units: 1,
    pasidBits: 20,
    srs: true,
    prqEntries: 2048,
    iotlb: { entries: 64, assoc: 4, policy: IotlbPolicy.LRU },
  },
  devices: [{ ...structuredClone(defaultDeviceGroup), rid: DEFAULT_FIRST_RID }],
  clients: {
    count: 64,
    buffers: { count: 2, size: 1024 * 1024, prefault: 'src' },
    churn: {
      enabled: true,
      bindLifetime: 5_000_000,
      exitWhileBound: 0.05,
      munmapFraction: 0.05,
      mprotectFraction: 0.05,
    },
  },
  workload: {
    pattern: PatternKind.UNIFORM,
    op: JobOp.COPY,
    jobBytes: 4096,
    stride: 16,
    zipfTheta: 0.99,
    arrival: { closedLoop: { queueDepth: 16 } },
  },
  memory: { frames: 65536 },
  cost: {},
  thresholds: {},
});

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function join(base: string, key: string): string {
  return base === '' ? key : `${base}.${key}`;
}

function range(min: number, max: number, hex: boolean): string {
  const f = (n: number): string => (hex ? `0x${n.toString(16).padStart(4, '0')}` : String(n));
  return max >= INT_MAX ? `≥ ${f(min)}` : `${f(min)}..${f(max)}`;
}

/** Reads one level of user input against defaults, recording every problem with its path. */
class Reader {
  readonly problems: ScenarioProblem[] = [];

  problem(path: string, message: string): void {
    this.problems.push({ path, message });
  }

  /** True when no problem was recorded at `path` or below it. */
  clean(path: string): boolean {
    return !this.problems.some(
      (p) => p.path === path || p.path.startsWith(`${path}.`) || p.path.startsWith(`${path}[`),
    );
  }

  /** The object at `path` (empty when absent), with a problem per key not in `known`. */
  object(value: unknown, path: string, known: readonly string[]): Obj {
    if (value === undefined) return {};
    if (!isObj(value)) {
      this.problem(path, `expected an object, got ${describeValue(value)}`);
      return {};
    }
    for (const key of Object.keys(value)) {
      if (!known.includes(key)) {
        this.problem(join(path, key), `unknown key; expected one of ${known.join(', ')}`);
      }
    }
    return value;
  }

  int(
    o: Obj,
    key: string,
    path: string,
    def: number,
    min: number,
    max: number,
    hex = false,
  ): number {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) {
      this.problem(
        join(path, key),
        `expected an integer ${range(min, max, hex)}, got ${describeValue(v)}`,
      );
      return def;
    }
    return v;
  }

  fraction(o: Obj, key: string, path: string, def: number): number {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !(v >= 0 && v <= 1)) {
      this.problem(join(path, key), `expected a fraction 0..1, got ${describeValue(v)}`);
      return def;
    }
    return v;
  }

  nonNegative(o: Obj, key: string, path: string, def: number): number {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0) {
      this.problem(join(path, key), `expected a finite number ≥ 0, got ${describeValue(v)}`);
      return def;
    }
    return v;
  }

  bool(o: Obj, key: string, path: string, def: boolean): boolean {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'boolean') {
      this.problem(join(path, key), `expected true or false, got ${describeValue(v)}`);
      return def;
    }
    return v;
  }

  oneOf<T extends string>(o: Obj, key: string, path: string, def: T, values: readonly T[]): T {
    const v = o[key];
    if (v === undefined) return def;
    if (typeof v !== 'string' || !(values as readonly string[]).includes(v)) {
      this.problem(
        join(path, key),
        `expected one of ${values.join(', ')}, got ${describeValue(v)}`,
      );
      return def;
    }
    return v as T;
  }

  /** A quantity parsed by `parse`, at least `min` (exclusive when `above`). */
  quantity(
    o: Obj,
    key: string,
    path: string,
    def: number,
    parse: (input: string | number) => number,
    min: number,
    above: boolean,
  ): number {
    const v = o[key];
    if (v === undefined) return def;
    let n: number;
    try {
      n = parse(v as string | number);
    } catch (err) {
      this.problem(join(path, key), (err as Error).message);
      return def;
    }
    if (above ? n <= min : n < min) {
      this.problem(
        join(path, key),
        `expected a value ${above ? '>' : '≥'} ${min}, got ${describeValue(v)}`,
      );
      return def;
    }
    return n;
  }
}

function resolveIommu(r: Reader, value: unknown): IommuConfig {
  const d = defaultScenario.iommu;
  const path = 'iommu';
  const o = r.object(value, path, Object.keys(d));
  const units = r.int(o, 'units', path, d.units, 1, 64);
  const pasidBits = r.int(o, 'pasidBits', path, d.pasidBits, 1, 20);
  const srs = r.bool(o, 'srs', path, d.srs);
  let prqEntries = r.int(o, 'prqEntries', path, d.prqEntries, 4, 1 << 20);
  if ((prqEntries & (prqEntries - 1)) !== 0) {
    r.problem(`${path}.prqEntries`, `expected a power of two 4..1048576, got ${prqEntries}`);
    prqEntries = d.prqEntries;
  }
  const ipath = `${path}.iotlb`;
  const io = r.object(o.iotlb, ipath, Object.keys(d.iotlb));
  const entries = r.int(io, 'entries', ipath, d.iotlb.entries, 1, INT_MAX);
  const assoc = r.int(io, 'assoc', ipath, d.iotlb.assoc, 1, INT_MAX);
  if (r.clean(ipath) && entries % assoc !== 0) {
    r.problem(
      `${ipath}.assoc`,
      `expected a divisor of ${ipath}.entries (${entries}), got ${assoc}`,
    );
  }
  const policy = r.oneOf(io, 'policy', ipath, d.iotlb.policy, Object.values(IotlbPolicy));
  return { units, pasidBits, srs, prqEntries, iotlb: { entries, assoc, policy } };
}

const DEVICE_KEYS = [...Object.keys(defaultDeviceGroup), 'rid'];

function resolveDevices(r: Reader, value: unknown): DeviceGroup[] {
  if (value === undefined) return defaultScenario.devices.map((g) => structuredClone(g));
  if (!Array.isArray(value) || value.length === 0) {
    r.problem('devices', `expected a non-empty list of device groups, got ${describeValue(value)}`);
    return defaultScenario.devices.map((g) => structuredClone(g));
  }
  const d = defaultDeviceGroup;
  const groups: DeviceGroup[] = [];
  let nextRid = DEFAULT_FIRST_RID;
  for (let i = 0; i < value.length; i++) {
    const path = `devices[${i}]`;
    const o = r.object(value[i], path, DEVICE_KEYS);
    const count = r.int(o, 'count', path, d.count, 1, 0x10000);
    const rid = r.int(o, 'rid', path, nextRid, 0, 0xffff, true);
    const pasidBits = r.int(o, 'pasidBits', path, d.pasidBits, 0, 20);
    const ats = r.bool(o, 'ats', path, d.ats);
    const atsQdep = r.int(o, 'atsQdep', path, d.atsQdep, 1, 32);
    const pri = r.bool(o, 'pri', path, d.pri);
    if (pri && !ats && r.clean(`${path}.ats`) && r.clean(`${path}.pri`)) {
      r.problem(`${path}.pri`, 'PRI requires ATS: set ats: true or pri: false');
    }
    const dpath = `${path}.devtlb`;
    const devtlb = r.object(o.devtlb, dpath, Object.keys(d.devtlb));
    const devtlbEntries = r.int(devtlb, 'entries', dpath, d.devtlb.entries, 0, INT_MAX);
    const priCredits = r.int(o, 'priCredits', path, d.priCredits, 1, 0xffff_ffff);
    const wpath = `${path}.workQueue`;
    const workQueue = r.object(o.workQueue, wpath, Object.keys(d.workQueue));
    const depth = r.int(workQueue, 'depth', wpath, d.workQueue.depth, 1, INT_MAX);
    groups.push({
      count,
      rid,
      pasidBits,
      ats,
      atsQdep,
      pri,
      devtlb: { entries: devtlbEntries },
      priCredits,
      workQueue: { depth },
      engines: r.int(o, 'engines', path, d.engines, 1, 64),
      blockOnFault: r.bool(o, 'blockOnFault', path, d.blockOnFault),
    });
    nextRid = rid + count;
  }
  checkRids(r, groups);
  return groups;
}

function hex16(n: number): string {
  return `0x${n.toString(16).padStart(4, '0')}`;
}

function checkRids(r: Reader, groups: readonly DeviceGroup[]): void {
  for (let i = 0; i < groups.length; i++) {
    const path = `devices[${i}]`;
    if (!r.clean(`${path}.rid`) || !r.clean(`${path}.count`)) continue;
    const g = groups[i]!;
    const last = g.rid + g.count - 1;
    if (last > 0xffff) {
      r.problem(
        `${path}.rid`,
        `${g.count} rids from ${hex16(g.rid)} run past 0xffff; lower rid or count`,
      );
      continue;
    }
    for (let j = 0; j < i; j++) {
      const h = groups[j]!;
      if (g.rid <= h.rid + h.count - 1 && h.rid <= last) {
        r.problem(
          `${path}.rid`,
          `rids ${hex16(g.rid)}..${hex16(last)} overlap devices[${j}] ` +
            `(${hex16(h.rid)}..${hex16(h.rid + h.count - 1)}); give a free rid`,
        );
        break;
      }
    }
  }
}

function resolveClients(r: Reader, value: unknown): ClientsConfig {
  const d = defaultScenario.clients;
  const path = 'clients';
  const o = r.object(value, path, Object.keys(d));
  const bpath = `${path}.buffers`;
  const bo = r.object(o.buffers, bpath, Object.keys(d.buffers));
  const size = r.quantity(bo, 'size', bpath, d.buffers.size, parseBytes, 0, true);
  if (size % PAGE_BYTES !== 0) {
    r.problem(`${bpath}.size`, `expected a multiple of 4KiB, got ${describeValue(bo.size)}`);
  }
  const cpath = `${path}.churn`;
  const co = r.object(o.churn, cpath, Object.keys(d.churn));
  const churn: ChurnConfig = {
    enabled: r.bool(co, 'enabled', cpath, d.churn.enabled),
    bindLifetime: r.quantity(
      co,
      'bindLifetime',
      cpath,
      d.churn.bindLifetime,
      parseDuration,
      0,
      true,
    ),
    exitWhileBound: r.fraction(co, 'exitWhileBound', cpath, d.churn.exitWhileBound),
    munmapFraction: r.fraction(co, 'munmapFraction', cpath, d.churn.munmapFraction),
    mprotectFraction: r.fraction(co, 'mprotectFraction', cpath, d.churn.mprotectFraction),
  };
  if (churn.munmapFraction + churn.mprotectFraction > 1) {
    r.problem(
      `${cpath}.mprotectFraction`,
      `munmapFraction + mprotectFraction must be at most 1, got ${churn.munmapFraction} + ${churn.mprotectFraction}`,
    );
  }
  return {
    count: r.int(o, 'count', path, d.count, 1, INT_MAX),
    buffers: {
      count: r.int(bo, 'count', bpath, d.buffers.count, 1, INT_MAX),
      size: size % PAGE_BYTES === 0 ? size : d.buffers.size,
      prefault: r.oneOf(bo, 'prefault', bpath, d.buffers.prefault, Object.values(Prefault)),
    },
    churn,
  };
}

function resolveArrival(r: Reader, value: unknown, path: string): ArrivalConfig {
  const d = defaultScenario.workload.arrival;
  if (value === undefined) return structuredClone(d);
  const o = r.object(value, path, ['closedLoop', 'openLoop']);
  const keys = Object.keys(o).filter((k) => k === 'closedLoop' || k === 'openLoop');
  if (keys.length !== 1) {
    if (isObj(value)) {
      r.problem(
        path,
        `expected exactly one of closedLoop or openLoop, got ${keys.length === 0 ? 'neither' : 'both'}`,
      );
    }
    return structuredClone(d);
  }
  if (keys[0] === 'closedLoop') {
    const cpath = `${path}.closedLoop`;
    const co = r.object(o.closedLoop, cpath, ['queueDepth']);
    const def = d.closedLoop?.queueDepth ?? 16;
    return { closedLoop: { queueDepth: r.int(co, 'queueDepth', cpath, def, 1, INT_MAX) } };
  }
  const opath = `${path}.openLoop`;
  const oo = r.object(o.openLoop, opath, ['rate', 'poisson']);
  if (oo.rate === undefined && isObj(o.openLoop)) {
    r.problem(`${opath}.rate`, 'missing: an open loop needs a rate (e.g. 200k/s)');
  }
  return {
    openLoop: {
      rate: r.quantity(oo, 'rate', opath, 1, parseRate, 0, true),
      poisson: r.bool(oo, 'poisson', opath, true),
    },
  };
}

function resolveWorkload(r: Reader, value: unknown, bufferBytes: number): WorkloadConfig {
  const d = defaultScenario.workload;
  const path = 'workload';
  const o = r.object(value, path, Object.keys(d));
  const jobBytes = r.quantity(o, 'jobBytes', path, d.jobBytes, parseBytes, 0, true);
  if (r.clean(`${path}.jobBytes`) && r.clean('clients.buffers.size') && jobBytes > bufferBytes) {
    r.problem(
      `${path}.jobBytes`,
      `expected at most clients.buffers.size (${bufferBytes} bytes), got ${describeValue(o.jobBytes)}`,
    );
  }
  return {
    pattern: r.oneOf(o, 'pattern', path, d.pattern, Object.values(PatternKind)),
    op: r.oneOf(o, 'op', path, d.op, Object.values(JobOp)),
    jobBytes,
    stride: r.int(o, 'stride', path, d.stride, 1, Number.MAX_SAFE_INTEGER),
    zipfTheta: r.nonNegative(o, 'zipfTheta', path, d.zipfTheta),
    arrival: resolveArrival(r, o.arrival, `${path}.arrival`),
  };
}

const THRESHOLD_STATS: readonly string[] = Object.values(ThresholdStat);
const LATENCY_KINDS: readonly string[] = Object.values(LatencyKind);

function resolveRecord(
  r: Reader,
  value: unknown,
  path: string,
  checkKey: (key: string) => string | null,
): Record<string, number> {
  const out: Record<string, number> = {};
  if (value === undefined) return out;
  if (!isObj(value)) {
    r.problem(path, `expected an object, got ${describeValue(value)}`);
    return out;
  }
  for (const key of Object.keys(value)) {
    const bad = checkKey(key);
    if (bad !== null) {
      r.problem(join(path, key), bad);
      continue;
    }
    const n = r.quantity(value, key, path, -1, parseDuration, 0, false);
    if (n >= 0) out[key] = n;
  }
  return out;
}

function thresholdKeyProblem(key: string): string | null {
  const dot = key.lastIndexOf('.');
  const kind = dot < 0 ? '' : key.slice(0, dot);
  const stat = dot < 0 ? key : key.slice(dot + 1);
  if (LATENCY_KINDS.includes(kind) && THRESHOLD_STATS.includes(stat)) return null;
  return (
    `unknown threshold; expected <kind>.<stat> with kind one of ${LATENCY_KINDS.join(', ')} ` +
    `and stat one of ${THRESHOLD_STATS.join(', ')} (e.g. prq.service.p99)`
  );
}

function throwProblems(problems: readonly ScenarioProblem[]): never {
  const lines = problems.map((p) => `  ${p.path === '' ? '(scenario)' : p.path}: ${p.message}`);
  const n = problems.length;
  const err = new Error(
    `invalid scenario (${n} problem${n === 1 ? '' : 's'}):\n${lines.join('\n')}`,
  );
  throw Object.assign(err, {
    code: 'EINVAL' as const,
    problems: [...problems],
  }) satisfies ScenarioError;
}

/**
 * Resolves what a user wrote into a complete scenario: merges with {@link defaultScenario},
 * parses units and checks values. Throws one `EINVAL` error listing every problem in
 * `problems` (each with its path, e.g. `devices[0].pasidBits`). The input is not modified
 * and the result shares nothing with it or with the defaults.
 */
export function resolveScenario(input: ScenarioInput = {}): Scenario {
  const r = new Reader();
  const d = defaultScenario;
  const o = r.object(input, '', Object.keys(d));
  // Fields in file order, so problems are listed the way the file reads.
  const name = o.name;
  if (name !== undefined && (typeof name !== 'string' || name === '')) {
    r.problem('name', `expected a non-empty string, got ${describeValue(name)}`);
  }
  const profile = r.oneOf(o, 'profile', '', d.profile, Object.values(ScenarioProfile));
  const seed = r.int(o, 'seed', '', d.seed, 0, 0xffff_ffff);
  const duration = r.quantity(o, 'duration', '', d.duration, parseDuration, 0, true);
  const iommu = resolveIommu(r, o.iommu);
  const devices = resolveDevices(r, o.devices);
  const clients = resolveClients(r, o.clients);
  const workload = resolveWorkload(r, o.workload, clients.buffers.size);
  const memo = r.object(o.memory, 'memory', Object.keys(d.memory));
  const frames = r.int(memo, 'frames', 'memory', d.memory.frames, 1, 0xffff_ffff);
  const bufferFrames = (clients.count * clients.buffers.count * clients.buffers.size) / PAGE_BYTES;
  if (r.clean('memory') && r.clean('clients') && frames < bufferFrames) {
    r.problem(
      'memory.frames',
      `${frames} frames cannot hold the clients' buffers (${clients.count} × ` +
        `${clients.buffers.count} × ${clients.buffers.size} bytes = ${bufferFrames} frames, ` +
        'page tables not counted); raise memory.frames or shrink clients',
    );
  }
  const scenario: Scenario = {
    name: typeof name === 'string' && name !== '' ? name : d.name,
    profile,
    seed,
    duration,
    iommu,
    devices,
    clients,
    workload,
    memory: { frames },
    cost: resolveRecord(r, o.cost, 'cost', (k) => (k === '' ? 'expected a cost name' : null)),
    thresholds: resolveRecord(r, o.thresholds, 'thresholds', thresholdKeyProblem),
  };
  if (r.problems.length > 0) throwProblems(r.problems);
  return scenario;
}
