import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  folderStatus,
  pointFileName,
  prepareFolder,
  writePointError,
  writePointReport,
} from '../../src/sweep/folder.js';
import { buildManifest, manifestText } from '../../src/sweep/manifest.js';

const root = mkdtempSync(join(tmpdir(), 'svasim-folder-'));
const spec = {
  scenario: 'default',
  baseSeed: 1,
  overrides: {},
  axes: [{ path: 'iommu.prqEntries', values: [64, 256] }],
  seeds: 1,
};

describe('pointFileName()', () => {
  it('pads to 4 digits and grows past them', () => {
    expect(pointFileName(7)).toBe('0007.json');
    expect(pointFileName(7, true)).toBe('0007.error.json');
    expect(pointFileName(12345)).toBe('12345.json');
  });
});

describe('prepareFolder()', () => {
  it('writes the manifest into a new folder, and accepts the same sweep again', () => {
    const dir = join(root, 'a');
    const m = buildManifest(spec);
    expect(prepareFolder(dir, m)).toBe(false);
    expect(readFileSync(join(dir, 'sweep.json'), 'utf8')).toBe(manifestText(m));
    expect(existsSync(join(dir, 'points'))).toBe(true);
    expect(prepareFolder(dir, buildManifest(spec))).toBe(true);
    // no temporary file is left behind
    expect(readdirSync(dir).sort()).toEqual(['points', 'sweep.json']);
  });

  it('refuses a folder holding another sweep, saying where they differ', () => {
    const dir = join(root, 'b');
    prepareFolder(dir, buildManifest(spec));
    const other = buildManifest({ ...spec, axes: [{ path: 'iommu.prqEntries', values: [64] }] });
    expect(() => prepareFolder(dir, other)).toThrow(
      `${dir} holds another sweep (its sweep.json differs in 'axes': ` +
        '[{"path":"iommu.prqEntries","values":[64,256]}] there, ' +
        '[{"path":"iommu.prqEntries","values":[64]}] here); give another --out, or remove that folder',
    );
    expect(() => prepareFolder(dir, buildManifest({ ...spec, baseSeed: 2 }))).toThrow(
      /differs in 'baseSeed': 1 there, 2 here/,
    );
  });
});

describe('point files', () => {
  it('writes a report with point first, an error file, and tells which points stand where', () => {
    const dir = join(root, 'c');
    const m = buildManifest(spec);
    prepareFolder(dir, m);
    writePointError(dir, m.points[0]!, { code: 'EINVAL', message: 'bad', exitStatus: 2 });
    writePointError(dir, m.points[1]!, { code: 'ERR_POINT_FAILED', message: 'x', exitStatus: 1 });
    expect(folderStatus(dir)).toEqual({ done: new Set(), failed: new Set([0, 1]) });
    const report = { version: 1 } as unknown as Parameters<typeof writePointReport>[2];
    const file = writePointReport(dir, m.points[1]!, report);
    expect(file).toBe(join(dir, 'points', '0001.json'));
    const doc = JSON.parse(readFileSync(file, 'utf8'));
    expect(Object.keys(doc)).toEqual(['point', 'version']);
    expect(doc.point).toEqual(m.points[1]);
    // the report replaces the error file of a former attempt
    expect(existsSync(join(dir, 'points', '0001.error.json'))).toBe(false);
    expect(folderStatus(dir)).toEqual({ done: new Set([1]), failed: new Set([0]) });
    expect(JSON.parse(readFileSync(join(dir, 'points', '0000.error.json'), 'utf8'))).toEqual({
      point: m.points[0],
      error: { code: 'EINVAL', message: 'bad', exitStatus: 2 },
    });
    // temporary files and strangers are not points
    writeFileSync(join(dir, 'points', '.0000.json.tmp'), '{');
    expect(folderStatus(dir).done).toEqual(new Set([1]));
  });
});
