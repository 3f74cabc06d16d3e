/**
 * Building the machine a scenario describes (DESIGN §5): the system with its VT-d units and
 * cost model, then each device group's functions with their accelerators and job streams.
 * Endpoints are registered in a fixed order — the units and kernel first (in the system),
 * then the client pool (by the caller), then per accelerator its function, engines and job
 * stream — because endpoint ids break ties between simultaneous events.
 */

import { Accelerator } from '../device/accelerator.js';
import { Adversary, HOSTILE_PRG_FIRST } from '../device/adversary.js';
import { JobOp, JobStatus } from '../device/job.js';
import { Counter } from '../metrics/counters.js';
import { LatencyKindIndex } from '../metrics/kinds.js';
import type { Scenario } from '../scenario/types.js';
import { JobStream, type JobStreamConfig } from '../workload/job-stream.js';
import type { PatternSpec } from '../workload/patterns.js';
import type { RunOptions } from './run-options.js';
import { createSystem, type System } from './system.js';

/** The system a scenario runs on, partitioned as the run options ask. */
export function buildSystem(sc: Scenario, options: RunOptions): System {
  const sys = createSystem({
    profile: sc.profile,
    partitions: options.driver ? options.driver.partitions : (options.partitions ?? 1),
    placement: options.placement,
    deviceBuffers: options.deviceBuffers,
    counters: options.counters,
    seed: sc.seed,
    memory: { frames: sc.memory.frames },
    kernel: { ...sc.kernel },
    cost: sc.cost,
    iommu: {
      units: sc.iommu.units,
      pasidBits: sc.iommu.pasidBits,
      srs: sc.iommu.srs,
      dit: sc.iommu.dit,
      prs: sc.iommu.prs,
      pds: sc.iommu.pds,
      prqEntries: sc.iommu.prqEntries,
      iotlb: sc.iommu.iotlb,
    },
  });
  // Scenario runs can execute millions of descriptors: keep counters, not the decoded log.
  for (const u of sys.iommus) u.qi.logging = false;
  return sys;
}

/** The accelerators of a scenario and their job streams, by device index. */
export interface Accelerators {
  readonly accels: Accelerator[];
  readonly streams: JobStream[];
  /** The hostile streams of the accelerators of groups with an `adversary`. */
  readonly adversaries: Adversary[];
}

/**
 * Adds every device group's functions to `sys`, each with its accelerator and the job
 * stream of the clients that use it, and, in a group with an `adversary`, its hostile stream
 * (which learns its clients' PASIDs from the job stream and wakes when one starts);
 * `clientEndpoint` is the engine-side client pool the streams talk to.
 */
export function addAccelerators(sys: System, sc: Scenario, clientEndpoint: number): Accelerators {
  const a = sc.workload.arrival;
  const streamCfg: JobStreamConfig = {
    seed: sc.seed,
    op: JobOp[sc.workload.op],
    jobBytes: sc.workload.jobBytes,
    bufferBytes: sc.clients.buffers.size,
    pattern: patternSpec(sc),
    queueDepth: 'closedLoop' in a && a.closedLoop ? a.closedLoop.queueDepth : 0,
    openGapNs: 'openLoop' in a && a.openLoop ? 1e9 / a.openLoop.rate : 0,
    pcieLatencyNs: sys.cost.pcieLatencyNs,
  };
  const accels: Accelerator[] = [];
  const streams: JobStream[] = [];
  const adversaries: Adversary[] = [];
  const world = sys.world;
  let n = 0;
  for (const g of sc.devices) {
    for (let i = 0; i < g.count; i++) {
      // the accelerator's endpoints (function, engines, job stream) share its port
      if (world) world.portScope = n;
      const devSim = sys.deviceSimOf(n);
      const dev = sys.addDevice({
        rid: g.rid + i,
        pasidBits: g.pasidBits,
        ats: g.ats,
        pri: g.pri,
        atsQdep: g.atsQdep % 32,
        unit: n % sc.iommu.units,
        devtlbEntries: g.devtlb.entries,
      });
      const accel = new Accelerator(
        dev,
        {
          engines: g.engines,
          wqDepth: g.workQueue.depth,
          blockOnFault: g.blockOnFault,
          priCredits: g.priCredits,
          // a hostile stream takes the PRG indexes from HOSTILE_PRG_FIRST up
          prgIndexes: g.adversary ? HOSTILE_PRG_FIRST : undefined,
        },
        devSim,
        sys.cost,
        accelObserver(sys, dev.index),
        (cookie, status, done, _nowNs, length, issuedNs) =>
          stream.jobDone(cookie, status, done, length, issuedNs),
      );
      const dc = sys.deviceCounters[dev.index]!;
      const onArrival = (): void => {
        sys.counters.add(Counter.jobsOffered);
        dc.add(Counter.jobsOffered);
      };
      let adversary: Adversary | null = null;
      const stream: JobStream = new JobStream(
        devSim,
        accel,
        { ...streamCfg, onArrival, onStart: () => adversary?.wake() },
        clientEndpoint,
      );
      if (g.adversary) {
        adversary = new Adversary(
          dev,
          {
            rate: g.adversary.rate,
            kinds: g.adversary.kinds,
            seed: sc.seed,
            unitPasidBits: sc.iommu.pasidBits,
            clients: sc.clients.count,
            levels: sys.la57 ? 5 : 4,
            totalFrames: sys.memory.totalFrames,
          },
          devSim,
          stream,
          {
            sent: (_kind, count) => {
              sys.counters.add(Counter.hostileRequests, count);
              dc.add(Counter.hostileRequests, count);
            },
          },
        );
        adversaries.push(adversary);
      }
      accels.push(accel);
      streams.push(stream);
      n++;
    }
  }
  if (world) world.portScope = -1;
  return { accels, streams, adversaries };
}

/**
 * Testing the failure paths: an endpoint of accelerator `fault.accelerator` (−1: of the engine
 * side) that throws `fault.message` at `fault.atNs`, or runs `fault.act` instead.
 */
export function injectFault(sys: System, fault: NonNullable<RunOptions['injectFault']>): void {
  const sim = fault.accelerator >= 0 ? sys.deviceSimOf(fault.accelerator) : sys.sim;
  const world = sys.world;
  if (world) world.portScope = fault.accelerator;
  const id = sim.register({
    handle: () => {
      if (fault.act) fault.act();
      else throw new Error(fault.message);
    },
  });
  sim.timer(fault.atNs, id, id, 0);
  if (world) world.portScope = -1;
}

function patternSpec(sc: Scenario): PatternSpec {
  const w = sc.workload;
  switch (w.pattern) {
    case 'strided':
      return { kind: 'strided', stride: w.stride };
    case 'zipf':
      return { kind: 'zipf', theta: w.zipfTheta };
    default:
      return { kind: w.pattern };
  }
}

/** What an accelerator reports, into the system's counters and latency recorder. */
function accelObserver(sys: System, devIndex: number) {
  const dc = sys.deviceCounters[devIndex]!;
  return {
    atsTranslate: (ns: number) => sys.latency.record(LatencyKindIndex['ats.translate'], ns),
    priRoundtrip: (ns: number) => sys.latency.record(LatencyKindIndex['pri.roundtrip'], ns),
    devtlb: (hit: boolean) => {
      const k = hit ? Counter.devtlbHits : Counter.devtlbMisses;
      sys.counters.add(k);
      dc.add(k);
    },
    jobDone: (latencyNs: number, status: number) => {
      sys.counters.add(Counter.jobs);
      dc.add(Counter.jobs);
      if (status === JobStatus.FAILED) {
        sys.counters.add(Counter.jobsFailed);
        dc.add(Counter.jobsFailed);
      } else if (status !== JobStatus.PAGE_FAULT) {
        sys.latency.record(LatencyKindIndex['job.latency'], latencyNs);
      }
    },
  };
}
