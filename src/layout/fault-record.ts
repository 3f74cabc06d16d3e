/**
 * Fault recording register, fault reasons and fault/PRQ status bits (spec §6.1, §6.2; VT-d
 * 7.2, 11.4.7; kernel dmar.c `dmar_fault`, `dma_remap_sm_fault_reasons[]`, iommu.h
 * `dma_frcd_*` and `DMA_FSTS_*`).
 *
 * Fault recording register (128 bits; cap.NFR+1 of them at cap.FRO × 16):
 *   bits  11:0    reserved
 *   bits  63:12   fi     faulting page address (byte address when decoded)
 *   bits  79:64   sid    source id (requester id)
 *   bits  94:80   reserved
 *   bit   95      pp     PASID present
 *   bits 103:96   fr     fault reason (`FaultReason`)
 *   bits 123:104  pv     PASID value
 *   bits 125:124  reserved
 *   bit  126      t      type: 1 = read ("DMA Read" in the kernel print), 0 = write
 *   bit  127      f      fault pending (RW1C)
 *
 * Not modelled: the T2 (92), PRIV (93), EXE (94) and AT (125:124) fields of newer
 * revisions; they stay zero and count as reserved here.
 */

import { checkInput, decodeLayout, defineLayout, encodeLayout, flagBit } from './field.js';

/** Size of one fault recording register in bytes (kernel `PRIMARY_FAULT_REG_LEN`). */
export const FAULT_RECORD_BYTES = 16;

/** Fault recording register, 128 bits. */
export const FAULT_RECORD = defineLayout('frcd_reg', 128, {
  fi: [63, 12, { shift: 12 }],
  sid: [79, 64],
  pp: [95, 95],
  fr: [103, 96],
  pv: [123, 104],
  t: [126, 126],
  f: [127, 127],
});

/** A fault record in typed form (`fi` a byte address, `t` true for a read). */
export interface FaultRecord {
  fi: number;
  sid: number;
  pp: boolean;
  fr: number;
  pv: number;
  t: boolean;
  f: boolean;
}

/**
 * Encodes a fault record into 2 qwords; missing fields are 0/false. Throws EINVAL for a
 * non-object, an unknown field, a flag that is not a boolean or a value that does not fit.
 */
export function encodeFaultRecord(fields: Partial<FaultRecord>): bigint[] {
  checkInput(FAULT_RECORD.name, fields, FAULT_RECORD.fields);
  const flag = (name: keyof FaultRecord) => flagBit(FAULT_RECORD.name, name, fields[name]);
  return encodeLayout(FAULT_RECORD, {
    fi: fields.fi,
    sid: fields.sid,
    pp: flag('pp'),
    fr: fields.fr,
    pv: fields.pv,
    t: flag('t'),
    f: flag('f'),
  });
}

/** Decodes a fault record (reserved bits not checked: see `reservedBits`). */
export function decodeFaultRecord(qwords: readonly bigint[]): FaultRecord {
  const v = decodeLayout(FAULT_RECORD, qwords);
  return {
    fi: v.fi,
    sid: v.sid,
    pp: v.pp === 1,
    fr: v.fr,
    pv: v.pv,
    t: v.t === 1,
    f: v.f === 1,
  };
}

/** Scalable-mode fault reasons the simulator records (VT-d 7.1.3 Table 30 codes). */
export const FaultReason = {
  /** Context entry not present. */
  SCT_2: 0x41,
  /** PASIDE=0 in the context entry for a request with PASID. */
  SCT_6: 0x45,
  /** PASID beyond the context entry's PDTS maximum. */
  SCT_7: 0x46,
  /** PRE=0 in the context entry for a page request. */
  SCT_8: 0x47,
  /** PASID equals RID_PASID. */
  SCT_9: 0x48,
  /** PASID directory entry not present. */
  SPD_2: 0x51,
  /** PASID table entry not present. */
  SPT_2: 0x59,
  /** Reserved bit set in the PASID table entry. */
  SPT_3: 0x5a,
  /** Invalid PASID table entry (bad PGTT, FSPM). */
  SPT_4: 0x5b,
  /** SRE=0 and the request has PR=1. */
  SPT_6: 0x5d,
  /** First-stage paging entry not present. */
  SFS_2: 0x71,
  /** Reserved bit set in a first-stage paging entry. */
  SFS_3: 0x72,
  /** Non-canonical input address. */
  SGN_1: 0x80,
  /** User request hit a supervisor page (U/S=0). */
  SGN_2: 0x81,
  /** Write or AtomicOp without write permission. */
  SGN_6: 0x85,
  /** PASID wider than ecap.PSS allows. */
  SGN_10: 0x89,
} as const;

/** Code of a fault reason. */
export type FaultReasonCode = (typeof FaultReason)[keyof typeof FaultReason];

/**
 * Reason strings of the kernel's `dma_remap_sm_fault_reasons[]` (dmar.c) for the codes
 * above; 0x89 is "Unknown" in the kernel, its text here is from spec §6.1.
 */
export const FAULT_REASON_TEXT: Readonly<Record<FaultReasonCode, string>> = {
  65: 'SM: Present bit in Context Entry is clear',
  69: 'SM: PASID Enable field in Context Entry is clear',
  70: 'SM: PASID is larger than the max in Context Entry',
  71: 'SM: PRE field in Context-Entry is clear',
  72: 'SM: RID_PASID field error in Context-Entry',
  81: 'SM: Present bit in Directory Entry is clear',
  89: 'SM: Present bit in PASID Table Entry is clear',
  90: 'SM: Non-zero reserved field set in PASID Table Entry',
  91: 'SM: Invalid Scalable-Mode PASID Table Entry',
  93: 'SM: SRE field is clear in PASID Table Entry',
  113: 'SM: Present bit in first-level paging entry is clear',
  114: 'SM: Non-zero reserved field set in first-level paging entry',
  128: 'SM: Address in first-level translation is not canonical',
  129: 'SM: U/S set 0 for first-level translation with user privilege',
  133: 'SM: No write permission for Write/AtomicOp request',
  137: 'SGN.10: PASID value exceeds the width reported in ecap.PSS',
};

/** Reason string of a fault reason code, "Unknown" like the kernel for any other code. */
export function faultReasonText(code: number): string {
  return Object.hasOwn(FAULT_REASON_TEXT, code)
    ? FAULT_REASON_TEXT[code as FaultReasonCode]
    : 'Unknown';
}

/** Fault status register (FSTS_REG, offset 0x34) bits. */
export const FSTS = {
  /** Primary fault overflow (RW1C). */
  PFO: 1 << 0,
  /** Primary pending fault: OR of all F bits. */
  PPF: 1 << 1,
  /** Invalidation queue error. */
  IQE: 1 << 4,
  /** Invalidation completion error. */
  ICE: 1 << 5,
  /** Invalidation time-out error. */
  ITE: 1 << 6,
} as const;

/** Bit position of FRI (index of the first pending fault record) in FSTS. */
export const FSTS_FRI_SHIFT = 8;
/** Mask of FRI, FSTS bits 15:8. */
export const FSTS_FRI_MASK = 0xff00;

/** Page request status register (PRS_REG, offset 0xDC) bits, both RW1C. */
export const PRS = {
  /** Pending page request. */
  PPR: 1 << 0,
  /** Page request overflow. */
  PRO: 1 << 1,
} as const;

// Register offsets used by the fault and page request paths (VT-d 11.4).
/** Fault status register offset. */
export const DMAR_FSTS_REG = 0x34;
/** Page request queue head register offset (byte offset in bits 18:5). */
export const DMAR_PQH_REG = 0xc0;
/** Page request queue tail register offset (byte offset in bits 18:5). */
export const DMAR_PQT_REG = 0xc8;
/** Page request queue address register offset (base 63:12, PQS 2:0). */
export const DMAR_PQA_REG = 0xd0;
/** Page request status register offset (PPR, PRO). */
export const DMAR_PRS_REG = 0xdc;
/** Page request event control register offset (IM bit 31, IP bit 30). */
export const DMAR_PECTL_REG = 0xe0;
