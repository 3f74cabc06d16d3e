/**
 * `npm run fuzz`: feeds every codec and message decoder (fuzz/targets.ts) with random, edge
 * and malformed inputs (`--count` decoder inputs and as many encoder inputs each) in a worker under a watchdog (fuzz/watchdog.ts), prints per target the
 * cases, decoder calls per second and refusals, and exits 1 when anything was found: a throw
 * without a code, a refusal with an unexpected code, a round-trip mismatch, a slow case or a
 * hang. The same seed gives the same cases.
 *
 * Usage: npm run fuzz [-- --seed N] [--count N] [--target NAME[,NAME…]] [--case I]
 *                     [--case-limit-ms MS] [--hang-ms MS]
 */

import { formatReport } from './core.js';
import { runFuzzWatched } from './watchdog.js';

const arg = (name: string): string | undefined => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : undefined;
};

function intArg(name: string, dflt: number | undefined, min: number): number | undefined {
  const raw = arg(name);
  if (raw === undefined) return dflt;
  const v = Number(raw);
  if (!Number.isSafeInteger(v) || v < min) {
    console.error(`fuzz: ${name} takes an integer ≥ ${min}, got ${JSON.stringify(raw)}`);
    process.exit(2);
  }
  return v;
}

const seed = intArg('--seed', 1, -(2 ** 53) + 1)!;
const count = intArg('--count', 1_000_000, 1)!;
const onlyCase = intArg('--case', undefined, 0);
const caseLimitMs = intArg('--case-limit-ms', 50, 1)!;
const hangMs = intArg('--hang-ms', 5000, 10)!;
const targetNames = arg('--target')?.split(',');

console.error(
  `fuzz: seed ${seed}, ${onlyCase === undefined ? `${count} decoder and ${count} encoder cases per target` : `case ${onlyCase} only`}` +
    `, case limit ${caseLimitMs} ms, hang after ${hangMs} ms`,
);
const report = await runFuzzWatched({
  targetsModule: new URL('./targets.ts', import.meta.url).href,
  targetsExport: 'allTargets',
  targetNames,
  seed,
  count,
  onlyCase,
  caseLimitMs,
  hangMs,
  onTargetDone: (s) => console.error(`  ${s.target}: ${s.cases} cases, ${s.findings} finding(s)`),
});
if (targetNames && report.stats.length !== targetNames.length) {
  console.error(
    `fuzz: no target named ${targetNames.filter((n) => !report.stats.some((s) => s.target === n)).join(', ')}`,
  );
  process.exit(2);
}
console.log(formatReport(report, caseLimitMs));
process.exit(report.stats.some((s) => s.findings > 0) ? 1 : 0);
