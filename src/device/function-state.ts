/**
 * What the driver set in a PCIe function (spec §2.1 step 5, §4.7): the enable bits of the
 * PASID, PRI and ATS extended capabilities and the PRI outstanding page request allocation,
 * written by non-posted configuration writes (`pci_enable_pasid`, `pci_enable_pri`,
 * `pci_enable_ats`); and the slot where the driver keeps its own per-function data on the
 * device (Linux `dev_iommu_priv_set`), whose type the driver declares.
 *
 * The device model owns these types; the driver (src/kernel) may import them, never the other
 * way round.
 *
 * Not modelled: the rest of configuration space (capability pointers, PASID Execute and
 * Privileged Mode enables, the ATS Smallest Translation Unit, PRI status bits other than
 * Response Failure, which the device keeps as `priActive`).
 */

import { ConfigEnable } from '../sim/message.js';

/** The capability control state of one function, as the driver's configuration writes left it. */
export class FunctionState {
  /** PASID Control: PASID Enable. */
  pasidEnabled = false;
  /** ATS Control: Enable. */
  atsEnabled = false;
  /** PRI Control: Enable. */
  priEnabled = false;
  /** PRI Outstanding Page Request Allocation. */
  priAllocation = 0;

  /** Applies a configuration write: {@link ConfigEnable} bits and the PRI allocation. */
  configWrite(flags: number, priAllocation: number): void {
    this.pasidEnabled = (flags & ConfigEnable.PASID) !== 0;
    this.priEnabled = (flags & ConfigEnable.PRI) !== 0;
    this.atsEnabled = (flags & ConfigEnable.ATS) !== 0;
    this.priAllocation = priAllocation;
  }
}
