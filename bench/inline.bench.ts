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

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const reps = Number(arg('--reps', '3'));

/** Four devices doing random 64 B untranslated reads in a 64 KiB window per client, 64 pages in all: IOTLB hits. */
const translationHeavy = (duration: string): ScenarioInput => ({
  name: 'translation-heavy',
  duration,
  devices: [{ count: 4, ats: false, pri: false, engines: 32, workQueue: { depth: 32 } }],
  clients: {
    count: 4,
    buffers: { count: 1, size: '64KiB', prefault: 'all' },
    churn: { enabled: false },
  },
  workload: {
    op: 'read',
    pattern: 'uniform',
    jobBytes: 64,
    arrival: { closedLoop: { queueDepth: 32 } },
  },
  memory: { frames: 8192 },
});

/** ATS/PRI devices copying into untouched buffers with churn: page requests on every first touch. */
const faultHeavy = (duration: string): ScenarioInput => ({
  name: 'fault-heavy',
  duration,
  devices: [{ count: 4, engines: 4, workQueue: { depth: 16 } }],
  clients: {
    count: 16,
    buffers: { count: 2, size: '256KiB', prefault: 'none' },
    churn: { bindLifetime: '2ms', exitWhileBound: 0.1 },
  },
  workload: {
    op: 'copy',
    pattern: 'uniform',
    jobBytes: '4KiB',
    arrival: { closedLoop: { queueDepth: 8 } },
  },
  memory: { frames: 32768 },
});

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
