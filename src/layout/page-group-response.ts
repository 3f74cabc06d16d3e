/**
 * Page group response descriptor, page_grp_resp_dsc (spec §4.5; VT-d 7.7, 6.5.2.x; kernel
 * QI_PGRP_* macros in iommu.h): the 32-byte invalidation-queue descriptor (type 9h) software
 * submits to answer the last request of a page request group.
 *
 *   bits   3:0    type              9h (QI_PGRP_RESP_TYPE)
 *   bit    4      pasidPresent      PP, copied from the request (QI_PGRP_PASID_P)
 *   bit    5      privDataPresent   PDP (rev 3.x only; QI_PGRP_PDP, removed in v6.10)
 *   bits   8:6    reserved
 *   bits  11:9    typeHi            Type[6:4] = 0
 *   bits  15:12   code              response code (QI_PGRP_RESP_CODE)
 *   bits  31:16   rid               requester ID (QI_PGRP_DID, misnamed in the kernel)
 *   bits  51:32   pasid             QI_PGRP_PASID
 *   bits  63:52   reserved
 *   bits  65:64   ignored           (rev 5.10 marks 66:64 IGN; see below)
 *   bit   66      lpig              qw1 bit 2 (rev 3.x; QI_PGRP_LPIG)
 *   bits  75:67   prgIndex          qw1 bits 11:3 (QI_PGRP_IDX)
 *   bits 127:76   reserved
 *   bits 255:128  private data echoed from the request when PDP=1, else reserved
 *
 * Rev 5.10 calls bits 66:64 ignored; rev 3.x and the kernel put LPIG at bit 66. LPIG stays a
 * field (the simulated devices follow rev 3.x here) and bits 65:64 are ignored, never
 * reserved, so a descriptor that sets them does not raise an invalidation queue error.
 */

import {
  bit,
  checkInput,
  checkQwords,
  decodeLayout,
  defineLayout,
  encodeLayout,
  errorEinval,
  flagBit,
  getField,
  hexQwords,
  type LayoutValues,
  reservedBits,
  reservedBitsU32,
  setField,
} from './field.js';

/** Type field value of a page group response (kernel `QI_PGRP_RESP_TYPE`). */
export const PAGE_GROUP_RESPONSE_TYPE = 0x9;

const PAGE_GROUP_RESPONSE_FIELDS = {
  type: [3, 0],
  pasidPresent: [4, 4],
  privDataPresent: [5, 5],
  typeHi: [11, 9],
  code: [15, 12],
  rid: [31, 16],
  pasid: [51, 32],
  lpig: [66, 66],
  prgIndex: [75, 67],
} as const;

/** page_grp_resp_dsc with PDP=0: bits 255:128 reserved. */
export const PAGE_GROUP_RESPONSE = defineLayout(
  'page_grp_resp_dsc',
  256,
  PAGE_GROUP_RESPONSE_FIELDS,
  { ignored: [[65, 64]] },
);

/** page_grp_resp_dsc with PDP=1: bits 255:128 hold private data and are ignored. */
export const PAGE_GROUP_RESPONSE_PRIV_DATA = defineLayout(
  'page_grp_resp_dsc',
  256,
  PAGE_GROUP_RESPONSE_FIELDS,
  {
    ignored: [
      [65, 64],
      [255, 128],
    ],
  },
);

/** Names of the page_grp_resp_dsc fields. */
export type PageGroupResponseField = keyof typeof PAGE_GROUP_RESPONSE_FIELDS;

/** A page group response in its public form (1-bit flags as booleans). */
export interface PageGroupResponse {
  pasidPresent: boolean;
  privDataPresent: boolean;
  code: number;
  rid: number;
  pasid: number;
  prgIndex: number;
  lpig: boolean;
}

/** Input of `encodePageGroupResponse`: `privDataPresent` defaults to false. */
export type PageGroupResponseInput = Omit<PageGroupResponse, 'privDataPresent'> & {
  privDataPresent?: boolean;
};

/** The fields `encodePageGroupResponse` accepts. */
const PAGE_GROUP_RESPONSE_INPUT_KEYS: Readonly<Record<keyof PageGroupResponse, true>> = {
  pasidPresent: true,
  privDataPresent: true,
  code: true,
  rid: true,
  pasid: true,
  prgIndex: true,
  lpig: true,
};

/**
 * Encodes a page group response into 4 qwords. Throws EINVAL when `fields` is not an object,
 * names a field the response does not have or gives a flag that is not a boolean, and
 * `RangeError` EINVAL on a value that does not fit its field.
 */
export function encodePageGroupResponse(fields: PageGroupResponseInput): bigint[] {
  checkInput(PAGE_GROUP_RESPONSE.name, fields, PAGE_GROUP_RESPONSE_INPUT_KEYS);
  const flag = (name: keyof PageGroupResponse): number =>
    flagBit(PAGE_GROUP_RESPONSE.name, name, fields[name]);
  return encodeLayout(PAGE_GROUP_RESPONSE, {
    type: PAGE_GROUP_RESPONSE_TYPE,
    pasidPresent: flag('pasidPresent'),
    privDataPresent: flag('privDataPresent'),
    code: fields.code,
    rid: fields.rid,
    pasid: fields.pasid,
    lpig: flag('lpig'),
    prgIndex: fields.prgIndex,
  });
}

const RESP = PAGE_GROUP_RESPONSE.fields;

/**
 * Writes a page group response (PDP=0) into the 8 dwords of `u32` from dword `dw`, the one
 * builder of the data path: the hardware auto-response of the page request queue and the
 * kernel's response to a serviced request both answer a request with it. Every bit the field
 * table does not name (reserved, ignored, the private-data qwords) is written 0. Allocation-
 * free; throws `RangeError` EINVAL when a value does not fit its field.
 *
 *   dword 0: type 9h [3:0] | pasidPresent [4] | code [15:12] | rid [31:16]
 *   dword 1: pasid [51:32] in bits 19:0
 *   dword 2: lpig [66] in bit 2 | prgIndex [75:67] in bits 11:3
 *   dwords 3–7: 0
 */
export function writePageGroupResponse(
  u32: Uint32Array,
  dw: number,
  rid: number,
  pasidPresent: boolean,
  pasid: number,
  prgIndex: number,
  code: number,
  lpig: boolean,
): void {
  u32.fill(0, dw, dw + 8);
  setField(u32, dw, RESP.type, PAGE_GROUP_RESPONSE_TYPE);
  setField(u32, dw, RESP.pasidPresent, bit(pasidPresent));
  setField(u32, dw, RESP.code, code);
  setField(u32, dw, RESP.rid, rid);
  setField(u32, dw, RESP.pasid, pasid);
  setField(u32, dw, RESP.lpig, bit(lpig));
  setField(u32, dw, RESP.prgIndex, prgIndex);
}

/** Reserved bits set in a page group response (private data ignored when PDP=1), or `null`. */
export function pageGroupResponseReservedBits(qwords: readonly bigint[]): bigint[] | null {
  checkQwords(PAGE_GROUP_RESPONSE.name, PAGE_GROUP_RESPONSE.qwords, qwords);
  const pdp = ((qwords[0]! >> 5n) & 1n) === 1n;
  return reservedBits(pdp ? PAGE_GROUP_RESPONSE_PRIV_DATA : PAGE_GROUP_RESPONSE, qwords);
}

/** True when a page group response slot has reserved bits set (PDP-aware). */
export function pageGroupResponseReservedU32(u32: Uint32Array, baseDword: number): boolean {
  const pdp = getField(u32, baseDword, PAGE_GROUP_RESPONSE.fields.privDataPresent);
  return reservedBitsU32(
    pdp === 1 ? PAGE_GROUP_RESPONSE_PRIV_DATA : PAGE_GROUP_RESPONSE,
    u32,
    baseDword,
  );
}

/** Converts decoded raw field values to the public form. */
export function toPageGroupResponse(v: LayoutValues<PageGroupResponseField>): PageGroupResponse {
  return {
    pasidPresent: v.pasidPresent === 1,
    privDataPresent: v.privDataPresent === 1,
    code: v.code,
    rid: v.rid,
    pasid: v.pasid,
    prgIndex: v.prgIndex,
    lpig: v.lpig === 1,
  };
}

/**
 * Decodes 4 qwords into a page group response; throws an `Error` EINVAL (raw qwords in the
 * message) when the type is not 9h or a reserved bit is set.
 */
export function decodePageGroupResponse(qwords: readonly bigint[]): PageGroupResponse {
  const values = decodeLayout(PAGE_GROUP_RESPONSE, qwords);
  if (values.type !== PAGE_GROUP_RESPONSE_TYPE || values.typeHi !== 0) {
    throw errorEinval(`page_grp_resp_dsc: type is not 9h ${hexQwords(qwords)}`);
  }
  if (pageGroupResponseReservedBits(qwords) !== null) {
    throw errorEinval(`page_grp_resp_dsc: reserved bits set ${hexQwords(qwords)}`);
  }
  return toPageGroupResponse(values);
}
