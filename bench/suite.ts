/**
 * The DESIGN §9 benchmark suite. In one run, on the default scenario unless said otherwise:
 *
 * - inline vs threaded requests per wall second, and the same threaded model with a
 *   postMessage data plane (the baseline a user would otherwise write);
 * - the raw closed-loop SharedArrayBuffer ring limit between two threads, and the threaded
 *   runtime's fraction of it;
 * - threaded scaling with 1, 8 and 64 accelerators;
 * - peak RSS and start-up time with 64 accelerators and 10 000 clients: start-up is the wall
 *   time from the call to the first quantum (every worker built the model); RSS is sampled
 *   every 5 ms over the first 3 s of wall time (the 10 000 client processes are created, fill
 *   their buffers and bind in the first simulated microseconds), after which the run is
 *   aborted — ending it would take minutes of unbinding, which is not what is measured;
 * - slowdown: wall time over simulated time of the inline default run;
 * - the fast-core figures: events per request and the share of events that did nothing in
 *   the default scenario (deterministic counts), the translation-heavy scenario's requests
 *   per second against a bare event loop's events per second (same process), and wall time
 *   and peak RSS of 1 000, 10 000 and 100 000 churning clients over 1 ms (each in a process
 *   of its own, so the RSS is the run's: `bench/clients-run.mjs`);
 * - sweepSpeedup: the wall time of the same 8-point `svasim sweep` (the default scenario over
 *   4 PRQ sizes × 2 seeds, 40 ms simulated, about 2 s of CPU per point, so process start-up is
 *   a small part) with -j 1 over its wall time with -j 2, each into a fresh folder; the
 *   median of --sweep-reps runs of each (default 3), the two kinds alternating.
 *
 * A request is a transaction an accelerator sends to the VT-d unit (ATS translation request,
 * page request; untranslated DMA is not issued by the default scenario's ATS devices);
 * device-TLB hits are not requests. Requests per second divide by the run's wall time from
 * the start of the run, once the model is built, in every runtime. Each measurement follows a
 * warm-up run of the same kind. The runtimes are loaded from `dist/` (`npm run bench` builds
 * first), so the workers run compiled JavaScript, as users' runs do.
 *
 * Usage: npm run bench [-- --duration TIME] [--json FILE] [--clients-max N] [--sweep-reps N]
 */

import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import type * as RunnerModule from '../src/machine/run.js';
import { SpscRing } from '../src/ring/spsc-ring.js';
import type * as ThreadedModule from '../src/runtime/threaded.js';
import type * as PresetsModule from '../src/scenario/presets.js';
import type * as SimulatorModule from '../src/sim/simulator.js';
import { predict, type ScalingCalibration } from './scaling-model.js';
import { manyClients, translationHeavy } from './scenarios.js';

const dist = (path: string) => new URL(`../dist/${path}`, import.meta.url).href;
const { runScenario } = (await import(dist('machine/run.js'))) as typeof RunnerModule;
const { runScenarioThreaded, startScenarioThreaded } = (await import(
  dist('runtime/threaded.js')
)) as typeof ThreadedModule;
const { Simulator } = (await import(dist('sim/simulator.js'))) as typeof SimulatorModule;
const { presets } = (await import(dist('scenario/presets.js'))) as typeof PresetsModule;
const { autoRuntime } = (await import(dist('cli/auto-runtime.js'))) as {
  autoRuntime: (
    sc: import('../src/scenario/types.js').Scenario,
    cores: number,
  ) => {
    runtime: 'inline' | 'threaded';
    reason: string;
  };
};
const { resolveScenario } = (await import(dist('scenario/index.js'))) as {
  resolveScenario: (
    input: import('../src/scenario/types.js').ScenarioInput,
  ) => import('../src/scenario/types.js').Scenario;
};

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(name);
  return i > 0 && process.argv[i + 1] ? process.argv[i + 1]! : dflt;
};
const duration = arg('--duration', '20ms');

type R = import('../src/report/types.js').Report;
/** Requests as DESIGN §9 counts them. */
/** Requests of the whole run (window and drain), as the wall time covers the whole run. */
const requests = (r: R) => {
  const t = r.runTotals ?? r.totals;
  return t.translations + t.pageRequests;
};
const perSec = (r: R) => requests(r) / (r.wallMs / 1000);
const same = (a: R, b: R) =>
  JSON.stringify(a.totals) === JSON.stringify(b.totals) &&
  JSON.stringify(a.histograms) === JSON.stringify(b.histograms);

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

/** Wall µs of one bare barrier round with `parties` worker threads and no work. */
async function barrierRoundUs(parties: number, rounds: number): Promise<number> {
  const { QuantumBarrier } = await import('../src/ring/barrier.js');
  const sab = QuantumBarrier.create(parties, { canBlock: false }).sab;
  const entry = new URL('./barrier-round.worker.ts', import.meta.url).href;
  const boot = new URL('../src/runtime/ts-bootstrap.mjs', import.meta.url);
  const runs = Array.from(
    { length: parties },
    (_, party) =>
      new Promise<{ ns: number }>((resolve, reject) => {
        const w = new Worker(boot, { workerData: { entry, sab, party, rounds } });
        w.once('message', resolve);
        w.once('error', reject);
      }),
  );
  const ns = Math.max(...(await Promise.all(runs)).map((r) => r.ns));
  return ns / rounds / 1000;
}

const log = (s: string) => console.error(`  … ${s}`);

log('inline');
runScenario({ duration });
let inlineSims: SimulatorModule.Simulator[] = [];
const inline = runScenario(
  { duration },
  { onSystem: (s) => (inlineSims = s.world ? [...s.world.sims] : [s.sim]) },
);
const events = inlineSims.reduce((n, s) => n + s.events, 0);
const noopEvents = inlineSims.reduce((n, s) => n + s.noopEvents, 0);
const eventsByKind = inlineSims[0]!.eventsByKind();

/**
 * A bare event loop: one endpoint that re-arms a timer per event at now + 220–223 ns, with
 * `pending` events queued: what the event queue's heap alone costs per event. With `lane`,
 * every event is a 220 ns hop through the queue's FIFO lane, as the model's PCIe messages are.
 */
function bareLoop(count: number, pending: number, lane = false): number {
  const sim = new Simulator();
  if (lane) sim.queue.setLaneDelays([220]);
  let left = count;
  const id = sim.register({
    handle(arg: number) {
      if (left-- > 0) sim.timer(lane ? 220 : 220 + (arg & 3), id, id, arg);
    },
  });
  for (let i = 0; i < pending; i++) sim.timer(i, id, id, i);
  const t0 = process.hrtime.bigint();
  while (sim.step()) {}
  return sim.events / (Number(process.hrtime.bigint() - t0) / 1e9);
}
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
log('translation-heavy scenario and a bare event loop');
runScenario(translationHeavy('1ms'));
bareLoop(500_000, 64);
const thRates: number[] = [];
const bareRates: number[] = [];
const laneRates: number[] = [];
for (let i = 0; i < 3; i++) {
  thRates.push(perSec(runScenario(translationHeavy('10ms'))));
  bareRates.push(bareLoop(3_000_000, 64));
  laneRates.push(bareLoop(3_000_000, 64, true));
}
const translationHeavyRequestsPerSec = median(thRates);
const bareLoopEventsPerSec = median(bareRates);
const bareLaneLoopEventsPerSec = median(laneRates);

/** One many-clients run in a child process: wall time of building and running, peak RSS. */
function clientsRun(count: number): { wallMs: number; rssMiB: number; violations: number } {
  const child = spawnSync(
    process.execPath,
    [new URL('./clients-run.mjs', import.meta.url).pathname, JSON.stringify(manyClients(count))],
    { encoding: 'utf8', maxBuffer: 1 << 20 },
  );
  if (child.status !== 0) throw new Error(`clients run of ${count} failed: ${child.stderr}`);
  return JSON.parse(child.stdout);
}
const clientsMax = Number(arg('--clients-max', '100000'));
const clients: Record<number, { wallMs: number; rssMiB: number; violations: number }> = {};
for (const n of [1000, 10_000, 100_000].filter((n) => n <= clientsMax)) {
  log(`${n} churning clients, 1 ms (a process of its own)`);
  clients[n] = clientsRun(n);
}
/** Wall ms of one 8-point sweep with `-j jobs`, into a fresh folder (`svasim sweep`, built CLI). */
function sweepWallMs(jobs: number): number {
  const out = mkdtempSync(join(tmpdir(), 'svasim-bench-sweep-'));
  const args = [
    new URL('../bin/svasim.mjs', import.meta.url).pathname,
    'sweep',
    'default',
    '--vary',
    'iommu.prqEntries=64,128,256,512',
    '--seeds',
    '2',
    '--duration',
    '40ms',
    '-j',
    String(jobs),
    '--out',
    out,
    '--quiet',
  ];
  const t0 = performance.now();
  const child = spawnSync(process.execPath, args, { encoding: 'utf8', maxBuffer: 1 << 20 });
  const wallMs = performance.now() - t0;
  rmSync(out, { recursive: true, force: true });
  if (child.status !== 0) throw new Error(`sweep -j ${jobs} failed: ${child.stderr}`);
  return wallMs;
}
const sweepReps = Number(arg('--sweep-reps', '3'));
const sweepJ1: number[] = [];
const sweepJ2: number[] = [];
for (let i = 0; i < sweepReps; i++) {
  log(`sweep of 8 points, -j 1 and -j 2 (${i + 1} of ${sweepReps})`);
  sweepJ1.push(sweepWallMs(1));
  sweepJ2.push(sweepWallMs(2));
}
const sweepJ1WallMs = median(sweepJ1);
const sweepJ2WallMs = median(sweepJ2);

log('dense-64: inline');
const dense = presets['dense-64']!.scenario;
runScenario({ ...dense, duration: '1ms' });
const denseInline = runScenario(dense);
log('dense-64: threaded, 2 threads (default placement)');
await runScenarioThreaded({ ...dense, duration: '1ms' }, { threads: 2 });
const dense2 = await runScenarioThreaded(dense, {
  threads: 2,
  placement: 'separate',
  recordQuanta: true,
});
log('dense-64: threaded, 2 threads, 2 ms spin');
const denseSpin = await runScenarioThreaded(dense, { threads: 2, spinUs: 2000 });
log('dense-64: threaded, 3 threads, separate');
const dense3 = await runScenarioThreaded(dense, { threads: 3, placement: 'separate' });
log('bare barrier rounds, 2 and 3 parties');
await barrierRoundUs(2, 20_000);
const sync2Us = await barrierRoundUs(2, 200_000);
const sync3Us = await barrierRoundUs(3, 20_000);
/** Wall of a threaded run's quanta: the longest thread's work plus wait. */
const quantaWallMs = (r: R) => Math.max(...(r.threadStats ?? []).map((t) => t.workMs + t.waitMs));
const stat = (r: R, p: number) => r.threadStats!.find((t) => t.partition === p)!;
const calibration: ScalingCalibration = {
  accelerators: dense2.devices.length,
  engineUs: stat(dense2, 0).quantumWorkUs!,
  devicesUs: stat(dense2, 1).quantumWorkUs!,
  // 3 parties: as measured here (more threads than cores); otherwise a core per thread, the
  // rounds growing with the parties that add to one counter
  syncUs: (parties) => (parties === 3 ? sync3Us : (sync2Us * parties) / 2),
};
const model = [2, 3, 4, 8, 16].flatMap((threads) =>
  (['separate', 'balanced'] as const).map((placement) => {
    const p = predict(calibration, threads, placement);
    return { ...p, speedup: denseInline.wallMs / p.wallMs };
  }),
);
const predicted = (threads: number) => model.find((x) => x.threads === threads)!;
const sharesOf = (r: R) => (r.threadStats ?? []).map((t) => t.waitMs / (t.workMs + t.waitMs));

log('threaded');
await runScenarioThreaded({ duration });
const threaded = await runScenarioThreaded({ duration });
log('threaded, postMessage data plane');
await runScenarioThreaded({ duration: '2ms' }, { transport: 'postMessage' });
const posted = await runScenarioThreaded({ duration }, { transport: 'postMessage' });
log('raw ring limit');
await ringLimit(200_000, 64);
const ringLimitPerSec = await ringLimit(2_000_000, 64);
const scaling: { accelerators: number; requestsPerSec: number }[] = [];
for (const count of [1, 8, 64]) {
  log(`scaling, ${count} accelerators`);
  const r = await runScenarioThreaded({ duration, devices: [{ count }] });
  scaling.push({ accelerators: count, requestsPerSec: perSec(r) });
}

log('64 accelerators, 10 000 clients: start-up and RSS');
const big = {
  duration: '20ms',
  devices: [{ count: 64 }],
  clients: { count: 10_000, buffers: { count: 2, size: '16KiB' } },
  memory: { frames: 131_072 },
};
let rssPeak = process.memoryUsage.rss();
const t0 = performance.now();
let startupMs64 = Number.NaN;
const run64 = await startScenarioThreaded(big, {
  progressEveryMs: 5,
  onProgress: (p) => {
    rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
    if (Number.isNaN(startupMs64) && p.events > 0) startupMs64 = performance.now() - t0;
  },
});
const abortAfter = setTimeout(() => run64.abort('benchmark sampled enough'), 3000);
const r64 = await run64.done.catch((e: { partial?: R }) => e.partial);
clearTimeout(abortAfter);
rssPeak = Math.max(rssPeak, process.memoryUsage.rss());
log(`  ${r64?.totals.binds ?? 0} binds and ${r64?.totals.jobs ?? 0} jobs when sampling ended`);

const defaultScenario = resolveScenario({ duration });
const autoDefault = autoRuntime(defaultScenario, availableParallelism());
const autoDense = autoRuntime(resolveScenario(dense), availableParallelism());
const inlineRequestsPerSec = perSec(inline);
const threadedRequestsPerSec = perSec(threaded);
const postMessageRequestsPerSec = perSec(posted);
const out = {
  inlineRequestsPerSec,
  threadedRequestsPerSec,
  threadedOverInline: threadedRequestsPerSec / inlineRequestsPerSec,
  postMessageRequestsPerSec,
  threadedOverPostMessage: threadedRequestsPerSec / postMessageRequestsPerSec,
  ringLimitPerSec,
  fractionOfRingLimit: threadedRequestsPerSec / ringLimitPerSec,
  scaling,
  scale64Over8: scaling[2]!.requestsPerSec / scaling[1]!.requestsPerSec,
  autoDefault,
  autoPickedFaster: (autoDefault.runtime === 'inline') === perSec(inline) >= perSec(threaded),
  denseInlineWallMs: denseInline.wallMs,
  denseThreadedWallMs: dense2.wallMs,
  denseThreadedOverInline: perSec(dense2) / perSec(denseInline),
  denseIdentical:
    same(denseInline, dense2) && same(denseInline, dense3) && same(denseInline, denseSpin),
  denseThreeThreadsOverInline: perSec(dense3) / perSec(denseInline),
  denseThreadStats: dense2.threadStats?.map(({ quantumWorkUs: _q, ...t }) => t),
  denseLongSpinOverInline: perSec(denseSpin) / perSec(denseInline),
  denseSyncShare: sharesOf(dense2).reduce((a, b) => a + b, 0) / sharesOf(dense2).length,
  denseEngineSyncShare: sharesOf(dense2)[0],
  autoDense,
  syncRoundUs2: sync2Us,
  syncRoundUs3: sync3Us,
  model,
  predictedSpeedup4: predicted(4).speedup,
  predictedSpeedup8: predicted(8).speedup,
  predictedSpeedup16: predicted(16).speedup,
  modelError2: Math.abs(predicted(2).wallMs - quantaWallMs(dense2)) / quantaWallMs(dense2),
  modelError3: Math.abs(predicted(3).wallMs - quantaWallMs(dense3)) / quantaWallMs(dense3),
  rssMiB64: rssPeak / 2 ** 20,
  startupMs64,
  slowdown: (inline.wallMs * 1e6) / inline.simulatedNs,
  eventsPerRequest: events / requests(inline),
  noopEventShare: noopEvents / events,
  eventsByKind,
  translationHeavyRequestsPerSec,
  bareLoopEventsPerSec,
  translationHeavyOverBareLoop: translationHeavyRequestsPerSec / bareLoopEventsPerSec,
  bareLaneLoopEventsPerSec,
  clients1kWallMs: clients[1000]?.wallMs,
  clients10kWallMs: clients[10_000]?.wallMs,
  clients10kRssMiB: clients[10_000]?.rssMiB,
  clients100kWallMs: clients[100_000]?.wallMs,
  clients100kRssMiB: clients[100_000]?.rssMiB,
  sweepJ1WallMs,
  sweepJ2WallMs,
  sweepSpeedup: sweepJ1WallMs / sweepJ2WallMs,
  clientScaling:
    clients[10_000] && clients[1000]
      ? clients[10_000].wallMs / 10_000 / (clients[1000].wallMs / 1000)
      : undefined,
};

const m = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(2)} M/s` : `${(x / 1e3).toFixed(1)} k/s`);
const rows: [string, string][] = [
  ['inline', `${m(inlineRequestsPerSec)}  (${inline.wallMs.toFixed(0)} ms wall)`],
  [
    `threaded (${threaded.threads} threads)`,
    `${m(threadedRequestsPerSec)}  (${threaded.wallMs.toFixed(0)} ms wall, identical: ${same(inline, threaded)})`,
  ],
  ['threaded / inline', out.threadedOverInline.toFixed(2)],
  [
    'postMessage baseline',
    `${m(postMessageRequestsPerSec)}  (${posted.wallMs.toFixed(0)} ms wall, identical: ${same(inline, posted)})`,
  ],
  ['threaded / postMessage', out.threadedOverPostMessage.toFixed(2)],
  ['raw ring limit', `${m(ringLimitPerSec)}  (closed loop, 64 outstanding, 2 threads)`],
  ['fraction of the limit', out.fractionOfRingLimit.toFixed(4)],
  ...scaling.map((x): [string, string] => [
    `threaded, ${x.accelerators} accelerators`,
    m(x.requestsPerSec),
  ]),
  ['64 / 8 accelerators', out.scale64Over8.toFixed(2)],
  ['auto, default scenario', `${autoDefault.runtime} (${autoDefault.reason})`],
  ['auto picked the faster', String(out.autoPickedFaster)],
  ['dense-64 inline', `${m(perSec(denseInline))}  (${denseInline.wallMs.toFixed(0)} ms wall)`],
  [
    'dense-64 threaded, 2 threads',
    `${m(perSec(dense2))}  (${dense2.wallMs.toFixed(0)} ms wall, identical: ${out.denseIdentical})`,
  ],
  ['dense-64 threaded / inline', out.denseThreadedOverInline.toFixed(2)],
  ['dense-64 3 threads / inline', out.denseThreeThreadsOverInline.toFixed(2)],
  ['dense-64 2 threads, 2 ms spin / inline', out.denseLongSpinOverInline.toFixed(2)],
  ...(dense2.threadStats ?? []).map((t): [string, string] => [
    `  thread ${t.partition}${t.partition === 0 ? ' (engine)' : ''}`,
    `${t.accelerators} acc., work ${t.workMs.toFixed(0)} ms, waiting ${t.waitMs.toFixed(0)} ms, ${t.quanta} quanta, sd ${t.workSdUs.toFixed(1)} µs/quantum`,
  ]),
  ['dense-64 sync share (mean)', out.denseSyncShare.toFixed(3)],
  ['auto, dense-64', `${autoDense.runtime} (${autoDense.reason})`],
  ['bare barrier round', `${sync2Us.toFixed(2)} µs (2 parties), ${sync3Us.toFixed(2)} µs (3)`],
  ...model.map((x): [string, string] => [
    `model: ${x.threads} threads, ${x.placement}`,
    `${x.wallMs.toFixed(0)} ms, speed-up ${x.speedup.toFixed(2)} (${x.onEngine} acc. on the engine)`,
  ]),
  ['model error, 2 threads', out.modelError2.toFixed(3)],
  ['model error, 3 threads', out.modelError3.toFixed(3)],
  ['RSS, 64 acc. + 10k clients', `${out.rssMiB64.toFixed(0)} MiB peak`],
  ['start-up, 64 acc. + 10k clients', `${out.startupMs64.toFixed(0)} ms to the first quantum`],
  ['slowdown (inline)', `${out.slowdown.toFixed(1)}× wall / simulated`],
  ['events per request', `${out.eventsPerRequest.toFixed(2)}  (${events} events)`],
  ['no-op event share', `${out.noopEventShare.toFixed(4)}  (${noopEvents} events)`],
  ['translation-heavy inline', m(translationHeavyRequestsPerSec)],
  ['bare event loop (heap)', m(bareLoopEventsPerSec)],
  ['bare event loop (lane)', m(bareLaneLoopEventsPerSec)],
  ['translation-heavy / bare loop', out.translationHeavyOverBareLoop.toFixed(3)],
  ...Object.entries(clients).map(([n, c]): [string, string] => [
    `${n} churning clients, 1 ms`,
    `${c.wallMs.toFixed(0)} ms wall, ${c.rssMiB.toFixed(0)} MiB peak RSS${c.violations ? `, ${c.violations} violations` : ''}`,
  ]),
  ['wall per client, 10k / 1k', out.clientScaling?.toFixed(2) ?? '(not run)'],
  [
    'sweep, 8 points, -j 2 / -j 1',
    `${out.sweepSpeedup.toFixed(2)}  (${(sweepJ2WallMs / 1000).toFixed(1)} s vs ${(sweepJ1WallMs / 1000).toFixed(1)} s wall, median of ${sweepReps})`,
  ],
];
console.log(
  `default scenario, ${duration} simulated, Node ${process.version}, ${availableParallelism()} cores`,
);
for (const [k, v] of rows) console.log(`  ${k.padEnd(32)} ${v}`);
const json = arg('--json', '');
if (json) writeFileSync(json, `${JSON.stringify(out, null, 2)}\n`);
