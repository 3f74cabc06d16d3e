/**
 * Fixed-size binary messages between components (DESIGN §3 data plane): 16 dwords per slot in
 * a `Uint32Array` pool, the same slot format the SharedArrayBuffer rings of the threaded
 * runtime carry. Where VT-d defines an encoding the payload is that encoding: a page request
 * carries the 32-byte page_req_dsc, a page group response and a device-TLB invalidation carry
 * the 32-byte descriptor.
 *
 *   dw0   kind (7:0) | flags (31:8)
 *   dw1   tag: the sender's id for matching the completion
 *   dw2   source endpoint id
 *   dw3…  the payload, laid out per kind by the record layouts below (a 32-byte descriptor
 *         at dw3..dw10 where VT-d defines one)
 *
 * Page numbers above 2^32 travel as two dwords (lo, hi); byte addresses likewise. Such a
 * "wide" value is below 2^53 (an exact double): `getWide` refuses a high dword that says
 * otherwise, the one check a message read on the data path makes. The checked decoder of
 * whole messages, for trust boundaries, is `message-codec.ts`.
 */

import { codedError, ErrorCode } from '../errors.js';
import { describeValue } from '../layout/field.js';

/** Dwords per message slot. */
export const MSG_DWORDS = 16;

/** Message kinds. */
export const MsgKind = {
  /** ATS translation request ({@link AtsReq}). */
  ATS_REQ: 1,
  /** ATS completion ({@link AtsCpl}). */
  ATS_CPL: 2,
  /** Page request: page_req_dsc at {@link DESC}. */
  PAGE_REQ: 3,
  /** Page group response: page_grp_resp_dsc at {@link DESC}. */
  PGRP_RESP: 4,
  /** DMA request ({@link DmaReq}). */
  DMA_REQ: 5,
  /** DMA completion ({@link DmaCpl}). */
  DMA_CPL: 6,
  /** Device-TLB invalidation request: the type 3h or 8h descriptor ({@link DevtlbInv}). */
  DEVTLB_INV: 7,
  /** Device-TLB invalidation completion. */
  DEVTLB_INV_CPL: 8,
  /**
   * Client control between a client's process (engine side) and its job stream (device
   * side), all laid out as {@link ClientMsg}.
   */
  CLIENT_START: 9,
  CLIENT_STOP: 10,
  CLIENT_IDLE: 11,
  CLIENT_FAULT: 12,
  CLIENT_RESUBMIT: 13,
  /**
   * Configuration write from the root complex to a function's capabilities
   * ({@link ConfigWrite}), and its completion (config writes are non-posted).
   */
  CONFIG_WRITE: 14,
  CONFIG_CPL: 15,
} as const;

/** CONFIG_WRITE dw3: the capability enables a configuration write sets. */
export const ConfigEnable = {
  /** PASID Control: PASID Enable. */
  PASID: 1,
  /** PRI Control: Enable. */
  PRI: 2,
  /** ATS Control: Enable. */
  ATS: 4,
} as const;

/** A message kind value. */
export type MsgKindCode = (typeof MsgKind)[keyof typeof MsgKind];

/** Flags in dw0 bits 31:8. */
export const MsgFlag = {
  PASID: 1 << 8,
  WRITE: 1 << 9,
  EXEC: 1 << 10,
  PRIV: 1 << 11,
  /** DMA with an address translated by ATS (AT = translated). */
  TRANSLATED: 1 << 12,
} as const;

/** Completion status values (dw3 of ATS_CPL / DMA_CPL). */
export const CplStatus = {
  SUCCESS: 0,
  /** Unsupported Request. */
  UR: 1,
} as const;

/** Permission bits of an ATS completion and of cached translations. */
export const Perm = { R: 1, W: 2, X: 4, U: 8, S: 16 } as const;

/** Word offsets of the header every slot has; payloads follow the record layouts below. */
export const MW = {
  KIND: 0,
  TAG: 1,
  SRC: 2,
} as const;

const TWO32 = 0x1_0000_0000;

/** Wide values are below 2^53: the high dword of one is at most 2^21 − 1. */
export const WIDE_HI_MAX = 0x1f_ffff;

/**
 * Record layouts: the word offset of each field from a slot's base, per message kind. Fields
 * named `…_WIDE` hold a page number or byte address in two dwords (`setWide` / `getWide`).
 * Nothing outside this file addresses a payload word by a bare offset.
 */
/** ATS_REQ: translation request for one page. */
export const AtsReq = { PASID: 3, VPN_WIDE: 4, RID: 6 } as const;
/** ATS_CPL: the completion; size 0 is a 4 KiB translation, 1 a 2 MiB one. */
export const AtsCpl = { STATUS: 3, PFN_WIDE: 4, PERMS: 6, SIZE: 7 } as const;
/**
 * DMA_REQ: read or write of `LENGTH` bytes at `ADDR_WIDE` (a virtual address, or a physical
 * one when translated) to or from the device buffer at `BUFFER_OFFSET`. Model metadata for
 * the invariant checker, not on the wire: a translated request carries the page it was
 * translated from (`VPN_WIDE`), and `HOSTILE` is 1 when a hostile stream of the device sent
 * it (scenario `adversary`: its translated DMA is counted as an ATS trust breach, not
 * checked as an honest one).
 */
export const DmaReq = {
  PASID: 3,
  ADDR_WIDE: 4,
  LENGTH: 6,
  BUFFER_OFFSET: 7,
  RID: 8,
  VPN_WIDE: 9,
  HOSTILE: 11,
} as const;
/** DMA_CPL: the completion status. */
export const DmaCpl = { STATUS: 3 } as const;
/** PAGE_REQ, PGRP_RESP, DEVTLB_INV: the 32-byte VT-d descriptor starts here. */
export const DESC = 3;
/** DEVTLB_INV: when the unit sent it (the invalidation latency is measured from there). */
export const DevtlbInv = { DESC, ISSUED_NS_WIDE: 11 } as const;
/**
 * CLIENT_*: the client, and for START its PASID and buffers; for FAULT the faulting operands,
 * the bytes of the job left from there and when the job was issued, which RESUBMIT carries
 * back (`LENGTH` 0: the client could not make the pages present, the rest of the job is
 * dropped). `ISSUED_NS_WIDE` is model metadata (the client's own record of its job), so the
 * rest's `job.latency` runs from the job's first submission.
 */
export const ClientMsg = {
  CLIENT: 3,
  PASID: 4,
  SRC_WIDE: 5,
  DST_WIDE: 7,
  LENGTH: 9,
  ISSUED_NS_WIDE: 10,
} as const;
/** CONFIG_WRITE: the {@link ConfigEnable} bits and the PRI outstanding allocation. */
export const ConfigWrite = { ENABLES: 3, PRI_ALLOCATION: 4 } as const;

/** A growable pool of message slots with a free list; slot words are reused, never reallocated per message. */
export class MessagePool {
  words: Uint32Array;
  private free: Int32Array;
  private freeTop = 0;
  private capacity: number;
  /** Slots currently allocated. */
  inUse = 0;

  constructor(capacity = 1024) {
    this.capacity = capacity;
    this.words = new Uint32Array(capacity * MSG_DWORDS);
    this.free = new Int32Array(capacity);
    for (let i = capacity - 1; i >= 0; i--) this.free[this.freeTop++] = i;
  }

  /** Takes a zeroed slot and returns its index. */
  alloc(): number {
    if (this.freeTop === 0) this.grow();
    const slot = this.free[--this.freeTop]!;
    this.words.fill(0, slot * MSG_DWORDS, slot * MSG_DWORDS + MSG_DWORDS);
    this.inUse++;
    return slot;
  }

  /** Returns a slot to the pool. */
  release(slot: number): void {
    this.free[this.freeTop++] = slot;
    this.inUse--;
  }

  /** First dword index of a slot. */
  base(slot: number): number {
    return slot * MSG_DWORDS;
  }

  /**
   * Writes a page number or byte address into two dwords at `word`. Throws `EINVAL` unless it
   * is an integer in [0, 2^53): a fraction or a negative would be stored as another value.
   */
  setWide(word: number, value: number): void {
    // isSafeInteger: no coercion, so a bigint or an object is refused, never converted
    if (!(Number.isSafeInteger(value) && value >= 0)) throw badWideValue(word, value);
    this.words[word] = value >>> 0; // ToUint32 is exact modulo 2^32 for integers < 2^53
    this.words[word + 1] = Math.floor(value / TWO32);
  }

  /**
   * Reads a value written by {@link setWide}. Throws `EINVAL` when the high dword makes it
   * 2^53 or more (a malformed message: the value would be rounded); one integer compare.
   */
  getWide(word: number): number {
    const hi = this.words[word + 1]!;
    if (hi > WIDE_HI_MAX) throw badWideWords(word, this.words[word]!, hi);
    return hi * TWO32 + this.words[word]!;
  }

  private grow(): void {
    const n = this.capacity * 2;
    const w = new Uint32Array(n * MSG_DWORDS);
    w.set(this.words);
    this.words = w;
    const f = new Int32Array(n);
    f.set(this.free.subarray(0, this.freeTop));
    for (let i = n - 1; i >= this.capacity; i--) f[this.freeTop++] = i;
    this.free = f;
    this.capacity = n;
  }
}

/** The error of {@link MessagePool.setWide} (kept out of line: the method stays small). */
function badWideValue(word: number, value: number): Error {
  return codedError(
    ErrorCode.EINVAL,
    `message word ${word}: a wide value is an integer in [0, 2^53), got ${describeValue(value)}`,
  );
}

/** The error of {@link MessagePool.getWide}, with the raw dwords. */
export function badWideWords(word: number, lo: number, hi: number): Error {
  const hex = (v: number) => `0x${v.toString(16).padStart(8, '0')}`;
  return codedError(
    ErrorCode.EINVAL,
    `message words ${word}..${word + 1}: lo ${hex(lo)} hi ${hex(hi)} is 2^53 or more, not a ` +
      'page number or byte address (the high dword of a wide value is at most 0x001fffff)',
  );
}
