/**
 * `createSystem`: a complete simulated machine driven by the inline runtime (DESIGN §3, §6) —
 * physical memory, the kernel's own mm (`init_mm`), VT-d units with their driver state, the
 * SVA layer of profile v5.8, devices and processes.
 *
 * Public async methods run the kernel path as a kernel thread in simulated time and settle
 * when it finished; everything they wait for is simulated, so the same calls in the same
 * order give the same PASIDs, tables and invalidation logs.
 */

import { Device, type DeviceOptions } from '../device/device.js';
import { defaultUnitCaps, VtdUnit, type VtdUnitCaps } from '../engine/unit.js';
import { Errno, kernelError } from '../kernel/errors.js';
import { IntelIommu, ridName } from '../kernel/iommu.js';
import { SvmLayer } from '../kernel/svm.js';
import { PhysicalMemory, Process } from '../mem/index.js';
import { Simulator } from './simulator.js';

/** Kernel behaviour profile (DESIGN §1). */
export type Profile = 'v5.8' | 'current';

/** Configuration of `createSystem`; every field is optional. */
export interface SystemConfig {
  /** Kernel behaviour; only 'v5.8' is implemented so far. Default 'v5.8'. */
  readonly profile?: Profile;
  /** Simulated physical memory in 4 KiB frames. Default 65536 (256 MiB). */
  readonly memory?: { readonly frames?: number };
  /** CPU paging: `la57` = 5-level paging for processes (FSPM 01b). Default false. */
  readonly cpu?: { readonly la57?: boolean };
  /** VT-d units: how many, and their capabilities (shared by all units). */
  readonly iommu?: Partial<VtdUnitCaps> & {
    readonly units?: number;
    /** Page request queue entries, a power of two ≥ 4. Default 2048 (Linux ≥ 5.19). */
    readonly prqEntries?: number;
  };
}

/** A bond between a device and a process (or the kernel, for supervisor binds). */
export class SvaHandle {
  readonly device: Device;
  /** The bound process; null for a supervisor bind. */
  readonly process: Process | null;
  constructor(device: Device, process: Process | null) {
    this.device = device;
    this.process = process;
  }
}

/** A simulated machine with VT-d units and the v5.8 SVA layer. */
export class System {
  readonly profile: Profile;
  readonly memory: PhysicalMemory;
  readonly sim = new Simulator();
  /** The VT-d units (hardware). */
  readonly iommus: readonly VtdUnit[];
  /** Driver state per unit. */
  readonly drivers: readonly IntelIommu[];
  /** The SVA layer. */
  readonly svm: SvmLayer;
  /** The kernel's address space (`init_mm`), bound by supervisor binds. */
  readonly initMm: Process;
  readonly la57: boolean;
  readonly devices: Device[] = [];
  readonly processes: Process[] = [];
  private nextPid = 1;

  constructor(config: SystemConfig = {}) {
    this.profile = config.profile ?? 'v5.8';
    if (this.profile !== 'v5.8') {
      throw kernelError(
        Errno.EOPNOTSUPP,
        this.profile === 'current'
          ? "profile 'current' is not implemented yet; use 'v5.8'"
          : `unknown profile '${String(this.profile)}'; use 'v5.8'`,
      );
    }
    const { units = 1, prqEntries = 2048, ...capOverrides } = config.iommu ?? {};
    if (!Number.isInteger(units) || units < 1 || units > 64) {
      throw kernelError(Errno.EINVAL, `iommu.units must be 1..64, got ${units}`);
    }
    this.la57 = config.cpu?.la57 ?? false;
    this.memory = new PhysicalMemory({ frames: config.memory?.frames ?? 65536 });
    const caps: VtdUnitCaps = Object.freeze({ ...defaultUnitCaps, ...capOverrides });
    const iommus: VtdUnit[] = [];
    const drivers: IntelIommu[] = [];
    for (let i = 0; i < units; i++) {
      const unit = new VtdUnit(i, caps, this.memory);
      iommus.push(unit);
      drivers.push(new IntelIommu(unit, this.memory, prqEntries));
    }
    this.iommus = iommus;
    this.drivers = drivers;
    this.initMm = new Process(this.memory, { id: 0, levels: this.la57 ? 5 : 4 });
    this.svm = new SvmLayer(drivers, this.initMm, this.la57, (what, body) =>
      this.sim.runThread(what, body),
    );
  }

  /** VT-d unit 0. */
  get iommu(): VtdUnit {
    return this.iommus[0]!;
  }

  /** Adds a PCIe function behind a VT-d unit; the driver probes it at once. */
  addDevice(options: DeviceOptions): Device {
    const o: Required<DeviceOptions> = {
      pasidBits: 20,
      ats: true,
      pri: true,
      atsQdep: 32,
      unit: 0,
      ...options,
    };
    const bad = (what: string): never => {
      throw kernelError(Errno.EINVAL, `addDevice: ${what}`);
    };
    if (!Number.isInteger(o.rid) || o.rid < 0 || o.rid > 0xffff)
      bad(`rid must be an integer 0..0xffff, got ${o.rid}`);
    if (this.devices.some((d) => d.rid === o.rid)) bad(`rid ${ridName(o.rid)} is already in use`);
    if (!Number.isInteger(o.pasidBits) || o.pasidBits < 0 || o.pasidBits > 20)
      bad(`pasidBits must be 0..20, got ${o.pasidBits}`);
    if (typeof o.ats !== 'boolean') bad(`ats must be a boolean, got ${String(o.ats)}`);
    if (typeof o.pri !== 'boolean') bad(`pri must be a boolean, got ${String(o.pri)}`);
    if (o.pri && !o.ats) bad('pri requires ats (page requests follow failed ATS translations)');
    if (!Number.isInteger(o.atsQdep) || o.atsQdep < 0 || o.atsQdep > 32)
      bad(`atsQdep must be 0..32, got ${o.atsQdep}`);
    if (!Number.isInteger(o.unit) || o.unit < 0 || o.unit >= this.drivers.length) {
      bad(`unit must be 0..${this.drivers.length - 1}, got ${o.unit}`);
    }
    const driver = this.drivers[o.unit]!;
    const dev = new Device(o, (d) =>
      driver.probe(
        { rid: o.rid, pasidBits: o.pasidBits, ats: o.ats, pri: o.pri, atsQdep: o.atsQdep },
        d,
      ),
    );
    this.devices.push(dev);
    return dev;
  }

  /** Creates a process (an mm) with 4-level page tables, or 5-level with `cpu.la57`. */
  createProcess(): Process {
    const p = new Process(this.memory, { id: this.nextPid++, levels: this.la57 ? 5 : 4 });
    this.processes.push(p);
    return p;
  }

  /**
   * `iommu_sva_bind_device(dev, mm, &flags)` → `intel_svm_bind` (spec §2.1). Resolves to the
   * handle — the same one for a repeated bind of the same (device, process) — or rejects
   * with an error carrying `code`.
   */
  async svaBindDevice(device: Device, process: Process | null, flags = 0): Promise<SvaHandle> {
    this.checkDevice(device);
    const sdev = this.sim.runThread(
      'svaBindDevice',
      this.svm.bind(device.info, process, flags, () => new SvaHandle(device, process)),
    );
    return sdev.handle as SvaHandle;
  }

  /** `iommu_sva_get_pasid(handle)`: the PASID of a live handle (EINVAL after its last unbind). */
  svaGetPasid(handle: SvaHandle): number {
    return this.svm.getPasid(handle);
  }

  /**
   * `iommu_sva_unbind_device(handle)`: drops one reference; the last one tears the PASID
   * entry down and drains page requests. Precondition: the device stopped DMA and page
   * requests for this PASID.
   */
  async svaUnbindDevice(handle: SvaHandle): Promise<void> {
    this.sim.runThread('svaUnbindDevice', this.svm.unbind(handle));
  }

  private checkDevice(device: Device): void {
    if (!this.devices.includes(device)) {
      throw kernelError(
        Errno.ENODEV,
        'device does not belong to this system (use system.addDevice)',
      );
    }
  }
}

/** Creates a simulated machine run by the inline runtime (DESIGN §6). */
export function createSystem(config?: SystemConfig): System {
  return new System(config);
}
