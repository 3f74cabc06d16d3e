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

import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { DEVICE_BUFFER_BYTES } from '../device/device.js';
import { COUNTER_NAMES, Counters, type CounterTotals } from '../metrics/counters.js';
import { initMetrics, LatencyRecorder } from '../metrics/recorder.js';
import { QuantumBarrier } from '../ring/barrier.js';
import { resolveScenario } from '../scenario/defaults.js';
import type { Scenario, ScenarioInput } from '../scenario/types.js';
import { type Placement, placeAccelerators } from '../sim/placement.js';
import type { Report } from '../sim/runner.js';
import { createRings, type ThreadedBuffers } from './quantum-driver.js';

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
  durationNs: number | undefined,
): Promise<Report> {
  const { url, entry } = workerUrl();
  const worker = new Worker(url, {
    workerData: { scenario, partition, buffers, entry, durationNs },
  });
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

/** Options of a threaded run. */
export interface ThreadedRunOptions {
  /** Worker threads in all, the engine's included (default: the CPU cores, at least 2). */
  readonly threads?: number;
  /** Accelerators on threads (default `balanced`), or the partition of each accelerator. */
  readonly placement?: Placement | readonly number[];
  /** Simulated time to run, overriding the scenario's. */
  readonly durationNs?: number;
}

/** Runs a scenario in worker threads (engine side, accelerators) and returns its report. */
export async function runScenarioThreaded(
  input: Scenario | ScenarioInput = {},
  options: ThreadedRunOptions = {},
): Promise<Report> {
  const scenario =
    'memory' in input && typeof (input as Scenario).duration === 'number'
      ? (input as Scenario)
      : resolveScenario(input as ScenarioInput);
  await initMetrics();
  const accelerators = scenario.devices.reduce((n, g) => n + g.count, 0);
  const threads = Math.min(
    options.threads ?? Math.max(2, availableParallelism()),
    accelerators + 1,
  );
  if (!Number.isInteger(threads) || threads < 2) {
    throw Object.assign(
      new Error(
        `the threaded runtime needs at least 2 threads and 1 accelerator, got ${threads} threads for ${accelerators} accelerators`,
      ),
      { code: 'EINVAL' },
    );
  }
  const placement =
    typeof options.placement === 'object'
      ? checkPlacement(options.placement, accelerators, threads)
      : placeAccelerators(accelerators, threads, options.placement ?? 'balanced');
  const { rings, ringOffsets } = createRings(placement);
  const buffers: ThreadedBuffers = {
    partitions: threads,
    placement,
    rings,
    ringOffsets,
    barrier: QuantumBarrier.create(threads).sab,
    deviceBuffers: new SharedArrayBuffer(accelerators * DEVICE_BUFFER_BYTES),
  };
  const wall0 = process.hrtime.bigint();
  const parts = await Promise.all(
    Array.from({ length: threads }, (_, p) => runWorker(scenario, p, buffers, options.durationNs)),
  );
  const wallMs = Number(process.hrtime.bigint() - wall0) / 1e6;
  return mergeReports(parts, wallMs);
}

function checkPlacement(
  placement: readonly number[],
  accelerators: number,
  threads: number,
): number[] {
  if (placement.length !== accelerators || placement.some((p) => !(p >= 0 && p < threads))) {
    throw Object.assign(
      new Error(
        `placement must give each of the ${accelerators} accelerators a thread 0..${threads - 1}, got [${placement.join(', ')}]`,
      ),
      { code: 'EINVAL' },
    );
  }
  return [...placement];
}

/** Merges the partial reports of the partitions (engine's first) into one. */
export function mergeReports(parts: readonly Report[], wallMs: number): Report {
  const engine = parts[0]!;
  const merged = LatencyRecorder.decodeMerge(parts.map((r) => r.histograms));
  const events = parts.reduce((n, r) => n + (r.eventsPerWallSecond * r.wallMs) / 1000, 0);
  let totals = engine.totals;
  let devices = engine.devices;
  for (const r of parts.slice(1)) {
    totals = addTotals(totals, r.totals);
    devices = devices.map((d, i) => ({ rid: d.rid, ...addTotals(d, r.devices[i]!) }));
  }
  const report: Report = {
    ...engine,
    runtime: 'threaded',
    threads: parts.length,
    wallMs,
    eventsPerWallSecond: events / (wallMs / 1000),
    totals,
    devices,
    latency: merged.summary(),
    histograms: merged.encode(),
    invariants: {
      checked: parts.reduce((n, r) => n + r.invariants.checked, 0),
      violations: parts.flatMap((r) => r.invariants.violations),
    },
  };
  merged.destroy();
  return report;
}
