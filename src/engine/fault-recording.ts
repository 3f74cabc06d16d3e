/**
 * Primary fault recording (spec §6.2; VTD 7.2, 11.4.7): `cap.NFR + 1` fault recording
 * registers used round-robin, PFO when a new fault finds its register still pending (the
 * fault is dropped), PPF while any record is pending, and a fault event when PPF was clear.
 * The kernel's `dmar_fault` handler reads every pending record, clears F, and finally writes
 * PFO|PPF to FSTS; this model runs that handler `irqLatencyNs` after the event.
 *
 * Every record hardware wrote is kept, in order, in {@link records} (`iommu.faultRecords`).
 *
 * Not modelled: fault compression per source id, FECTL.IM masking, the 128-bit register
 * image (see layout/fault-record.ts for its encoding).
 */

/** One recorded non-recoverable fault as the public API shows it. */
export interface FaultRecordView {
  readonly reason: number;
  readonly sid: number;
  readonly pasidPresent: boolean;
  readonly pasid: number;
  /** Faulting page address (bits 63:12). */
  readonly addr: number;
  readonly write: boolean;
  /** Simulated time the fault was recorded. */
  readonly timeNs: number;
}

/**
 * Records the non-recoverable fault of a request from device `dev` (index in registration
 * order) unless `fpd` — an FPD bit met on the way — suppresses it (spec §6.1, §6.2): what
 * DMA remapping and page request reception call; the unit implements it over its recorder.
 */
export type RecordFault = (
  reason: number,
  sid: number,
  pasidPresent: boolean,
  pasid: number,
  pageAddr: number,
  write: boolean,
  fpd: boolean,
  dev: number,
  nowNs: number,
) => void;

/** The fault recording registers of one unit. */
export class FaultRecorder {
  readonly entries: number;
  /** F bit of each register. */
  private readonly pending: Uint8Array;
  /** Next register hardware writes. */
  private index = 0;
  /** FSTS.PFO, FSTS.PPF. */
  pfo = false;
  ppf = false;
  /** Faults dropped because of PFO or a still-pending register. */
  dropped = 0;
  /** Fault events raised (PPF was clear). */
  events = 0;
  readonly records: FaultRecordView[] = [];

  constructor(entries = 8) {
    this.entries = entries;
    this.pending = new Uint8Array(entries);
  }

  /**
   * Records a fault; returns true when it was written, false when dropped (PFO). `onEvent`
   * is called when a fault event is raised.
   */
  record(
    reason: number,
    sid: number,
    pasidPresent: boolean,
    pasid: number,
    pageAddr: number,
    write: boolean,
    timeNs: number,
    onEvent: () => void,
  ): boolean {
    if (this.pfo || this.pending[this.index]) {
      this.pfo = true;
      this.dropped++;
      return false;
    }
    this.pending[this.index] = 1;
    this.index = (this.index + 1) % this.entries;
    this.records.push({ reason, sid, pasidPresent, pasid, addr: pageAddr, write, timeNs });
    if (!this.ppf) {
      this.ppf = true;
      this.events++;
      onEvent();
    }
    return true;
  }

  /** `dmar_fault`: clear every pending record, then PFO and PPF. */
  service(): void {
    this.pending.fill(0);
    this.pfo = false;
    this.ppf = false;
  }
}
