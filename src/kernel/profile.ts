/**
 * The kernel-profile seam (DESIGN §1 "Profiles"): what a kernel profile provides — the SVA
 * binding API (bind, unbind, get_pasid, with the notifier behaviour and the invalidation
 * forms the profile uses inside it), the page-request service thread of each unit, and when
 * its mm calls the notifiers — and
 * the one place a profile is chosen by name. Everything outside `src/kernel/` reaches the
 * kernel through this file and the types of `sva.ts` (plus the profile-independent driver
 * state of `iommu.ts` and the error catalogue): never a profile's own files.
 *
 * Adding a profile is a folder of its own beside `v5.8/` and one line in {@link PROFILES}.
 */

import { DEFAULT_PRQ_ENTRIES } from '../engine/caps.js';
import type { MmNotifierCalls } from '../mem/index.js';
import type { KThread } from '../sim/kthread.js';
import type { Simulator } from '../sim/simulator.js';
import { current } from './current/index.js';
import { Errno, kernelError } from './errors.js';
import type { DeviceInfo, IntelIommu, ProbePolicy } from './iommu.js';
import {
  PROFILE_NAMES,
  type Profile,
  type PrqHooks,
  type PrqService,
  type SvaEnv,
  type SvaLayer,
} from './sva.js';
import { v58 } from './v5.8/index.js';

/** What a kernel profile provides. */
export interface KernelProfile {
  readonly name: Profile;
  /**
   * Page request queue entries the kernel allocates (its `PRQ_ORDER`): the size a system
   * gets when its configuration gives none.
   */
  readonly prqEntries: number;
  /** How the driver probes a function: the context entry and the enables (spec §10.2). */
  readonly probe: ProbePolicy;
  /** The SVA binding layer over every unit. */
  createSva(env: SvaEnv): SvaLayer;
  /** One unit's page-request service thread. */
  createPrqService(iommu: IntelIommu, sva: SvaLayer, sim: Simulator, hooks: PrqHooks): PrqService;
  /**
   * What the kernel does when function `info` is removed (hot unplug), after the driver's
   * remove path unbound every bond it held: the profile's page-request cleanup for it and the
   * IOMMU's release of the function (RID2PASID teardown, ATS / PRI / PASID off, context entry
   * cleared). `prq` is the service thread of the function's unit.
   */
  releaseDevice(sva: SvaLayer, prq: PrqService, info: DeviceInfo): KThread<void>;
  /** When the kernel's mm calls `invalidate_range` (spec §5.1.1), for every process it creates. */
  readonly mmNotifierCalls: MmNotifierCalls;
}

/** The implemented profiles, by name: one line each. */
const PROFILES: Partial<Record<Profile, KernelProfile>> = {
  'v5.8': v58,
  current,
};

/**
 * Page request queue entries of profile `name` (its {@link KernelProfile.prqEntries}): the
 * size a system or scenario takes when it gives none. A profile not implemented yet answers
 * with the engine's default, Linux ≥ 5.19's 2048.
 */
export function profilePrqEntries(name: Profile): number {
  return PROFILES[name]?.prqEntries ?? DEFAULT_PRQ_ENTRIES;
}

/** The profile named `name`; EOPNOTSUPP for one not implemented, EINVAL for an unknown name. */
export function kernelProfile(name: string): KernelProfile {
  const p = PROFILES[name as Profile];
  if (p) return p;
  const known = Object.keys(PROFILES).join(', ');
  throw kernelError(
    (PROFILE_NAMES as readonly string[]).includes(name) ? Errno.EOPNOTSUPP : Errno.EINVAL,
    (PROFILE_NAMES as readonly string[]).includes(name)
      ? `profile '${name}' is not implemented yet; use one of: ${known}`
      : `unknown profile '${name}'; use one of: ${known}`,
  );
}
