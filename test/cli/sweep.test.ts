import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ExitStatus, runCli } from '../../src/cli/main.js';
import { type SweepFlags, sweepCommand } from '../../src/cli/sweep.js';
import { defaultScenario } from '../../src/scenario/index.js';
import { readManifest } from '../../src/sweep/folder.js';
import { pointSeed } from '../../src/sweep/grid.js';
import type { Launch, PointExit } from '../../src/sweep/local.js';
import { runPoint } from '../../src/sweep/point.js';
import { captureIo } from './io.js';

const root = mkdtempSync(join(tmpdir(), 'svasim-sweep-cli-'));
const seed0 = defaultScenario.seed;

/** Point "processes" run in this process, recording which points were launched. */
function inProcess(launched: number[], crash: ReadonlySet<number> = new Set()) {
  return (dir: string): Launch =>
    (index) => {
      launched.push(index);
      const exited: Promise<PointExit> = crash.has(index)
        ? Promise.resolve({ status: 134, signal: null, stderr: 'line 1\nfatal: out of luck\n' })
        : (async () => {
            const m = readManifest(dir)!;
            const r = await runPoint(m, m.points[index]!, dir);
            return { status: r.ok ? 0 : r.exitStatus, signal: null, stderr: '' };
          })();
      return { exited, kill: () => {} };
    };
}

function flags(f: Partial<SweepFlags>): SweepFlags {
  return { vary: [], quiet: true, ...f };
}

const grid = ['--vary', 'iommu.prqEntries=64,256', '--seeds', '2', '--duration', '50us'];

describe('svasim sweep --list', () => {
  it('prints each point with its index, replicate, seed and params, and runs nothing', async () => {
    const io = captureIo();
    const out = join(root, 'list');
    expect(await runCli(['sweep', 'default', ...grid, '--out', out, '--list'], io)).toBe(0);
    const s = (v: number, r: number) => String(pointSeed(seed0, { 'iommu.prqEntries': v }, r));
    const rows = [
      ['0', '0', s(64, 0), '64'],
      ['1', '1', s(64, 1), '64'],
      ['2', '0', s(256, 0), '256'],
      ['3', '1', s(256, 1), '256'],
    ];
    const w = Math.max(...rows.map((r) => r[2]!.length));
    expect(io.text()).toBe(
      [
        `index  replicate  ${'seed'.padEnd(w)}  iommu.prqEntries`,
        ...rows.map(([i, r, sd, v]) => `${i!.padEnd(5)}  ${r!.padEnd(9)}  ${sd!.padEnd(w)}  ${v}`),
      ].join('\n'),
    );
    expect(existsSync(out)).toBe(false);
  });

  it('lists only the shard asked for', async () => {
    const io = captureIo();
    expect(await runCli(['sweep', 'default', ...grid, '--list', '--shard', '1/2'], io)).toBe(0);
    expect(
      io
        .text()
        .split('\n')
        .slice(1)
        .map((l) => l.split(' ')[0]),
    ).toEqual(['1', '3']);
  });
});

describe('svasim sweep --index N', () => {
  it('runs one point in this process and writes its report with the point first', async () => {
    const out = join(root, 'index');
    const io = captureIo();
    expect(await runCli(['sweep', 'default', ...grid, '--out', out, '--index', '3'], io)).toBe(0);
    expect(readdirSync(join(out, 'points'))).toEqual(['0003.json']);
    const doc = JSON.parse(readFileSync(join(out, 'points', '0003.json'), 'utf8'));
    const seed = pointSeed(seed0, { 'iommu.prqEntries': 256 }, 1);
    expect(Object.keys(doc).slice(0, 3)).toEqual(['point', 'version', 'scenario']);
    expect(doc.point).toEqual({
      index: 3,
      params: { 'iommu.prqEntries': 256 },
      replicate: 1,
      seed,
    });
    expect([doc.seed, doc.scenario.seed, doc.scenario.iommu.prqEntries]).toEqual([seed, seed, 256]);
    expect([doc.scenario.duration, doc.runtime]).toEqual([50_000, 'inline']);
    expect(io.text()).toMatch(/^point 3 \(iommu\.prqEntries=256, replicate 1\): seed \d+, done in/);
    // again: already done
    const io2 = captureIo();
    expect(await runCli(['sweep', '--out', out, '--index', '3'], io2)).toBe(0);
    expect(io2.text()).toBe(
      `point 3 (iommu.prqEntries=256, replicate 1) is already done in ${out}; skipping it`,
    );
  });

  it('fails a point whose value makes the scenario invalid, naming the point (exit 2)', async () => {
    const out = join(root, 'invalid');
    const io = captureIo();
    const argv = ['sweep', 'default', '--vary', 'iommu.prqEntries=64,100', '--duration', '50us'];
    expect(await runCli([...argv, '--out', out, '--index', '1'], io)).toBe(ExitStatus.BAD_INPUT);
    const e = JSON.parse(readFileSync(join(out, 'points', '0001.error.json'), 'utf8'));
    expect(e.error).toEqual({
      code: 'EINVAL',
      message:
        'point 1 (iommu.prqEntries=100): invalid scenario (1 problem):\n' +
        '  iommu.prqEntries: expected a power of two 4..1048576, got 100',
      exitStatus: 2,
    });
    expect(io.errors()).toContain('svasim: point 1 (iommu.prqEntries=100): invalid scenario');
  });

  it('picks its point from JOB_COMPLETION_INDEX, else SLURM_ARRAY_TASK_ID', async () => {
    const out = join(root, 'env');
    const env = { SLURM_ARRAY_TASK_ID: '0', JOB_COMPLETION_INDEX: '2' };
    const f = flags({ vary: ['iommu.prqEntries=64,256'], seeds: 2, duration: '50us', out });
    expect(await sweepCommand(captureIo(), 'default', f, { env, cwd: root })).toBe(0);
    expect(readdirSync(join(out, 'points'))).toEqual(['0002.json']);
    const env2 = { SLURM_ARRAY_TASK_ID: '1' };
    expect(await sweepCommand(captureIo(), 'default', f, { env: env2, cwd: root })).toBe(0);
    expect(readdirSync(join(out, 'points')).sort()).toEqual(['0001.json', '0002.json']);
    const io = captureIo();
    const env3 = { SLURM_ARRAY_TASK_ID: '4' };
    await expect(sweepCommand(io, 'default', f, { env: env3, cwd: root })).rejects.toThrow(
      "SLURM_ARRAY_TASK_ID 4 is past the sweep's last point (4 points: 0..3)",
    );
  });
});

describe('svasim sweep on local processes', () => {
  it('goes on past a failed point and a crashed one, reports both, and exits 1', async () => {
    const out = join(root, 'failures');
    const launched: number[] = [];
    const io = captureIo();
    const f = flags({ vary: ['iommu.prqEntries=64,100,256'], duration: '50us', out, jobs: 2 });
    const ctx = { env: {}, cwd: root, launch: inProcess(launched, new Set([2])) };
    expect(await sweepCommand(io, 'default', f, ctx)).toBe(ExitStatus.FAILED);
    expect(launched.sort()).toEqual([0, 1, 2]);
    expect(readdirSync(join(out, 'points')).sort()).toEqual([
      '0000.json',
      '0001.error.json',
      '0002.error.json',
    ]);
    const crash = JSON.parse(readFileSync(join(out, 'points', '0002.error.json'), 'utf8'));
    expect(crash.error).toEqual({
      code: 'ERR_POINT_FAILED',
      message:
        'point 2 (iommu.prqEntries=256): the point process exited with status 134 and wrote no report: line 1 | fatal: out of luck',
      exitStatus: 134,
    });
    expect(io.text()).toBe(
      `sweep ${out}: 3 points: 1 done, 2 failed (points/0001.error.json, points/0002.error.json)`,
    );
    expect(io.errors()).toContain('svasim: point 1 (iommu.prqEntries=100): invalid scenario');
    expect(io.errors()).toContain(
      'svasim: point 2 (iommu.prqEntries=256): the point process exited',
    );
    expect(io.errors()).toContain(
      `svasim: to run the failed points again: svasim sweep --out ${out}`,
    );
  });

  it('resumes into the same folder, running only the points not done, and says so', async () => {
    const out = join(root, 'resume');
    const f = flags({
      vary: ['iommu.prqEntries=64,256'],
      seeds: 2,
      duration: '50us',
      out,
      quiet: false,
    });
    const first: number[] = [];
    const io1 = captureIo();
    await sweepCommand(
      io1,
      'default',
      { ...f, shard: { k: 0, n: 2 } },
      {
        env: {},
        cwd: root,
        launch: inProcess(first),
      },
    );
    expect(first).toEqual([0, 2]);
    const again: number[] = [];
    const io = captureIo();
    expect(
      await sweepCommand(io, 'default', f, { env: {}, cwd: root, launch: inProcess(again) }),
    ).toBe(0);
    expect(again).toEqual([1, 3]);
    expect(io.errors().split('\n')[0]).toBe(
      `svasim: sweep of default: 4 points in ${out}; resuming: 2 already done, skipping them; running 2 on 2 processes`,
    );
    expect(io.text()).toBe(`sweep ${out}: 4 points: 4 done (2 earlier)`);
    // and with nothing left, nothing runs; the manifest alone is enough to name the sweep
    const none: number[] = [];
    const io3 = captureIo();
    expect(
      await sweepCommand(io3, undefined, flags({ out }), {
        env: {},
        cwd: root,
        launch: inProcess(none),
      }),
    ).toBe(0);
    expect(none).toEqual([]);
    expect(io3.text()).toBe(`sweep ${out}: 4 points: 4 done (4 earlier)`);
  });

  it('refuses a folder that holds another sweep (exit 2)', async () => {
    const out = join(root, 'other');
    expect(await runCli(['sweep', 'default', ...grid, '--out', out, '--list'], captureIo())).toBe(
      0,
    );
    await sweepCommand(
      captureIo(),
      'default',
      flags({ vary: ['iommu.prqEntries=64'], duration: '50us', out }),
      {
        env: {},
        cwd: root,
        launch: inProcess([]),
      },
    );
    const io = captureIo();
    expect(
      await runCli(['sweep', 'default', '--vary', 'iommu.prqEntries=64,128', '--out', out], io),
    ).toBe(2);
    expect(io.errors()).toMatch(
      new RegExp(
        `^svasim: ${out} holds another sweep \\(its sweep\\.json differs in 'overrides': \\{"duration":"50us"\\} there, \\{\\} here\\)`,
      ),
    );
  });

  it('on SIGINT launches no more points, stops the running ones, keeps what finished, exits 130', async () => {
    const out = join(root, 'sigint');
    const launched: number[] = [];
    const killed: string[] = [];
    const launch = (dir: string): Launch => {
      const real = inProcess([])(dir);
      return (index) => {
        launched.push(index);
        if (index === 0) return real(index);
        // the other points run until they are stopped
        let end!: (e: PointExit) => void;
        const exited = new Promise<PointExit>((r) => {
          end = r;
        });
        return {
          exited,
          kill: (signal) => {
            killed.push(`${index}:${signal}`);
            end({ status: null, signal, stderr: '' });
          },
        };
      };
    };
    const look = (): void => {
      // interrupted once point 0 finished and points 1 and 2 took its place
      if (launched.length === 3 && existsSync(join(out, 'points', '0000.json'))) {
        process.emit('SIGINT', 'SIGINT');
      } else setImmediate(look);
    };
    setImmediate(look);
    const io = captureIo();
    const f = flags({ vary: ['iommu.prqEntries=64,256,512,1024'], duration: '50us', out, jobs: 2 });
    expect(await sweepCommand(io, 'default', f, { env: {}, cwd: root, launch })).toBe(
      ExitStatus.INTERRUPTED,
    );
    expect(launched).toEqual([0, 1, 2]);
    expect(killed.sort()).toEqual(['1:SIGTERM', '2:SIGTERM']);
    expect(readdirSync(join(out, 'points'))).toEqual(['0000.json']);
    expect(io.text()).toBe(`sweep ${out}: 4 points: 1 done, 3 not run`);
    expect(io.errors()).toContain('svasim: SIGINT: no new point; stopping the running ones');
    expect(io.errors()).toContain(`svasim: to run the rest: svasim sweep --out ${out}`);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });
});

describe('svasim sweep --emit', () => {
  it('slurm: writes the manifest and an sbatch array script, and says how to submit', async () => {
    const out = join(root, 'emit');
    const io = captureIo();
    expect(await runCli(['sweep', 'default', ...grid, '--out', out, '--emit', 'slurm'], io)).toBe(
      0,
    );
    expect(readManifest(out)!.points).toHaveLength(4);
    const script = readFileSync(join(out, 'sweep.sbatch'), 'utf8');
    expect(script).toContain('#SBATCH --array=0-3\n');
    expect(script).toContain(`#SBATCH --output=${out}/logs/%A_%a.out\n`);
    expect(existsSync(join(out, 'logs'))).toBe(true);
    expect(io.text()).toBe(
      `wrote ${join(out, 'sweep.json')} (4 points) and ${join(out, 'sweep.sbatch')} (4 array tasks)\n` +
        `submit with: sbatch ${join(out, 'sweep.sbatch')}`,
    );
  });

  it('k8s: writes an Indexed Job beside the manifest', async () => {
    const out = join(root, 'emit-k8s');
    const io = captureIo();
    const argv = ['sweep', 'default', ...grid, '--out', out, '--emit', 'k8s', '--tasks', '2'];
    expect(await runCli([...argv, '--image', 'svasim:1', '--claim', 'runs'], io)).toBe(0);
    const job = readFileSync(join(out, 'sweep-job.yaml'), 'utf8');
    expect(job).toContain('completionMode: Indexed\n  completions: 2\n');
    expect(job).toContain(`--shard \\"\${JOB_COMPLETION_INDEX}/2\\"`);
    expect(io.text().split('\n').at(-1)).toBe(
      `apply with: kubectl apply -f ${join(out, 'sweep-job.yaml')}`,
    );
  });
});

describe('svasim sweep, bad input', () => {
  it.each([
    [['sweep', 'default', '--vary', 'iommu.prqEntries'], /--vary takes PATH=V1,V2/],
    [['sweep'], /give a SCENARIO and --vary PATH=V1,V2,…/],
    [['sweep', '--out', '/nonexistent-sweep'], /\/nonexistent-sweep holds no sweep\.json/],
    [['sweep', '--seeds', '2', '--out', 'x'], /--seeds needs a SCENARIO/],
    [['sweep', 'no-such-preset', '--list'], /no scenario file or preset named 'no-such-preset'/],
    [['sweep', 'default', '--vary', 'a=1', '--vary', 'a=2'], /the path a is varied twice/],
    [
      ['sweep', 'default', '--index', '0', '--shard', '0/2', '--list'],
      /--index and --shard exclude/,
    ],
    [['sweep', 'default', '--shard', '2/2'], /--shard takes K\/N with 0 ≤ K < N/],
  ])('%j exits 2 and says why', async (argv, message) => {
    const io = captureIo();
    expect(await runCli(argv, io)).toBe(ExitStatus.BAD_INPUT);
    expect(io.errors()).toMatch(message);
  });
});
