/**
 * Scenarios the benchmarks share (DESIGN §9 and the scale figures beside it).
 */

import type { ScenarioInput } from '../src/scenario/types.js';

/**
 * Four devices doing random 64 B untranslated reads in a 64 KiB window per client, 64 pages
 * in all: nearly every request is an IOTLB hit, so the figure is the cost of the data path.
 */
export const translationHeavy = (duration: string): ScenarioInput => ({
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
export const faultHeavy = (duration: string): ScenarioInput => ({
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

/**
 * `count` churning SVA clients on 64 default (DSA-like, ATS + PRI) devices for 1 ms of
 * simulated time: two 4 KiB buffers each (the source written by the CPU before binding), a
 * mean bind lifetime of 500 us (so most slots run two or three processes), then the drain
 * (every client unbinds and exits). Frames: ten per client, at most 2^20 (4 GiB).
 */
export const manyClients = (count: number): ScenarioInput => ({
  name: `clients-${count}`,
  duration: '1ms',
  devices: [{ count: 64 }],
  clients: {
    count,
    buffers: { count: 2, size: '4KiB' },
    churn: { bindLifetime: '500us' },
  },
  memory: { frames: Math.min(2 ** 20, Math.max(65_536, count * 10)) },
});
