/**
 * The `svasim` command (DESIGN §5), with commander:
 *
 *   svasim run [SCENARIO] [--runtime auto|threaded|inline] [--threads N] [--placement P] [--spin-us US]
 *              [--seed N] [--profile v5.8|current] [--duration TIME] [--warmup TIME] [--json FILE] [--hlog FILE] [--hlog-interval TIME] [--html FILE]
 *              [--trace FILE] [--trace-from TIME] [--trace-window TIME] [--quiet]
 *   svasim validate SCENARIO
 *   svasim presets
 *   svasim schema
 *   svasim demo [--profile v5.8|current]
 *   svasim sweep SCENARIO --vary PATH=V1,V2,… [--seeds N] [-j N] [--out DIR] … (see sweep.ts)
 *   svasim merge DIR [--metric NAME] [--json [FILE]] [--html FILE]
 *   svasim compare A.json B.json [...] [--html FILE]
 *
 * SCENARIO is a YAML or JSON file or a preset name; without it the default scenario runs.
 * Exit status: 0 success; 1 the run found invariant violations, missed a threshold of the
 * scenario, or a worker failed; 2 bad input (usage, scenario, file); 3 binds or allocations
 * failed inside the run (PASIDs or frames ran out) and no threshold of the scenario allows it.
 *
 * While a run goes on a TTY, a progress bar on stderr shows the simulated time done, the
 * requests per wall second and the ETA; off a TTY, or with --quiet, only the summary is
 * printed. Ctrl-C stops the run at the next boundary and still prints (and writes) the
 * report of the time run; a second Ctrl-C abandons it.
 */

import { accessSync, constants as fsConstants, readFileSync, type Stats, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { PROFILE_NAMES, type Profile } from '../kernel/sva.js';
import { exhaustionWarnings } from '../machine/capacity.js';
import { createScenarioRun, runScenarioAsync } from '../machine/run.js';
import { COUNTER_COUNT, Counter } from '../metrics/counters.js';
import { writeHlog } from '../report/hlog.js';
import { toJsonReport, writeJsonReport } from '../report/json.js';
import { formatSummary } from '../report/summary.js';
import { writeTrace } from '../report/trace.js';
import type { Report } from '../report/types.js';
import { startScenarioThreaded, type ThreadedRunError } from '../runtime/threaded.js';
import { resolveScenarioRef } from '../scenario/load.js';
import { presetNames, presets } from '../scenario/presets.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import {
  evaluateThresholds,
  unallowedFailures,
  unallowedFailuresMessage,
} from '../scenario/thresholds.js';
import type { Scenario } from '../scenario/types.js';
import { formatNs, parseDuration } from '../scenario/units.js';
import { autoRuntime } from './auto-runtime.js';
import { addCompareCommand } from './compare.js';
import { runDemo } from './demo.js';
import { addMergeCommand } from './merge.js';
import { addSweepCommand } from './sweep.js';

/** Where the command writes; tests pass their own. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Whether stderr is a terminal (progress bar). */
  readonly isTTY: boolean;
  /** Whether what goes to `out` may carry colour (stdout a terminal, NO_COLOR unset). */
  readonly color?: boolean;
}

/**
 * Whether output may be coloured: FORCE_COLOR set (and not 0 or false) forces it, NO_COLOR
 * set and not empty (https://no-color.org) refuses it, otherwise a terminal decides.
 */
export function colorWanted(isTTY: boolean, env: NodeJS.ProcessEnv): boolean {
  const force = env.FORCE_COLOR;
  if (force !== undefined && force !== '0' && force !== 'false') return true;
  if (env.NO_COLOR) return false;
  return isTTY;
}

const defaultIo: CliIo = {
  out: (s) => console.log(s),
  err: (s) => console.error(s),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
  get color() {
    return colorWanted(process.stdout.isTTY === true, process.env);
  },
};

/** Exit statuses of DESIGN §5. */
export const ExitStatus = {
  OK: 0,
  FAILED: 1,
  BAD_INPUT: 2,
  /**
   * The run went to its end, but binds or allocations failed in it (`bindErrors`,
   * `allocFailures` above 0) and no threshold of the scenario bounds them.
   */
  FAILURES_NOT_ALLOWED: 3,
  /** Stopped by Ctrl-C (128 + SIGINT): the outputs cover the time run. */
  INTERRUPTED: 130,
  /** Stopped by SIGTERM (128 + SIGTERM): the outputs cover the time run. */
  TERMINATED: 143,
} as const;

/** An error that ends the command with exit status 2 and its message. */
class BadInput extends Error {}

function intArg(name: string, min: number, max: number) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) {
      throw new InvalidArgumentError(`${name} takes a whole number ${min}..${max}, got '${v}'`);
    }
    return Number(v);
  };
}

function durationArg(v: string): number {
  try {
    return parseDuration(v);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** Loads and resolves SCENARIO with the command-line overrides; throws BadInput. */
function scenarioFrom(
  ref: string | undefined,
  over: { seed?: number; profile?: Profile },
): Scenario {
  try {
    const sc = resolveScenarioRef(ref, over.profile === undefined ? {} : { profile: over.profile });
    return over.seed === undefined ? sc : { ...sc, seed: over.seed };
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'EINVAL' || err.code === 'ENOENT') throw new BadInput(err.message);
    throw e;
  }
}

interface RunFlags {
  runtime: 'auto' | 'inline' | 'threaded';
  threads?: number;
  placement?: 'separate' | 'balanced';
  spinUs?: number;
  warmup?: number;
  hlogInterval: number;
  seed?: number;
  profile?: Profile;
  duration?: number;
  json?: string;
  hlog?: string;
  html?: string;
  trace?: string;
  traceFrom?: number;
  traceWindow: number;
  quiet?: boolean;
}

async function runCommand(io: CliIo, ref: string | undefined, f: RunFlags): Promise<number> {
  // the report carries the run as it ran: the scenario with every override applied
  const over = { seed: f.seed, profile: f.profile };
  const durationNs = f.duration ?? scenarioFrom(ref, over).duration;
  const sc = { ...scenarioFrom(ref, over), duration: durationNs };
  const warmupNs = f.warmup ?? 0;
  // interval histograms cost a second record per value: only for a log that shows them
  const hlogIntervalNs = f.hlog ? f.hlogInterval : undefined;
  const choice =
    f.runtime === 'auto' ? autoRuntime(sc, availableParallelism()) : { runtime: f.runtime };
  const runtime = choice.runtime;
  const accelerators = sc.devices.reduce((n, g) => n + g.count, 0);
  const threads = f.threads ?? (sc.runtime.threads || availableParallelism());
  if (runtime === 'threaded' && threads < 2) {
    throw new BadInput(`the threaded runtime needs --threads 2 or more, got ${threads}`);
  }
  checkOutputs([f.json, f.hlog, f.html, f.trace]);
  // the default trace covers a window no longer than the trace whole, else its middle
  // Without --trace-from the whole window is recorded and the trace keeps its busiest stretch
  // of --trace-window (busiest: the most spans ending in it), chosen after the run.
  const runNs = warmupNs + durationNs;
  const pickBusiest = f.traceFrom === undefined;
  let trace = f.trace
    ? pickBusiest
      ? { startNs: warmupNs, endNs: runNs, maxRecords: 2_000_000 }
      : { startNs: f.traceFrom!, endNs: f.traceFrom! + f.traceWindow, maxRecords: 500_000 }
    : undefined;
  const showBar = !f.quiet && io.isTTY;
  const bar = showBar
    ? new SingleBar(
        {
          format:
            '  simulated {done} of {end} |{bar}| {percentage}% | {rate} requests/s | ETA {eta_formatted}',
          hideCursor: true,
          clearOnComplete: true,
          stream: process.stderr,
        },
        undefined,
      )
    : null;
  const wall0 = performance.now();
  const tick = (simNs: number, requests: number): void => {
    if (!bar) return;
    const wallS = (performance.now() - wall0) / 1000;
    bar.update(Math.min(simNs, runNs), {
      done: formatNs(simNs),
      end: formatNs(runNs),
      rate: wallS > 0 ? Math.round(requests / wallS).toLocaleString('en-US') : '0',
    });
  };
  bar?.start(runNs, 0, { done: '0 ns', end: formatNs(runNs), rate: '0' });
  // Ctrl-C: the first stops the run at the next boundary (the report covers the time run),
  // the second abandons it
  // SIGTERM: the same stop, then exit 143 (what a CI runner or a scheduler sends)
  const ac = new AbortController();
  let interrupts = 0;
  let stoppedBy: 'SIGINT' | 'SIGTERM' | null = null;
  let abandon: (() => void) | null = null;
  const onSignal = (signal: 'SIGINT' | 'SIGTERM'): void => {
    interrupts++;
    if (interrupts === 1) {
      stoppedBy = signal;
      if (!f.quiet) {
        io.err(
          `\nsvasim: ${signal}: stopping at the next boundary, writing what was run (${signal === 'SIGINT' ? 'Ctrl-C' : 'SIGTERM'} again to abandon)`,
        );
      }
      ac.abort();
    } else {
      abandon?.();
    }
  };
  const onSigint = (): void => onSignal('SIGINT');
  const onSigterm = (): void => onSignal('SIGTERM');
  process.on('SIGINT', onSigint);
  process.on('SIGTERM', onSigterm);
  let report: Report;
  let failure: ThreadedRunError | null = null;
  try {
    if (runtime === 'threaded') {
      const run = await startScenarioThreaded(sc, {
        threads: Math.min(threads, accelerators + 1),
        placement: f.placement ?? sc.runtime.placement,
        spinUs: f.spinUs,
        durationNs,
        warmupNs,
        hlogIntervalNs,
        signal: ac.signal,
        trace,
        onProgress: (p) => tick(p.simulatedNs, p.requests),
        onWarning: (m) => {
          if (!f.quiet) io.err(`svasim: ${m}`);
        },
      });
      abandon = () => run.abort('interrupted twice');
      const ran = await run.done.catch((e: ThreadedRunError) => {
        if (e.code !== 'ERR_WORKER_FAILED') throw e;
        failure = e;
        return e.partial;
      });
      if (!ran) {
        // no partition reported: nothing to summarise or write, only who failed and why
        io.err(`svasim: ${(failure as ThreadedRunError | null)?.message}; no partition reported`);
        return ExitStatus.FAILED;
      }
      report = ran;
    } else {
      abandon = () =>
        process.exit(stoppedBy === 'SIGTERM' ? ExitStatus.TERMINATED : ExitStatus.INTERRUPTED);
      const totals = new Float64Array(COUNTER_COUNT);
      report = await runScenarioAsync(sc, {
        durationNs,
        warmupNs,
        hlogIntervalNs,
        counters: totals,
        signal: ac.signal,
        trace,
        onTick: (simNs, _d, c) => tick(simNs, c[Counter.translations]! + c[Counter.pageRequests]!),
      });
    }
  } finally {
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onSigterm);
    bar?.stop();
  }
  if ('reason' in choice) report = { ...report, runtimeChoice: choice.reason };
  if (trace && pickBusiest && report.trace) {
    const busiest = busiestStretch(report.trace, f.traceWindow, trace.startNs, trace.endNs);
    trace = { ...trace, ...busiest };
    report = {
      ...report,
      trace: report.trace.filter((x) => {
        const t = x.kind === 'prq' ? x.startNs : x.startNs + x.durNs;
        return t >= busiest.startNs && t <= busiest.endNs;
      }),
    };
  }
  if (stoppedBy !== null) report = { ...report, interrupted: true, stopSignal: stoppedBy };
  const thresholds = evaluateThresholds(sc.thresholds, report);
  report = { ...report, thresholds };
  // `--json -` puts the JSON on stdout: the summary and notes go to stderr then
  const jsonToStdout = f.json === '-';
  const say = jsonToStdout ? (line: string) => io.err(line) : (line: string) => io.out(line);
  say(formatSummary(report, { thresholds, color: !jsonToStdout && io.color === true }));
  if (failure) io.err(`svasim: ${(failure as ThreadedRunError).message}`);
  if (report.stoppedAtNs !== undefined) {
    io.err(
      `svasim: stopped at ${formatNs(report.stoppedAtNs)} of ${formatNs(durationNs)} (interrupted)`,
    );
  }
  // every output is tried, whatever happened to the others; a failed one fails the run
  const written: string[] = [];
  let unwritten = 0;
  const output = async (file: string | undefined, write: (file: string) => Promise<string[]>) => {
    if (!file) return;
    try {
      written.push(...(await write(file)));
    } catch (e) {
      unwritten++;
      io.err(`svasim: could not write ${file}: ${(e as Error).message}`);
    }
  };
  const r = report;
  if (jsonToStdout) io.out(JSON.stringify(toJsonReport(r), null, 2));
  else {
    await output(f.json, async (file) => {
      await writeJsonReport(file, r);
      return [file];
    });
  }
  await output(f.hlog, (file) => writeHlog(file, r));
  await output(f.html, async (file) => {
    // vega loads in ~180 ms: only when asked for
    const { writeHtml } = await import('../report/html.js');
    await writeHtml(file, r);
    return [file];
  });
  await output(f.trace, async (file) => {
    await writeTrace(file, r);
    return [file];
  });
  if (f.trace && trace && !(r.trace ?? []).some((x) => x.kind !== 'prq')) {
    io.err(
      `svasim: warning: the trace window ${formatNs(trace.startNs)}..${formatNs(trace.endNs)} holds no latency span; move it with --trace-from (the window is ${formatNs(warmupNs)}..${formatNs(runNs)})`,
    );
  }
  if (!f.quiet && written.length > 0) say(`\nwritten: ${written.join(', ')}`);
  const missed = thresholds.filter((t) => !t.ok);
  if (missed.length > 0) {
    io.err(
      `svasim: ${missed.length} threshold${missed.length === 1 ? '' : 's'} missed: ${missed.map((t) => t.key).join(', ')}`,
    );
  }
  // failures inside the run are outcomes: allowed only by a threshold on their counter
  const unallowed = unallowedFailures(sc.thresholds, report);
  if (unallowed.length > 0) io.err(`svasim: ${unallowedFailuresMessage(unallowed)}`);
  if (stoppedBy === 'SIGINT') return ExitStatus.INTERRUPTED;
  if (stoppedBy === 'SIGTERM') return ExitStatus.TERMINATED;
  return failure || unwritten > 0 || missed.length > 0 || report.invariants.violations.length > 0
    ? ExitStatus.FAILED
    : unallowed.length > 0
      ? ExitStatus.FAILURES_NOT_ALLOWED
      : ExitStatus.OK;
}

/**
 * The stretch of `lengthNs` within [fromNs, toNs] in which the most spans of `records` end
 * (the first such stretch; the whole range when it is shorter).
 */
export function busiestStretch(
  records: readonly { kind: string; startNs: number; durNs: number }[],
  lengthNs: number,
  fromNs: number,
  toNs: number,
): { startNs: number; endNs: number } {
  if (toNs - fromNs <= lengthNs) return { startNs: fromNs, endNs: toNs };
  const ends = records
    .filter((x) => x.kind !== 'prq')
    .map((x) => x.startNs + x.durNs)
    .sort((a, b) => a - b);
  let best = fromNs;
  let most = -1;
  for (let i = 0, j = 0; i < ends.length; i++) {
    // the stretch starting at ends[i] (clamped to the range)
    const start = Math.min(ends[i]!, toNs - lengthNs);
    while (j < ends.length && ends[j]! <= start + lengthNs) j++;
    let first = i;
    while (first > 0 && ends[first - 1]! >= start) first--;
    if (j - first > most) {
      most = j - first;
      best = start;
    }
  }
  return { startNs: best, endNs: best + lengthNs };
}

/**
 * Refuses, before the run, an output it could not write: a missing or unwritable folder, a
 * folder given as the file, a file that exists and cannot be written.
 */
function checkOutputs(files: readonly (string | undefined)[]): void {
  for (const file of files) {
    if (!file || file === '-') continue;
    const dir = dirname(resolve(file));
    let st: Stats | undefined;
    try {
      st = statSync(file);
    } catch {
      st = undefined;
    }
    if (st?.isDirectory()) throw new BadInput(`cannot write ${file}: it is a folder`);
    try {
      accessSync(st ? file : dir, fsConstants.W_OK);
    } catch (e) {
      const code = (e as { code?: string }).code;
      throw new BadInput(
        code === 'ENOENT'
          ? `cannot write ${file}: no folder ${dir}`
          : `cannot write ${file}: ${st ? 'the file' : `the folder ${dir}`} is not writable`,
      );
    }
  }
}

function validateCommand(io: CliIo, ref: string): number {
  const sc = scenarioFrom(ref, {});
  // what the schema cannot see, the machine refuses when it is built: build it, run nothing
  let run: ReturnType<typeof createScenarioRun>;
  try {
    run = createScenarioRun(sc);
  } catch (e) {
    throw new BadInput(`${ref}: the machine cannot be built: ${(e as Error).message}`);
  }
  // running out is an outcome of a run, not a bad scenario: warn, do not refuse
  for (const w of exhaustionWarnings(run.sys, sc)) io.err(`${ref}: warning: ${w}`);
  const accelerators = sc.devices.reduce((n, g) => n + g.count, 0);
  io.out(
    `${ref}: valid — scenario '${sc.name}', ${accelerators} accelerator${accelerators === 1 ? '' : 's'}, ` +
      `${sc.clients.count} clients, ${formatNs(sc.duration)} simulated, seed ${sc.seed}`,
  );
  return ExitStatus.OK;
}

function presetsCommand(io: CliIo): number {
  const names = presetNames();
  const width = Math.max(...names.map((n) => n.length));
  for (const n of names) io.out(`${n.padEnd(width)}  ${presets[n]!.description}`);
  io.out('\nrun one with: svasim run <name>; see its file with: svasim run <name> --json r.json');
  return ExitStatus.OK;
}

/** The version in svasim's package.json (dist/cli/ and src/cli/ are both two folders down). */
function packageVersion(): string {
  const file = new URL('../../package.json', import.meta.url);
  return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
}

function buildProgram(io: CliIo, setStatus: (s: number) => void): Command {
  const program = new Command('svasim')
    .description(
      'Throughput simulator of an Intel VT-d IOMMU with shared virtual addressing (SVA): ' +
        'accelerators, ATS, page requests and the Linux binding semantics.',
    )
    .version(packageVersion(), '--version', 'print the version of svasim')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)');
  program.addHelpText(
    'after',
    '\nexit status: 0 ok; 1 invariant violations, a missed threshold, a failed worker or an output not written; 2 bad input; 3 binds or allocations failed in the run and no threshold allows it; 130 stopped by Ctrl-C, 143 by SIGTERM (the outputs cover the time run)',
  );
  program
    .command('run', { isDefault: true })
    .description('run a scenario (a YAML/JSON file or a preset; the default one without it)')
    .argument('[scenario]', 'scenario file or preset name')
    .addOption(
      new Option(
        '--runtime <runtime>',
        'inline (one thread), threaded (worker threads, same results) or auto',
      )
        .choices(['auto', 'inline', 'threaded'])
        .default('auto'),
    )
    .option(
      '--threads <n>',
      "worker threads in all, the engine's included (default: cores)",
      intArg('--threads', 1, 65),
    )
    .addOption(
      new Option('--placement <placement>', 'accelerators on threads (threaded runtime)').choices([
        'separate',
        'balanced',
      ]),
    )
    .option(
      '--spin-us <us>',
      'threaded runtime: µs a thread spins at the barrier before parking (default 30; longer pays only on cores nobody else uses)',
      intArg('--spin-us', 0, 1_000_000),
    )
    .option('--seed <n>', 'seed of every random stream', intArg('--seed', 0, 0xffff_ffff))
    .addOption(
      new Option(
        '--profile <profile>',
        "kernel behaviour, overriding the scenario's: v5.8 (as shipped) or current (≈ v6.13–v6.16)",
      ).choices([...PROFILE_NAMES]),
    )
    .option(
      '--duration <time>',
      'the measurement window, e.g. 500us, 20ms, 1s (the drain after it is simulated, not measured)',
      durationArg,
    )
    .option('--warmup <time>', 'simulated time run before the window and not measured', durationArg)
    .option('--json <file>', "write the JSON report (DESIGN §7); '-' writes it to stdout")
    .option('--hlog <file>', 'write HdrHistogram interval logs (+ .hgrm percentile files)')
    .option(
      '--hlog-interval <time>',
      'interval of the --hlog log in simulated time (one line per interval per kind)',
      durationArg,
      1_000_000,
    )
    .option('--html <file>', 'write a self-contained HTML report with plots')
    .option('--trace <file>', 'write a Chrome trace-event JSON of a window (Perfetto)')
    .option(
      '--trace-from <time>',
      'start of the trace window (default: the busiest stretch of the measurement window, chosen after the run)',
      durationArg,
    )
    .option('--trace-window <time>', 'length of the trace window', durationArg, 100_000)
    .option('-q, --quiet', 'print only the summary')
    .action(async (ref: string | undefined, flags: RunFlags) => {
      setStatus(await runCommand(io, ref, flags));
    });
  program
    .command('validate')
    .description('check a scenario file (or preset) and say what is wrong and where')
    .argument('<scenario>', 'scenario file or preset name')
    .action((ref: string) => setStatus(validateCommand(io, ref)));
  program
    .command('presets')
    .description('list the built-in scenarios')
    .action(() => setStatus(presetsCommand(io)));
  program
    .command('schema')
    .description('print the scenario JSON Schema (for editors)')
    .action(() => {
      io.out(JSON.stringify(scenarioJsonSchema(), null, 2));
      setStatus(ExitStatus.OK);
    });
  program
    .command('demo')
    .description(
      "tour a kernel profile's binding semantics on a small machine, printing every descriptor",
    )
    .addOption(
      new Option('--profile <profile>', 'v5.8 (as shipped) or current (≈ v6.13–v6.16)')
        .choices([...PROFILE_NAMES])
        .default('v5.8'),
    )
    .action(async (flags: { profile: Profile }) => {
      await runDemo((line) => io.out(line), flags.profile);
      setStatus(ExitStatus.OK);
    });
  addMergeCommand(program, io, setStatus);
  addCompareCommand(program, io, setStatus);
  addSweepCommand(program, io, setStatus);
  return program;
}

/** Runs the command line; resolves to the exit status. */
export async function runCli(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  let status: number = ExitStatus.OK;
  const program = buildProgram(io, (s) => {
    status = s;
  });
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version are successes; every other commander error is a usage error
      return e.exitCode === 0 ? ExitStatus.OK : ExitStatus.BAD_INPUT;
    }
    if (e instanceof BadInput) {
      io.err(`svasim: ${e.message}`);
      return ExitStatus.BAD_INPUT;
    }
    const err = e as Error & { code?: string };
    if (
      err.code === 'EINVAL' ||
      err.code === 'ENOENT' ||
      err.code === 'EACCES' ||
      err.code === 'EISDIR'
    ) {
      io.err(`svasim: ${err.message}`);
      return ExitStatus.BAD_INPUT;
    }
    throw e;
  }
}
