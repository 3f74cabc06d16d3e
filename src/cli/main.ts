/**
 * The `svasim` command: `run` executes a scenario (the default one unless a preset or
 * options say otherwise) in the inline runtime and prints a summary; `demo` tours the v5.8
 * binding semantics. Scenario files, presets, HTML/HdrHistogram outputs and thresholds
 * arrive with the full command line.
 */

import { writeFileSync } from 'node:fs';
import { runScenarioThreaded } from '../runtime/threaded.js';
import { formatNs } from '../scenario/units.js';
import { runScenario } from '../sim/runner.js';
import { runDemo } from './demo.js';
import { formatSummary } from './summary.js';

const USAGE = `usage: svasim [run] [--duration TIME] [--seed N] [--runtime auto|inline|threaded]
                    [--json FILE] [--quiet]
       svasim demo
       svasim --help

  run     run the default scenario in the inline runtime and print a summary (default)
          --duration TIME   simulated time, e.g. 500us, 20ms (default: the scenario's, 20ms)
          --seed N          seed of every random stream (default 1)
          --runtime R       inline (one thread), threaded (engine side and device side in
                            two worker threads, same results), or auto (default: inline for
                            now — threading does not pay off before balanced placement)
          --json FILE       also write the JSON report
          --quiet           print only the summary
  demo    bind, share, fault, invalidate, exit and unbind on a small machine, printing every
          invalidation descriptor the kernel submits

exit status: 0 ok, 1 invariant violations, 2 bad usage`;

function fail(message: string): number {
  console.error(`svasim: ${message}\n\n${USAGE}`);
  return 2;
}

/** Runs the command line; resolves to the exit status. */
export async function runCli(argv: readonly string[]): Promise<number> {
  const args = [...argv];
  if (args.includes('--help') || args.includes('-h') || args[0] === 'help') {
    console.log(USAGE);
    return 0;
  }
  const cmd = args[0] && !args[0].startsWith('-') ? args.shift()! : 'run';
  if (cmd === 'demo') {
    if (args.length > 0) return fail(`demo takes no arguments, got: ${args.join(' ')}`);
    await runDemo((line) => console.log(line));
    return 0;
  }
  if (cmd !== 'run') return fail(`unknown command '${cmd}'`);
  const input: { duration?: string; seed?: number } = {};
  let json: string | undefined;
  let quiet = false;
  let runtime = 'auto';
  while (args.length > 0) {
    const a = args.shift()!;
    const value = (): string => {
      const v = args.shift();
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    try {
      if (a === '--duration') input.duration = value();
      else if (a === '--seed') {
        const v = value();
        if (!/^\d+$/.test(v)) return fail(`--seed takes a whole number, got '${v}'`);
        input.seed = Number(v);
      } else if (a === '--json') json = value();
      else if (a === '--runtime') {
        runtime = value();
        if (!['auto', 'inline', 'threaded'].includes(runtime)) {
          return fail(`--runtime takes auto, inline or threaded, got '${runtime}'`);
        }
      } else if (a === '--quiet') quiet = true;
      else return fail(`unknown option '${a}'`);
    } catch (e) {
      return fail((e as Error).message);
    }
  }
  let report: ReturnType<typeof runScenario>;
  const progress = !quiet && process.stderr.isTTY && runtime !== 'threaded';
  try {
    if (runtime === 'threaded') report = await runScenarioThreaded(input);
    else
      report = runScenario(input, {
        onProgress: progress
          ? (done, total) =>
              process.stderr.write(
                `\r  simulated ${formatNs(done)} of ${formatNs(total)} (${Math.floor((100 * done) / total)} %)   `,
              )
          : undefined,
      });
  } catch (e) {
    const err = e as Error & { code?: string };
    if (err.code === 'EINVAL') return fail(err.message);
    throw e;
  }
  if (progress) process.stderr.write('\r\x1b[K');
  console.log(formatSummary(report));
  if (json) {
    const { histograms: _h, ...rest } = report;
    writeFileSync(json, `${JSON.stringify(rest, null, 2)}\n`);
    if (!quiet) console.log(`\nJSON report written to ${json}`);
  }
  return report.invariants.violations.length > 0 ? 1 : 0;
}
