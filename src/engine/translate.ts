/**
 * The translation pipeline of a VT-d unit for requests with PASID (spec §6.1 Table 30;
 * VTD 7.1): context → PASID directory → PASID entry (through the PASID cache), the PASID
 * width check, SRE for privileged requests, the canonical-address check, IOTLB lookup, and
 * on a miss the first-level walk. The outcome follows Table 30: which conditions make an ATS
 * translation request fail with UR, which give a successful completion with no (or reduced)
 * permissions, and which fault reason an untranslated request records.
 *
 * Timing: a pipeline that accepts one lookup per `iotlbLookupNs`, plus `pasidCacheMissNs` on
 * a PASID-cache miss, plus the walk (walk slots, miss merging) on an IOTLB miss. The
 * functional lookup happens when the request arrives; the result is ready at `outReadyNs`.
 *
 * Not modelled: requests without PASID (the RID_PASID entry), second-stage and nested
 * translation, CM=1 caching of not-present entries, the context cache as a separate
 * structure (context fields are re-read on a PASID-cache miss).
 */

import {
  CONTEXT_ENTRY,
  FaultReason,
  FSPM_5_LEVEL,
  getField,
  PASID_ENTRY,
  PGTT_FIRST_STAGE,
} from '../layout/index.js';
import type { PhysicalMemory } from '../mem/index.js';
import { Perm } from '../sim/message.js';
import type { VtdUnitCaps } from './caps.js';
import type { Iotlb } from './iotlb.js';
import type { PasidCache } from './pasid-cache.js';
import { checkPasidEntry, pasidEntryCheck } from './walk.js';
import type { FirstLevelWalker } from './walker.js';

const PE = PASID_ENTRY.fields;
const CE = CONTEXT_ENTRY.fields;
/** First non-canonical user page number with 4- and 5-level paging (2^47 and 2^56 bytes). */
const VPN_LIMIT_4 = 2 ** 35;
const VPN_LIMIT_5 = 2 ** 44;

/** Timing knobs of the pipeline (from the cost model). */
export interface TranslateTiming {
  readonly iotlbLookupNs: number;
  readonly pasidCacheMissNs: number;
}

/** Result class of a translation (see Table 30). */
export const Xlate = {
  /** A present translation; `outPerms` are the effective permissions. */
  OK: 0,
  /** A recoverable fault: ATS gets success with R=W=0, untranslated gets UR + record. */
  FAULT: 1,
  /** A fault that makes even an ATS translation request fail with UR. */
  UR: 2,
} as const;

/** The lookup stages of one unit. */
export class TranslationPipeline {
  private readonly mem: PhysicalMemory;
  readonly iotlb: Iotlb;
  readonly pasidCache: PasidCache;
  readonly walker: FirstLevelWalker;
  /** Root table frame (RTADDR). */
  rootTablePfn = 0;
  /** Time until which the lookup stage is busy. */
  private busyUntil = 0;

  /** Outputs of the last {@link translate}. */
  outPfn = 0;
  outSize = 0;
  outPerms = 0;
  outFault = 0;
  /** True when an FPD bit on the way suppresses recording of `outFault`. */
  outFpd = false;
  /**
   * DTE of the requester's context entry (cached with the PASID entry, else read on the
   * walk); false when no context entry was reached.
   */
  outDte = false;
  outReadyNs = 0;
  outDid = 0;
  /** Time the walk took, including waiting for a walk slot (−1 when no walk). */
  outWalkNs = -1;
  /** True when the IOTLB (or an in-flight walk) supplied the translation. */
  outHit = false;

  constructor(
    mem: PhysicalMemory,
    caps: VtdUnitCaps,
    timing: TranslateTiming,
    iotlb: Iotlb,
    pasidCache: PasidCache,
    walker: FirstLevelWalker,
  ) {
    this.mem = mem;
    this.iotlb = iotlb;
    this.pasidCache = pasidCache;
    this.walker = walker;
    this.lookupNs = timing.iotlbLookupNs;
    this.missNs = timing.pasidCacheMissNs;
    this.pasidLimit = 2 ** caps.pasidBits;
  }

  // Hot-path copies of the parameters (read once, kept as plain numbers).
  private readonly lookupNs: number;
  private readonly missNs: number;
  /** 2^pasidBits: the first PASID beyond the unit's width (SGN.10). */
  readonly pasidLimit: number;

  /**
   * Translates (rid, pasid, vpn) for an access; returns an {@link Xlate} class and fills the
   * out* fields. `write`/`exec` describe the access, `priv` a privileged (PR=1) request.
   * For an ATS request the permissions are returned even when they do not cover the access
   * (Seff); the caller decides.
   */
  translate(
    rid: number,
    pasid: number,
    vpn: number,
    write: boolean,
    priv: boolean,
    nowNs: number,
  ): number {
    const start = Math.max(nowNs, this.busyUntil);
    this.busyUntil = start + this.lookupNs;
    let ready = this.busyUntil;
    this.outWalkNs = -1;
    this.outHit = false;
    this.outFpd = false;
    this.outDte = false;
    this.outPerms = 0;
    // SGN.10: PASID beyond the unit's PASID width.
    if (pasid >= this.pasidLimit) return this.fail(Xlate.UR, FaultReason.SGN_10, ready);
    // Context and PASID entry, through the PASID cache.
    const pc = this.pasidCache;
    let e = pc.lookup(rid, pasid);
    if (e < 0) {
      ready += this.missNs;
      const r = this.fetchPasidEntry(rid, pasid);
      if (r !== 0)
        return this.fail(
          r === FaultReason.SPD_2 || r === FaultReason.SPT_2 ? Xlate.FAULT : Xlate.UR,
          r,
          ready,
        );
      e = pc.insert(
        rid,
        pasid,
        true,
        this.eFpd,
        this.eDid,
        this.ePgtt,
        this.eSre,
        this.eFspm,
        this.eRootPfn,
        this.outDte,
      );
    }
    this.outDte = pc.dteOf(e);
    const did = pc.didOf(e);
    this.outDid = did;
    if (pc.pgttOf(e) !== PGTT_FIRST_STAGE) return this.fail(Xlate.UR, FaultReason.SPT_4, ready);
    this.outFpd = pc.fpdOf(e);
    if (priv && !pc.sreOf(e)) return this.fail(Xlate.FAULT, FaultReason.SPT_6, ready);
    const levels = pc.fspmOf(e) === FSPM_5_LEVEL ? 5 : 4;
    // SGN.1: canonical address (user half only: addresses are below 2^53).
    if (vpn >= (levels === 5 ? VPN_LIMIT_5 : VPN_LIMIT_4))
      return this.fail(Xlate.FAULT, FaultReason.SGN_1, ready);
    const walker = this.walker;
    const merged = walker.inFlight(did, pasid, vpn, nowNs);
    const hit = this.iotlb.lookup(did, pasid, vpn);
    if (hit >= 0) {
      this.outHit = true;
      this.outPfn = this.iotlb.pfnOf(hit, vpn);
      this.outSize = this.iotlb.sizeOf(hit) === '2m' ? 1 : 0;
      this.outPerms = this.iotlb.permsOf(hit);
      if (merged > ready) ready = merged;
    } else {
      const ok = walker.walk(did, pasid, pc.fsptptrPfnOf(e), levels, vpn, write);
      let done: number;
      if (merged > 0) {
        done = Math.max(merged, ready);
      } else {
        done = walker.schedule(ready, walker.outLevelsRead);
        walker.track(did, pasid, vpn, done);
      }
      this.outWalkNs = done - ready;
      ready = done;
      if (!ok) return this.fail(Xlate.FAULT, walker.outFault, ready);
      this.outPfn = walker.outPfn;
      this.outSize = walker.outSize;
      this.outPerms = walker.outPerms;
      this.iotlb.insert(
        did,
        pasid,
        vpn,
        walker.outSize === 1 ? '2m' : '4k',
        walker.outSize === 1 ? walker.outLeafPfn : walker.outPfn,
        walker.outPerms,
      );
    }
    this.outReadyNs = ready;
    // SGN.2: a user request to a supervisor page.
    if (!priv && (this.outPerms & Perm.U) === 0) {
      this.outPerms = 0;
      this.outFault = FaultReason.SGN_2;
      return Xlate.FAULT;
    }
    this.outFault = 0;
    return Xlate.OK;
  }

  // Scratch fields of fetchPasidEntry (no allocation).
  private eDid = 0;
  private ePgtt = 0;
  private eSre = false;
  private eFspm = 0;
  private eRootPfn = 0;
  private eFpd = false;

  /** Scratch of the table check (no allocation). */
  private readonly check = pasidEntryCheck();

  /**
   * Reads the context entry, the PASID directory entry and the PASID entry from memory
   * ({@link checkPasidEntry}); returns 0 with the e* fields set, or the fault reason.
   * `outFpd` reports whether an FPD bit on the way suppresses recording, `outDte` the
   * context entry's DTE.
   */
  private fetchPasidEntry(rid: number, pasid: number): number {
    const c = this.check;
    const r = checkPasidEntry(this.mem, this.rootTablePfn, rid, true, pasid, false, c);
    this.outFpd = c.fpd;
    this.outDte = c.contextDw >= 0 && getField(this.mem.u32, c.contextDw, CE.dte) === 1;
    if (r !== 0) return r;
    const u32 = this.mem.u32;
    const peDw = c.entryDw;
    this.eDid = getField(u32, peDw, PE.did);
    this.ePgtt = getField(u32, peDw, PE.pgtt);
    this.eSre = getField(u32, peDw, PE.sre) === 1;
    this.eFspm = getField(u32, peDw, PE.fspm);
    this.eRootPfn = getField(u32, peDw, PE.fsptptr);
    this.eFpd = c.fpd;
    return 0;
  }

  private fail(cls: number, reason: number, readyNs: number): number {
    this.outFault = reason;
    this.outReadyNs = readyNs;
    this.outPerms = 0;
    return cls;
  }
}
