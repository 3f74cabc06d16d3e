/**
 * The DESIGN §9 benchmark suite, first part: inline vs threaded requests per wall second on
 * the default scenario and the raw closed-loop SAB ring limit, measured in the same run, with
 * the ratios DESIGN §9 names, and the threaded runtime's scaling with 1, 8 and 64
 * accelerators (default scenario otherwise). Not yet measured (so absent from the JSON): the
 * postMessage baseline, RSS and start-up with 64 accelerators and 10 000 clients.
 *
 * Usage: npx tsx bench/suite.ts [--duration TIME] [--json FILE]   (also `npm run bench:suite`)
 */

import { writeFileSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { SpscRing } from '../src/ring/spsc-ring.js';
import { runScenarioThreaded } from '../src/runtime/threaded.js';
import { runScenario } from '../src/sim/runner.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const duration = arg('--duration', '20ms');

/** Requests as DESIGN §9 counts them: ATS translation, page and untranslated DMA requests. */
const requests = (r: { totals: { translations: number; pageRequests: number } }) =>
  r.totals.translations + r.totals.pageRequests;

function ringLimit(messages: number, outstanding: number): Promise<number> {
  const reqSab = SpscRing.create(1024, 16).sab;
  const rspSab = SpscRing.create(1024, 16).sab;
  const entry = new URL('./ring-limit.worker.ts', import.meta.url).href;
  const boot = new URL('../src/runtime/ts-bootstrap.mjs', import.meta.url);
  const run = (side: 0 | 1) =>
    new Promise<{ ns: number }>((resolve, reject) => {
      const w = new Worker(boot, {
        workerData: { entry, side, reqSab, rspSab, messages, outstanding },
      });
      w.once('message', resolve);
      w.once('error', reject);
    });
  return Promise.all([run(0), run(1)]).then(([a]) => messages / (a.ns / 1e9));
}

// warm-up, then the measured runs
runScenario({ duration: '1ms' });
const inline = runScenario({ duration });
const threaded = await runScenarioThreaded({ duration });
const same =
  JSON.stringify(inline.totals) === JSON.stringify(threaded.totals) &&
  JSON.stringify(inline.histograms) === JSON.stringify(threaded.histograms);
await ringLimit(200_000, 64); // warm-up
const ringLimitPerSec = await ringLimit(2_000_000, 64);
const scaling: { accelerators: number; requestsPerSec: number }[] = [];
for (const count of [1, 8, 64]) {
  const r = await runScenarioThreaded({ duration, devices: [{ count }] });
  scaling.push({ accelerators: count, requestsPerSec: requests(r) / (r.wallMs / 1000) });
}
const inlineRequestsPerSec = requests(inline) / (inline.wallMs / 1000);
const threadedRequestsPerSec = requests(threaded) / (threaded.wallMs / 1000);
const out = {
  inlineRequestsPerSec,
  threadedRequestsPerSec,
  threadedOverInline: threadedRequestsPerSec / inlineRequestsPerSec,
  ringLimitPerSec,
  fractionOfRingLimit: threadedRequestsPerSec / ringLimitPerSec,
  scaling,
  scale64Over8: scaling[2]!.requestsPerSec / scaling[1]!.requestsPerSec,
  slowdown: (inline.wallMs * 1e6) / inline.simulatedNs,
  identicalResults: same,
};
const m = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);
console.log(`default scenario, ${duration} simulated, Node ${process.version}`);
console.log(
  `  inline             ${m(inlineRequestsPerSec)}   (${inline.wallMs.toFixed(0)} ms wall)`,
);
console.log(
  `  threaded (2)       ${m(threadedRequestsPerSec)}   (${threaded.wallMs.toFixed(0)} ms wall, results identical: ${same})`,
);
console.log(`  threaded / inline  ${out.threadedOverInline.toFixed(2)}`);
console.log(
  `  raw ring limit     ${m(ringLimitPerSec)}   (closed loop, 64 outstanding, 2 threads)`,
);
console.log(`  fraction of limit  ${out.fractionOfRingLimit.toFixed(4)}`);
console.log(`  slowdown (inline)  ${out.slowdown.toFixed(0)}× wall / simulated`);
for (const x of scaling)
  console.log(
    `  threaded, ${String(x.accelerators).padStart(2)} accelerators  ${m(x.requestsPerSec)}`,
  );
console.log(`  64 / 8 accelerators  ${out.scale64Over8.toFixed(2)}`);
const json = arg('--json', '');
if (json) writeFileSync(json, `${JSON.stringify(out, null, 2)}\n`);
