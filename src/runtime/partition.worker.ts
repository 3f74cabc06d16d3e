/**
 * Worker entry of the threaded runtime: runs one partition of a scenario's model (0 the
 * engine side, 1 the device side) and posts its part of the report.
 */

import { parentPort, workerData } from 'node:worker_threads';
import { QuantumBarrier } from '../ring/barrier.js';
import type { Scenario } from '../scenario/types.js';
import { runScenario } from '../sim/runner.js';
import { makeDriver, type ThreadedBuffers } from './quantum-driver.js';

const { scenario, partition, buffers, durationNs } = workerData as {
  scenario: Scenario;
  partition: number;
  buffers: ThreadedBuffers;
  durationNs?: number;
};
const barrier = new QuantumBarrier(buffers.barrier, 0, partition);
try {
  const report = runScenario(scenario, {
    durationNs,
    deviceBuffers: buffers.deviceBuffers,
    placement: buffers.placement,
    driver: {
      partition,
      partitions: buffers.partitions,
      make: (world) => makeDriver(world, partition, buffers, barrier),
    },
  });
  parentPort!.postMessage({ ok: true, report });
} catch (e) {
  barrier.abort(`partition ${partition}: ${(e as Error).message}`);
  parentPort!.postMessage({ ok: false, error: (e as Error).stack ?? String(e) });
}
