import { describe, expect, it } from 'vitest';
import {
  resolveScenario,
  type ScenarioError,
  type ScenarioInput,
} from '../../src/scenario/index.js';

function problemsOf(input: unknown): ScenarioError {
  try {
    resolveScenario(input as ScenarioInput);
  } catch (err) {
    return err as ScenarioError;
  }
  throw new Error(`expected ${JSON.stringify(input)} to be rejected`);
}

/** [input, path of the single problem, message pattern] */
const CASES: [unknown, string, RegExp][] = [
  // the whole scenario and its unknown keys
  [[], '', /expected an object, got an array/],
  ['fast', '', /expected an object, got "fast"/],
  [
    { nmae: 'x' },
    'nmae',
    /^unknown key 'nmae'; allowed: name, profile, seed, duration, iommu, devices, clients, workload, memory, kernel, cost, thresholds, runtime$/,
  ],
  [
    { iommu: { unit: 2 } },
    'iommu.unit',
    /^unknown key 'unit'; allowed: units, pasidBits, srs, dit, prs, pds, prqEntries, iotlb$/,
  ],
  [{ iommu: { iotlb: { ways: 2 } } }, 'iommu.iotlb.ways', /^unknown key 'ways'; allowed: entries/],
  [
    { devices: [{ pasid: 5 }] },
    'devices[0].pasid',
    /^unknown key 'pasid'; allowed: count, rid, pasidBits, ats, atsQdep, pri, devtlb,/,
  ],
  [
    { devices: [{ devtlb: { size: 4 } }] },
    'devices[0].devtlb.size',
    /^unknown key 'size'; allowed: entries$/,
  ],
  [
    { clients: { churn: { lifetime: '1ms' } } },
    'clients.churn.lifetime',
    /^unknown key 'lifetime'; allowed: enabled, bindLifetime, exitWhileBound/,
  ],
  [
    { workload: { arrival: { closedLoop: {}, burst: 1 } } },
    'workload.arrival.burst',
    /^unknown key 'burst'; allowed: closedLoop, openLoop$/,
  ],
  [{ memory: { bytes: 1 } }, 'memory.bytes', /^unknown key 'bytes'; allowed: frames$/],
  // top-level fields
  [{ name: '' }, 'name', /expected a non-empty string, got ""/],
  [{ name: 7 }, 'name', /expected a non-empty string, got 7/],
  [{ profile: 'v6.1' }, 'profile', /expected one of v5.8, current, got "v6.1"/],
  [{ seed: -1 }, 'seed', /expected an integer 0..4294967295, got -1/],
  [{ seed: 2 ** 32 }, 'seed', /expected an integer 0..4294967295/],
  [{ seed: 1.5 }, 'seed', /expected an integer/],
  [{ seed: '1' }, 'seed', /expected an integer 0..4294967295, got "1"/],
  [{ duration: '20 parsecs' }, 'duration', /invalid duration "20 parsecs": unknown unit/],
  [{ duration: 0 }, 'duration', /expected a value > 0, got 0/],
  [{ duration: '0ms' }, 'duration', /expected a value > 0, got "0ms"/],
  // iommu
  [{ iommu: 1 }, 'iommu', /expected an object, got 1/],
  [{ iommu: { units: 0 } }, 'iommu.units', /expected an integer 1..64, got 0/],
  [{ iommu: { pasidBits: 21 } }, 'iommu.pasidBits', /expected an integer 1..20, got 21/],
  [{ iommu: { pasidBits: 0 } }, 'iommu.pasidBits', /expected an integer 1..20, got 0/],
  [{ iommu: { srs: 'yes' } }, 'iommu.srs', /^expected a boolean, got "yes"/],
  [{ iommu: { prqEntries: 2 } }, 'iommu.prqEntries', /expected an integer 4..1048576, got 2/],
  [
    { iommu: { prqEntries: 1000 } },
    'iommu.prqEntries',
    /expected a power of two 4..1048576, got 1000/,
  ],
  [
    { iommu: { iotlb: { entries: 0 } } },
    'iommu.iotlb.entries',
    /expected an integer 1..1048576, got 0/,
  ],
  [{ iommu: { iotlb: { assoc: 0 } } }, 'iommu.iotlb.assoc', /expected an integer ≥ 1, got 0/],
  [
    { iommu: { iotlb: { assoc: 5 } } },
    'iommu.iotlb.assoc',
    /expected a divisor of iommu.iotlb.entries \(64\), got 5/,
  ],
  [
    { iommu: { iotlb: { policy: 'plru' } } },
    'iommu.iotlb.policy',
    /expected one of lru, fifo, random, got "plru"/,
  ],
  // devices
  [{ devices: {} }, 'devices', /expected a non-empty list of device groups, got an object/],
  [{ devices: [] }, 'devices', /expected a non-empty list of device groups, got an array/],
  [{ devices: [null] }, 'devices[0]', /expected an object, got null/],
  [{ devices: [{ count: 0 }] }, 'devices[0].count', /expected an integer 1..65536, got 0/],
  [
    { devices: [{ rid: 0x10000 }] },
    'devices[0].rid',
    /expected an integer 0x0000..0xffff, got 65536/,
  ],
  [
    { devices: [{}, { pasidBits: 21 }] },
    'devices[1].pasidBits',
    /^expected an integer 1..20, got 21$/,
  ],
  [{ devices: [{ ats: 1 }] }, 'devices[0].ats', /^expected a boolean, got 1/],
  [{ devices: [{ atsQdep: 0 }] }, 'devices[0].atsQdep', /expected an integer 1..32, got 0/],
  [{ devices: [{ atsQdep: 33 }] }, 'devices[0].atsQdep', /expected an integer 1..32, got 33/],
  [{ devices: [{ pri: 'on' }] }, 'devices[0].pri', /^expected a boolean, got "on"$/],
  [
    { devices: [{ ats: false }] },
    'devices[0].pri',
    /PRI requires ATS: set ats: true or pri: false/,
  ],
  [{ devices: [{ devtlb: 32 }] }, 'devices[0].devtlb', /expected an object, got 32/],
  [
    { devices: [{ devtlb: { entries: -1 } }] },
    'devices[0].devtlb.entries',
    /expected an integer 1..1048576, got -1/,
  ],
  [
    { devices: [{ priCredits: 0 }] },
    'devices[0].priCredits',
    /expected an integer 1..4294967295, got 0/,
  ],
  [{ memory: { frames: 2 ** 20 + 1 } }, 'memory.frames', /expected an integer 2..1048576/],
  [{ cost: { bogus: 5 } }, 'cost.bogus', /not a cost knob; expected one of pcieLatencyNs/],
  [{ devices: [{ pasidBits: 0 }] }, 'devices[0].pasidBits', /expected an integer 1..20, got 0/],
  [
    { iommu: { iotlb: { entries: 96, assoc: 4 } } },
    'iommu.iotlb.assoc',
    /entries \/ assoc \(the sets\) to be a power of two, got 96 \/ 4 = 24/,
  ],
  [
    { devices: [{ workQueue: { depth: 0 } }] },
    'devices[0].workQueue.depth',
    /^expected an integer 1..64, got 0$/,
  ],
  [
    { devices: [{ workQueue: { depth: 65 } }] },
    'devices[0].workQueue.depth',
    /^expected an integer 1..64, got 65$/,
  ],
  [
    { devices: [{ blockOnFault: null }] },
    'devices[0].blockOnFault',
    /^expected a boolean, got null/,
  ],
  [
    { devices: [{ rid: 0xfffe, count: 4 }] },
    'devices[0].rid',
    /4 rids from 0xfffe run past 0xffff/,
  ],
  [
    { devices: [{ count: 8 }, { rid: 0x0104, count: 2 }] },
    'devices[1].rid',
    /rids 0x0104..0x0105 overlap devices\[0\] \(0x0100..0x0107\)/,
  ],
  // clients
  [{ clients: { count: 0 } }, 'clients.count', /expected an integer ≥ 1, got 0/],
  [
    { clients: { buffers: { count: 0 } } },
    'clients.buffers.count',
    /expected an integer ≥ 1, got 0/,
  ],
  [
    { clients: { buffers: { size: '1 MiBs' } } },
    'clients.buffers.size',
    /invalid size "1 MiBs": unknown unit/,
  ],
  [{ clients: { buffers: { size: 0 } } }, 'clients.buffers.size', /expected a value > 0, got 0/],
  [
    { clients: { buffers: { size: '6000' } } },
    'clients.buffers.size',
    /expected a multiple of 4KiB, got "6000"/,
  ],
  [{ clients: { churn: { enabled: 0 } } }, 'clients.churn.enabled', /^expected a boolean, got 0/],
  [
    { clients: { churn: { bindLifetime: '5 ms later' } } },
    'clients.churn.bindLifetime',
    /invalid duration/,
  ],
  [
    { clients: { churn: { bindLifetime: 0 } } },
    'clients.churn.bindLifetime',
    /expected a value > 0/,
  ],
  [
    { clients: { churn: { exitWhileBound: 1.5 } } },
    'clients.churn.exitWhileBound',
    /expected a fraction 0..1, got 1.5/,
  ],
  [
    { clients: { churn: { munmapFraction: -0.1 } } },
    'clients.churn.munmapFraction',
    /expected a fraction 0..1/,
  ],
  [
    { clients: { churn: { mprotectFraction: '10%' } } },
    'clients.churn.mprotectFraction',
    /got "10%"/,
  ],
  [
    { clients: { churn: { munmapFraction: 0.6, mprotectFraction: 0.5 } } },
    'clients.churn.mprotectFraction',
    /munmapFraction \+ mprotectFraction must be at most 1, got 0.6 \+ 0.5/,
  ],
  // workload
  [
    { workload: { pattern: 'random' } },
    'workload.pattern',
    /expected one of sequential, strided, uniform, zipf, got "random"/,
  ],
  [
    { workload: { op: 'xor' } },
    'workload.op',
    /expected one of copy, fill, compare, read, got "xor"/,
  ],
  [{ workload: { jobBytes: '4 KiBs' } }, 'workload.jobBytes', /invalid size "4 KiBs"/],
  [{ workload: { jobBytes: 0 } }, 'workload.jobBytes', /expected a value > 0, got 0/],
  [
    { workload: { jobBytes: '2MiB' } },
    'workload.jobBytes',
    /^expected at most clients.buffers.size \(1048576 bytes\), got 2097152 bytes$/,
  ],
  [{ workload: { stride: 0 } }, 'workload.stride', /expected an integer ≥ 1, got 0/],
  [
    { workload: { zipfTheta: -0.5 } },
    'workload.zipfTheta',
    /expected a finite number ≥ 0, got -0.5/,
  ],
  [{ workload: { arrival: 'closed' } }, 'workload.arrival', /expected an object, got "closed"/],
  [
    { workload: { arrival: {} } },
    'workload.arrival',
    /expected exactly one of closedLoop or openLoop, got neither/,
  ],
  [
    { workload: { arrival: { closedLoop: {}, openLoop: { rate: 1 } } } },
    'workload.arrival',
    /expected exactly one of closedLoop or openLoop, got both/,
  ],
  [
    { workload: { arrival: { closedLoop: { queueDepth: 0 } } } },
    'workload.arrival.closedLoop.queueDepth',
    /expected an integer ≥ 1, got 0/,
  ],
  [
    { workload: { arrival: { closedLoop: { depth: 4 } } } },
    'workload.arrival.closedLoop.depth',
    /^unknown key 'depth'; allowed: queueDepth$/,
  ],
  [
    { workload: { arrival: { openLoop: {} } } },
    'workload.arrival.openLoop.rate',
    /missing: an open loop needs a rate/,
  ],
  [
    { workload: { arrival: { openLoop: { rate: '200k' } } } },
    'workload.arrival.openLoop.rate',
    /invalid rate "200k"/,
  ],
  [
    { workload: { arrival: { openLoop: { rate: 0 } } } },
    'workload.arrival.openLoop.rate',
    /expected a value > 0, got 0/,
  ],
  [
    { workload: { arrival: { openLoop: { rate: 1, poisson: 'no' } } } },
    'workload.arrival.openLoop.poisson',
    /^expected a boolean, got "no"$/,
  ],
  // memory, cost, thresholds
  [{ memory: { frames: 0 } }, 'memory.frames', /expected an integer 2..1048576, got 0/],
  [
    { memory: { frames: 1000 } },
    'memory.frames',
    /1000 frames cannot hold the clients' buffers \(64 × 2 × 1048576 bytes = 32768 frames/,
  ],
  [{ cost: [] }, 'cost', /expected an object, got an array/],
  [{ cost: { walk: '5 cycles' } }, 'cost.walk', /invalid duration "5 cycles"/],
  [{ cost: { walk: -1 } }, 'cost.walk', /invalid duration -1/],
  [{ thresholds: 5 }, 'thresholds', /expected an object, got 5/],
  [
    { thresholds: { 'prq.p99': '5us' } },
    'thresholds.prq.p99',
    /^unknown key 'prq.p99'; expected <kind>.<stat> with kind one of ats.translate, .* or a counter: translations, .*prqOverflows/,
  ],
  [
    { thresholds: { 'prq.service.p95': '5us' } },
    'thresholds.prq.service.p95',
    /stat one of min, mean, p50, p90, p99, p999, max/,
  ],
  [
    { thresholds: { 'prq.service.p99': 'soon' } },
    'thresholds.prq.service.p99',
    /invalid duration "soon"/,
  ],
];

describe('resolveScenario() checks', () => {
  it.each(CASES)('rejects %j at %s', (input, path, message) => {
    const err = problemsOf(input);
    expect(err.code).toBe('EINVAL');
    expect(err.problems).toHaveLength(1);
    expect(err.problems[0]!.path).toBe(path);
    expect(err.problems[0]!.message).toMatch(message);
    expect(err.message).toContain(
      `${path === '' ? '(scenario)' : path}: ${err.problems[0]!.message}`,
    );
  });

  it('prints the path and message the way the CLI shows them', () => {
    const err = problemsOf({ devices: [{ pasidBits: 21 }] });
    expect(err.message).toBe(
      'invalid scenario (1 problem):\n  devices[0].pasidBits: expected an integer 1..20, got 21',
    );
  });

  it('reports every problem at once, in file order', () => {
    const err = problemsOf({
      profile: 'v4',
      duration: '1 fortnight',
      iommu: { pasidBits: 32, iotlb: { policy: 'mru' } },
      devices: [{ pasidBits: 21 }, { count: -1, bogus: true }],
      clients: { churn: { exitWhileBound: 2 } },
      workload: { pattern: 'hot', arrival: { openLoop: { rate: 'lots' } } },
      memory: { frames: 0.5 },
      thresholds: { 'x.p99': 1 },
    });
    expect(err.code).toBe('EINVAL');
    expect(err.problems.map((p) => p.path)).toEqual([
      'profile',
      'duration',
      'iommu.pasidBits',
      'iommu.iotlb.policy',
      'devices[0].pasidBits',
      'devices[1].count',
      'devices[1].bogus',
      'clients.churn.exitWhileBound',
      'workload.pattern',
      'workload.arrival.openLoop.rate',
      'memory.frames',
      'thresholds.x.p99',
    ]);
    expect(err.message).toMatch(/^invalid scenario \(12 problems\):\n/);
    expect(err.message.split('\n')).toHaveLength(13);
  });

  it('does not pile follow-on problems onto a value already reported', () => {
    // a bad buffer size is not also compared with jobBytes or memory.frames
    const err = problemsOf({
      clients: { buffers: { size: 'big' } },
      workload: { jobBytes: '2MiB' },
      memory: { frames: 10 },
    });
    expect(err.problems.map((p) => p.path)).toEqual(['clients.buffers.size']);
    // a bad iotlb entry count is not also checked against assoc
    expect(problemsOf({ iommu: { iotlb: { entries: 'many', assoc: 3 } } }).problems).toHaveLength(
      1,
    );
  });
});

describe('kernel quirks and unit capabilities (spec §10.2)', () => {
  it('takes kernel.iopfAttachRegression only with profile current', () => {
    expect(
      resolveScenario({ profile: 'current', kernel: { iopfAttachRegression: true } }).kernel,
    ).toEqual({ iopfAttachRegression: true });
    const err = (() => {
      try {
        resolveScenario({ kernel: { iopfAttachRegression: true } });
      } catch (e) {
        return e as { problems: { path: string; message: string }[] };
      }
      throw new Error('no error');
    })();
    expect(err.problems).toEqual([
      {
        path: 'kernel.iopfAttachRegression',
        message: 'expected profile current (a v6.16 bug), got profile v5.8',
      },
    ]);
  });

  it('passes ecap PRS and PDS to the units', () => {
    expect(resolveScenario({ iommu: { prs: false, pds: false } }).iommu).toMatchObject({
      prs: false,
      pds: false,
    });
  });
});
