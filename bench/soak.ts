/**
 * `npm run soak`: many requests through the scenarios that stress the model's edges — churn
 * with exits while bound, PRQ overflow under a fault storm, exhaustion of PASIDs and frames,
 * hostile accelerators — in both runtimes, checking every invariant all the way.
 *
 * Runs the mix round-robin, a new seed each round, until the requests (translations plus
 * page requests) reach `--requests` (default 10^7). Every `--threaded-every`-th seed
 * (default 2) also runs threaded, and must equal the inline run of the same scenario and seed
 * in every total and histogram encoding. Prints one line per run and a total; exits 1 on any invariant violation, any
 * disagreement between the runtimes, or any run that failed.
 *
 *   npm run soak -- [--requests N] [--seed S] [--threads T] [--threaded-every K]
 */

import { parseArgs } from 'node:util';
import { runScenario } from '../src/machine/run.js';
import type { Report } from '../src/report/types.js';
import { runScenarioThreaded } from '../src/runtime/threaded.js';
import { presets } from '../src/scenario/presets.js';
import type { ScenarioInput } from '../src/scenario/types.js';

/** One scenario of the mix, and whether its seed also runs threaded. */
interface SoakCase {
  readonly name: string;
  readonly threaded: boolean;
  readonly input: (seed: number) => ScenarioInput;
}

const preset = (name: string): ScenarioInput => structuredClone(presets[name]!.scenario);

/** The mix: each case stresses a different edge; see the file header. */
export const SOAK_CASES: readonly SoakCase[] = [
  {
    // the default scenario's churn, with a third of the processes exiting while still bound
    // (release before unbind) and a fifth munmapping or mprotecting a buffer they leave
    name: 'churn-exits',
    threaded: true,
    input: (seed) => ({
      name: 'soak-churn-exits',
      seed,
      duration: '40ms',
      clients: {
        churn: {
          enabled: true,
          bindLifetime: '1ms',
          exitWhileBound: 0.33,
          munmapFraction: 0.2,
          mprotectFraction: 0.2,
        },
      },
    }),
  },
  {
    // a fault storm into the smallest PRQ hardware allows: overflows, auto-responses, PRO
    name: 'prq-overflow',
    threaded: true,
    input: (seed) => ({
      ...preset('fault-storm'),
      name: 'soak-prq-overflow',
      seed,
      duration: '40ms',
    }),
  },
  {
    // two honest devices beside two hostile ones sending every kind at 200k/s each, with churn
    name: 'hostile',
    threaded: true,
    input: (seed) => ({
      name: 'soak-hostile',
      seed,
      duration: '20ms',
      devices: [{ count: 2 }, { count: 2, adversary: { rate: '200k/s' } }],
      clients: { count: 32, buffers: { count: 2, size: '256KiB' } },
    }),
  },
  {
    // out of PASIDs (7 for 24 clients) and nearly out of frames: failed binds retried,
    // failed faults answered, processes that cannot set up leaving, all as outcomes
    name: 'exhaustion',
    threaded: false,
    input: (seed) => ({
      name: 'soak-exhaustion',
      seed,
      duration: '20ms',
      iommu: { pasidBits: 3 },
      devices: [{ count: 4, pasidBits: 3 }],
      clients: {
        count: 24,
        buffers: { count: 2, size: '256KiB', prefault: 'all' },
        churn: { enabled: true, bindLifetime: '500us', exitWhileBound: 0.2 },
      },
      memory: { frames: 3100 }, // the buffers take 3072, their page tables and the machine more
      thresholds: { bindErrors: 1e9, allocFailures: 1e9 },
    }),
  },
  {
    // devices without ATS: every 64 B read is translated by the unit, under churn with exits
    // while bound, munmaps and mprotects — many requests through the IOTLB while it is flushed
    name: 'untranslated',
    threaded: true,
    input: (seed) => ({
      name: 'soak-untranslated',
      seed,
      duration: '10ms',
      devices: [{ count: 4, ats: false, pri: false, engines: 32, workQueue: { depth: 32 } }],
      clients: {
        count: 16,
        buffers: { count: 2, size: '64KiB', prefault: 'all' },
        churn: {
          enabled: true,
          bindLifetime: '1ms',
          exitWhileBound: 0.3,
          munmapFraction: 0.2,
          mprotectFraction: 0.2,
        },
      },
      workload: {
        op: 'read',
        pattern: 'uniform',
        jobBytes: 64,
        arrival: { closedLoop: { queueDepth: 32 } },
      },
      memory: { frames: 16384 },
    }),
  },
  {
    // the default scenario: ATS, PRI, churn and DMA data checks together
    name: 'default',
    threaded: false,
    input: (seed) => ({ name: 'soak-default', seed, duration: '20ms' }),
  },
];

interface Totals {
  runs: number;
  requests: number;
  checks: number;
  violations: number;
  failures: number;
  mismatches: number;
}

function requestsOf(r: Report): number {
  const t = r.runTotals ?? r.totals;
  return t.translations + t.pageRequests;
}

/** The edges a run reached, in a few words. */
function outcomes(t: Report['totals']): string {
  const parts = [`${t.prqOverflows} overflows`];
  if (t.bindErrors > 0) parts.push(`${t.bindErrors} bind errors`);
  if (t.allocFailures > 0) parts.push(`${t.allocFailures} alloc failures`);
  if (t.hostileRequests > 0)
    parts.push(`${t.hostileRequests} hostile, ${t.atsTrustBreaches} ATS breaches`);
  return parts.join(', ');
}

/** What must be equal between the two runtimes: every total and every histogram encoding. */
function fingerprint(r: Report): string {
  return JSON.stringify([r.runTotals, r.totals, r.histograms, r.invariants, r.simulatedNs]);
}

function describeViolations(r: Report): string {
  return r.invariants.violations
    .slice(0, 3)
    .map((v) => JSON.stringify(v))
    .join('; ');
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      requests: { type: 'string', default: '10000000' },
      seed: { type: 'string', default: '1' },
      threads: { type: 'string', default: '2' },
      'threaded-every': { type: 'string', default: '2' },
    },
  });
  const target = Number(values.requests);
  const firstSeed = Number(values.seed);
  const threads = Number(values.threads);
  const every = Number(values['threaded-every']);
  if (!Number.isSafeInteger(target) || target < 1)
    throw new Error('--requests: a positive integer');
  if (!Number.isSafeInteger(firstSeed) || firstSeed < 1)
    throw new Error('--seed: a positive integer');
  if (!Number.isSafeInteger(threads) || threads < 2) throw new Error('--threads: at least 2');
  if (!Number.isSafeInteger(every) || every < 1) throw new Error('--threaded-every: at least 1');

  const t: Totals = { runs: 0, requests: 0, checks: 0, violations: 0, failures: 0, mismatches: 0 };
  const start = process.hrtime.bigint();
  const line = (s: string): void => void process.stdout.write(`${s}\n`);
  line(
    `soak: ≥ ${target.toLocaleString('en')} requests, seeds from ${firstSeed}, ` +
      `${every === 1 ? 'every seed' : `one seed in ${every}`} also threaded (${threads} threads), ` +
      'every DMA checked',
  );
  const account = (
    name: string,
    runtime: string,
    seed: number,
    r: Report,
    wallMs: number,
  ): void => {
    const req = requestsOf(r);
    t.runs++;
    t.requests += req;
    t.checks += r.invariants.checked;
    t.violations += r.invariants.violations.length;
    const v = r.invariants.violations.length;
    line(
      `  ${name.padEnd(14)} ${runtime.padEnd(8)} seed ${String(seed).padStart(3)}  ` +
        `${req.toLocaleString('en').padStart(11)} requests  ${r.invariants.checked.toLocaleString('en').padStart(12)} checks  ` +
        `${outcomes(r.runTotals ?? r.totals)}  ${v} violations  ${(wallMs / 1000).toFixed(1)} s` +
        (v > 0 ? `\n    ${describeViolations(r)}` : ''),
    );
  };
  for (let seed = firstSeed; t.requests < target; seed++) {
    for (const c of SOAK_CASES) {
      if (t.requests >= target) break;
      const input = c.input(seed);
      let inline: Report;
      try {
        const t0 = process.hrtime.bigint();
        inline = runScenario(input, { checkUntranslatedDma: true });
        account(c.name, 'inline', seed, inline, Number(process.hrtime.bigint() - t0) / 1e6);
      } catch (e) {
        t.failures++;
        line(`  ${c.name} inline seed ${seed}: FAILED ${(e as Error).message}`);
        continue;
      }
      // a threaded run costs a few seconds of worker start-up: pair every `every`-th seed
      if (!c.threaded || (seed - firstSeed) % every !== 0) continue;
      try {
        const t0 = process.hrtime.bigint();
        const threaded = await runScenarioThreaded(input, {
          threads,
          checkUntranslatedDma: true,
        });
        account(c.name, 'threaded', seed, threaded, Number(process.hrtime.bigint() - t0) / 1e6);
        if (fingerprint(threaded) !== fingerprint(inline)) {
          t.mismatches++;
          line(`    threaded run differs from inline (${c.name}, seed ${seed})`);
        }
      } catch (e) {
        t.failures++;
        line(`  ${c.name} threaded seed ${seed}: FAILED ${(e as Error).message}`);
      }
    }
  }
  const wallS = Number(process.hrtime.bigint() - start) / 1e9;
  line(
    `soak: ${t.runs} runs, ${t.requests.toLocaleString('en')} requests, ` +
      `${t.checks.toLocaleString('en')} invariant checks, ${t.violations} violations, ` +
      `${t.mismatches} runtime mismatches, ${t.failures} failed runs, ${wallS.toFixed(0)} s ` +
      `(${Math.round(t.requests / wallS).toLocaleString('en')} requests/s)`,
  );
  return t.violations + t.mismatches + t.failures > 0 ? 1 : 0;
}

process.exitCode = await main();
