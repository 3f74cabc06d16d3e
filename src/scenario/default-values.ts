/**
 * The default value of every scenario field (DESIGN §5): {@link defaultScenario} holds the
 * values of the DESIGN §5 example, {@link defaultDeviceGroup} what a device group takes for a
 * field it does not give. Data only: the schema (schema.ts, schema-sections.ts) builds its
 * defaults from these, and defaults.ts re-exports them beside `resolveScenario`, so neither
 * imports the other.
 *
 * Rids: a group without `rid` starts right after the previous group's last rid, the first
 * group at {@link DEFAULT_FIRST_RID} (0x0100: bus 1, device 0, function 0).
 */

import { ADVERSARY_KINDS } from '../device/adversary.js';
import { defaultDeviceOptions } from '../device/device.js';
import { defaultCacheParams, defaultUnitCaps } from '../engine/caps.js';
import { profilePrqEntries } from '../kernel/profile.js';
import { DEFAULT_FRAMES } from '../mem/index.js';
import { PatternKind } from '../workload/patterns.js';
import type { AdversaryConfig, DeviceGroup, Scenario } from './types.js';
import { Prefault, RuntimePlacement } from './types.js';

/** Rid of the first accelerator when no group gives one: bus 1, device 0, function 0. */
export const DEFAULT_FIRST_RID = 0x0100;

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** The values a device group takes for every field it does not give (rid aside). */
export const defaultDeviceGroup: Readonly<Omit<DeviceGroup, 'rid'>> = deepFreeze({
  count: 8,
  pasidBits: defaultDeviceOptions.pasidBits,
  ats: defaultDeviceOptions.ats,
  atsQdep: defaultDeviceOptions.atsQdep,
  pri: defaultDeviceOptions.pri,
  devtlb: { entries: defaultDeviceOptions.devtlbEntries },
  priCredits: 32,
  workQueue: { depth: 16 },
  engines: 1,
  blockOnFault: true,
});

/**
 * What `devices[].adversary` takes for a field it does not give: 10k hostile arrivals per
 * second per accelerator, of every kind.
 */
export const defaultAdversary: Readonly<AdversaryConfig> = deepFreeze({
  rate: 10_000,
  kinds: [...ADVERSARY_KINDS],
});

/** Kernel profile of the default scenario. */
const DEFAULT_PROFILE = 'v5.8';

/** The scenario run when none is given: the DESIGN §5 example values (deeply frozen). */
export const defaultScenario: Scenario = deepFreeze({
  name: 'default',
  profile: DEFAULT_PROFILE,
  seed: 1,
  duration: 20_000_000,
  iommu: {
    units: 1,
    pasidBits: defaultUnitCaps.pasidBits,
    srs: defaultUnitCaps.srs,
    dit: defaultUnitCaps.dit,
    prs: defaultUnitCaps.prs,
    pds: defaultUnitCaps.pds,
    // the profile's own PRQ (v5.8: PRQ_ORDER 0, 128 entries), as when the field is left out
    prqEntries: profilePrqEntries(DEFAULT_PROFILE),
    iotlb: { ...defaultCacheParams.iotlb },
  },
  devices: [{ ...structuredClone(defaultDeviceGroup), rid: DEFAULT_FIRST_RID }],
  clients: {
    count: 64,
    buffers: { count: 2, size: 1024 * 1024, prefault: Prefault.SRC },
    churn: {
      enabled: true,
      bindLifetime: 5_000_000,
      exitWhileBound: 0.05,
      munmapFraction: 0.05,
      mprotectFraction: 0.05,
    },
  },
  workload: {
    pattern: PatternKind.UNIFORM,
    op: 'copy',
    jobBytes: 4096,
    stride: 16,
    zipfTheta: 0.99,
    arrival: { closedLoop: { queueDepth: 16 } },
  },
  memory: { frames: DEFAULT_FRAMES },
  kernel: { iopfAttachRegression: false },
  cost: {},
  thresholds: {},
  runtime: { threads: 0, placement: RuntimePlacement.BALANCED },
});
