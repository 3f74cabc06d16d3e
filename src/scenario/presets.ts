/**
 * Built-in scenarios (`svasim presets`, `svasim run <preset>`), in input form with units
 * written out. scenarios/<name>.yaml holds the same scenario, commented, for each of them.
 *
 * Where a value comes from a published figure, the comment beside it says which (rows of
 * `ANCHORS.md` and the sources they cite); values without a comment are the
 * defaults or a choice that makes the scenario show what its name says.
 *
 * Topology sources:
 * - Intel DSA on Sapphire Rapids: up to 8 work queues sharing 128 WQ entries and 4 engines
 *   per device, up to 4 devices per socket (Intel DSA Architecture Specification; Linux
 *   idxd sysfs `max_work_queues`, `max_work_queues_size`, `max_engines`).
 * - Intel IAA on Sapphire Rapids: 8 work queues, 8 engines per device, up to 4 devices per
 *   socket, a shared WQ of 128 entries (ANCHORS "Accelerator topology", QEMU
 *   docs/devel/migration/qpl-compression.rst).
 *
 * How WQs are modelled: a simulated accelerator is one PCIe function (one rid, one device
 * TLB, one PRI credit pool) with one work queue of at most 64 jobs and `engines` jobs in
 * progress. The WQs of a DSA or IAA device all share the device's rid, ATC and PRI credits,
 * which is all the IOMMU sees, so a device is one accelerator and its WQ storage is one
 * shared queue of 64 (the model's largest; the hardware has 128 entries in all). Engine
 * groups and WQ priorities are not modelled.
 */

import type { ScenarioInput } from './types.js';

/** A built-in scenario: what it shows, and the scenario in input form. */
export interface Preset {
  readonly description: string;
  readonly scenario: ScenarioInput;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The built-in scenarios by name (deeply frozen; resolve a copy with `resolveScenario`). */
export const presets: Readonly<Record<string, Preset>> = deepFreeze({
  default: {
    description:
      'The default scenario (the DESIGN §5 example): 8 accelerators, 64 churning clients, ' +
      'uniform 4KiB copies, closed loop',
    scenario: { name: 'default' },
  },

  'dsa-like': {
    description:
      'One socket of Intel DSA (Sapphire Rapids): 4 devices with 4 engines each; the 8 WQs ' +
      "of a device share its rid, ATC and PRI credits, so each device's WQ storage is one " +
      'shared 64-job queue (hardware: 128 entries); block-on-fault, 32 clients copying 4KiB',
    scenario: {
      name: 'dsa-like',
      devices: [
        {
          count: 4, // up to 4 DSA devices per socket
          pasidBits: 20, // the full 20-bit PCIe PASID
          ats: true,
          pri: true,
          priCredits: 32, // Linux < 5.15 PRI allocation (ANCHORS "PRI outstanding…"), profile v5.8
          workQueue: { depth: 64 }, // 128 WQ entries in hardware; the model holds at most 64
          engines: 4, // 4 engines per DSA device
          blockOnFault: true, // a WQ configuration bit (idxd sysfs block_on_fault)
        },
      ],
      clients: {
        count: 32, // 8 processes per device, submitting to the shared WQ (ENQCMD)
        buffers: { count: 2, size: '1MiB', prefault: 'src' },
      },
      workload: {
        pattern: 'uniform',
        op: 'copy',
        jobBytes: '4KiB',
        arrival: { closedLoop: { queueDepth: 8 } }, // 32 × 8 = 256 jobs for 4 × 64 WQ slots
      },
    },
  },

  'iaa-like': {
    description:
      'One socket of Intel IAA (Sapphire Rapids): 4 devices with 8 engines each; the 8 WQs ' +
      'of a device are one shared 64-job queue (hardware: 128 entries); clients stream 4KiB ' +
      'pages through it in order (read a page, write the result), as compression does',
    scenario: {
      name: 'iaa-like',
      devices: [
        {
          count: 4, // up to 4 IAA devices per socket (ANCHORS "Accelerator topology")
          pasidBits: 20,
          ats: true,
          pri: true,
          priCredits: 32,
          workQueue: { depth: 64 }, // shared WQ of 128 in hardware; the model holds at most 64
          engines: 8, // 8 engines per IAA device (ANCHORS "Accelerator topology")
          blockOnFault: true,
        },
      ],
      clients: {
        count: 16,
        // source pages populated (prefault src), destinations written first by the device
        buffers: { count: 2, size: '1MiB', prefault: 'src' },
      },
      workload: {
        pattern: 'sequential',
        op: 'copy',
        jobBytes: '4KiB', // one page per job, as QPL compression of migrated pages
        arrival: { closedLoop: { queueDepth: 16 } }, // 16 × 16 = 256 jobs for 4 × 64 WQ slots
      },
    },
  },

  'gpu-far-faults': {
    description:
      'GPU-like far faults: 2 devices with 64 engines and 256 outstanding page requests each, ' +
      'streaming 64KiB jobs over large buffers nobody touched before, so first touches are ' +
      'page requests (PRI) the kernel services; long-lived contexts, no churn',
    scenario: {
      name: 'gpu-far-faults',
      devices: [
        {
          count: 2,
          pasidBits: 20,
          ats: true,
          pri: true,
          devtlb: { entries: 512 },
          // the NVIDIA driver services faults in batches of up to 256 (ANCHORS "GPU far fault")
          priCredits: 256,
          workQueue: { depth: 64 },
          engines: 64, // many jobs in flight at once, as a GPU's many warps
          blockOnFault: true, // a GPU replays the faulting access once the page is there
        },
      ],
      clients: {
        count: 4,
        buffers: { count: 2, size: '64MiB', prefault: 'none' }, // untouched: far faults
        churn: { enabled: false },
      },
      workload: {
        pattern: 'sequential',
        op: 'copy',
        jobBytes: '64KiB',
        arrival: { closedLoop: { queueDepth: 32 } },
      },
      memory: { frames: 262144 }, // 1 GiB: 4 × 2 × 64MiB of buffers is 131072 frames
    },
  },

  'gpu-own-faults': {
    description:
      'The GPU-like far faults with SVA on functions without PRI (profile current, spec ' +
      '§10.2): the device reports a fault to its own driver, which services it on the CPU ' +
      'and resubmits the rest of the job, as GPU drivers do; no page requests, no iopf, no drain',
    scenario: {
      name: 'gpu-own-faults',
      profile: 'current', // SVA without PRI exists from v6.4 (P-SVANOPRI)
      devices: [
        {
          count: 2,
          pasidBits: 20,
          ats: true,
          pri: false, // no PRI capability: the device handles its own faults
          devtlb: { entries: 512 },
          workQueue: { depth: 64 },
          engines: 64,
          // a fault ends the job's pass with the bytes done; the driver makes the page
          // present on the CPU and the job resumes from there
          blockOnFault: false,
        },
      ],
      clients: {
        count: 4,
        buffers: { count: 2, size: '64MiB', prefault: 'none' },
        churn: { enabled: false },
      },
      workload: {
        pattern: 'sequential',
        op: 'copy',
        jobBytes: '64KiB',
        arrival: { closedLoop: { queueDepth: 32 } },
      },
      memory: { frames: 262144 },
    },
  },

  'fault-storm': {
    description:
      'A page-fault storm that overflows the page request queue: a 128-entry PRQ (the ' +
      'smallest the hardware allows, and the first size Linux used) against 16 devices with ' +
      '32 PRI credits each (512 requests may be outstanding) and untouched buffers',
    scenario: {
      name: 'fault-storm',
      iommu: {
        prqEntries: 128, // 2^(PQS+7) with PQS = 0 (VT-d 11.4.11); Linux history 128 → 512 → 2048
      },
      devices: [
        {
          count: 16,
          priCredits: 32, // 16 × 32 = 512 outstanding page requests > 127 PRQ slots
          workQueue: { depth: 32 },
          engines: 4,
          blockOnFault: true,
        },
      ],
      clients: {
        count: 64,
        buffers: { count: 2, size: '256KiB', prefault: 'none' }, // nothing touched: every page faults
      },
      workload: {
        pattern: 'uniform',
        op: 'copy',
        jobBytes: '4KiB',
        arrival: { closedLoop: { queueDepth: 8 } },
      },
    },
  },

  churn: {
    description:
      'Client churn: 128 clients with small buffers and a 200us mean bind lifetime; a quarter ' +
      'exit while still bound, a tenth munmap and a tenth mprotect a buffer before unbinding',
    scenario: {
      name: 'churn',
      clients: {
        count: 128,
        buffers: { count: 2, size: '64KiB', prefault: 'src' },
        churn: {
          enabled: true,
          bindLifetime: '200us',
          exitWhileBound: 0.25,
          munmapFraction: 0.1,
          mprotectFraction: 0.1,
        },
      },
      workload: {
        pattern: 'uniform',
        op: 'copy',
        jobBytes: '4KiB',
        arrival: { closedLoop: { queueDepth: 4 } },
      },
    },
  },

  'dense-64': {
    description:
      'Dense: 64 DSA-like accelerators, each behind its own VT-d unit, and 1024 SVA clients ' +
      'copying 4KiB at 10k jobs/s each (10M jobs/s in all), with device-TLB hits, IOTLB hits, ' +
      'page walks and I/O page faults all frequent: tens of events per 220ns quantum, the ' +
      'load the threaded runtime is meant for',
    scenario: {
      name: 'dense-64',
      duration: '4ms', // ~430k events: an inline run took 1.5–3.4 s on two shared cores
      iommu: {
        // one unit per accelerator, each with its own IOTLB, walkers and PRQ thread (Linux
        // runs one per unit): behind a single unit, one PRQ thread serves every page fault in
        // turn and the run collapses (0.16M jobs/s, job latency p50 14ms at this load)
        units: 64,
        // 64 entries: ANCHORS "IOTLB reach" (≈ 64 effective entries). 8 ways: every client maps
        // its buffers at the same addresses and a set is chosen by page number, so a client's
        // 8 buffer pages use 8 sets; with 8 sets of 8 ways every entry is usable
        iotlb: { entries: 64, assoc: 8, policy: 'lru' },
      },
      devices: [
        {
          count: 64,
          workQueue: { depth: 64 }, // 128 WQ entries in hardware; the model holds at most 64
          engines: 4, // 4 engines per DSA device
        },
      ],
      clients: {
        count: 1024, // 16 per accelerator
        // sources populated, destinations not: the first device write to each of the 4
        // destination pages of a process is an I/O page fault the kernel answers Success
        buffers: { count: 2, size: '16KiB', prefault: 'src' },
        churn: {
          enabled: true,
          // light: ~400 clients are replaced in the 4ms (4 / 10 per slot), and each new
          // process faults its destination pages afresh
          bindLifetime: '10ms',
          // the default scenario's fractions; jobs still in flight when a buffer is unmapped or
          // made read-only fault on it, and the kernel answers those Invalid
          exitWhileBound: 0.05,
          munmapFraction: 0.05,
          mprotectFraction: 0.05,
        },
      },
      workload: {
        // hot pages stay in the device TLB, warm ones in the IOTLB, the rest are walked
        pattern: 'zipf',
        op: 'copy',
        jobBytes: '4KiB',
        // a fifth of what the 256 engines complete in a closed loop (~50M jobs/s), so engines
        // waiting on page faults do not back the queues up
        arrival: { openLoop: { rate: '10k/s' } },
      },
    },
  },
});

/** The names of the built-in scenarios, in listing order. */
export function presetNames(): string[] {
  return Object.keys(presets);
}
