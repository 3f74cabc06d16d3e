/**
 * Inline runtime speed: requests per wall second (a request is a transaction an accelerator
 * sends to the VT-d unit: ATS translation request, page request, untranslated DMA request —
 * DESIGN §9) for a translation-heavy and a fault-heavy scenario. Each scenario runs once to
 * warm up the JIT, then `--reps` measured times (median reported).
 *
 * Usage: npx tsx bench/inline.bench.ts [--reps N] [--json FILE]
 */

import { writeFileSync } from 'node:fs';
import { runScenario } from '../src/machine/run.js';
import type { ScenarioInput } from '../src/scenario/types.js';
import { faultHeavy, translationHeavy } from './scenarios.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const reps = Number(arg('--reps', '3'));

function measure(make: (d: string) => ScenarioInput, duration: string) {
  runScenario(make('200us')); // warm-up
  const runs = [];
  for (let i = 0; i < reps; i++) {
    const r = runScenario(make(duration));
    if (r.invariants.violations.length)
      throw new Error(JSON.stringify(r.invariants.violations.slice(0, 3)));
    const requests = r.totals.translations + r.totals.pageRequests;
    runs.push({
      requests,
      wallMs: r.wallMs,
      requestsPerSec: requests / (r.wallMs / 1000),
      eventsPerSec: r.eventsPerWallSecond,
      simulatedNs: r.simulatedNs,
      slowdown: (r.wallMs * 1e6) / r.simulatedNs,
      pageRequests: r.totals.pageRequests,
    });
  }
  runs.sort((a, b) => a.requestsPerSec - b.requestsPerSec);
  return runs[Math.floor(runs.length / 2)]!;
}

const t = measure(translationHeavy, '10ms');
const f = measure(faultHeavy, '50ms');
const fmt = (x: number) => `${(x / 1e6).toFixed(2)} M/s`;
console.log(`inline, Node ${process.version}, median of ${reps}`);
console.log(
  'scenario             requests   wall ms   requests/s   events/s    slowdown (wall/sim)',
);
for (const [name, m] of [
  ['translation-heavy', t],
  ['fault-heavy', f],
] as const) {
  console.log(
    `${name.padEnd(20)} ${String(m.requests).padStart(9)} ${m.wallMs.toFixed(0).padStart(8)}   ${fmt(m.requestsPerSec).padStart(10)}  ${fmt(m.eventsPerSec).padStart(10)}   ${m.slowdown.toFixed(0)}×`,
  );
}
const out = {
  inlineRequestsPerSecTranslationHeavy: t.requestsPerSec,
  inlineRequestsPerSecFaultHeavy: f.requestsPerSec,
  translationHeavy: t,
  faultHeavy: f,
};
const json = arg('--json', '');
if (json) writeFileSync(json, JSON.stringify(out, null, 2));
