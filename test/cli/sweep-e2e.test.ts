import { execFileSync, spawnSync } from 'node:child_process';
import {
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  symlinkSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { prepareFolder, readManifest } from '../../src/sweep/folder.js';
import { runPoint } from '../../src/sweep/point.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
// a build of its own, so the test runs the CLI as users do without touching the repository's dist/
const root = mkdtempSync(join(tmpdir(), 'svasim-sweep-e2e-'));
const bin = join(root, 'bin', 'svasim.mjs');

beforeAll(() => {
  mkdirSync(join(root, 'bin'));
  copyFileSync(join(repo, 'bin', 'svasim.mjs'), bin);
  copyFileSync(join(repo, 'package.json'), join(root, 'package.json'));
  symlinkSync(join(repo, 'node_modules'), join(root, 'node_modules'));
  execFileSync(
    join(repo, 'node_modules', '.bin', 'tsc'),
    [
      '-p',
      join(repo, 'tsconfig.build.json'),
      '--outDir',
      join(root, 'dist'),
      '--declaration',
      'false',
      '--sourceMap',
      'false',
    ],
    { stdio: 'pipe' },
  );
}, 120_000);

/** A report without what the wall clock decides. */
function deterministic(doc: Record<string, unknown>) {
  const { wallMs: _w, windowWallMs: _ww, eventsPerWallSecond: _e, ...rest } = doc;
  return rest;
}

describe('svasim sweep through the built CLI', () => {
  it('runs a 2-point sweep on 2 processes, one report per point, as the point runs in-process', async () => {
    const out = join(root, 'sweep');
    const r = spawnSync(
      process.execPath,
      [
        bin,
        'sweep',
        'default',
        '--vary',
        'iommu.prqEntries=64,256',
        '--duration',
        '50us',
        '-j',
        '2',
        '--out',
        out,
      ],
      {
        cwd: root,
        encoding: 'utf8',
        env: { ...process.env, SLURM_ARRAY_TASK_ID: '', JOB_COMPLETION_INDEX: '' },
      },
    );
    expect(r.stderr).toContain(
      `svasim: sweep of default: 2 points in ${out}; running 2 on 2 processes`,
    );
    expect(r.stderr).toMatch(/\[1\/2\] point \d \(iommu\.prqEntries=\d+\) done in/);
    expect(r.stderr).toMatch(
      /\[2\/2\] point \d \(iommu\.prqEntries=\d+\) done in .*0 running, 0 failed/,
    );
    expect(r.stdout.trim()).toBe(`sweep ${out}: 2 points: 2 done`);
    expect(r.status).toBe(0);
    expect(readdirSync(join(out, 'points')).sort()).toEqual(['0000.json', '0001.json']);
    // the same points run here, from the sources, give the same reports
    const m = readManifest(out)!;
    const here = join(root, 'here');
    prepareFolder(here, m);
    for (const p of m.points) {
      await runPoint(m, p, here);
      const name = `${String(p.index).padStart(4, '0')}.json`;
      const child = JSON.parse(readFileSync(join(out, 'points', name), 'utf8'));
      const own = JSON.parse(readFileSync(join(here, 'points', name), 'utf8'));
      expect(child.point).toEqual(p);
      expect(child.scenario.iommu.prqEntries).toBe(p.params['iommu.prqEntries']);
      expect(deterministic(child)).toEqual(deterministic(own));
    }
  });
});
