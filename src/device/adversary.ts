/**
 * A hostile stream of an accelerator (scenario `devices[].adversary`): transactions a
 * malicious or broken function mixes into its normal work, each aimed at one check of the
 * VT-d unit or the kernel's page request handler (spec §4.1, §4.3, §6.1 Table 30). They
 * arrive as a Poisson process of `rate` per second, drawn from the run's seed on the
 * function's own random stream, while at least one client of the function is bound (the
 * stream learns valid PASIDs and buffer addresses from its clients' job streams); the kind of
 * each arrival is drawn uniformly among those listed, then its form (ATS translation request,
 * untranslated DMA read, page request) uniformly among the forms the kind uses.
 *
 * | Kind | What is sent | What VT-d answers (v5.8 kernel where it reaches software) |
 * |---|---|---|
 * | `foreignPasid` | a PASID no client of this function uses (low ids: likely another device's; else likely unallocated), at a buffer address of its clients | ATS: success, no permission (SPD.2/SPT.2) or UR (SCT.7); DMA: UR + fault 51h/59h; page request: hardware IR + fault |
 * | `pasidOutOfRange` | a PASID at or above 2^min(unit, function width); ≥ 2^20 (ATS and DMA only) when both widths are 20 | ATS: UR (SGN.10, SCT.7) or success, no permission; DMA: UR + fault 89h/46h/51h; page request: IR + fault |
 * | `unmapped` | a client's PASID, a page below 16 TiB (no mapping: buffers sit under the mmap base) | ATS: success, no permission (SFS.2); DMA: UR + fault 71h; page request: queued, INVALID |
 * | `nonCanonical` | a client's PASID, a non-canonical address | ATS: success, no permission (SGN.1); DMA: UR + fault 80h; page request: queued, INVALID |
 * | `noPasid` | a page request without PASID | queued through the RID_PASID entry; Response Failure (PRI stops at the function) |
 * | `prgReuse` | two page requests with the same PRG index, the second while the first is outstanding | both queued and answered (INVALID): hardware does not track PRG indexes |
 * | `lpigFlood` | {@link LPIG_FLOOD_BURST} page requests with LPIG=0 | queued until the PRQ is full, then dropped; never answered |
 * | `noAccess` | a page request with LPIG=1 and neither R nor W | queued (counted as a stop marker), INVALID |
 * | `translatedDma` | a translated DMA read (AT=translated) of a random frame: an address no translation gave it | success when DTE and the PASID entry allow it: the ATS trust gap, counted as `atsTrustBreaches` |
 *
 * What the stream keeps apart from the job engine: its tags ({@link HOSTILE_TAG_BASE}), its PRG
 * indexes ({@link HOSTILE_PRG_FIRST} up: the engine uses the ones below), its part of the data
 * buffer (the upper half: the engine's jobs use at most the lower 512 KiB), no credits, no
 * device-TLB entries. What it shares, as hardware would: the link, the unit's caches, walkers
 * and PRQ, and the function's PRI state — a Response Failure to a hostile request stops PRI
 * for the honest jobs too (spec §4.7). Hostile DMA only reads, so it never changes memory.
 *
 * Not modelled: hostile writes, ATS and DMA requests without PASID (their second-stage
 * translation is not modelled), privileged or execute requests.
 */

import { codedError, ErrorCode } from '../errors.js';
import { MMAP_MIN_ADDR } from '../mem/index.js';
import { AtsCpl, AtsReq, CplStatus, DmaReq, MsgFlag, MsgKind, MW } from '../sim/message.js';
import { Rng } from '../sim/rng.js';
import type { Endpoint, Simulator } from '../sim/simulator.js';
import {
  DEVICE_BUFFER_BYTES,
  type Device,
  HOSTILE_TAG_BASE,
  type HostileStream,
} from './device.js';
import { PRG_INDEXES } from './prg-index-map.js';

/** The hostile transaction kinds, by the names a scenario lists them. */
export const ADVERSARY_KINDS = [
  'foreignPasid',
  'pasidOutOfRange',
  'unmapped',
  'nonCanonical',
  'noPasid',
  'prgReuse',
  'lpigFlood',
  'noAccess',
  'translatedDma',
] as const;

/** One hostile transaction kind. */
export type AdversaryKind = (typeof ADVERSARY_KINDS)[number];

/** How a hostile transaction travels. */
export const Via = { ATS: 0, DMA: 1, PAGE_REQUEST: 2 } as const;

/** One of the {@link Via} forms. */
export type ViaCode = (typeof Via)[keyof typeof Via];

const VIA_NAMES = ['an ATS translation request', 'a DMA request', 'a page request'] as const;

/** First PRG index of the hostile stream; the job engine uses 0 .. HOSTILE_PRG_FIRST − 1. */
export const HOSTILE_PRG_FIRST = 448;
/** PRG indexes of the hostile stream. */
const HOSTILE_PRGS = PRG_INDEXES - HOSTILE_PRG_FIRST;

/** Page requests of one `lpigFlood` arrival. */
export const LPIG_FLOOD_BURST = 16;

/** Bytes each hostile DMA reads. */
export const HOSTILE_DMA_BYTES = 64;

/** Where hostile DMA lands in the data buffer: its upper half, which jobs never use. */
const HOSTILE_BUFFER_OFFSET = DEVICE_BUFFER_BYTES / 2;

/** Random stream of device `index`'s hostile stream: far from every other stream id. */
const RNG_STREAM_BASE = 2 ** 40;

/** Pages an `unmapped` address is drawn from: [MMAP_MIN_ADDR, 16 TiB). */
const UNMAPPED_FIRST_VPN = MMAP_MIN_ADDR / 4096;
const UNMAPPED_PAGES = 2 ** 32 - UNMAPPED_FIRST_VPN;

/** First non-canonical user page with 4- and 5-level paging (2^47 and 2^56 bytes). */
const CANONICAL_PAGES_4 = 2 ** 35;
const CANONICAL_PAGES_5 = 2 ** 44;

/** The widest PASID a page request descriptor holds (20 bits). */
const PASID_FIELD_LIMIT = 2 ** 20;

/**
 * Where the stream learns valid PASIDs and addresses: the job streams of the function's
 * clients (workload/job-stream.ts), whose PASIDs are bound while they are active.
 */
export interface PasidSource {
  /** Clients whose stream is active now (bound, started, not stopped). */
  readonly activeClients: number;
  /** PASID of the `k`-th active client, 0 ≤ k < activeClients. */
  activePasid(k: number): number;
  /** First buffer (virtual address) of the `k`-th active client. */
  activeBuffer(k: number): number;
  /** True when an active client of the function uses `pasid`. */
  hasActivePasid(pasid: number): boolean;
}

/** Parameters of a hostile stream. */
export interface AdversaryParams {
  /** Mean arrivals per second (Poisson). */
  readonly rate: number;
  /** Kinds drawn from, uniformly (at least one). */
  readonly kinds: readonly AdversaryKind[];
  /** The run's seed. */
  readonly seed: number;
  /** PASID width of the function's VT-d unit (ecap.PSS + 1). */
  readonly unitPasidBits: number;
  /**
   * Client processes of the run: PASIDs are handed out lowest first, so one below about
   * twice this is likely bound to some device.
   */
  readonly clients: number;
  /** First-stage paging levels of the clients (4 or 5): where non-canonical addresses start. */
  readonly levels: number;
  /** Frames of simulated memory: where translated DMA may aim. */
  readonly totalFrames: number;
}

/** What the stream reports. */
export interface AdversaryObserver {
  /** `n` hostile transactions of kind `kind` were sent. */
  sent(kind: AdversaryKind, n: number): void;
}

/** Outcomes the stream saw, per kind (indexed like {@link ADVERSARY_KINDS}). */
export class AdversaryStats {
  /** Transactions sent. */
  readonly sent = new Float64Array(ADVERSARY_KINDS.length);
  /** ATS completions: UR; success without permission; success with some permission. */
  readonly atsUr = new Float64Array(ADVERSARY_KINDS.length);
  readonly atsNoPerm = new Float64Array(ADVERSARY_KINDS.length);
  readonly atsGranted = new Float64Array(ADVERSARY_KINDS.length);
  /** DMA completions: success (bytes read) or UR. */
  readonly dmaOk = new Float64Array(ADVERSARY_KINDS.length);
  readonly dmaUr = new Float64Array(ADVERSARY_KINDS.length);
  /** Page group responses by code: Success, Invalid Request, Response Failure (or reserved). */
  readonly respSuccess = new Float64Array(ADVERSARY_KINDS.length);
  readonly respInvalid = new Float64Array(ADVERSARY_KINDS.length);
  readonly respFailure = new Float64Array(ADVERSARY_KINDS.length);

  /** Every transaction sent, all kinds. */
  get total(): number {
    return this.sent.reduce((a, b) => a + b, 0);
  }
}

/** Forms each kind uses. */
function viasOf(kind: AdversaryKind, pageRequestPasids: boolean): readonly ViaCode[] {
  switch (kind) {
    case 'foreignPasid':
    case 'unmapped':
    case 'nonCanonical':
      return [Via.ATS, Via.DMA, Via.PAGE_REQUEST];
    case 'pasidOutOfRange':
      return pageRequestPasids ? [Via.ATS, Via.DMA, Via.PAGE_REQUEST] : [Via.ATS, Via.DMA];
    case 'translatedDma':
      return [Via.DMA];
    default:
      return [Via.PAGE_REQUEST];
  }
}

const KIND_INDEX = new Map<AdversaryKind, number>(ADVERSARY_KINDS.map((k, i) => [k, i]));

/** The hostile stream of one function. */
export class Adversary implements HostileStream, Endpoint {
  readonly device: Device;
  readonly params: AdversaryParams;
  readonly id: number;
  readonly stats = new AdversaryStats();
  /** Responses for hostile PRG indexes with nothing outstanding on them. */
  unexpectedResponses = 0;
  private readonly sim: Simulator;
  private readonly source: PasidSource;
  private readonly observer: AdversaryObserver;
  private readonly rng: Rng;
  private readonly meanGapNs: number;
  /** Kind indexes drawn from, and the forms of each. */
  private readonly kinds: Uint8Array;
  private readonly vias: (readonly ViaCode[])[];
  /** First PASID beyond both the unit's and the function's width. */
  private readonly pasidLimit: number;
  /** Per hostile PRG index: responses expected (R or W, LPIG=1), answers a noAccess may get. */
  private readonly expected = new Uint8Array(HOSTILE_PRGS);
  private readonly markers = new Uint8Array(HOSTILE_PRGS);
  /** Per hostile PRG index: the kind that opened its group. */
  private readonly kindOfPrg = new Uint8Array(HOSTILE_PRGS);
  /** Sums of `expected` and of `markers`. */
  private groupsOut = 0;
  private markersOut = 0;
  private nextPrg = 0;
  /** ATS and DMA requests sent and not completed. */
  private inFlight = 0;
  /** An arrival timer is armed. */
  private running = false;

  constructor(
    device: Device,
    params: AdversaryParams,
    sim: Simulator,
    source: PasidSource,
    observer: AdversaryObserver,
  ) {
    if (!(params.rate > 0) || !Number.isFinite(params.rate)) {
      throw codedError(
        ErrorCode.EINVAL,
        `adversary.rate must be a finite number > 0 per second, got ${params.rate}`,
      );
    }
    if (params.kinds.length === 0 || params.kinds.some((k) => !KIND_INDEX.has(k))) {
      throw codedError(
        ErrorCode.EINVAL,
        `adversary.kinds must list some of ${ADVERSARY_KINDS.join(', ')}, got ${JSON.stringify(params.kinds)}`,
      );
    }
    this.device = device;
    this.params = params;
    this.sim = sim;
    this.source = source;
    this.observer = observer;
    this.rng = new Rng(params.seed, RNG_STREAM_BASE + device.index);
    this.meanGapNs = 1e9 / params.rate;
    this.pasidLimit = 2 ** Math.min(params.unitPasidBits, device.pasidBits);
    const pageRequestPasids = this.pasidLimit < PASID_FIELD_LIMIT;
    this.kinds = Uint8Array.from(params.kinds, (k) => KIND_INDEX.get(k)!);
    this.vias = ADVERSARY_KINDS.map((k) => viasOf(k, pageRequestPasids));
    this.id = sim.register(this);
    device.hostile = this;
  }

  /** Page requests with LPIG=1 and R or W sent and not answered. */
  get outstandingGroups(): number {
    return this.groupsOut;
  }

  /** True while a hostile request waits for its completion, response or answer. */
  get busy(): boolean {
    return this.inFlight > 0 || this.groupsOut > 0 || this.markersOut > 0;
  }

  /**
   * A client of the function started: arrivals run (again) if they had stopped. They stop
   * by themselves at an arrival that finds no active client.
   */
  wake(): void {
    if (this.running) return;
    this.running = true;
    this.arm();
  }

  private arm(): void {
    const gap = Math.max(1, Math.round(this.rng.exponential(this.meanGapNs)));
    this.sim.timer(gap, this.id, this.id, 0);
  }

  /** The arrival timer. */
  handle(): void {
    if (this.source.activeClients === 0) {
      this.running = false;
      this.sim.noop();
      return;
    }
    const kind = this.kinds[this.rng.int(this.kinds.length)]!;
    const vias = this.vias[kind]!;
    this.fire(ADVERSARY_KINDS[kind]!, vias[this.rng.int(vias.length)]!);
    this.arm();
  }

  /**
   * Sends one hostile transaction of `kind` in form `via` now (an arrival, or a test);
   * returns the requests sent: 0 when the kind needs a client PASID and none is active (or
   * no PRG index is free), `LPIG_FLOOD_BURST` for a flood, 2 for a PRG reuse, else 1.
   */
  fire(kind: AdversaryKind, via: ViaCode): number {
    const k = KIND_INDEX.get(kind)!;
    if (!this.vias[k]!.includes(via)) {
      throw codedError(
        ErrorCode.EINVAL,
        `adversary: kind ${kind} is not sent as ${VIA_NAMES[via]}; it uses ${this.vias[k]!.map((v) => VIA_NAMES[v]).join(', ')}`,
      );
    }
    const n = this.send(k, kind, via);
    if (n > 0) {
      this.stats.sent[k]! += n;
      this.observer.sent(kind, n);
    }
    return n;
  }

  private send(k: number, kind: AdversaryKind, via: ViaCode): number {
    const rng = this.rng;
    const src = this.source;
    const client = src.activeClients > 0 ? rng.int(src.activeClients) : -1;
    switch (kind) {
      case 'foreignPasid':
      case 'pasidOutOfRange': {
        const pasid = kind === 'foreignPasid' ? this.foreignPasid() : this.outOfRangePasid();
        if (pasid < 0) return 0;
        // an address of this function's clients: every client maps its buffers at the same
        // places, so it names memory of whichever process the PASID might be bound to
        const vpn = client >= 0 ? Math.floor(src.activeBuffer(client) / 4096) : this.unmappedVpn();
        return this.sendVia(k, via, pasid, vpn);
      }
      case 'unmapped':
      case 'nonCanonical': {
        if (client < 0) return 0;
        const vpn = kind === 'unmapped' ? this.unmappedVpn() : this.nonCanonicalVpn();
        return this.sendVia(k, via, src.activePasid(client), vpn);
      }
      case 'noPasid': {
        const prg = this.openGroup(k, false);
        if (prg < 0) return 0;
        this.pageRequest(-1, prg, true, true, this.unmappedVpn());
        return 1;
      }
      case 'prgReuse': {
        if (client < 0) return 0;
        const prg = this.openGroup(k, false);
        if (prg < 0) return 0;
        const pasid = src.activePasid(client);
        this.pageRequest(pasid, prg, true, true, this.unmappedVpn());
        // the same index again while the first request is outstanding
        this.expected[prg - HOSTILE_PRG_FIRST]!++;
        this.groupsOut++;
        this.pageRequest(pasid, prg, true, true, this.unmappedVpn());
        return 2;
      }
      case 'lpigFlood': {
        if (client < 0) return 0;
        const pasid = src.activePasid(client);
        const prg = HOSTILE_PRG_FIRST + rng.int(HOSTILE_PRGS);
        const vpn = this.unmappedVpn();
        for (let i = 0; i < LPIG_FLOOD_BURST; i++)
          this.pageRequest(pasid, prg, true, false, vpn + i);
        return LPIG_FLOOD_BURST;
      }
      case 'noAccess': {
        if (client < 0) return 0;
        const prg = this.openGroup(k, true);
        if (prg < 0) return 0;
        this.pageRequest(src.activePasid(client), prg, false, true, this.unmappedVpn());
        return 1;
      }
      case 'translatedDma': {
        if (client < 0) return 0;
        const pfn = 1 + rng.int(this.params.totalFrames - 1);
        this.dma(k, src.activePasid(client), pfn * 4096 + rng.int(4096 / 64) * 64, true);
        return 1;
      }
    }
  }

  private sendVia(k: number, via: ViaCode, pasid: number, vpn: number): number {
    if (via === Via.ATS) this.ats(k, pasid, vpn);
    else if (via === Via.DMA) this.dma(k, pasid, vpn * 4096, false);
    else {
      const prg = this.openGroup(k, false);
      if (prg < 0) return 0;
      this.pageRequest(pasid, prg, true, true, vpn);
    }
    return 1;
  }

  /**
   * A PASID no active client of the function uses: half the time among the low ids the
   * allocator hands out first (likely bound to another device), else anywhere the function
   * can name (likely unallocated); −1 when a few draws found only its own.
   */
  private foreignPasid(): number {
    const rng = this.rng;
    const limit = this.pasidLimit;
    const low = Math.min(limit, 2 * this.params.clients + 2);
    for (let tries = 0; tries < 8; tries++) {
      const pasid = rng.chance(0.5) ? 1 + rng.int(low - 1) : 1 + rng.int(limit - 1);
      if (!this.source.hasActivePasid(pasid)) return pasid;
    }
    return -1;
  }

  /** A PASID at or above the narrower of the unit's and the function's widths. */
  private outOfRangePasid(): number {
    const limit = this.pasidLimit;
    if (limit < PASID_FIELD_LIMIT) return limit + this.rng.int(PASID_FIELD_LIMIT - limit);
    // both widths are 20 bits: a value the PASID field cannot hold (ATS and DMA carry it)
    return PASID_FIELD_LIMIT + this.rng.int(2 ** 32 - PASID_FIELD_LIMIT);
  }

  private unmappedVpn(): number {
    return UNMAPPED_FIRST_VPN + this.rng.int(UNMAPPED_PAGES);
  }

  private nonCanonicalVpn(): number {
    const first = this.params.levels === 5 ? CANONICAL_PAGES_5 : CANONICAL_PAGES_4;
    return first + this.rng.int(first);
  }

  /**
   * A free hostile PRG index for a new group (LPIG=1): expecting one response, or for a
   * noAccess request (`marker`) an answer it may get; −1 when all are in use.
   */
  private openGroup(k: number, marker: boolean): number {
    for (let n = 0; n < HOSTILE_PRGS; n++) {
      const i = (this.nextPrg + n) % HOSTILE_PRGS;
      if (this.expected[i] === 0 && this.markers[i] === 0) {
        this.nextPrg = (i + 1) % HOSTILE_PRGS;
        if (marker) {
          this.markers[i] = 1;
          this.markersOut++;
        } else {
          this.expected[i] = 1;
          this.groupsOut++;
        }
        this.kindOfPrg[i] = k;
        return HOSTILE_PRG_FIRST + i;
      }
    }
    return -1;
  }

  private ats(k: number, pasid: number, vpn: number): void {
    const dev = this.device;
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = MsgKind.ATS_REQ | MsgFlag.PASID;
    pool.words[b + MW.TAG] = HOSTILE_TAG_BASE + k;
    pool.words[b + MW.SRC] = dev.id;
    pool.words[b + AtsReq.PASID] = pasid;
    pool.setWide(b + AtsReq.VPN_WIDE, vpn);
    pool.words[b + AtsReq.RID] = dev.rid;
    this.inFlight++;
    dev.post(slot);
  }

  /** A DMA read of {@link HOSTILE_DMA_BYTES} at `addr` (physical when `translated`). */
  private dma(k: number, pasid: number, addr: number, translated: boolean): void {
    const dev = this.device;
    const pool = this.sim.pool;
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] =
      MsgKind.DMA_REQ | MsgFlag.PASID | (translated ? MsgFlag.TRANSLATED : 0);
    pool.words[b + MW.TAG] = HOSTILE_TAG_BASE + k;
    pool.words[b + MW.SRC] = dev.id;
    pool.words[b + DmaReq.PASID] = pasid;
    pool.setWide(b + DmaReq.ADDR_WIDE, addr);
    pool.words[b + DmaReq.LENGTH] = HOSTILE_DMA_BYTES;
    pool.words[b + DmaReq.BUFFER_OFFSET] = HOSTILE_BUFFER_OFFSET;
    pool.words[b + DmaReq.RID] = dev.rid;
    // model metadata: no translation led here (VPN 0), and the stream is hostile
    pool.words[b + DmaReq.HOSTILE] = 1;
    this.inFlight++;
    dev.post(slot);
  }

  /** A page request: PASID `pasid` (−1: without PASID), R as `read`, never W or X. */
  private pageRequest(pasid: number, prg: number, read: boolean, lpig: boolean, vpn: number): void {
    this.device.postPageRequestWords(pasid, prg, read, false, lpig, vpn);
  }

  /** True for the PRG indexes of the hostile stream. */
  ownsPrgIndex(prgIndex: number): boolean {
    return prgIndex >= HOSTILE_PRG_FIRST;
  }

  /** ATS and DMA completions of hostile requests (the kind rides in the tag). */
  completion(slot: number): void {
    const pool = this.sim.pool;
    const w = pool.words;
    const b = pool.base(slot);
    const k = w[b + MW.TAG]! - HOSTILE_TAG_BASE;
    const ok = w[b + AtsCpl.STATUS] === CplStatus.SUCCESS;
    const s = this.stats;
    if ((w[b + MW.KIND]! & 0xff) === MsgKind.ATS_CPL) {
      const perms = w[b + AtsCpl.PERMS]!;
      if (!ok) s.atsUr[k]!++;
      else if (perms === 0) s.atsNoPerm[k]!++;
      else s.atsGranted[k]!++;
    } else if (ok) s.dmaOk[k]!++;
    else s.dmaUr[k]!++;
    pool.release(slot);
    this.inFlight--;
  }

  /** A page group response for a hostile PRG index. */
  pageResponse(prgIndex: number, _pasidPresent: boolean, _pasid: number, code: number): void {
    const i = prgIndex - HOSTILE_PRG_FIRST;
    let k: number;
    if (this.expected[i]! > 0) {
      this.expected[i]!--;
      this.groupsOut--;
      k = this.kindOfPrg[i]!;
    } else if (this.markers[i]! > 0) {
      this.markers[i]!--;
      this.markersOut--;
      k = this.kindOfPrg[i]!;
    } else {
      this.unexpectedResponses++;
      return;
    }
    const s = this.stats;
    if (code === 0) s.respSuccess[k]!++;
    else if (code === 1) s.respInvalid[k]!++;
    else s.respFailure[k]!++;
  }
}
