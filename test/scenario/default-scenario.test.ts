import { describe, expect, it } from 'vitest';
import {
  DEFAULT_FIRST_RID,
  defaultScenario,
  resolveScenario,
  type ScenarioInput,
} from '../../src/scenario/index.js';

describe('defaultScenario', () => {
  it('holds the DESIGN §5 example values', () => {
    expect(defaultScenario).toEqual({
      name: 'default',
      profile: 'v5.8',
      seed: 1,
      duration: 20_000_000,
      iommu: {
        units: 1,
        pasidBits: 20,
        srs: true,
        dit: false,
        prs: true,
        pds: true,
        prqEntries: 128, // profile v5.8's PRQ_ORDER 0 (spec §4.1)
        iotlb: { entries: 64, assoc: 4, policy: 'lru' },
      },
      devices: [
        {
          count: 8,
          rid: 0x0100,
          pasidBits: 20,
          ats: true,
          atsQdep: 32,
          pri: true,
          devtlb: { entries: 32 },
          priCredits: 32,
          workQueue: { depth: 16 },
          engines: 1,
          blockOnFault: true,
        },
      ],
      clients: {
        count: 64,
        buffers: { count: 2, size: 1_048_576, prefault: 'src' },
        churn: {
          enabled: true,
          bindLifetime: 5_000_000,
          exitWhileBound: 0.05,
          munmapFraction: 0.05,
          mprotectFraction: 0.05,
        },
      },
      workload: {
        pattern: 'uniform',
        op: 'copy',
        jobBytes: 4096,
        stride: 16,
        zipfTheta: 0.99,
        arrival: { closedLoop: { queueDepth: 16 } },
      },
      memory: { frames: 65_536 },
      kernel: { iopfAttachRegression: false },
      cost: {},
      thresholds: {},
      runtime: { threads: 0, placement: 'balanced' },
    });
  });

  it('is deeply frozen', () => {
    expect(Object.isFrozen(defaultScenario)).toBe(true);
    expect(Object.isFrozen(defaultScenario.devices[0]!.devtlb)).toBe(true);
    expect(Object.isFrozen(defaultScenario.workload.arrival)).toBe(true);
  });

  it('has room for the default clients’ buffers', () => {
    const c = defaultScenario.clients;
    expect(defaultScenario.memory.frames).toBeGreaterThan(
      (c.count * c.buffers.count * c.buffers.size) / 4096,
    );
  });
});

describe('resolveScenario() with defaults', () => {
  it('resolves nothing and {} to the default scenario', () => {
    expect(resolveScenario()).toEqual(defaultScenario);
    expect(resolveScenario({})).toEqual(defaultScenario);
  });

  it('returns a fresh mutable object that shares nothing with the defaults or the input', () => {
    const input: ScenarioInput = { devices: [{ count: 2 }], cost: { walkLevelNs: 10 } };
    const snapshot = structuredClone(input);
    const s = resolveScenario(input);
    s.devices[0]!.count = 99;
    s.workload.arrival = { openLoop: { rate: 1, poisson: false } };
    s.cost.walkLevelNs = 5;
    expect(input).toEqual(snapshot);
    const t = resolveScenario();
    t.iommu.iotlb.entries = 1;
    t.devices[0]!.devtlb.entries = 1;
    expect(defaultScenario.iommu.iotlb.entries).toBe(64);
    expect(defaultScenario.devices[0]!.devtlb.entries).toBe(32);
  });

  it('merges objects deeply and keeps the defaults beside what is given', () => {
    const s = resolveScenario({
      iommu: { iotlb: { entries: 128 } },
      clients: { churn: { enabled: false } },
    });
    expect(s.iommu).toEqual({
      ...defaultScenario.iommu,
      iotlb: { entries: 128, assoc: 4, policy: 'lru' },
    });
    expect(s.clients.churn).toEqual({ ...defaultScenario.clients.churn, enabled: false });
    expect(s.clients.count).toBe(64);
  });

  it("takes the profile's PRQ size when iommu.prqEntries is left out; a given size wins", () => {
    expect(resolveScenario({}).iommu.prqEntries).toBe(128); // v5.8: PRQ_ORDER 0
    expect(resolveScenario({ iommu: { units: 2 } }).iommu.prqEntries).toBe(128);
    // 'current' allocates Linux ≥ 5.19's 2048 (PRQ_ORDER 4)
    expect(resolveScenario({ profile: 'current' }).iommu.prqEntries).toBe(2048);
    expect(resolveScenario({ iommu: { prqEntries: 2048 } }).iommu.prqEntries).toBe(2048);
    expect(
      resolveScenario({ profile: 'current', iommu: { prqEntries: 64 } }).iommu.prqEntries,
    ).toBe(64);
  });

  it('takes iommu.dit (default false)', () => {
    expect(resolveScenario({ iommu: { dit: true } }).iommu.dit).toBe(true);
    expect(resolveScenario({}).iommu.dit).toBe(false);
  });

  it('replaces the device list and fills each group from the group defaults', () => {
    const s = resolveScenario({ devices: [{ count: 2, pasidBits: 1, pri: false }, { count: 3 }] });
    expect(s.devices).toHaveLength(2);
    expect(s.devices[0]).toEqual({
      ...defaultScenario.devices[0],
      count: 2,
      rid: DEFAULT_FIRST_RID,
      pasidBits: 1,
      pri: false,
    });
    expect(s.devices[1]).toEqual({ ...defaultScenario.devices[0], count: 3, rid: 0x0102 });
  });

  it('assigns rids in order, continuing after a group that gives its own', () => {
    const s = resolveScenario({
      devices: [{ count: 2 }, { count: 4, rid: 0x0300 }, { count: 1 }, { count: 1, rid: 0x0010 }],
    });
    expect(s.devices.map((g) => g.rid)).toEqual([0x0100, 0x0300, 0x0304, 0x0010]);
  });

  it('replaces the arrival as a whole', () => {
    const s = resolveScenario({ workload: { arrival: { openLoop: { rate: '200k/s' } } } });
    expect(s.workload.arrival).toEqual({ openLoop: { rate: 200_000, poisson: true } });
    const t = resolveScenario({ workload: { arrival: { closedLoop: {} } } });
    expect(t.workload.arrival).toEqual({ closedLoop: { queueDepth: 16 } });
  });

  it('parses every unit form', () => {
    for (const [duration, ns] of [
      ['250ns', 250],
      ['500us', 500_000],
      ['1.5ms', 1_500_000],
      ['1s', 1e9],
      [7_000, 7_000],
    ] as const) {
      expect(resolveScenario({ duration }).duration).toBe(ns);
      expect(
        resolveScenario({ clients: { churn: { bindLifetime: duration } } }).clients.churn
          .bindLifetime,
      ).toBe(ns);
    }
    for (const [size, bytes] of [
      ['64KiB', 65_536],
      ['1MiB', 1_048_576],
      ['2MiB', 2_097_152],
      [8192, 8192],
      ['8192', 8192],
    ] as const) {
      expect(resolveScenario({ clients: { buffers: { size } } }).clients.buffers.size).toBe(bytes);
    }
    for (const [jobBytes, bytes] of [
      ['64', 64],
      ['4KiB', 4096],
      ['1KB', 1000],
      [512, 512],
    ] as const) {
      expect(resolveScenario({ workload: { jobBytes } }).workload.jobBytes).toBe(bytes);
    }
    for (const [rate, perSec] of [
      ['500/s', 500],
      ['200k/s', 200_000],
      ['1.5M/s', 1_500_000],
      [250, 250],
    ] as const) {
      const s = resolveScenario({ workload: { arrival: { openLoop: { rate, poisson: false } } } });
      expect(s.workload.arrival).toEqual({ openLoop: { rate: perSec, poisson: false } });
    }
    const s = resolveScenario({
      cost: { pcieLatencyNs: '550ns', memReadNs: 200 },
      thresholds: { 'prq.service.p99': '50us', 'job.latency.max': 1_000_000 },
    });
    expect(s.cost).toEqual({ pcieLatencyNs: 550, memReadNs: 200 });
    expect(s.thresholds).toEqual({ 'prq.service.p99': 50_000, 'job.latency.max': 1_000_000 });
  });
});
