/**
 * The `svasim` command (DESIGN §5), with commander:
 *
 *   svasim run [SCENARIO] [--runtime auto|threaded|inline] [--threads N] [--placement P] [--spin-us US]
 *              [--seed N] [--duration TIME] [--json FILE] [--hlog FILE] [--html FILE]
 *              [--trace FILE] [--trace-from TIME] [--trace-window TIME] [--quiet]
 *   svasim validate SCENARIO
 *   svasim presets
 *   svasim schema
 *   svasim demo
 *
 * SCENARIO is a YAML or JSON file or a preset name; without it the default scenario runs.
 * Exit status: 0 success; 1 the run found invariant violations, missed a threshold of the
 * scenario, or a worker failed; 2 bad input (usage, scenario, file).
 *
 * While a run goes on a TTY, a progress bar on stderr shows the simulated time done, the
 * requests per wall second and the ETA; off a TTY, or with --quiet, only the summary is
 * printed. Ctrl-C stops the run at the next boundary and still prints (and writes) the
 * report of the time run; a second Ctrl-C abandons it.
 */

import { availableParallelism } from 'node:os';
import { SingleBar } from 'cli-progress';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { runScenarioAsync } from '../machine/run.js';
import { COUNTER_COUNT, Counter } from '../metrics/counters.js';
import { writeHlog } from '../report/hlog.js';
import { writeJsonReport } from '../report/json.js';
import { formatSummary } from '../report/summary.js';
import { writeTrace } from '../report/trace.js';
import type { Report } from '../report/types.js';
import { startScenarioThreaded, type ThreadedRunError } from '../runtime/threaded.js';
import { resolveScenarioRef } from '../scenario/load.js';
import { presetNames, presets } from '../scenario/presets.js';
import { scenarioJsonSchema } from '../scenario/schema.js';
import { evaluateThresholds } from '../scenario/thresholds.js';
import type { Scenario } from '../scenario/types.js';
import { formatNs, parseDuration } from '../scenario/units.js';
import { autoRuntime } from './auto-runtime.js';
import { runDemo } from './demo.js';

/** Where the command writes; tests pass their own. */
export interface CliIo {
  out(line: string): void;
  err(line: string): void;
  /** Whether stderr is a terminal (progress bar). */
  readonly isTTY: boolean;
}

const defaultIo: CliIo = {
  out: (s) => console.log(s),
  err: (s) => console.error(s),
  get isTTY() {
    return process.stderr.isTTY === true;
  },
};

/** Exit statuses of DESIGN §5. */
export const ExitStatus = { OK: 0, FAILED: 1, BAD_INPUT: 2 } as const;

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
function scenarioFrom(ref: string | undefined, over: { seed?: number }): Scenario {
  try {
    const sc = resolveScenarioRef(ref);
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
  seed?: number;
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
  const sc = scenarioFrom(ref, { seed: f.seed });
  const durationNs = f.duration ?? sc.duration;
  const choice =
    f.runtime === 'auto' ? autoRuntime(sc, availableParallelism()) : { runtime: f.runtime };
  const runtime = choice.runtime;
  const accelerators = sc.devices.reduce((n, g) => n + g.count, 0);
  const threads = f.threads ?? (sc.runtime.threads || availableParallelism());
  if (runtime === 'threaded' && threads < 2) {
    throw new BadInput(`the threaded runtime needs --threads 2 or more, got ${threads}`);
  }
  const traceFrom = f.traceFrom ?? Math.floor(durationNs / 2);
  const trace = f.trace
    ? { startNs: traceFrom, endNs: traceFrom + f.traceWindow, maxRecords: 500_000 }
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
    bar.update(Math.min(simNs, durationNs), {
      done: formatNs(simNs),
      end: formatNs(durationNs),
      rate: wallS > 0 ? Math.round(requests / wallS).toLocaleString('en-US') : '0',
    });
  };
  bar?.start(durationNs, 0, { done: '0 ns', end: formatNs(durationNs), rate: '0' });
  // Ctrl-C: the first stops the run at the next boundary (the report covers the time run),
  // the second abandons it
  const ac = new AbortController();
  let interrupts = 0;
  let abandon: (() => void) | null = null;
  const onSigint = (): void => {
    interrupts++;
    if (interrupts === 1) {
      if (!f.quiet) io.err('\nsvasim: stopping at the next boundary (Ctrl-C again to abandon)');
      ac.abort();
    } else {
      abandon?.();
    }
  };
  process.on('SIGINT', onSigint);
  let report: Report;
  let failure: ThreadedRunError | null = null;
  try {
    if (runtime === 'threaded') {
      const run = await startScenarioThreaded(sc, {
        threads: Math.min(threads, accelerators + 1),
        placement: f.placement ?? sc.runtime.placement,
        spinUs: f.spinUs,
        durationNs,
        signal: ac.signal,
        trace,
        onProgress: (p) => tick(p.simulatedNs, p.requests),
        onWarning: (m) => {
          if (!f.quiet) io.err(`svasim: ${m}`);
        },
      });
      abandon = () => run.abort('interrupted twice');
      report = await run.done.catch((e: ThreadedRunError) => {
        if (e.code !== 'ERR_WORKER_FAILED' || !e.partial) throw e;
        failure = e;
        return e.partial;
      });
    } else {
      abandon = () => process.exit(130);
      const totals = new Float64Array(COUNTER_COUNT);
      report = await runScenarioAsync(sc, {
        durationNs,
        counters: totals,
        signal: ac.signal,
        trace,
        onTick: (simNs, _d, c) => tick(simNs, c[Counter.translations]! + c[Counter.pageRequests]!),
      });
    }
  } finally {
    process.off('SIGINT', onSigint);
    bar?.stop();
  }
  if ('reason' in choice) report = { ...report, runtimeChoice: choice.reason };
  const thresholds = evaluateThresholds(sc.thresholds, report);
  io.out(formatSummary(report, { thresholds, color: io.isTTY }));
  if (failure) io.err(`svasim: ${(failure as ThreadedRunError).message}`);
  if (report.stoppedAtNs !== undefined) {
    io.err(
      `svasim: stopped at ${formatNs(report.stoppedAtNs)} of ${formatNs(durationNs)} (interrupted)`,
    );
  }
  const written: string[] = [];
  if (f.json) {
    await writeJsonReport(f.json, report);
    written.push(f.json);
  }
  if (f.hlog) written.push(...(await writeHlog(f.hlog, report)));
  if (f.html) {
    // vega loads in ~180 ms: only when asked for
    const { writeHtml } = await import('../report/html.js');
    await writeHtml(f.html, report);
    written.push(f.html);
  }
  if (f.trace) {
    await writeTrace(f.trace, report);
    written.push(f.trace);
  }
  if (!f.quiet && written.length > 0) io.out(`\nwritten: ${written.join(', ')}`);
  const missed = thresholds.filter((t) => !t.ok);
  if (missed.length > 0) {
    io.err(
      `svasim: ${missed.length} threshold${missed.length === 1 ? '' : 's'} missed: ${missed.map((t) => t.key).join(', ')}`,
    );
  }
  return failure || missed.length > 0 || report.invariants.violations.length > 0
    ? ExitStatus.FAILED
    : ExitStatus.OK;
}

function validateCommand(io: CliIo, ref: string): number {
  const sc = scenarioFrom(ref, {});
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

function buildProgram(io: CliIo, setStatus: (s: number) => void): Command {
  const program = new Command('svasim')
    .description(
      'Throughput simulator of an Intel VT-d IOMMU with shared virtual addressing (SVA): ' +
        'accelerators, ATS, page requests and the Linux binding semantics.',
    )
    .exitOverride()
    .configureOutput({
      writeOut: (s) => io.out(s.replace(/\n$/, '')),
      writeErr: (s) => io.err(s.replace(/\n$/, '')),
    })
    .showHelpAfterError('(add --help for usage)');
  program.addHelpText(
    'after',
    '\nexit status: 0 ok; 1 invariant violations, a missed threshold or a failed worker; 2 bad input',
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
    .option('--duration <time>', 'simulated time, e.g. 500us, 20ms, 1s', durationArg)
    .option('--json <file>', 'write the JSON report (DESIGN §7)')
    .option('--hlog <file>', 'write HdrHistogram interval logs (+ .hgrm percentile files)')
    .option('--html <file>', 'write a self-contained HTML report with plots')
    .option('--trace <file>', 'write a Chrome trace-event JSON of a window (Perfetto)')
    .option(
      '--trace-from <time>',
      'start of the trace window (default: half the duration)',
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
    .description('tour the v5.8 binding semantics on a small machine, printing every descriptor')
    .action(async () => {
      await runDemo((line) => io.out(line));
      setStatus(ExitStatus.OK);
    });
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
