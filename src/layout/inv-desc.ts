/**
 * Invalidation-queue descriptors, 256 bits each in scalable mode (spec §7.0–7.4 and §4.5;
 * VT-d 6.5.2; kernel QI_* macros in iommu.h and `qi_flush_*` in dmar.c). The type is bits
 * 11:9 (Type[6:4], zero for every type here) ‖ bits 3:0; qw2 and qw3 are reserved except the
 * private data of a page group response with PDP=1.
 *
 *   1h context-cache  qw0: g 5:4, did 31:16, sid 47:32, fm 49:48
 *   2h iotlb          qw0: g 5:4, dw 6, dr 7, did 31:16; qw1: am 5:0, ih 6, addr 63:12
 *   3h devtlb         qw0: pfsid[3:0] 15:12, qdep (MIP) 20:16, sid 47:32, pfsid[15:4] 63:52;
 *                     qw1: s 0, addr 63:12  (non-PASID Device-TLB invalidate)
 *   4h iec            qw0: g 4 (index-selective), im 31:27, iidx 47:32
 *   5h wait           qw0: if 4, sw 5, fn 6, pd 7, statusData 63:32;
 *                     qw1: statusAddr 63:2 (4-byte aligned; bits 1:0 reserved)
 *   6h piotlb         qw0: g 5:4, did 31:16, pasid 51:32; qw1: am 5:0, ih 6, addr 63:12
 *   7h pasid-cache    qw0: g 5:4, did 31:16, pasid 51:32
 *   8h pdevtlb        qw0: qdep (MIP) 8:4, pfsid[3:0] 15:12, sid 31:16, pasid 51:32,
 *                     pfsid[15:4] 63:52; qw1: gi 0, s 11, addr 63:12
 *   9h page group response: see page-group-response.ts
 *
 * The public form (`InvDesc`) names the kind in `type`, has booleans for 1-bit flags and
 * joins the two PFSID pieces into one 16-bit `pfsid`. Device-TLB ranges use the ATS "lowest
 * zero bit gives the size" encoding: `encodeDevTlbRange` / `decodeDevTlbRange`.
 *
 * Not modelled: page stream response (Ah) and the other Type[6:4] ≠ 0 descriptors, which
 * decode as unknown types (an invalidation queue error in hardware).
 */

import {
  checkInput,
  decodeLayout,
  defineLayout,
  describeValue,
  encodeLayout,
  encodeLayoutU32,
  errorEinval,
  flagBit,
  getField,
  hexQwords,
  isPlainObject,
  type Layout,
  qwordsProblem,
  rangeErrorEinval,
  reservedBits,
  reservedBitsU32,
} from './field.js';
import {
  PAGE_GROUP_RESPONSE,
  PAGE_GROUP_RESPONSE_TYPE,
  type PageGroupResponse,
  pageGroupResponseReservedBits,
  pageGroupResponseReservedU32,
  toPageGroupResponse,
} from './page-group-response.js';

/** Number of slots of the kernel's invalidation queue (`QI_LENGTH`). */
export const QI_LENGTH = 256;
/** Size of one scalable-mode invalidation descriptor in bytes. */
export const INV_DESC_BYTES = 32;

// Kernel type codes (iommu.h).
/** Context-cache invalidate type code. */
export const QI_CC_TYPE = 0x1;
/** IOTLB invalidate type code. */
export const QI_IOTLB_TYPE = 0x2;
/** Device-TLB invalidate (non-PASID) type code. */
export const QI_DIOTLB_TYPE = 0x3;
/** Interrupt entry cache invalidate type code. */
export const QI_IEC_TYPE = 0x4;
/** Invalidation wait type code. */
export const QI_IWD_TYPE = 0x5;
/** PASID-based IOTLB invalidate type code. */
export const QI_EIOTLB_TYPE = 0x6;
/** PASID-cache invalidate type code. */
export const QI_PC_TYPE = 0x7;
/** PASID-based device-TLB invalidate type code. */
export const QI_DEIOTLB_TYPE = 0x8;
/** Page group response type code. */
export const QI_PGRP_RESP_TYPE = PAGE_GROUP_RESPONSE_TYPE;

/** Descriptor kind name → type code (Type[6:4] ‖ Type[3:0]). */
export const InvDescCode = {
  'context-cache': QI_CC_TYPE,
  iotlb: QI_IOTLB_TYPE,
  devtlb: QI_DIOTLB_TYPE,
  iec: QI_IEC_TYPE,
  wait: QI_IWD_TYPE,
  piotlb: QI_EIOTLB_TYPE,
  'pasid-cache': QI_PC_TYPE,
  pdevtlb: QI_DEIOTLB_TYPE,
  'page-group-response': QI_PGRP_RESP_TYPE,
} as const;

/** The kinds of invalidation descriptor the simulator knows. */
export type InvDescType = keyof typeof InvDescCode;

/** Type code → descriptor kind name. */
export const InvDescTypeByCode: Readonly<Record<number, InvDescType>> = Object.freeze(
  Object.fromEntries(Object.entries(InvDescCode).map(([name, code]) => [code, name])) as Record<
    number,
    InvDescType
  >,
);

// Invalidation status words the kernel writes and polls (`QI_FREE` … `QI_ABORT`).
/** Status word of a free queue slot. */
export const QI_FREE = 0;
/** Status word of a submitted descriptor. */
export const QI_IN_USE = 1;
/** Status word the wait descriptor writes on completion. */
export const QI_DONE = 2;
/** Status word of a wait aborted by a device-TLB time-out. */
export const QI_ABORT = 3;

// Context-cache invalidate G (bits 5:4): kernel DMA_CCMD_{GLOBAL,DOMAIN,DEVICE}_INVL.
/** Context-cache G: global. */
export const QI_CC_GRAN_GLOBAL = 1;
/** Context-cache G: domain-selective. */
export const QI_CC_GRAN_DOMAIN = 2;
/** Context-cache G: device-selective. */
export const QI_CC_GRAN_DEVICE = 3;

// IOTLB invalidate G (bits 5:4): kernel DMA_TLB_{GLOBAL,DSI,PSI}_FLUSH.
/** IOTLB G: global. */
export const QI_IOTLB_GRAN_GLOBAL = 1;
/** IOTLB G: domain-selective. */
export const QI_IOTLB_GRAN_DSI = 2;
/** IOTLB G: page-selective within domain. */
export const QI_IOTLB_GRAN_PSI = 3;

// P_IOTLB G (bits 5:4): PASID-selective and page-selective-within-PASID.
/** P_IOTLB G 10b: PASID-selective (non-global) within domain. */
export const QI_GRAN_NONG_PASID = 2;
/** P_IOTLB G 11b: page-selective within PASID. */
export const QI_GRAN_PSI_PASID = 3;

// PASID-cache invalidate G (bits 5:4).
/** PASID-cache G 00b: all PASIDs of a domain. */
export const QI_PC_ALL_PASIDS = 0;
/** PASID-cache G 01b: PASID-selective within domain. */
export const QI_PC_PASID_SEL = 1;
/** PASID-cache G 11b: global. */
export const QI_PC_GLOBAL = 3;

// Interrupt entry cache invalidate G (bit 4): global or index-selective.
/** Interrupt entry cache G: global. */
export const QI_IEC_GLOBAL = 0;
/** Interrupt entry cache G: index-selective. */
export const QI_IEC_SELECTIVE = 1;

// P_DEVTLB GI (qw1 bit 0): kernel QI_DEV_IOTLB_GRAN_ALL / _PASID_SEL.
/** P_DEVTLB GI=1: all PASIDs of the function. */
export const QI_DEV_IOTLB_GRAN_ALL = 1;
/** P_DEVTLB GI=0: the given PASID only. */
export const QI_DEV_IOTLB_GRAN_PASID_SEL = 0;

/** Size bit of a type 3h descriptor, as a qw1 value (`QI_DEV_IOTLB_SIZE`, qw1 bit 0). */
export const QI_DEV_IOTLB_SIZE = 1;
/** Size bit of a type 8h descriptor, as a qw1 value (`QI_DEV_EIOTLB_SIZE`, qw1 bit 11). */
export const QI_DEV_EIOTLB_SIZE = 0x800;
/** Queue depth limit of a type 3h descriptor (kernel constant). */
export const QI_DEV_IOTLB_MAX_INVS = 32;
/** Queue depth limit of a type 8h descriptor (kernel constant). */
export const QI_DEV_EIOTLB_MAX_INVS = 32;

/** qw1 of a full-range device-TLB invalidation, type 8h (S=1, ADDR=0x7FFF_FFFF_FFFF_F). */
export const DEVTLB_FULL_RANGE_QW1_PASID = 0x7fff_ffff_ffff_f800n;
/** qw1 of a full-range device-TLB invalidation, type 3h (S at bit 0). */
export const DEVTLB_FULL_RANGE_QW1 = 0x7fff_ffff_ffff_f001n;
/** Size order of the whole 64-bit address space in 4 KiB pages. */
export const DEVTLB_WHOLE_SPACE_ORDER = 52;

const TYPE = { type: [3, 0], typeHi: [11, 9] } as const;

/** Context-cache Invalidate, type 1h. */
export const CONTEXT_CACHE_INV = defineLayout('cc_inv_dsc', 256, {
  ...TYPE,
  g: [5, 4],
  did: [31, 16],
  sid: [47, 32],
  fm: [49, 48],
});

/** IOTLB Invalidate, type 2h. */
export const IOTLB_INV = defineLayout('iotlb_inv_dsc', 256, {
  ...TYPE,
  g: [5, 4],
  dw: [6, 6],
  dr: [7, 7],
  did: [31, 16],
  am: [69, 64],
  ih: [70, 70],
  addr: [127, 76, { shift: 12 }],
});

/** Device-TLB Invalidate without PASID, type 3h. */
export const DEVTLB_INV = defineLayout('dev_iotlb_inv_dsc', 256, {
  ...TYPE,
  pfsidLo: [15, 12],
  qdep: [20, 16],
  sid: [47, 32],
  pfsidHi: [63, 52],
  s: [64, 64],
  addr: [127, 76, { shift: 12 }],
});

/** Interrupt Entry Cache Invalidate, type 4h. */
export const IEC_INV = defineLayout('iec_inv_dsc', 256, {
  ...TYPE,
  g: [4, 4],
  im: [31, 27],
  iidx: [47, 32],
});

/** Invalidation Wait, type 5h. */
export const WAIT_DESC = defineLayout('inv_wait_dsc', 256, {
  ...TYPE,
  if: [4, 4],
  sw: [5, 5],
  fn: [6, 6],
  pd: [7, 7],
  statusData: [63, 32],
  statusAddr: [127, 66, { shift: 2 }],
});

/** PASID-based IOTLB Invalidate (P_IOTLB), type 6h. */
export const PIOTLB_INV = defineLayout('p_iotlb_inv_dsc', 256, {
  ...TYPE,
  g: [5, 4],
  did: [31, 16],
  pasid: [51, 32],
  am: [69, 64],
  ih: [70, 70],
  addr: [127, 76, { shift: 12 }],
});

/** PASID-cache Invalidate, type 7h. */
export const PASID_CACHE_INV = defineLayout('pc_inv_dsc', 256, {
  ...TYPE,
  g: [5, 4],
  did: [31, 16],
  pasid: [51, 32],
});

/** PASID-based Device-TLB Invalidate (P_DEVTLB), type 8h. */
export const PDEVTLB_INV = defineLayout('p_dev_tlb_inv_dsc', 256, {
  ...TYPE,
  qdep: [8, 4],
  pfsidLo: [15, 12],
  sid: [31, 16],
  pasid: [51, 32],
  pfsidHi: [63, 52],
  gi: [64, 64],
  s: [75, 75],
  addr: [127, 76, { shift: 12 }],
});

/** The layout of each descriptor kind (the page group response without private data). */
export const INV_DESC_LAYOUT: Readonly<Record<InvDescType, Layout>> = {
  'context-cache': CONTEXT_CACHE_INV,
  iotlb: IOTLB_INV,
  devtlb: DEVTLB_INV,
  iec: IEC_INV,
  wait: WAIT_DESC,
  piotlb: PIOTLB_INV,
  'pasid-cache': PASID_CACHE_INV,
  pdevtlb: PDEVTLB_INV,
  'page-group-response': PAGE_GROUP_RESPONSE,
};

/** Context-cache Invalidate (1h). */
export interface ContextCacheInvDesc {
  type: 'context-cache';
  g: number;
  did: number;
  sid: number;
  fm: number;
}

/** IOTLB Invalidate (2h); `addr` is a byte address. */
export interface IotlbInvDesc {
  type: 'iotlb';
  g: number;
  dw: boolean;
  dr: boolean;
  did: number;
  am: number;
  ih: boolean;
  addr: number;
}

/** Device-TLB Invalidate without PASID (3h); `addr` carries the size encoding when `s`. */
export interface DevTlbInvDesc {
  type: 'devtlb';
  qdep: number;
  pfsid: number;
  sid: number;
  s: boolean;
  addr: number;
}

/** Interrupt Entry Cache Invalidate (4h); `g` true = index-selective. */
export interface IecInvDesc {
  type: 'iec';
  g: boolean;
  im: number;
  iidx: number;
}

/** Invalidation Wait (5h); `statusAddr` is a 4-byte aligned byte address. */
export interface WaitDesc {
  type: 'wait';
  if: boolean;
  sw: boolean;
  fn: boolean;
  pd: boolean;
  statusData: number;
  statusAddr: number;
}

/** PASID-based IOTLB Invalidate (6h); `addr` is a byte address. */
export interface PiotlbInvDesc {
  type: 'piotlb';
  g: number;
  did: number;
  pasid: number;
  am: number;
  ih: boolean;
  addr: number;
}

/** PASID-cache Invalidate (7h). */
export interface PasidCacheInvDesc {
  type: 'pasid-cache';
  g: number;
  did: number;
  pasid: number;
}

/** PASID-based Device-TLB Invalidate (8h); `addr` carries the size encoding when `s`. */
export interface PdevTlbInvDesc {
  type: 'pdevtlb';
  qdep: number;
  pfsid: number;
  sid: number;
  pasid: number;
  gi: boolean;
  s: boolean;
  addr: number;
}

/** Page group response (9h) as an invalidation descriptor. */
export interface PageGroupResponseInvDesc extends PageGroupResponse {
  type: 'page-group-response';
}

/** Any invalidation descriptor in its public form, discriminated on `type`. */
export type InvDesc =
  | ContextCacheInvDesc
  | IotlbInvDesc
  | DevTlbInvDesc
  | IecInvDesc
  | WaitDesc
  | PiotlbInvDesc
  | PasidCacheInvDesc
  | PdevTlbInvDesc
  | PageGroupResponseInvDesc;

/** Input of `encodeInvDesc`: `type` plus any of that kind's fields (missing ones are 0/false). */
export type InvDescInput = {
  [T in InvDescType]: { type: T } & Partial<Omit<Extract<InvDesc, { type: T }>, 'type'>>;
}[InvDescType];

/** Why a descriptor is rejected (the invalidation queue raises IQE for any of these). */
export interface InvDescProblem {
  /**
   * `bad-length`: not an array of 4 entries; `bad-qword`: an entry is not an unsigned 64-bit
   * bigint; `unknown-type`: a type code the simulator does not know; `reserved-bits`.
   */
  readonly kind: 'bad-length' | 'bad-qword' | 'unknown-type' | 'reserved-bits';
  /** Type[6:4] ‖ Type[3:0] as read, or -1 when the qwords are unusable. */
  readonly typeCode: number;
  readonly type: InvDescType | null;
  /** Offending reserved bits per qword (kind 'reserved-bits'), else null. */
  readonly reserved: readonly bigint[] | null;
  /** Human-readable explanation including the raw qwords in hex. */
  readonly message: string;
}

function splitPfsid(layout: string, pfsid: unknown): { lo: number; hi: number } {
  const v = pfsid === undefined ? 0 : pfsid;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffff) {
    throw rangeErrorEinval(
      `${layout}.pfsid: expected an integer in 0..0xffff (16 bits), got ${describeValue(v)}`,
    );
  }
  return { lo: v & 0xf, hi: v >>> 4 };
}

/** The fields `encodeInvDesc` accepts per descriptor kind, `type` included. */
const INV_DESC_KEYS: Readonly<Record<InvDescType, Readonly<Record<string, true>>>> = {
  'context-cache': keys('type', 'g', 'did', 'sid', 'fm'),
  iotlb: keys('type', 'g', 'dw', 'dr', 'did', 'am', 'ih', 'addr'),
  devtlb: keys('type', 'qdep', 'pfsid', 'sid', 's', 'addr'),
  iec: keys('type', 'g', 'im', 'iidx'),
  wait: keys('type', 'if', 'sw', 'fn', 'pd', 'statusData', 'statusAddr'),
  piotlb: keys('type', 'g', 'did', 'pasid', 'am', 'ih', 'addr'),
  'pasid-cache': keys('type', 'g', 'did', 'pasid'),
  pdevtlb: keys('type', 'qdep', 'pfsid', 'sid', 'pasid', 'gi', 's', 'addr'),
  'page-group-response': keys(
    'type',
    'pasidPresent',
    'privDataPresent',
    'code',
    'rid',
    'pasid',
    'lpig',
    'prgIndex',
  ),
};

function keys(...names: string[]): Readonly<Record<string, true>> {
  return Object.fromEntries(names.map((n) => [n, true]));
}

/** The layout of a descriptor and its field values (what both encoders write). */
type LayoutAndValues = readonly [Layout, Partial<Readonly<Record<string, number>>>];

/** Pairs a layout with values of its own fields (checked by the compiler). */
function withFields<K extends string>(
  layout: Layout<K>,
  values: Partial<Readonly<Record<K, number>>>,
): LayoutAndValues {
  return [layout, values];
}

/**
 * The layout and field values of an invalidation descriptor. Throws EINVAL when `desc` is not
 * an object, names an unknown type or a field its type does not have, or gives a flag that is
 * not a boolean; field values are range-checked by the layout encoders.
 */
function invDescFields(input: InvDescInput): LayoutAndValues {
  if (!isPlainObject(input)) {
    throw errorEinval(`encodeInvDesc: expected a descriptor object, got ${describeValue(input)}`);
  }
  const type: unknown = input.type;
  if (typeof type !== 'string' || !Object.hasOwn(INV_DESC_KEYS, type)) {
    throw errorEinval(
      `encodeInvDesc: type must be one of ${Object.keys(InvDescCode).join(', ')}; got ${describeValue(type)}`,
    );
  }
  const where = `encodeInvDesc (${type})`;
  checkInput(where, input, INV_DESC_KEYS[type as InvDescType]);
  const desc = input;
  const flag = (name: string, v: unknown): number => flagBit(where, name, v);
  switch (desc.type) {
    case 'context-cache':
      return withFields(CONTEXT_CACHE_INV, {
        type: QI_CC_TYPE,
        g: desc.g,
        did: desc.did,
        sid: desc.sid,
        fm: desc.fm,
      });
    case 'iotlb':
      return withFields(IOTLB_INV, {
        type: QI_IOTLB_TYPE,
        g: desc.g,
        dw: flag('dw', desc.dw),
        dr: flag('dr', desc.dr),
        did: desc.did,
        am: desc.am,
        ih: flag('ih', desc.ih),
        addr: desc.addr,
      });
    case 'devtlb': {
      const pfsid = splitPfsid(DEVTLB_INV.name, desc.pfsid);
      return withFields(DEVTLB_INV, {
        type: QI_DIOTLB_TYPE,
        qdep: desc.qdep,
        pfsidLo: pfsid.lo,
        pfsidHi: pfsid.hi,
        sid: desc.sid,
        s: flag('s', desc.s),
        addr: desc.addr,
      });
    }
    case 'iec':
      return withFields(IEC_INV, {
        type: QI_IEC_TYPE,
        g: flag('g', desc.g),
        im: desc.im,
        iidx: desc.iidx,
      });
    case 'wait':
      return withFields(WAIT_DESC, {
        type: QI_IWD_TYPE,
        if: flag('if', desc.if),
        sw: flag('sw', desc.sw),
        fn: flag('fn', desc.fn),
        pd: flag('pd', desc.pd),
        statusData: desc.statusData,
        statusAddr: desc.statusAddr,
      });
    case 'piotlb':
      return withFields(PIOTLB_INV, {
        type: QI_EIOTLB_TYPE,
        g: desc.g,
        did: desc.did,
        pasid: desc.pasid,
        am: desc.am,
        ih: flag('ih', desc.ih),
        addr: desc.addr,
      });
    case 'pasid-cache':
      return withFields(PASID_CACHE_INV, {
        type: QI_PC_TYPE,
        g: desc.g,
        did: desc.did,
        pasid: desc.pasid,
      });
    case 'pdevtlb': {
      const pfsid = splitPfsid(PDEVTLB_INV.name, desc.pfsid);
      return withFields(PDEVTLB_INV, {
        type: QI_DEIOTLB_TYPE,
        qdep: desc.qdep,
        pfsidLo: pfsid.lo,
        pfsidHi: pfsid.hi,
        sid: desc.sid,
        pasid: desc.pasid,
        gi: flag('gi', desc.gi),
        s: flag('s', desc.s),
        addr: desc.addr,
      });
    }
    case 'page-group-response':
      return withFields(PAGE_GROUP_RESPONSE, {
        type: QI_PGRP_RESP_TYPE,
        pasidPresent: flag('pasidPresent', desc.pasidPresent),
        privDataPresent: flag('privDataPresent', desc.privDataPresent),
        code: desc.code,
        rid: desc.rid,
        pasid: desc.pasid,
        lpig: flag('lpig', desc.lpig),
        prgIndex: desc.prgIndex,
      });
  }
}

/**
 * Encodes an invalidation descriptor into 4 qwords. Throws EINVAL for a non-object, an unknown
 * type, a field the type does not have or a flag that is not a boolean, and `RangeError`
 * EINVAL for a value that does not fit its field.
 */
export function encodeInvDesc(desc: InvDescInput): bigint[] {
  const [layout, values] = invDescFields(desc);
  return encodeLayout(layout, values);
}

/**
 * Encodes an invalidation descriptor into the 8 dwords of a `Uint32Array` slot from dword
 * `baseDword`: the bits of {@link encodeInvDesc} without a bigint (software's data path).
 * Throws `RangeError` EINVAL on bad values, leaving the slot as it was.
 */
export function encodeInvDescU32(desc: InvDescInput, u32: Uint32Array, baseDword: number): void {
  const [layout, values] = invDescFields(desc);
  encodeLayoutU32(layout, values, u32, baseDword);
}

/** Type[6:4] ‖ Type[3:0] of a descriptor held as qwords. */
export function invDescCode(qw0: bigint): number {
  return Number(((qw0 >> 5n) & 0x70n) | (qw0 & 0xfn));
}

/** Type[6:4] ‖ Type[3:0] of a descriptor in a `Uint32Array` slot at dword `baseDword`. */
export function invDescCodeU32(u32: Uint32Array, baseDword: number): number {
  const dw0 = u32[baseDword]!;
  return ((dw0 >>> 5) & 0x70) | (dw0 & 0xf);
}

/** The descriptor kind of a type code, or `null` for a type the simulator does not know. */
export function invDescTypeOf(code: number): InvDescType | null {
  return Object.hasOwn(InvDescTypeByCode, code) ? InvDescTypeByCode[code]! : null;
}

/**
 * Checks a descriptor without throwing: `null` when it is well-formed, else the problem (the
 * invalidation queue model raises IQE on any problem).
 */
export function checkInvDesc(qwords: readonly bigint[]): InvDescProblem | null {
  // Length and entry types are separate problems with their own messages: one message for
  // both once reported "expected 4 qwords, got 4" for four numbers.
  const bad = qwordsProblem('invalidation descriptor', 4, qwords);
  if (bad !== null) {
    return { kind: bad.kind, typeCode: -1, type: null, reserved: null, message: bad.message };
  }
  const raw = hexQwords(qwords);
  const typeCode = invDescCode(qwords[0]!);
  const type = invDescTypeOf(typeCode);
  if (type === null) {
    return {
      kind: 'unknown-type',
      typeCode,
      type: null,
      reserved: null,
      message: `invalidation descriptor: unknown type 0x${typeCode.toString(16)} ${raw}`,
    };
  }
  const reserved =
    type === 'page-group-response'
      ? pageGroupResponseReservedBits(qwords)
      : reservedBits(INV_DESC_LAYOUT[type], qwords);
  if (reserved !== null) {
    return {
      kind: 'reserved-bits',
      typeCode,
      type,
      reserved,
      message: `invalidation descriptor (${type}): reserved bits ${hexQwords(reserved)} set in ${raw}`,
    };
  }
  return null;
}

/**
 * True when the descriptor in a `Uint32Array` slot at dword `baseDword` has a known type and
 * no reserved bit set (the data-path form of `checkInvDesc`). Allocation-free.
 */
export function isInvDescValidU32(u32: Uint32Array, baseDword: number): boolean {
  const type = invDescTypeOf(invDescCodeU32(u32, baseDword));
  if (type === null) return false;
  if (type === 'page-group-response') return !pageGroupResponseReservedU32(u32, baseDword);
  return !reservedBitsU32(INV_DESC_LAYOUT[type], u32, baseDword);
}

function joinPfsid(v: { pfsidLo: number; pfsidHi: number }): number {
  return v.pfsidHi * 16 + v.pfsidLo;
}

/**
 * Decodes 4 qwords into an invalidation descriptor. Throws EINVAL (the {@link checkInvDesc}
 * message) when `qwords` is not an array of 4 unsigned 64-bit bigints, the type is unknown or
 * a reserved bit is set; the last two carry the raw qwords in hex.
 */
export function decodeInvDesc(qwords: readonly bigint[]): InvDesc {
  const problem = checkInvDesc(qwords);
  if (problem !== null) throw errorEinval(problem.message);
  const type = invDescTypeOf(invDescCode(qwords[0]!))!;
  switch (type) {
    case 'context-cache': {
      const v = decodeLayout(CONTEXT_CACHE_INV, qwords);
      return { type, g: v.g, did: v.did, sid: v.sid, fm: v.fm };
    }
    case 'iotlb': {
      const v = decodeLayout(IOTLB_INV, qwords);
      return {
        type,
        g: v.g,
        dw: v.dw === 1,
        dr: v.dr === 1,
        did: v.did,
        am: v.am,
        ih: v.ih === 1,
        addr: v.addr,
      };
    }
    case 'devtlb': {
      const v = decodeLayout(DEVTLB_INV, qwords);
      return { type, qdep: v.qdep, pfsid: joinPfsid(v), sid: v.sid, s: v.s === 1, addr: v.addr };
    }
    case 'iec': {
      const v = decodeLayout(IEC_INV, qwords);
      return { type, g: v.g === 1, im: v.im, iidx: v.iidx };
    }
    case 'wait': {
      const v = decodeLayout(WAIT_DESC, qwords);
      return {
        type,
        if: v.if === 1,
        sw: v.sw === 1,
        fn: v.fn === 1,
        pd: v.pd === 1,
        statusData: v.statusData,
        statusAddr: v.statusAddr,
      };
    }
    case 'piotlb': {
      const v = decodeLayout(PIOTLB_INV, qwords);
      return {
        type,
        g: v.g,
        did: v.did,
        pasid: v.pasid,
        am: v.am,
        ih: v.ih === 1,
        addr: v.addr,
      };
    }
    case 'pasid-cache': {
      const v = decodeLayout(PASID_CACHE_INV, qwords);
      return { type, g: v.g, did: v.did, pasid: v.pasid };
    }
    case 'pdevtlb': {
      const v = decodeLayout(PDEVTLB_INV, qwords);
      return {
        type,
        qdep: v.qdep,
        pfsid: joinPfsid(v),
        sid: v.sid,
        pasid: v.pasid,
        gi: v.gi === 1,
        s: v.s === 1,
        addr: v.addr,
      };
    }
    case 'page-group-response': {
      return { type, ...toPageGroupResponse(decodeLayout(PAGE_GROUP_RESPONSE, qwords)) };
    }
  }
}

/** PFSID of a device-TLB descriptor slot (types 3h and 8h), joined from its two pieces. */
export function pfsidU32(u32: Uint32Array, baseDword: number): number {
  // Both types keep PFSID[3:0] at 15:12 and PFSID[15:4] at 63:52 of qw0.
  const lo = getField(u32, baseDword, PDEVTLB_INV.fields.pfsidLo);
  const hi = getField(u32, baseDword, PDEVTLB_INV.fields.pfsidHi);
  return hi * 16 + lo;
}

/** A device-TLB range: `addr` and `s` as carried by a type 3h/8h descriptor. */
export interface DevTlbRangeEncoding {
  addr: number;
  s: boolean;
}

/** A decoded device-TLB range: base byte address, size in 4 KiB pages and its log2. */
export interface DevTlbRange {
  base: number;
  pages: number;
  sizeOrder: number;
}

/**
 * Encodes 2^sizeOrder pages at `addr` the ATS way (spec §7.4, kernel
 * `qi_flush_dev_iotlb_pasid`): order 0 → addr, S=0; order k>0 → address bits [k+10:12] set,
 * bit k+11 clear, S=1. `addr` must be aligned to the range; order 52 is the whole space.
 */
export function encodeDevTlbRange(addr: number, sizeOrder: number): DevTlbRangeEncoding {
  if (
    typeof sizeOrder !== 'number' ||
    !Number.isInteger(sizeOrder) ||
    sizeOrder < 0 ||
    sizeOrder > DEVTLB_WHOLE_SPACE_ORDER
  ) {
    throw rangeErrorEinval(
      `device-TLB range: size order must be an integer in 0..52, got ${describeValue(sizeOrder)}`,
    );
  }
  const rangeBytes = 2 ** (sizeOrder + 12);
  if (typeof addr !== 'number' || !Number.isInteger(addr) || addr < 0 || addr >= 2 ** 64) {
    throw rangeErrorEinval(
      `device-TLB range: address must be an integer in [0, 2^64), got ${describeValue(addr)}`,
    );
  }
  if (addr % rangeBytes !== 0) {
    throw rangeErrorEinval(
      `device-TLB range: address 0x${addr.toString(16)} is not aligned to 2^${sizeOrder} pages`,
    );
  }
  if (sizeOrder === 0) return { addr, s: false };
  // Bits [k+10:12] set = 2^(k+11) − 2^12; bit k+11 stays clear because addr is aligned.
  return { addr: addr + (2 ** (sizeOrder + 11) - 4096), s: true };
}

/**
 * Decodes the ATS range encoding of a type 3h/8h descriptor: S=0 → one page at `addr`;
 * S=1 → the lowest zero bit of ADDR at position p ≥ 12 gives 2^(p−11) pages. An ADDR of all
 * ones (no zero bit) is taken as the whole address space.
 */
export function decodeDevTlbRange(addr: number, s: boolean): DevTlbRange {
  if (typeof addr !== 'number' || !Number.isInteger(addr) || addr < 0 || addr >= 2 ** 64) {
    throw rangeErrorEinval(
      `device-TLB range: address must be an integer in [0, 2^64), got ${describeValue(addr)}`,
    );
  }
  if (addr % 4096 !== 0) {
    throw rangeErrorEinval(`device-TLB range: address 0x${addr.toString(16)} is not 4 KiB aligned`);
  }
  if (typeof s !== 'boolean') {
    throw errorEinval(`device-TLB range: S must be a boolean, got ${describeValue(s)}`);
  }
  if (!s) return { base: addr, pages: 1, sizeOrder: 0 };
  let pfn = addr / 4096;
  let ones = 0;
  while (ones < DEVTLB_WHOLE_SPACE_ORDER && pfn % 2 === 1) {
    pfn = (pfn - 1) / 2;
    ones++;
  }
  const sizeOrder = Math.min(ones + 1, DEVTLB_WHOLE_SPACE_ORDER);
  const pages = 2 ** sizeOrder;
  // pfn now holds ADDR >> (12 + ones); drop the size bit (or nothing for the whole space).
  const base = sizeOrder === DEVTLB_WHOLE_SPACE_ORDER ? 0 : Math.floor(pfn / 2) * pages * 4096;
  return { base, pages, sizeOrder };
}
