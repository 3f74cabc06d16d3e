/**
 * A DSA/IAA-like accelerator (spec §4.7; ANCHORS "Accelerator topology", "DSA fault modes"):
 * a work queue of jobs — copy, fill, compare, read — over client buffers addressed by
 * (PASID, virtual address), processed by a number of engines, one 4 KiB chunk at a time.
 *
 * For each chunk an engine translates through its device TLB (ATC) or with an ATS
 * translation request, and moves real bytes with translated DMA. A translation without the
 * needed permission is a fault: with block-on-fault the engine sends a page request (LPIG=1,
 * a free 9-bit PRG index and an outstanding-request credit) and retries the translation on
 * Success; Invalid Request fails the job with a page-fault status; Response Failure turns
 * PRI off for the function. Without block-on-fault the job completes at once with a
 * page-fault status and the bytes done, and the client touches the page on the CPU and
 * resubmits the rest (idxd's completion-record fault handling). A function without ATS uses
 * untranslated DMA; a UR fails the job.
 *
 * Jobs live in a fixed table; messages carry the job slot in their tag, so the per-chunk path
 * allocates nothing.
 *
 * Not modelled: batch descriptors, completion records in memory, engine groups and WQ
 * priorities, stop markers (the function never stops a PASID while it has work).
 */

import { codedError, ErrorCode } from '../errors.js';
import { pageOffset } from '../mem/index.js';
import { AtsCpl, AtsReq, CplStatus, DmaReq, MsgFlag, MsgKind, MW, Perm } from '../sim/message.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';
import { AGENT_TAG_BASE, type Device, type DeviceAgent } from './device.js';
import { type JobDone, JobOp, type JobSpec, JobStatus } from './job.js';

/** Parameters of an accelerator. */
export interface AcceleratorParams {
  /** Jobs processed concurrently. */
  readonly engines: number;
  /** Work queue depth: jobs accepted and not finished. */
  readonly wqDepth: number;
  readonly blockOnFault: boolean;
  /** Outstanding page request credits (min with the PRI allocation the driver wrote). */
  readonly priCredits: number;
  /**
   * PRG indexes the engine uses, 0..n − 1 (default all 512): a function with a hostile
   * stream leaves the indexes above to it (device/adversary.ts).
   */
  readonly prgIndexes?: number;
}

/** What the accelerator reports (latencies in ns, counts). */
export interface AcceleratorObserver {
  atsTranslate(ns: number): void;
  priRoundtrip(ns: number): void;
  devtlb(hit: boolean): void;
  jobDone(latencyNs: number, status: number): void;
}

const TIMER_ATC_HIT = 0x1000_0000;

/** `jobOfPrg` value of a PRG index reserved by a stop marker. */
const PRG_STOP_MARKER = -2;

/** The job engine of one accelerator; it drives a {@link Device} as its agent. */
export class Accelerator implements DeviceAgent, Endpoint {
  readonly device: Device;
  readonly params: AcceleratorParams;
  private readonly sim: Simulator;
  private readonly observer: AcceleratorObserver;
  private readonly onDone: JobDone;
  readonly id: number;
  private readonly devtlbLookupNs: number;
  private readonly pcieLatencyNs: number;
  // Job table.
  private readonly slots: number;
  private readonly op: Uint8Array;
  private readonly pasid: Int32Array;
  private readonly src: Float64Array;
  private readonly dst: Float64Array;
  private readonly length: Int32Array;
  private readonly done: Int32Array;
  private readonly pattern: Uint8Array;
  private readonly cookie: Float64Array;
  private readonly submitNs: Float64Array;
  private readonly sentNs: Float64Array;
  private readonly hitPfn: Float64Array;
  /** Step inside the chunk: 0 = first operand, 1 = second operand. */
  private readonly phase: Uint8Array;
  /** Chunk size being processed. */
  private readonly chunk: Int32Array;
  private readonly mismatch: Uint8Array;
  private readonly prgOfJob: Int16Array;
  private readonly jobOfPrg = new Int32Array(512).fill(-1);
  private readonly freeJobs: Int32Array;
  private freeTop = 0;
  /** Accepted jobs waiting for an engine (FIFO ring). */
  private readonly queue: Int32Array;
  private qHead = 0;
  private qLen = 0;
  /** Jobs waiting for a PRI credit (FIFO ring). */
  private readonly priQueue: Int32Array;
  private pHead = 0;
  private pLen = 0;
  private activeEngines = 0;
  private priOutstanding = 0;
  private nextPrg = 0;
  /** PRG indexes this engine allocates from: 0..prgIndexes − 1. */
  private readonly prgIndexes: number;
  /** Jobs accepted and not finished. */
  inFlight = 0;

  constructor(
    device: Device,
    params: AcceleratorParams,
    sim: Simulator,
    timing: { readonly devtlbLookupNs: number; readonly pcieLatencyNs: number },
    observer: AcceleratorObserver,
    onDone: JobDone,
  ) {
    this.device = device;
    this.params = params;
    this.sim = sim;
    this.observer = observer;
    this.onDone = onDone;
    this.devtlbLookupNs = timing.devtlbLookupNs;
    this.pcieLatencyNs = timing.pcieLatencyNs;
    const n = params.wqDepth;
    if (!Number.isInteger(n) || n < 1 || n > 64) {
      throw Object.assign(new Error(`workQueue.depth must be 1..64, got ${n}`), { code: 'EINVAL' });
    }
    if (!Number.isInteger(params.engines) || params.engines < 1) {
      throw Object.assign(new Error(`engines must be ≥ 1, got ${params.engines}`), {
        code: 'EINVAL',
      });
    }
    const prgIndexes = params.prgIndexes ?? 512;
    if (!Number.isInteger(prgIndexes) || prgIndexes < n + 1 || prgIndexes > 512) {
      throw codedError(
        ErrorCode.EINVAL,
        `prgIndexes must be ${n + 1}..512 (a job each and a stop marker), got ${prgIndexes}`,
      );
    }
    this.prgIndexes = prgIndexes;
    this.slots = n;
    this.op = new Uint8Array(n);
    this.pasid = new Int32Array(n);
    this.src = new Float64Array(n);
    this.dst = new Float64Array(n);
    this.length = new Int32Array(n);
    this.done = new Int32Array(n);
    this.pattern = new Uint8Array(n);
    this.cookie = new Float64Array(n);
    this.submitNs = new Float64Array(n);
    this.sentNs = new Float64Array(n);
    this.hitPfn = new Float64Array(n);
    this.phase = new Uint8Array(n);
    this.chunk = new Int32Array(n);
    this.mismatch = new Uint8Array(n);
    this.prgOfJob = new Int16Array(n).fill(-1);
    this.freeJobs = new Int32Array(n);
    for (let i = n - 1; i >= 0; i--) this.freeJobs[this.freeTop++] = i;
    this.queue = new Int32Array(n);
    this.priQueue = new Int32Array(n);
    this.id = sim.register(this);
    device.agent = this;
  }

  /** Free work-queue entries. */
  get space(): number {
    return this.freeTop;
  }

  /**
   * ENQCMD: accepts a job if the work queue has room (returns false otherwise, the client
   * retries later). Each job occupies two 4 KiB halves of the device's data buffer.
   */
  submit(job: JobSpec): boolean {
    if (this.freeTop === 0) return false;
    if (!(job.length > 0))
      throw Object.assign(new Error(`job length must be > 0, got ${job.length}`), {
        code: 'EINVAL',
      });
    const j = this.freeJobs[--this.freeTop]!;
    this.op[j] = job.op;
    this.pasid[j] = job.pasid;
    this.src[j] = job.src;
    this.dst[j] = job.dst;
    this.length[j] = job.length;
    this.done[j] = 0;
    this.pattern[j] = job.pattern;
    this.cookie[j] = job.cookie;
    const now = this.sim.nowNs;
    const issued = job.issuedNs;
    this.submitNs[j] = issued !== undefined && issued <= now ? issued : now;
    this.mismatch[j] = 0;
    this.inFlight++;
    this.queue[(this.qHead + this.qLen) % this.slots] = j;
    this.qLen++;
    this.dispatch();
    return true;
  }

  private dispatch(): void {
    while (this.activeEngines < this.params.engines && this.qLen > 0) {
      const j = this.queue[this.qHead]!;
      this.qHead = (this.qHead + 1) % this.slots;
      this.qLen--;
      this.activeEngines++;
      this.startChunk(j);
    }
  }

  /** Operand of the current phase of job `j`, left in `opAddr` / `opWrite` (no allocation). */
  private operand(j: number): void {
    const op = this.op[j]!;
    const d = this.done[j]!;
    const second = op === JobOp.fill || (op !== JobOp.read && this.phase[j] === 1);
    this.opAddr = (second ? this.dst[j]! : this.src[j]!) + d;
    this.opWrite = op === JobOp.fill || (op === JobOp.copy && second);
  }

  private opAddr = 0;
  private opWrite = false;

  private startChunk(j: number): void {
    const d = this.done[j]!;
    const rem = this.length[j]! - d;
    const a = this.src[j]! + d;
    const b = this.dst[j]! + d;
    const op = this.op[j]!;
    let n = Math.min(rem, 4096 - pageOffset(b));
    if (op !== JobOp.fill) n = Math.min(n, 4096 - pageOffset(a));
    this.chunk[j] = n;
    this.phase[j] = 0;
    this.translateStep(j);
  }

  private translateStep(j: number): void {
    this.operand(j);
    const addr = this.opAddr;
    const write = this.opWrite;
    const vpn = Math.floor(addr / 4096);
    const dev = this.device;
    if (!dev.functionState.atsEnabled) {
      this.dmaStep(j, addr, write, false, 0);
      return;
    }
    const e = dev.devtlb.lookup(this.pasid[j]!, vpn);
    const need = write ? Perm.W : Perm.R;
    if (e >= 0 && (dev.devtlb.permsOf(e) & need) !== 0) {
      this.observer.devtlb(true);
      const pfn = dev.devtlb.pfnOf(e, vpn);
      this.hitPfn[j] = pfn; // kept until the ATC lookup time has passed
      this.sim.timer(this.devtlbLookupNs, this.id, this.id, TIMER_ATC_HIT + j);
      return;
    }
    this.observer.devtlb(false);
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const mb = pool.base(slot);
    pool.words[mb + MW.KIND] = MsgKind.ATS_REQ | MsgFlag.PASID | (write ? MsgFlag.WRITE : 0);
    pool.words[mb + MW.TAG] = AGENT_TAG_BASE + j;
    pool.words[mb + MW.SRC] = dev.id;
    pool.words[mb + AtsReq.PASID] = this.pasid[j]!;
    pool.setWide(mb + AtsReq.VPN_WIDE, vpn);
    pool.words[mb + AtsReq.RID] = dev.rid;
    this.sentNs[j] = this.sim.nowNs;
    dev.post(slot);
  }

  private dmaStep(j: number, addr: number, write: boolean, translated: boolean, pfn: number): void {
    const pool = this.sim.pool;
    const dev = this.device;
    const slot = pool.alloc();
    const mb = pool.base(slot);
    const n = this.chunk[j]!;
    pool.words[mb + MW.KIND] =
      MsgKind.DMA_REQ |
      MsgFlag.PASID |
      (write ? MsgFlag.WRITE : 0) |
      (translated ? MsgFlag.TRANSLATED : 0);
    pool.words[mb + MW.TAG] = AGENT_TAG_BASE + j;
    pool.words[mb + MW.SRC] = dev.id;
    pool.words[mb + DmaReq.PASID] = this.pasid[j]!;
    pool.setWide(mb + DmaReq.ADDR_WIDE, translated ? pfn * 4096 + pageOffset(addr) : addr);
    pool.words[mb + DmaReq.LENGTH] = n;
    // data buffer: job j owns bytes [j*8192, j*8192 + 8192): first operand, second operand
    const off = j * 8192 + (this.phase[j] === 1 && this.op[j] === JobOp.compare ? 4096 : 0);
    pool.words[mb + DmaReq.BUFFER_OFFSET] = off;
    pool.words[mb + DmaReq.RID] = dev.rid;
    if (write && this.op[j] === JobOp.fill) dev.buffer.fill(this.pattern[j]!, off, off + n);
    // Model metadata, not on the wire: the virtual page the device translated, so the unit
    // can check the invariant of DESIGN §8 where the access lands.
    if (translated) pool.setWide(mb + DmaReq.VPN_WIDE, Math.floor(addr / 4096));
    dev.post(slot);
  }

  /** Timers: an ATC hit's lookup time elapsed. */
  handle(arg: number): void {
    const j = -1 - arg - TIMER_ATC_HIT;
    this.operand(j);
    // An invalidation may have removed the entry during the lookup: translate again then.
    const vpn = Math.floor(this.opAddr / 4096);
    const e = this.device.devtlb.lookup(this.pasid[j]!, vpn);
    if (e < 0 || this.device.devtlb.pfnOf(e, vpn) !== this.hitPfn[j]) {
      this.translateStep(j);
      return;
    }
    this.dmaStep(j, this.opAddr, this.opWrite, true, this.hitPfn[j]!);
  }

  /** ATS and DMA completions of the agent's jobs. */
  completion(slot: number, nowNs: number): void {
    const pool = this.sim.pool;
    const w = pool.words;
    const mb = pool.base(slot);
    const j = w[mb + MW.TAG]! - AGENT_TAG_BASE;
    const kind = w[mb + MW.KIND]! & 0xff;
    // ATS_CPL and DMA_CPL keep their status in the same word
    const ok = w[mb + AtsCpl.STATUS] === CplStatus.SUCCESS;
    if (kind === MsgKind.ATS_CPL) {
      this.observer.atsTranslate(nowNs - this.sentNs[j]!);
      const perms = ok ? w[mb + AtsCpl.PERMS]! : 0;
      const pfn = pool.getWide(mb + AtsCpl.PFN_WIDE);
      const big = w[mb + AtsCpl.SIZE] === 1;
      pool.release(slot);
      if (!ok) {
        this.finish(j, JobStatus.FAILED, nowNs);
        return;
      }
      this.operand(j);
      const addr = this.opAddr;
      const write = this.opWrite;
      const vpn = Math.floor(addr / 4096);
      if (perms !== 0) {
        this.device.devtlb.insert(
          this.pasid[j]!,
          big ? vpn - (vpn % 512) : vpn,
          big ? '2m' : '4k',
          big ? pfn - (vpn % 512) : pfn,
          perms,
        );
      }
      if ((perms & (write ? Perm.W : Perm.R)) !== 0) {
        this.dmaStep(j, addr, write, true, pfn);
        return;
      }
      this.fault(j, nowNs);
      return;
    }
    // DMA completion
    pool.release(slot);
    if (!ok) {
      this.finish(j, JobStatus.FAILED, nowNs);
      return;
    }
    const op = this.op[j]!;
    if ((op === JobOp.copy || op === JobOp.compare) && this.phase[j] === 0) {
      // copy writes the bytes it read from the same half of the buffer
      this.phase[j] = 1;
      this.translateStep(j);
      return;
    }
    if (op === JobOp.compare) {
      const base = j * 8192;
      const buf = this.device.buffer;
      const n = this.chunk[j]!;
      for (let i = 0; i < n; i++) {
        if (buf[base + i] !== buf[base + 4096 + i]) {
          this.mismatch[j] = 1;
          break;
        }
      }
    }
    this.done[j]! += this.chunk[j]!;
    if (this.done[j]! >= this.length[j]!) {
      this.finish(j, this.mismatch[j] ? JobStatus.MISMATCH : JobStatus.SUCCESS, nowNs);
      return;
    }
    this.startChunk(j);
  }

  /** The translation lacked the needed permission (spec §4.7). */
  private fault(j: number, nowNs: number): void {
    const dev = this.device;
    if (!this.params.blockOnFault) {
      this.finish(j, JobStatus.PAGE_FAULT, nowNs);
      return;
    }
    if (!dev.functionState.priEnabled || !dev.priActive) {
      this.finish(j, JobStatus.FAILED, nowNs);
      return;
    }
    this.priQueue[(this.pHead + this.pLen) % this.slots] = j;
    this.pLen++;
    this.issuePageRequests();
  }

  private get credits(): number {
    const alloc = this.device.functionState.priAllocation;
    return Math.min(this.params.priCredits, alloc > 0 ? alloc : this.params.priCredits);
  }

  private issuePageRequests(): void {
    const dev = this.device;
    while (this.pLen > 0 && this.priOutstanding < this.credits) {
      const j = this.priQueue[this.pHead]!;
      this.pHead = (this.pHead + 1) % this.slots;
      this.pLen--;
      if (!dev.priActive) {
        this.finish(j, JobStatus.FAILED, this.sim.nowNs);
        continue;
      }
      let prg = this.nextPrg;
      while (this.jobOfPrg[prg] !== -1) prg = (prg + 1) % this.prgIndexes;
      this.nextPrg = (prg + 1) % this.prgIndexes;
      this.jobOfPrg[prg] = j;
      this.prgOfJob[j] = prg;
      this.priOutstanding++;
      this.operand(j);
      const addr = this.opAddr;
      const write = this.opWrite;
      dev.openGroup(prg, this.pasid[j]!);
      this.sentNs[j] = this.sim.nowNs;
      this.sendPageRequest(this.pasid[j]!, prg, true, write, Math.floor(addr / 4096));
    }
  }

  /** True when `prgIndex` is one of this engine's outstanding groups. */
  ownsGroup(prgIndex: number): boolean {
    return this.jobOfPrg[prgIndex]! >= 0;
  }

  /**
   * PASID stop (spec §4.7): after its last page request for a PASID the function sends a
   * Stop Marker — a page request with L=1, R=W=0 — which needs no response. Its PRG index
   * stays reserved until the profile-v5.8 handler's answer comes back (that handler treats
   * it as an ordinary request and answers it; the function discards the answer).
   */
  sendStopMarker(pasid: number): void {
    const dev = this.device;
    if (!dev.functionState.priEnabled || !dev.priActive) return;
    let prg = this.nextPrg;
    for (let n = 0; this.jobOfPrg[prg] !== -1; n++) {
      if (n === this.prgIndexes) return; // every index is in use: no marker (it is optional)
      prg = (prg + 1) % this.prgIndexes;
    }
    this.nextPrg = (prg + 1) % this.prgIndexes;
    this.jobOfPrg[prg] = PRG_STOP_MARKER;
    dev.noteStopMarker(prg, pasid);
    this.sendPageRequest(pasid, prg, false, false, 0);
  }

  /**
   * Sends a page request with PASID and LPIG=1 for PRG index `prg`: a read (and write) of page
   * `vpn`, or with R=W=0 and page 0 a stop marker.
   */
  private sendPageRequest(
    pasid: number,
    prg: number,
    read: boolean,
    write: boolean,
    vpn: number,
  ): void {
    this.device.postPageRequestWords(pasid, prg, read, write, true, vpn);
  }

  /** The answer to a stop marker arrived: its PRG index is free again. */
  stopMarkerAnswered(prgIndex: number): void {
    if (this.jobOfPrg[prgIndex] === PRG_STOP_MARKER) this.jobOfPrg[prgIndex] = -1;
  }

  /** A page group response for one of this engine's groups. */
  pageResponse(prgIndex: number, code: number, nowNs: number): void {
    const j = this.jobOfPrg[prgIndex]!;
    this.jobOfPrg[prgIndex] = -1;
    this.prgOfJob[j] = -1;
    this.priOutstanding--;
    this.observer.priRoundtrip(nowNs - this.sentNs[j]!);
    if (code === 0) this.translateStep(j);
    else this.finish(j, JobStatus.FAILED, nowNs);
    this.issuePageRequests();
  }

  private finish(j: number, status: number, nowNs: number): void {
    this.observer.jobDone(nowNs - this.submitNs[j]!, status);
    const cookie = this.cookie[j]!;
    const done = this.done[j]!;
    const length = this.length[j]!;
    const issued = this.submitNs[j]!;
    this.freeJobs[this.freeTop++] = j;
    this.inFlight--;
    this.activeEngines--;
    this.onDone(cookie, status, done, nowNs, length, issued);
    this.dispatch();
  }
}
