/**
 * The threaded runtime, first form (DESIGN §3): the engine side and the device side of a
 * scenario's model each run in a worker thread, exchanging the messages between them over
 * SharedArrayBuffer rings and agreeing on every quantum through the barrier
 * (quantum-driver.ts). Each worker builds the whole model from the scenario — so endpoint
 * ids agree — and runs only its partition; the devices' data buffers are shared memory.
 * The parts of the report are merged here: counters add up, histograms merge from their
 * encodings. For the same seed and scenario the result equals the inline run.
 *
 * Not yet: more than two threads, accelerators on the engine's worker (placement
 * `balanced`), piscina and comlink (lifecycle and control plane), SIGINT handling,
 * progress from live counters.
 */

import { Worker } from 'node:worker_threads';
import { DEVICE_BUFFER_BYTES } from '../device/device.js';
import { COUNTER_NAMES, Counters, type CounterTotals } from '../metrics/counters.js';
import { initMetrics, LatencyRecorder } from '../metrics/recorder.js';
import { QuantumBarrier } from '../ring/barrier.js';
import { SpscRing } from '../ring/spsc-ring.js';
import { resolveScenario } from '../scenario/defaults.js';
import type { Scenario, ScenarioInput } from '../scenario/types.js';
import type { Report } from '../sim/runner.js';
import { RECORD_WORDS, RING_SLOTS, type ThreadedBuffers } from './quantum-driver.js';

function workerUrl(): { url: URL; entry?: string } {
  const here = import.meta.url;
  if (here.endsWith('.ts')) {
    return {
      url: new URL('./ts-bootstrap.mjs', here),
      entry: new URL('./partition.worker.ts', here).href,
    };
  }
  return { url: new URL('./partition.worker.js', here) };
}

function runWorker(
  scenario: Scenario,
  partition: number,
  buffers: ThreadedBuffers,
): Promise<Report> {
  const { url, entry } = workerUrl();
  const worker = new Worker(url, { workerData: { scenario, partition, buffers, entry } });
  return new Promise<Report>((resolve, reject) => {
    worker.once('message', (m: { ok: boolean; report?: Report; error?: string }) => {
      if (m.ok) resolve(m.report!);
      else reject(new Error(`threaded runtime, partition ${partition}: ${m.error}`));
    });
    worker.once('error', reject);
    worker.once('exit', (code) => {
      if (code !== 0)
        reject(new Error(`threaded runtime: partition ${partition} worker exited with ${code}`));
    });
  }).finally(() => void worker.terminate());
}

function flat(t: CounterTotals): Float64Array {
  const c = new Counters();
  COUNTER_NAMES.forEach((name, i) => {
    const [a, b] = name.split('.') as [keyof CounterTotals, string | undefined];
    const v = b === undefined ? (t[a] as number) : (t[a] as unknown as Record<string, number>)[b]!;
    c.add(i as never, v);
  });
  return c.values;
}

function addTotals(a: CounterTotals, b: CounterTotals): CounterTotals {
  const x = new Counters(flat(a));
  const y = new Counters(flat(b));
  x.mergeFrom(y);
  return x.toTotals();
}

/** Runs a scenario in two worker threads (engine side, device side) and returns its report. */
export async function runScenarioThreaded(input: Scenario | ScenarioInput = {}): Promise<Report> {
  const scenario =
    'memory' in input && typeof (input as Scenario).duration === 'number'
      ? (input as Scenario)
      : resolveScenario(input as ScenarioInput);
  await initMetrics();
  const devices = scenario.devices.reduce((n, g) => n + g.count, 0);
  const buffers: ThreadedBuffers = {
    rings: [
      SpscRing.create(RING_SLOTS, RECORD_WORDS).sab,
      SpscRing.create(RING_SLOTS, RECORD_WORDS).sab,
    ],
    barrier: QuantumBarrier.create(2).sab,
    deviceBuffers: new SharedArrayBuffer(devices * DEVICE_BUFFER_BYTES),
  };
  const wall0 = process.hrtime.bigint();
  const [engine, dev] = await Promise.all([
    runWorker(scenario, 0, buffers),
    runWorker(scenario, 1, buffers),
  ]);
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  const merged = LatencyRecorder.decodeMerge([engine.histograms, dev.histograms]);
  const events =
    (engine.eventsPerWallSecond * engine.wallMs + dev.eventsPerWallSecond * dev.wallMs) / 1000;
  const report: Report = {
    ...engine,
    runtime: 'threaded',
    threads: 2,
    wallMs,
    eventsPerWallSecond: events / (wallMs / 1000),
    totals: addTotals(engine.totals, dev.totals),
    devices: engine.devices.map((d, i) => ({ rid: d.rid, ...addTotals(d, dev.devices[i]!) })),
    latency: merged.summary(),
    histograms: merged.encode(),
    invariants: {
      checked: engine.invariants.checked + dev.invariants.checked,
      violations: [...engine.invariants.violations, ...dev.invariants.violations],
    },
  };
  merged.destroy();
  return report;
}
