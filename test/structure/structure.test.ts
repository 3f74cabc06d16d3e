import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImports, folderCycles, readImports } from './imports.js';

const SRC = fileURLToPath(new URL('../../src', import.meta.url));

describe('the import graph of src/', () => {
  const edges = readImports(SRC);

  it('reads the imports of every folder', () => {
    const folders = new Set(edges.map((e) => e.from.split('/')[0]));
    for (const f of ['engine', 'kernel', 'device', 'machine', 'runtime', 'cli', 'layout']) {
      expect(folders.has(f), f).toBe(true);
    }
  });

  it('keeps every rule of DESIGN §4 and STYLE.md', () => {
    expect(checkImports(edges)).toEqual([]);
  });
});

describe('checkImports()', () => {
  it('flags a device that imports the engine', () => {
    expect(checkImports([{ from: 'device/devtlb.ts', to: 'engine/iotlb.ts' }])).toEqual([
      expect.stringContaining('device/devtlb.ts imports engine/iotlb.ts'),
    ]);
  });

  it('flags a layout that imports the model, and the engine importing the kernel', () => {
    const broken = checkImports([
      { from: 'layout/pte.ts', to: 'mem/page-table.ts' },
      { from: 'engine/unit.ts', to: 'kernel/iommu.ts' },
    ]);
    expect(broken).toHaveLength(2);
  });

  it('flags a model folder that imports the runtime, the CLI or a report', () => {
    for (const to of ['runtime/threaded.ts', 'cli/main.ts', 'report/json.ts']) {
      for (const from of ['engine/unit.ts', 'kernel/iommu.ts', 'device/device.ts']) {
        expect(checkImports([{ from, to }]), `${from} → ${to}`).not.toEqual([]);
      }
    }
  });

  it('flags a profile reached around the seam', () => {
    expect(checkImports([{ from: 'machine/system.ts', to: 'kernel/v5.8/svm.ts' }])).toEqual([
      expect.stringContaining('kernel/profile.ts'),
    ]);
    expect(checkImports([{ from: 'kernel/profile.ts', to: 'kernel/v5.8/index.ts' }])).toEqual([]);
  });

  it('finds an import cycle between folders', () => {
    expect(
      folderCycles([
        { from: 'scenario/a.ts', to: 'workload/b.ts' },
        { from: 'workload/b.ts', to: 'scenario/c.ts' },
      ]),
    ).toEqual(['import cycle between folders: scenario → workload → scenario']);
  });
});
