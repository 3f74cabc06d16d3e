import { describe, expect, it } from 'vitest';
import { placeAccelerators } from '../../src/machine/placement.js';
import { runScenario } from '../../src/machine/run.js';
import type { System } from '../../src/machine/system.js';
import { small } from './scenarios.js';

const churn = (extra: object) => ({
  count: 6,
  buffers: { count: 2, size: '64KiB' },
  churn: { bindLifetime: '60us', ...extra },
});

describe('partitioned run (engine side and device side in quanta, DESIGN §3)', () => {
  it.each([
    ['default small scenario', small()],
    ['exits while bound', small({ clients: churn({ exitWhileBound: 1 }) })],
    [
      'munmap with jobs in flight',
      small({ clients: churn({ munmapFraction: 1, mprotectFraction: 0 }) }),
    ],
    ['mprotect', small({ clients: churn({ munmapFraction: 0, mprotectFraction: 1 }) })],
    ['no block-on-fault', small({ devices: [{ count: 2, blockOnFault: false }] })],
    [
      'devices without ATS',
      small({
        devices: [{ count: 2, ats: false, pri: false }],
        clients: { count: 4, buffers: { count: 2, size: '64KiB', prefault: 'all' } },
      }),
    ],
    [
      'open loop, zipf, fill',
      small({ workload: { op: 'fill', pattern: 'zipf', arrival: { openLoop: { rate: '2M/s' } } } }),
    ],
    [
      'PRQ overflow',
      small({
        iommu: { prqEntries: 4 },
        devices: [{ count: 2, engines: 8, workQueue: { depth: 16 } }],
        workload: { arrival: { closedLoop: { queueDepth: 8 } } },
      }),
    ],
    ['two VT-d units', small({ iommu: { units: 2 }, devices: [{ count: 3 }] })],
  ])('%s: identical counters and histogram encodings to the single-partition run', (_name, sc) => {
    let world: System['world'] = null;
    const one = runScenario(sc);
    const two = runScenario(sc, { partitions: 2, onSystem: (s) => (world = s.world) });
    expect(two.invariants.violations).toEqual([]);
    expect(two.totals).toEqual(one.totals);
    expect(two.devices).toEqual(one.devices);
    expect(two.histograms).toEqual(one.histograms);
    expect(two.simulatedNs).toBe(one.simulatedNs);
    // the partitioning is real: messages crossed, in many quanta
    const w = world as unknown as { crossMessages: number; quanta: number };
    expect(w.crossMessages).toBeGreaterThan(100);
    expect(w.quanta).toBeGreaterThan(10);
  });

  it.each([
    ['3 partitions, separate', 3, 'separate', small({ devices: [{ count: 4 }] })],
    ['3 partitions, balanced', 3, 'balanced', small({ devices: [{ count: 4 }] })],
    [
      '5 partitions, balanced, churn with exits while bound',
      5,
      'balanced',
      small({ devices: [{ count: 6 }], clients: churn({ exitWhileBound: 1 }) }),
    ],
    [
      '9 partitions, 64 accelerators',
      9,
      'separate',
      small({
        duration: '60us',
        devices: [{ count: 64 }],
        clients: { count: 64, buffers: { count: 2, size: '16KiB' } },
      }),
    ],
  ] as const)('%s: identical to the single-partition run', (_name, partitions, mode, sc) => {
    const one = runScenario(sc);
    const placement = placeAccelerators(one.devices.length, partitions, mode, 0);
    if (mode === 'balanced') expect(placement).toContain(0);
    else expect(placement).not.toContain(0);
    const many = runScenario(sc, { partitions, placement });
    expect(many.invariants.violations).toEqual([]);
    expect(many.totals).toEqual(one.totals);
    expect(many.devices).toEqual(one.devices);
    expect(many.histograms).toEqual(one.histograms);
    expect(many.simulatedNs).toBe(one.simulatedNs);
  });

  it('orders a remote message and a local event at the same instant as one queue would', async () => {
    const { Simulator, World } = await import('../../src/sim/simulator.js');
    const run = (partitioned: boolean): string[] => {
      const order: string[] = [];
      const w = partitioned ? new World(2, 200) : null;
      const p0 = w ? w.sims[0]! : new Simulator();
      const p1 = w ? w.sims[1]! : p0;
      // x (partition 0) sends to z at +200; y (partition 1, a larger source id) times z for +200
      const x = p0.register({ handle: () => p0.send(200, x, z, p0.pool.alloc()) });
      const y = p1.register({ handle: () => p1.timer(200, y, z, 0) });
      const z = p1.register({
        handle: (arg) => {
          order.push(arg >= 0 ? 'message from x' : 'timer from y');
          if (arg >= 0) p1.pool.release(arg);
        },
      });
      p0.timer(0, x, x, 0);
      p1.timer(0, y, y, 0);
      if (w) w.runUntil(1000);
      else p0.runUntil(1000);
      return order;
    };
    expect(run(false)).toEqual(['message from x', 'timer from y']);
    expect(run(true)).toEqual(run(false));
  });

  it('refuses a message whose link is shorter than the quantum', async () => {
    const { World } = await import('../../src/sim/simulator.js');
    const w = new World(2, 200);
    const [a, b] = w.sims as [
      InstanceType<typeof World>['sims'][number],
      InstanceType<typeof World>['sims'][number],
    ];
    const ida = a.register({ handle: () => a.send(50, ida, idb, a.pool.alloc()) });
    const idb = b.register({ handle: () => {} });
    a.timer(0, ida, ida, 0);
    expect(() => w.runUntil(1000)).toThrow(/shorter than the quantum/);
  });
});
