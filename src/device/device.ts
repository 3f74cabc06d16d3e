/**
 * An emulated PCIe function as the public API shows it (DESIGN §6 `system.addDevice`): its
 * requester id, PASID capability width, ATS and PRI support, and the VT-d unit it sits
 * behind. The driver's per-device state lives in the kernel layer (`DeviceInfo`).
 *
 * Not modelled yet: the accelerator itself (device TLB, PRI state machine, work queue) and
 * its bus methods (`translate`, `pageRequest`, `dmaRead`, `dmaWrite`), which arrive with the
 * translation engine.
 */

import type { DeviceInfo } from '../kernel/iommu.js';

/** Options of `system.addDevice`. */
export interface DeviceOptions {
  /** Requester id: bus << 8 | device << 3 | function, 0..0xffff. */
  readonly rid: number;
  /** PASID capability width in bits, 0..20; 0 = no PASID capability. Default 20. */
  readonly pasidBits?: number;
  /** ATS (device TLB) supported. Default true. */
  readonly ats?: boolean;
  /** PRI (page requests) supported; requires ATS. Default true. */
  readonly pri?: boolean;
  /** ATS invalidate queue depth reported by the function; 0 means 32. Default 32. */
  readonly atsQdep?: number;
  /** Index of the VT-d unit the device sits behind. Default 0. */
  readonly unit?: number;
}

/** A PCIe function with PASID, ATS and PRI capabilities. */
export class Device {
  readonly rid: number;
  readonly pasidBits: number;
  readonly ats: boolean;
  readonly pri: boolean;
  readonly unit: number;
  /** Driver state (kernel layer). */
  readonly info: DeviceInfo;

  constructor(options: Required<DeviceOptions>, attach: (dev: Device) => DeviceInfo) {
    this.rid = options.rid;
    this.pasidBits = options.pasidBits;
    this.ats = options.ats;
    this.pri = options.pri;
    this.unit = options.unit;
    this.info = attach(this);
  }

  /** True while the driver has PASID, ATS and PRI enabled on the function. */
  get enabled(): { pasid: boolean; ats: boolean; pri: boolean } {
    return { pasid: this.info.pasidEnabled, ats: this.info.atsEnabled, pri: this.info.priEnabled };
  }
}
