/**
 * svasim public API (DESIGN §6): re-exports only.
 */

export {
  type AtsCompletion,
  Device,
  type DeviceOptions,
  type PageRequestEvent,
  type PageRequestFields,
  type PageResponseEvent,
} from './device/device.js';
export type { InvLogEntry } from './engine/invalidation-queue.js';
export { VtdUnit, type VtdUnitCaps } from './engine/unit.js';
export type { ErrnoCode, KernelError } from './kernel/errors.js';
export {
  SVM_FLAG_GUEST_MODE,
  SVM_FLAG_GUEST_PASID,
  SVM_FLAG_PRIVATE_PASID,
  SVM_FLAG_SUPERVISOR_MODE,
} from './kernel/sva.js';
export {
  decodeInvDesc,
  decodePageGroupResponse,
  decodePageRequest,
  encodeInvDesc,
  encodePageGroupResponse,
  encodePageRequest,
  type InvDesc,
  type InvDescInput,
  type InvDescType,
  type PageGroupResponse,
  type PageRequest,
  PageResponseCode,
} from './layout/index.js';
export {
  createSystem,
  type Profile,
  SvaHandle,
  System,
  type SystemConfig,
} from './machine/system.js';
export { Process, type Prot, type Vma } from './mem/index.js';
export { COUNTER_NAMES, type CounterName, Counters } from './metrics/counters.js';
