/**
 * `svasim sweep`: a grid of scenarios, run on local processes or on many machines with no
 * coordinator (README "Sizing with sweeps"):
 *
 *   svasim sweep SCENARIO --vary PATH=V1,V2,… [--vary …] [--seeds N] [--seed N]
 *                [--duration TIME] [--profile P] [--runtime R] [--out DIR]
 *                [--list | --emit slurm|k8s | --index N | --shard K/N] [-j N] [--quiet]
 *   svasim sweep FILE.sweep.yaml [the same options]   the grid written in a sweep file
 *   svasim sweep --out DIR [-j N | --index N | --shard K/N]   the sweep DIR holds (resume)
 *
 * The folder is the sweep folder contract (src/sweep/folder.ts): the manifest first, then one
 * report per point as it finishes. A folder holding another sweep is refused; a folder holding
 * this one is resumed (points done are skipped). Exit status: 0 every selected point has its
 * report; 1 a point failed (its error file says why); 2 bad input; 130 / 143 stopped by
 * SIGINT / SIGTERM (the points done are kept; the command to resume is printed).
 */

import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { MultiBar } from 'cli-progress';
import { type Command, InvalidArgumentError, Option } from 'commander';
import { codedError } from '../errors.js';
import { PROFILE_NAMES, type Profile } from '../kernel/sva.js';
import { parseDuration } from '../scenario/units.js';
import {
  K8S_CLAIM_PLACEHOLDER,
  K8S_IMAGE_PLACEHOLDER,
  k8sJob,
  shellQuote,
  slurmScript,
} from '../sweep/emit.js';
import { folderStatus, MANIFEST_FILE, prepareFolder, readManifest } from '../sweep/folder.js';
import {
  canonicalJson,
  parseVary,
  pointLabel,
  type SweepAxis,
  type SweepValue,
} from '../sweep/grid.js';
import {
  childLauncher,
  type Launch,
  type PointResult,
  runLocal,
  svasimBin,
} from '../sweep/local.js';
import {
  buildManifest,
  isSweepFile,
  loadSweepFile,
  type SweepManifest,
  scenarioSeed,
} from '../sweep/manifest.js';
import { runPoint } from '../sweep/point.js';
import { parseShard, type Shard, selectedIndexes, selection } from '../sweep/select.js';
import { autoRuntime } from './auto-runtime.js';
import { type CliIo, ExitStatus } from './main.js';

/** The options of `svasim sweep` as commander hands them over. */
export interface SweepFlags {
  vary: string[];
  seeds?: number;
  seed?: number;
  duration?: string;
  profile?: Profile;
  runtime?: 'auto' | 'inline' | 'threaded';
  out?: string;
  list?: boolean;
  index?: number;
  shard?: Shard;
  jobs?: number;
  emit?: 'slurm' | 'k8s';
  tasks?: number;
  parallelism?: number;
  command?: string;
  image?: string;
  claim?: string;
  quiet?: boolean;
}

/** What `svasim sweep` reads besides its arguments; tests pass their own. */
export interface SweepContext {
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Starts point processes (default: node on svasim's entry point). */
  launch?: (dir: string) => Launch;
}

function bad(message: string): Error {
  return codedError('EINVAL', message);
}

function intArg(name: string, min: number, max = Number.MAX_SAFE_INTEGER) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(
        `${name} takes a whole number ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}, got '${v}'`,
      );
    }
    return Number(v);
  };
}

/** The default folder of a sweep: `sweep-<scenario or sweep file name>`. */
export function defaultOut(ref: string): string {
  const name = basename(ref).replace(/(\.sweep)?\.(ya?ml|json)$/i, '');
  return `sweep-${name}`;
}

const GRID_FLAGS = ['seeds', 'seed', 'duration', 'profile', 'runtime'] as const;

/**
 * The manifest the command line describes: from SCENARIO (or a sweep file) and the grid
 * options, or, without SCENARIO, the one the `--out` folder holds.
 */
export function manifestFromFlags(ref: string | undefined, f: SweepFlags): SweepManifest {
  if (ref === undefined) {
    const given = GRID_FLAGS.filter((k) => f[k] !== undefined);
    if (f.vary.length > 0 || given.length > 0) {
      throw bad(
        `--${f.vary.length > 0 ? 'vary' : given[0]} needs a SCENARIO (or a sweep file); ` +
          'without one, the sweep is the one --out DIR holds',
      );
    }
    if (f.out === undefined) {
      throw bad(
        'give a SCENARIO and --vary PATH=V1,V2,… (or a FILE.sweep.yaml), or --out DIR to go on with the sweep DIR holds',
      );
    }
    const m = readManifest(f.out);
    if (!m) throw bad(`${f.out} holds no ${MANIFEST_FILE}; give the SCENARIO and grid`);
    return m;
  }
  const overrides: Record<string, SweepValue> = {};
  if (f.duration !== undefined) overrides.duration = f.duration;
  if (f.profile !== undefined) overrides.profile = f.profile;
  if (f.runtime !== undefined) overrides.runtime = f.runtime;
  const cliAxes = f.vary.map(parseVary);
  let scenario = ref;
  let axes: SweepAxis[] = cliAxes;
  let seeds = f.seeds ?? 1;
  let seed = f.seed;
  let fileOverrides: Record<string, SweepValue> = {};
  if (isSweepFile(ref)) {
    const file = loadSweepFile(ref);
    scenario = file.scenario;
    axes = [...file.axes, ...cliAxes];
    seeds = f.seeds ?? file.seeds ?? 1;
    seed = f.seed ?? file.seed;
    fileOverrides = file.overrides;
  }
  const paths = new Set<string>();
  for (const a of axes) {
    if (paths.has(a.path)) throw bad(`the path ${a.path} is varied twice; give its values once`);
    paths.add(a.path);
  }
  return buildManifest({
    scenario,
    baseSeed: seed ?? scenarioSeed(scenario),
    overrides: { ...fileOverrides, ...overrides },
    axes,
    seeds,
  });
}

/** The points as `--list` prints them: index, replicate, seed and one column per axis. */
export function listText(m: SweepManifest, indexes: readonly number[]): string[] {
  const cell = (v: SweepValue) => (typeof v === 'string' ? v : canonicalJson(v));
  const head = [
    'index',
    ...(m.seeds > 1 ? ['replicate'] : []),
    'seed',
    ...m.axes.map((a) => a.path),
  ];
  const rows = indexes.map((i) => {
    const p = m.points[i]!;
    return [
      String(p.index),
      ...(m.seeds > 1 ? [String(p.replicate)] : []),
      String(p.seed),
      ...m.axes.map((a) => cell(p.params[a.path]!)),
    ];
  });
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) =>
    r
      .map((x, c) => x.padEnd(widths[c]!))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)];
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function seconds(ms: number): string {
  return ms >= 10_000 ? `${Math.round(ms / 1000)}s` : `${(ms / 1000).toFixed(1)}s`;
}

/** `--emit slurm|k8s`: the manifest into the folder and the job beside it. */
function emitCommand(io: CliIo, ctx: SweepContext, m: SweepManifest, out: string, f: SweepFlags) {
  const dir = resolve(ctx.cwd, out);
  prepareFolder(dir, m);
  mkdirSync(join(dir, 'logs'), { recursive: true });
  const slurm = f.emit === 'slurm';
  const command =
    f.command ?? (slurm ? `${shellQuote(process.execPath)} ${shellQuote(svasimBin())}` : 'svasim');
  const options = {
    dir,
    cwd: ctx.cwd,
    points: m.points.length,
    tasks: f.tasks ?? m.points.length,
    ...(f.parallelism !== undefined ? { parallelism: f.parallelism } : {}),
    cpus: f.jobs ?? 1,
    command,
    name: basename(dir),
    image: f.image ?? K8S_IMAGE_PLACEHOLDER,
    claim: f.claim ?? K8S_CLAIM_PLACEHOLDER,
  };
  const file = join(dir, slurm ? 'sweep.sbatch' : 'sweep-job.yaml');
  writeFileSync(file, slurm ? slurmScript(options) : k8sJob(options));
  const tasks = Math.min(options.tasks, options.points);
  io.out(
    `wrote ${join(dir, MANIFEST_FILE)} (${plural(m.points.length, 'point')}) and ${file} ` +
      `(${plural(tasks, slurm ? 'array task' : 'completion')}${tasks < m.points.length ? ', each a shard' : ''})`,
  );
  if (slurm) io.out(`submit with: sbatch ${shellQuote(file)}`);
  else {
    if (f.image === undefined || f.claim === undefined) {
      io.out('set the image (--image) and the volume claim (--claim), or edit the placeholders');
    }
    io.out(`apply with: kubectl apply -f ${shellQuote(file)}`);
  }
  return ExitStatus.OK;
}

/** One point in this process (`--index N`, or the index an array task's environment gives). */
async function pointCommand(
  io: CliIo,
  m: SweepManifest,
  dir: string,
  index: number,
  done: boolean,
  quiet: boolean,
): Promise<number> {
  const point = m.points[index]!;
  const label = pointLabel(point, m.seeds);
  if (done) {
    if (!quiet) io.out(`${label} is already done in ${dir}; skipping it`);
    return ExitStatus.OK;
  }
  const t0 = performance.now();
  const r = await runPoint(m, point, dir, (sc) => autoRuntime(sc, availableParallelism()).runtime);
  if (!r.ok) {
    io.err(`svasim: ${r.message.split('\n').join('\n  ')}`);
    io.err(`svasim: ${label} failed (${r.code}); written: ${r.file}`);
    return r.exitStatus === ExitStatus.BAD_INPUT ? ExitStatus.BAD_INPUT : ExitStatus.FAILED;
  }
  if (!quiet)
    io.out(
      `${label}: seed ${point.seed}, done in ${seconds(performance.now() - t0)}; written: ${r.file}`,
    );
  return ExitStatus.OK;
}

/** The progress of a local sweep: a bar on a terminal, a line per point otherwise. */
function progress(io: CliIo, total: number, quiet: boolean) {
  const t0 = performance.now();
  let finished = 0;
  let failed = 0;
  const bar =
    !quiet && io.isTTY
      ? new MultiBar(
          {
            format:
              '  points {value}/{total} |{bar}| {running} running, {failed} failed | ETA {eta}',
            hideCursor: true,
            clearOnComplete: true,
            stream: process.stderr,
          },
          undefined,
        )
      : null;
  const one = bar?.create(total, 0, { running: 0, failed: 0, eta: '?' });
  const say = (line: string) => (bar ? bar.log(`${line}\n`) : io.err(line));
  const eta = (running: number) => {
    const elapsed = performance.now() - t0;
    if (finished === 0) return '?';
    return seconds((elapsed / finished) * (total - finished - running / 2));
  };
  return {
    started(_index: number, running: number) {
      one?.update(finished, { running, failed, eta: eta(running) });
    },
    finished(r: PointResult, running: number, m: SweepManifest) {
      if (r.kind === 'stopped') return;
      finished++;
      if (r.kind === 'failed') {
        failed++;
        say(`svasim: ${r.message.split('\n').join('\n  ')}`);
      }
      one?.update(finished, { running, failed, eta: eta(running) });
      if (!bar && !quiet && r.kind === 'done') {
        const label = pointLabel(m.points[r.index]!, m.seeds);
        say(
          `svasim: [${finished}/${total}] ${label} done in ${seconds(r.wallMs)}; ` +
            `${running} running, ${failed} failed, ETA ${eta(running)}`,
        );
      }
    },
    stop() {
      bar?.stop();
    },
  };
}

/** The local sweep: the selected points not done, on `jobs` processes. */
async function localCommand(
  io: CliIo,
  ctx: SweepContext,
  m: SweepManifest,
  dir: string,
  indexes: number[],
  f: SweepFlags,
  resumed: boolean,
): Promise<number> {
  const before = folderStatus(dir);
  const pending = indexes.filter((i) => !before.done.has(i));
  const skipped = indexes.length - pending.length;
  const jobs = Math.max(1, Math.min(f.jobs ?? availableParallelism(), pending.length));
  const resume = `svasim sweep --out ${shellQuote(dir)}${f.shard ? ` --shard ${f.shard.k}/${f.shard.n}` : ''}`;
  if (!f.quiet) {
    io.err(
      `svasim: sweep of ${m.scenario}: ${plural(indexes.length, 'point')}${indexes.length < m.points.length ? ` of ${m.points.length}` : ''} in ${dir}` +
        (resumed
          ? skipped > 0
            ? `; resuming: ${skipped} already done, skipping them`
            : '; resuming: no point done yet'
          : '') +
        (pending.length > 0
          ? `; running ${pending.length} on ${`${jobs} process${jobs === 1 ? '' : 'es'}`}`
          : ''),
    );
  }
  const stop = new AbortController();
  const abandon = new AbortController();
  let stoppedBy: 'SIGINT' | 'SIGTERM' | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    if (stoppedBy === null) {
      stoppedBy = signal;
      io.err(
        `\nsvasim: ${signal}: no new point; stopping the running ones (they stay pending; ${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to kill them)`,
      );
      stop.abort();
    } else abandon.abort();
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  const shown = progress(io, pending.length, f.quiet === true);
  let results: PointResult[];
  try {
    results = await runLocal({
      manifest: m,
      dir,
      indexes: pending,
      jobs,
      launch: (ctx.launch ?? childLauncher)(dir),
      events: {
        started: (i, n) => shown.started(i, n),
        finished: (r, n) => shown.finished(r, n, m),
      },
      stop: stop.signal,
      abandon: abandon.signal,
    });
  } finally {
    shown.stop();
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
  }
  const failed = results.filter((r) => r.kind === 'failed').map((r) => r.index);
  const done = folderStatus(dir).done;
  const doneHere = indexes.filter((i) => done.has(i)).length;
  const stopped = indexes.length - doneHere - failed.length;
  const parts = [`${doneHere} done${skipped > 0 ? ` (${skipped} earlier)` : ''}`];
  if (failed.length > 0) {
    parts.push(
      `${failed.length} failed (${failed.map((i) => `points/${String(i).padStart(4, '0')}.error.json`).join(', ')})`,
    );
  }
  if (stopped > 0) parts.push(`${stopped} not run`);
  io.out(`sweep ${dir}: ${plural(indexes.length, 'point')}: ${parts.join(', ')}`);
  if (stoppedBy !== null || stopped > 0) io.err(`svasim: to run the rest: ${resume}`);
  else if (failed.length > 0) io.err(`svasim: to run the failed points again: ${resume}`);
  if (stoppedBy === 'SIGINT') return ExitStatus.INTERRUPTED;
  if (stoppedBy === 'SIGTERM') return ExitStatus.TERMINATED;
  return failed.length > 0 || stopped > 0 ? ExitStatus.FAILED : ExitStatus.OK;
}

/** Runs `svasim sweep` with parsed arguments; resolves to the exit status. */
export async function sweepCommand(
  io: CliIo,
  ref: string | undefined,
  f: SweepFlags,
  ctx: SweepContext,
): Promise<number> {
  if (f.duration !== undefined) {
    try {
      parseDuration(f.duration);
    } catch (e) {
      throw bad(`--duration: ${(e as Error).message}`);
    }
  }
  const m = manifestFromFlags(ref, f);
  const out = f.out ?? defaultOut(ref!);
  const sel = selection({ index: f.index, shard: f.shard }, ctx.env);
  if (f.list) {
    const indexes = selectedIndexes(sel, m.points.length);
    for (const line of listText(m, indexes)) io.out(line);
    return ExitStatus.OK;
  }
  if (f.emit !== undefined) {
    if (f.index !== undefined || f.shard !== undefined) {
      throw bad('--emit writes a job for every point: give no --index or --shard');
    }
    return emitCommand(io, ctx, m, out, f);
  }
  const dir = resolve(ctx.cwd, out);
  const resumed = prepareFolder(dir, m);
  const indexes = selectedIndexes(sel, m.points.length);
  if (sel.kind === 'index') {
    const done = folderStatus(dir).done.has(sel.index);
    return pointCommand(io, m, dir, sel.index, done, f.quiet === true);
  }
  return localCommand(io, ctx, m, dir, indexes, f, resumed);
}

/** Adds `svasim sweep` to `program`. */
export function addSweepCommand(
  program: Command,
  io: CliIo,
  setStatus: (s: number) => void,
  ctx: () => SweepContext = () => ({ env: process.env, cwd: process.cwd() }),
): void {
  program
    .command('sweep')
    .description(
      'run a grid of scenarios (--vary PATH=V1,V2,… per axis) on local processes, or emit a Slurm/Kubernetes job for it',
    )
    .argument('[scenario]', 'scenario file or preset, or a FILE.sweep.yaml; none: the --out folder')
    .option(
      '--vary <path=values>',
      'an axis: a dotted path of the scenario and its values, comma-separated (repeat for more axes; the first varies slowest)',
      (v: string, acc: string[]) => [...acc, v],
      [] as string[],
    )
    .option(
      '--seeds <n>',
      'replicates of each grid point, each with its own seed (default 1)',
      intArg('--seeds', 1),
    )
    .option(
      '--seed <n>',
      "the base seed the points' seeds derive from (default: the scenario's)",
      intArg('--seed', 0, 0xffff_ffff),
    )
    .option('--duration <time>', 'the measurement window of every point, e.g. 500us, 20ms')
    .addOption(
      new Option('--profile <profile>', 'kernel behaviour of every point').choices([
        ...PROFILE_NAMES,
      ]),
    )
    .addOption(
      new Option('--runtime <runtime>', 'the runtime of every point (default: inline)').choices([
        'auto',
        'inline',
        'threaded',
      ]),
    )
    .option('--out <dir>', 'the sweep folder (default: sweep-<scenario>)')
    .option('--list', 'print the points (index, seed, params) and run nothing')
    .option('--index <n>', 'run point N only, in this process', intArg('--index', 0))
    .option(
      '--shard <k/n>',
      'run the points whose index ≡ K (mod N), K from 0 (an array task: --shard $SLURM_ARRAY_TASK_ID/N)',
      (v: string) => {
        try {
          return parseShard(v);
        } catch (e) {
          throw new InvalidArgumentError((e as Error).message);
        }
      },
    )
    .option(
      '-j, --jobs <n>',
      'points run at once, each a process (default: cores); with --emit, CPUs per task',
      intArg('--jobs', 1, 4096),
    )
    .addOption(
      new Option(
        '--emit <kind>',
        'write DIR/sweep.json and a job for it: a Slurm array or a Kubernetes Indexed Job',
      ).choices(['slurm', 'k8s']),
    )
    .option(
      '--tasks <n>',
      'with --emit: array tasks / completions (default: one per point; fewer: each runs a shard)',
      intArg('--tasks', 1),
    )
    .option('--parallelism <n>', 'with --emit: at most N tasks at once', intArg('--parallelism', 1))
    .option(
      '--command <cmd>',
      'with --emit: how a task starts svasim (default: this node and svasim by absolute path for Slurm, `svasim` for k8s), e.g. "npx svasim"',
    )
    .option('--image <image>', 'with --emit k8s: the container image that has svasim')
    .option(
      '--claim <name>',
      'with --emit k8s: the PersistentVolumeClaim holding the working folder',
    )
    .option('-q, --quiet', 'no progress, only failures and the summary')
    .addHelpText(
      'after',
      `\nSelection: --index, then --shard, then JOB_COMPLETION_INDEX or SLURM_ARRAY_TASK_ID in the environment (one point), else every point.\nexit status: 0 every selected point done; 1 a point failed; 2 bad input; 130/143 stopped (resume with svasim sweep --out DIR)`,
    )
    .action(async (ref: string | undefined, flags: SweepFlags) => {
      setStatus(await sweepCommand(io, ref, flags, ctx()));
    });
}
