import { describe, expect, it } from 'vitest';
import { COUNTER_NAMES } from '../../src/metrics/counters.js';
import {
  defaultScenario,
  resolveScenario,
  type Scenario,
  type ScenarioError,
  type ScenarioInput,
  scenarioJsonSchema,
  scenarioSchema,
  THRESHOLD_KEYS,
} from '../../src/scenario/index.js';

function problemsOf(input: unknown): ScenarioError {
  try {
    resolveScenario(input as ScenarioInput);
  } catch (err) {
    return err as ScenarioError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

/** [input, path of the single problem, message pattern] for the fields the zod schema added. */
const CASES: [unknown, string, RegExp][] = [
  // runtime
  [{ runtime: 2 }, 'runtime', /^expected an object, got 2$/],
  [{ runtime: { threads: 65 } }, 'runtime.threads', /^expected an integer 0..64, got 65$/],
  [{ runtime: { threads: -1 } }, 'runtime.threads', /^expected an integer 0..64, got -1$/],
  [{ runtime: { threads: 1.5 } }, 'runtime.threads', /^expected an integer 0..64, got 1.5$/],
  [{ runtime: { threads: '4' } }, 'runtime.threads', /^expected an integer 0..64, got "4"$/],
  [
    { runtime: { placement: 'spread' } },
    'runtime.placement',
    /^expected one of separate, balanced, got "spread"$/,
  ],
  [{ runtime: { pin: true } }, 'runtime.pin', /^unknown key 'pin'; allowed: threads, placement$/],
  // thresholds: counters take plain counts, latency keys durations
  [
    { thresholds: { prqOverflows: '5us' } },
    'thresholds.prqOverflows',
    /^expected a count ≥ 0 \(a plain number\), got "5us"$/,
  ],
  [
    { thresholds: { 'pageResponses.failure': -1 } },
    'thresholds.pageResponses.failure',
    /^expected a count ≥ 0 \(a plain number\), got -1$/,
  ],
  [
    { thresholds: { jobsFailed: true } },
    'thresholds.jobsFailed',
    /^expected a count ≥ 0 \(a plain number\), got true$/,
  ],
  [
    { thresholds: { 'job.latency.p99': '5MiB' } },
    'thresholds.job.latency.p99',
    /^invalid duration "5MiB": unknown unit "MiB"/,
  ],
  [
    { thresholds: { 'job.latency.p99': 1.5 } },
    'thresholds.job.latency.p99',
    /^invalid duration 1.5: not a whole number of nanoseconds/,
  ],
  [
    { thresholds: { overflows: 0 } },
    'thresholds.overflows',
    /^unknown key 'overflows'; expected <kind>.<stat> .*, or a counter: translations, .*prqOverflows, .*jobsFailed/,
  ],
  [
    { thresholds: { 'pageResponses.failures': 0 } },
    'thresholds.pageResponses.failures',
    /^unknown key 'pageResponses.failures'; expected <kind>.<stat> with kind one of ats.translate, iommu.walk, prq.service/,
  ],
  // units written out, and their types
  [{ duration: '20 msec' }, 'duration', /^invalid duration "20 msec": unknown unit "msec"/],
  [{ duration: true }, 'duration', /^invalid duration true: not a string or a number/],
  [{ duration: null }, 'duration', /^invalid duration null: not a string or a number/],
  [{ clients: { buffers: { size: '1 Mb' } } }, 'clients.buffers.size', /unknown unit "Mb"/],
  [
    { workload: { arrival: { openLoop: { rate: '200k/min' } } } },
    'workload.arrival.openLoop.rate',
    /^invalid rate "200k\/min": not a number per second/,
  ],
  [
    { workload: { arrival: { openLoop: { rate: [] } } } },
    'workload.arrival.openLoop.rate',
    /^invalid rate an array: not a string or a number/,
  ],
  // cost
  [{ cost: { '': 5 } }, 'cost.', /^bad key ''; expected a cost name$/],
  [{ cost: { walkLevelNs: '5MiB' } }, 'cost.walkLevelNs', /^invalid duration "5MiB"/],
  // wrong types of objects and lists
  [{ clients: [] }, 'clients', /^expected an object, got an array$/],
  [{ devices: [{ devtlb: null }] }, 'devices[0].devtlb', /^expected an object, got null$/],
  [{ devices: 'all' }, 'devices', /^expected a non-empty list of device groups, got "all"$/],
  [
    { workload: { arrival: { openLoop: 5 } } },
    'workload.arrival.openLoop',
    /^expected an object, got 5$/,
  ],
];

describe('scenarioSchema checks', () => {
  it.each(CASES)('rejects %j at %s', (input, path, message) => {
    const err = problemsOf(input);
    expect(err.code).toBe('EINVAL');
    expect(err.problems.map((p) => p.path)).toEqual([path]);
    expect(err.problems[0]!.message).toMatch(message);
  });

  it('lists problems in the order the input was written, not the schema order', () => {
    const err = problemsOf({
      runtime: { threads: 99 },
      thresholds: { prqOverflows: -1, 'prq.service.p99': 'soon' },
      workload: { op: 'xor', pattern: 'hot' },
      name: '',
    });
    expect(err.problems.map((p) => p.path)).toEqual([
      'runtime.threads',
      'thresholds.prqOverflows',
      'thresholds.prq.service.p99',
      'workload.op',
      'workload.pattern',
      'name',
    ]);
  });

  it('reports a bad value in every device group, each at its own index', () => {
    const err = problemsOf({
      devices: [{ pasidBits: 24 }, { count: 1 }, { ats: 'yes', engines: 0 }],
    });
    expect(err.problems).toEqual([
      { path: 'devices[0].pasidBits', message: 'expected an integer 1..20, got 24' },
      { path: 'devices[2].ats', message: 'expected a boolean, got "yes"' },
      { path: 'devices[2].engines', message: 'expected an integer 1..64, got 0' },
    ]);
  });
});

describe('scenarioSchema resolution of the added fields', () => {
  it('gives runtime its defaults and keeps what is given', () => {
    expect(resolveScenario().runtime).toEqual({ threads: 0, placement: 'balanced' });
    expect(resolveScenario({ runtime: { threads: 4 } }).runtime).toEqual({
      threads: 4,
      placement: 'balanced',
    });
    expect(resolveScenario({ runtime: { placement: 'separate' } }).runtime).toEqual({
      threads: 0,
      placement: 'separate',
    });
    expect(resolveScenario({ runtime: { threads: 64 } }).runtime.threads).toBe(64);
  });

  it('accepts every counter name as a threshold, as a count, and keeps the written order', () => {
    const s = resolveScenario({
      thresholds: {
        prqOverflows: 0,
        'prq.service.p99': '50us',
        'pageResponses.failure': 3,
        jobsFailed: 2.5,
        'job.latency.max': 1_000_000,
      },
    });
    expect(Object.entries(s.thresholds)).toEqual([
      ['prqOverflows', 0],
      ['prq.service.p99', 50_000],
      ['pageResponses.failure', 3],
      ['jobsFailed', 2.5],
      ['job.latency.max', 1_000_000],
    ]);
    for (const name of COUNTER_NAMES) {
      expect(resolveScenario({ thresholds: { [name]: 1 } }).thresholds).toEqual({ [name]: 1 });
    }
  });

  it('lists every latency key and every counter as a threshold key', () => {
    expect(THRESHOLD_KEYS).toHaveLength(8 * 7 + COUNTER_NAMES.length + 5);
    expect(THRESHOLD_KEYS).toContain('iotlb.hitRate');
    expect(THRESHOLD_KEYS).toContain('jobs.perSecond');
    expect(THRESHOLD_KEYS).toContain('unbind.drain.p999');
    expect(THRESHOLD_KEYS).toContain('pageResponses.failure');
  });

  it('outputs the resolved Scenario type from the input form', () => {
    const s: Scenario = scenarioSchema.parse({});
    expect(s).toEqual(defaultScenario);
  });
});

type JsonNode = Record<string, unknown>;

/** Every property schema of `node`, with its dotted path. */
function properties(node: JsonNode, path = ''): [string, JsonNode][] {
  const out: [string, JsonNode][] = [];
  const props = (node.properties ?? {}) as Record<string, JsonNode>;
  for (const [k, v] of Object.entries(props)) {
    const p = path === '' ? k : `${path}.${k}`;
    out.push([p, v], ...properties(v, p));
  }
  const items = node.items as JsonNode | undefined;
  if (items) out.push(...properties(items, `${path}[]`));
  return out;
}

describe('scenarioJsonSchema()', () => {
  const schema = scenarioJsonSchema();

  it('is a draft 2020-12 JSON Schema titled svasim scenario', () => {
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.title).toBe('svasim scenario');
    expect(schema.type).toBe('object');
    expect(schema.additionalProperties).toBe(false);
    expect(Object.keys(schema.properties as object)).toEqual(Object.keys(defaultScenario));
  });

  it('describes every field on one line, with its default where it has a scalar one', () => {
    const all = properties(schema);
    expect(all.length).toBeGreaterThan(100);
    for (const [path, node] of all) {
      expect(typeof node.description, path).toBe('string');
      expect(node.description as string, path).not.toContain('\n');
      const d = node.default;
      if (d !== undefined && (typeof d !== 'object' || d === null)) {
        expect(node.description as string, path).toMatch(new RegExp(`; default: ${d}$`));
      }
    }
  });

  it('takes units written out or plain numbers, and shows defaults written out', () => {
    const props = schema.properties as Record<string, JsonNode>;
    const duration = props.duration!;
    expect(duration.default).toBe('20ms');
    expect(duration.anyOf).toEqual([
      expect.objectContaining({ type: 'string', pattern: expect.any(String) }),
      expect.objectContaining({ type: 'number', minimum: 0 }),
    ]);
    const pattern = new RegExp(((duration.anyOf as JsonNode[])[0] as JsonNode).pattern as string);
    for (const ok of ['20ms', '500us', '1.5ms', '250 ns', '1000']) expect(ok).toMatch(pattern);
    for (const bad of ['20 parsecs', 'ms', '-5ms']) expect(bad).not.toMatch(pattern);
    const clients = props.clients!.properties as Record<string, JsonNode>;
    const buffers = clients.buffers!.properties as Record<string, JsonNode>;
    expect(buffers.size!.default).toBe('1MiB');
  });

  it('marks strict objects, the open-loop rate as required, and one arrival key', () => {
    const all = new Map(properties(schema));
    expect(all.get('iommu.iotlb')!.additionalProperties).toBe(false);
    expect(all.get('devices')!.minItems).toBe(1);
    expect(all.get('workload.arrival')).toMatchObject({ minProperties: 1, maxProperties: 1 });
    expect(all.get('workload.arrival.openLoop')!.required).toEqual(['rate']);
    expect(all.get('runtime.threads')).toMatchObject({ type: 'integer', minimum: 0, maximum: 64 });
    const thresholds = all.get('thresholds')!;
    expect(thresholds.additionalProperties).toBe(false);
    expect(Object.keys(thresholds.properties as object)).toEqual([...THRESHOLD_KEYS]);
    // a number (upper bound), a string (a unit, >= for a lower bound) or { atLeast }
    expect(JSON.stringify(all.get('thresholds.prqOverflows'))).toMatch(/"type":"number"/);
    expect(JSON.stringify(all.get('thresholds.prqOverflows'))).toMatch(/atLeast/);
  });

  it('is plain JSON', () => {
    expect(JSON.parse(JSON.stringify(schema))).toEqual(schema);
  });
});
