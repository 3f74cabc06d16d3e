import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { pointSeed } from '../../src/sweep/grid.js';
import {
  buildManifest,
  isSweepFile,
  loadSweepFile,
  manifestText,
  parseManifest,
} from '../../src/sweep/manifest.js';

const dir = mkdtempSync(join(tmpdir(), 'svasim-manifest-'));

describe('buildManifest()', () => {
  const m = buildManifest({
    scenario: 'fault-storm',
    baseSeed: 1,
    overrides: { duration: '200us' },
    axes: [{ path: 'iommu.prqEntries', values: [64, 256] }],
    seeds: 2,
  });

  it('holds the contract keys in order and every point', () => {
    expect(Object.keys(m)).toEqual([
      'format',
      'version',
      'scenario',
      'baseSeed',
      'overrides',
      'axes',
      'seeds',
      'points',
    ]);
    expect([m.format, m.version, m.scenario, m.baseSeed, m.seeds]).toEqual([
      'svasim-sweep',
      1,
      'fault-storm',
      1,
      2,
    ]);
    expect(m.overrides).toEqual({ duration: '200us' });
    expect(m.axes).toEqual([{ path: 'iommu.prqEntries', values: [64, 256] }]);
    expect(m.points.map((p) => Object.keys(p))).toEqual(
      Array(4).fill(['index', 'params', 'replicate', 'seed']),
    );
    expect(m.points[3]).toEqual({
      index: 3,
      params: { 'iommu.prqEntries': 256 },
      replicate: 1,
      seed: pointSeed(1, { 'iommu.prqEntries': 256 }, 1),
    });
  });

  it('is the same text every time, and reads back', () => {
    const again = buildManifest({
      scenario: 'fault-storm',
      baseSeed: 1,
      overrides: { duration: '200us' },
      axes: [{ path: 'iommu.prqEntries', values: [64, 256] }],
      seeds: 2,
    });
    expect(manifestText(again)).toBe(manifestText(m));
    expect(manifestText(m).endsWith('}\n')).toBe(true);
    expect(parseManifest(manifestText(m), 'sweep.json')).toEqual(m);
    expect(() => parseManifest('{"format":"other"}', 'x/sweep.json')).toThrow(
      'x/sweep.json: not a sweep manifest (format svasim-sweep, version 1)',
    );
  });
});

describe('loadSweepFile()', () => {
  it('reads the scenario, ordered axes, seeds, seed and overrides', () => {
    const file = join(dir, 'prq.sweep.yaml');
    writeFileSync(
      file,
      [
        'scenario: ../scenarios/storm.yaml',
        'vary:',
        '  iommu.prqEntries: [128, 512]',
        '  devices.0.priCredits: [16, 32]',
        'seeds: 3',
        'seed: 9',
        'overrides: { duration: 2ms, profile: current }',
      ].join('\n'),
    );
    expect(isSweepFile(file)).toBe(true);
    expect(loadSweepFile(file)).toEqual({
      scenario: join(dir, '../scenarios/storm.yaml'),
      axes: [
        { path: 'iommu.prqEntries', values: [128, 512] },
        { path: 'devices.0.priCredits', values: [16, 32] },
      ],
      seeds: 3,
      seed: 9,
      overrides: { duration: '2ms', profile: 'current' },
    });
  });

  it('keeps a preset name as it is', () => {
    const file = join(dir, 'p.sweep.json');
    writeFileSync(file, JSON.stringify({ scenario: 'fault-storm', vary: { duration: ['1ms'] } }));
    expect(loadSweepFile(file).scenario).toBe('fault-storm');
  });

  it.each([
    ['{ scenario: x, vary: { a: 1 } }', 'vary.a: expected a list of values'],
    ['{ scenario: x, seeds: 0 }', 'seeds: expected a whole number 1 or more, got 0'],
    ['{ scenario: x, varry: {} }', "unknown key 'varry'"],
    ['{ vary: {} }', 'scenario: expected a preset name or a scenario file'],
    ['{ scenario: x, vary: { seed: [1, 2] } }', "vary.seed: the path 'seed' cannot be varied"],
  ])('refuses %s, naming the file and the key', (text, message) => {
    const file = join(dir, 'bad.sweep.yaml');
    writeFileSync(file, text);
    expect(() => loadSweepFile(file)).toThrow(`${file}: ${message}`);
  });
});
