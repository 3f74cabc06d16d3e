import { describe, expect, it } from 'vitest';
import {
  canonicalJson,
  expandGrid,
  fnv1a32,
  parseValue,
  parseVary,
  pointInput,
  pointSeed,
  setPath,
} from '../../src/sweep/grid.js';

describe('parseValue()', () => {
  it('reads numbers as numbers, true/false as booleans and the rest as strings', () => {
    expect([parseValue('64'), parseValue('-3'), parseValue('0.25'), parseValue('1e3')]).toEqual([
      64, -3, 0.25, 1000,
    ]);
    expect([parseValue('true'), parseValue('false')]).toEqual([true, false]);
    expect([parseValue('2ms'), parseValue('current'), parseValue(''), parseValue(' 5')]).toEqual([
      '2ms',
      'current',
      '',
      ' 5',
    ]);
  });
});

describe('parseVary()', () => {
  it('splits PATH=V1,V2 into an axis with parsed values', () => {
    expect(parseVary('iommu.prqEntries=64,256')).toEqual({
      path: 'iommu.prqEntries',
      values: [64, 256],
    });
    expect(parseVary('duration=50us,1ms')).toEqual({ path: 'duration', values: ['50us', '1ms'] });
  });

  it('refuses a missing =, no values, a repeated value, and the seed', () => {
    expect(() => parseVary('iommu.prqEntries')).toThrow(/--vary takes PATH=V1,V2/);
    expect(() => parseVary('iommu.prqEntries=')).toThrow(/--vary takes PATH=V1,V2/);
    expect(() => parseVary('a=1,2,1')).toThrow('the axis a lists the value 1 twice');
    expect(() => parseVary('seed=1,2')).toThrow(/cannot be varied.*--seeds N/);
    expect(() => parseVary('iommu..x=1')).toThrow(/bad path 'iommu..x'/);
  });
});

describe('fnv1a32()', () => {
  it('matches the published FNV-1a 32-bit vectors', () => {
    // FNV test vectors (Fowler/Noll/Vo): "" → 0x811c9dc5, "a" → 0xe40c292c, "foobar" → 0xbf9cf968
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });
});

describe('expandGrid()', () => {
  const axes = [
    { path: 'iommu.prqEntries', values: [64, 256, 1024] },
    { path: 'profile', values: ['v5.8', 'current'] },
  ];

  it('varies the first axis slowest and the replicate fastest', () => {
    const points = expandGrid(axes, 2, 1);
    expect(points).toHaveLength(12);
    expect(points.map((p) => p.index)).toEqual([...Array(12).keys()]);
    expect(
      points.map((p) => `${p.params['iommu.prqEntries']}/${p.params.profile}/${p.replicate}`),
    ).toEqual([
      '64/v5.8/0',
      '64/v5.8/1',
      '64/current/0',
      '64/current/1',
      '256/v5.8/0',
      '256/v5.8/1',
      '256/current/0',
      '256/current/1',
      '1024/v5.8/0',
      '1024/v5.8/1',
      '1024/current/0',
      '1024/current/1',
    ]);
    // params keep the axis order
    expect(Object.keys(points[5]!.params)).toEqual(['iommu.prqEntries', 'profile']);
  });

  it('gives the base scenario `seeds` times without axes', () => {
    const points = expandGrid([], 3, 7);
    expect(points.map((p) => [p.index, p.replicate, p.params])).toEqual([
      [0, 0, {}],
      [1, 1, {}],
      [2, 2, {}],
    ]);
  });

  it('derives each seed from the base seed, the params and the replicate: stable and distinct', () => {
    const a = expandGrid(axes, 2, 1);
    const b = expandGrid(axes, 2, 1);
    expect(a.map((p) => p.seed)).toEqual(b.map((p) => p.seed));
    expect(new Set(a.map((p) => p.seed)).size).toBe(12);
    for (const p of a) {
      expect(p.seed).toBe(pointSeed(1, p.params, p.replicate));
      expect(Number.isInteger(p.seed) && p.seed >= 0 && p.seed <= 0xffff_ffff).toBe(true);
    }
    // the hash of the documented text (base seed, canonical params, replicate, one per line),
    // 3932226836 as computed apart with Python
    expect(a[0]!.seed).toBe(fnv1a32('1\n{"iommu.prqEntries":64,"profile":"v5.8"}\n0'));
    expect(a[0]!.seed).toBe(3932226836);
    // the same point in another grid (another order of axes, another shard) has the same seed
    const swapped = expandGrid([axes[1]!, axes[0]!], 2, 1);
    const same = swapped.find(
      (p) =>
        p.params['iommu.prqEntries'] === 64 && p.params.profile === 'v5.8' && p.replicate === 0,
    );
    expect(same!.seed).toBe(a[0]!.seed);
    // another base seed, other seeds
    expect(expandGrid(axes, 2, 2)[0]!.seed).not.toBe(a[0]!.seed);
  });
});

describe('canonicalJson()', () => {
  it('sorts keys at every depth', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 'x' } })).toBe(
      '{"a":{"c":"x","d":[1,{"x":1,"y":2}]},"b":1}',
    );
  });
});

describe('setPath() and pointInput()', () => {
  it('sets nested keys, creating objects and lists on the way', () => {
    const input: Record<string, unknown> = { iommu: { units: 2 } };
    setPath(input, 'iommu.prqEntries', 256);
    setPath(input, 'devices.0.engines', 4);
    setPath(input, 'workload.arrival.closedLoop.queueDepth', 2);
    expect(input).toEqual({
      iommu: { units: 2, prqEntries: 256 },
      devices: [{ engines: 4 }],
      workload: { arrival: { closedLoop: { queueDepth: 2 } } },
    });
    setPath(input, 'devices[0].count', 3);
    expect(input.devices).toEqual([{ engines: 4, count: 3 }]);
  });

  it('refuses a path through a value or past the end of a list', () => {
    const input: Record<string, unknown> = { duration: '1ms', devices: [{}] };
    expect(() => setPath(input, 'duration.x', 1)).toThrow(
      'cannot set duration.x: duration is not a mapping',
    );
    expect(() => setPath(input, 'devices.2.count', 1)).toThrow(
      'cannot set devices.2.count: devices is a list of 1; expected an index 0..1',
    );
  });

  it('applies overrides, then params, then the seed, leaving the base untouched', () => {
    const base = { name: 'x', iommu: { prqEntries: 128 }, duration: '1ms' };
    const [p] = expandGrid([{ path: 'iommu.prqEntries', values: [512] }], 1, 5);
    const input = pointInput(
      base,
      { duration: '50us', 'iommu.prqEntries': 64, runtime: 'threaded' },
      p!,
    );
    expect(input).toEqual({
      name: 'x',
      iommu: { prqEntries: 512 },
      duration: '50us',
      seed: p!.seed,
    });
    expect(base).toEqual({ name: 'x', iommu: { prqEntries: 128 }, duration: '1ms' });
  });
});
