/**
 * Calibration checks of the default cost model against ANCHORS.md, measured in modelled time:
 *
 * 1. IOTLB reach: random 64 B untranslated DMA reads from one device with many reads in
 *    flight, over windows from 64 KiB to 64 MiB, with a 64-entry IOTLB. ANCHORS: flat up to
 *    256 KiB, then falling by about two thirds by 64 MiB (63.3 → 43.6 → 19.2 M/s).
 * 2. `prq.service` of a fault-heavy run: most mass in 1–10 µs and a tail towards 1 ms.
 *
 * Usage: npx tsx bench/calibration.ts [--json FILE]
 */

import { writeFileSync } from 'node:fs';
import { runScenario } from '../src/machine/run.js';

const KiB = 1024;
const MiB = 1024 * KiB;

function knee(
  windowBytes: number,
  seed: number,
): { window: number; readsPerSec: number; hitRate: number } {
  const frames = Math.max(8192, windowBytes / 4096 + 4096);
  const r = runScenario({
    name: 'iotlb-knee',
    seed,
    duration: '2ms',
    iommu: { iotlb: { entries: 64, assoc: 4, policy: 'lru' } },
    devices: [{ count: 1, ats: false, pri: false, engines: 64, workQueue: { depth: 64 } }],
    clients: {
      count: 1,
      buffers: { count: 1, size: windowBytes, prefault: 'all' },
      churn: { enabled: false },
    },
    workload: {
      op: 'read',
      pattern: 'uniform',
      jobBytes: 64,
      arrival: { closedLoop: { queueDepth: 64 } },
    },
    memory: { frames },
  });
  if (r.invariants.violations.length) throw new Error(JSON.stringify(r.invariants.violations));
  const t = r.totals;
  return {
    window: windowBytes,
    // the jobs completed in the measurement window, over the window
    readsPerSec: t.jobs / ((r.windowNs ?? r.simulatedNs) / 1e9),
    hitRate: t.iotlbHits / (t.iotlbHits + t.iotlbMisses),
  };
}

function faultHeavy(seed: number) {
  const r = runScenario({
    name: 'fault-heavy',
    seed,
    duration: '20ms',
    devices: [{ count: 2, engines: 2, workQueue: { depth: 16 } }],
    clients: {
      count: 4,
      buffers: { count: 2, size: '4MiB', prefault: 'none' },
      churn: { enabled: false },
    },
    workload: {
      op: 'copy',
      pattern: 'sequential',
      jobBytes: '4KiB',
      arrival: { closedLoop: { queueDepth: 4 } },
    },
    memory: { frames: 16384 },
  });
  if (r.invariants.violations.length) throw new Error(JSON.stringify(r.invariants.violations));
  return r;
}

const jsonAt = process.argv.indexOf('--json');
const out: Record<string, unknown> = {};

console.log('IOTLB reach (64 entries, 4-way LRU), random 64 B DMA reads, 64 in flight:');
console.log('  window      reads/s (simulated)   IOTLB hit rate');
const rows = [];
for (const w of [64 * KiB, 128 * KiB, 256 * KiB, 512 * KiB, 1 * MiB, 4 * MiB, 16 * MiB, 64 * MiB]) {
  const k = knee(w, 1);
  rows.push(k);
  console.log(
    `  ${(w >= MiB ? `${w / MiB} MiB` : `${w / KiB} KiB`).padEnd(10)}  ${(k.readsPerSec / 1e6).toFixed(1).padStart(6)} M/s            ${(k.hitRate * 100).toFixed(1)} %`,
  );
}
const base = rows[2]!.readsPerSec;
console.log(
  `  64 MiB / 256 KiB throughput: ${(rows[7]!.readsPerSec / base).toFixed(2)} (ANCHORS: 19.2 / 63.3 = 0.30)`,
);
out.iotlbKnee = rows;

const r = faultHeavy(1);
const s = r.latency['prq.service'];
console.log('\nFault-heavy run (2 devices, 4 clients, every page faults once):');
console.log(
  `  page requests ${r.totals.pageRequests}, responses ${JSON.stringify(r.totals.pageResponses)}`,
);
console.log(
  `  prq.service ns: p50 ${s.p50}  p90 ${s.p90}  p99 ${s.p99}  p99.9 ${s.p999}  max ${s.max}  mean ${s.mean.toFixed(0)}`,
);
const { LatencyRecorder, initMetrics } = await import('../src/metrics/recorder.js');
await initMetrics();
const h = LatencyRecorder.decodeMerge([{ 'prq.service': r.histograms['prq.service'] }]).histogram(
  'prq.service',
);
const total = h.totalCount;
const below = (ns: number) => {
  let n = 0;
  // count values below ns via the percentile function: binary search on percentiles
  let lo = 0;
  let hi = 100;
  for (let i = 0; i < 40; i++) {
    const mid = (lo + hi) / 2;
    if (h.getValueAtPercentile(mid) < ns) lo = mid;
    else hi = mid;
  }
  n = lo;
  return n;
};
const p1 = below(1000);
const p10 = below(10_000);
const p100 = below(100_000);
console.log(
  `  mass: <1 us ${p1.toFixed(1)} %, 1–10 us ${(p10 - p1).toFixed(1)} %, 10–100 us ${(p100 - p10).toFixed(1)} %, ≥100 us ${(100 - p100).toFixed(1)} % (n = ${total})`,
);
console.log('  ANCHORS (svm_prq): 97.1 % in 1–10 us, 1.4 % in 10–100 us, 1.5 % in 100 us–1 ms');
out.prqService = {
  summary: s,
  massPercent: {
    below1us: p1,
    '1to10us': p10 - p1,
    '10to100us': p100 - p10,
    atLeast100us: 100 - p100,
  },
};

if (jsonAt > 0 && process.argv[jsonAt + 1])
  writeFileSync(process.argv[jsonAt + 1]!, JSON.stringify(out, null, 2));
