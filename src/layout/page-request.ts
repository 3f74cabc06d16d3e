/**
 * Page request descriptor, page_req_dsc (spec §4.2; VT-d 7.4.1.1; kernel
 * `decode_prq_descriptor` in iommu.h and `struct page_req_dsc`): the 32-byte record hardware
 * writes into the page request queue for each accepted PCIe page request.
 *
 *   bits   7:0    type              01h
 *   bit    8      pasidPresent      PP
 *   bit    9      privDataPresent   PDP (rev 3.x only; reserved from rev 4.0)
 *   bits  15:10   reserved
 *   bits  31:16   rid               bus[15:8], devfn[7:0]
 *   bits  51:32   pasid             undefined when PP=0
 *   bit   52      exeReq            EXR
 *   bit   53      pmReq             PMR (1 = supervisor)
 *   bits  63:54   reserved
 *   bit   64      rdReq             RDR (qw1 bit 0)
 *   bit   65      wrReq             WRR (qw1 bit 1)
 *   bit   66      lpig              last page in group (qw1 bit 2)
 *   bits  75:67   prgIndex          PRGI (qw1 bits 11:3)
 *   bits 127:76   addr              ADDR[63:12] (byte address in the decoded form)
 *   bits 255:128  private data when PDP=1 (rev 3.x), else reserved
 *
 * The private data qwords are therefore checked by the PDP bit: `PAGE_REQUEST` treats them
 * as reserved, `PAGE_REQUEST_PRIV_DATA` as ignored, and `pageRequestReservedBits` /
 * `pageRequestReservedU32` pick one by the descriptor's own PDP bit. The private data value
 * is not part of the decoded form (no simulated device sends any).
 */

import {
  checkInput,
  checkQwords,
  decodeLayout,
  defineLayout,
  describeValue,
  encodeLayout,
  errorEinval,
  flagBit,
  getField,
  hexQwords,
  type LayoutValues,
  reservedBits,
  reservedBitsU32,
} from './field.js';

/** Type field value of a page request descriptor. */
export const PAGE_REQUEST_TYPE = 0x1;

/** Size of a page request descriptor in bytes (kernel `sizeof(struct page_req_dsc)`). */
export const PAGE_REQUEST_BYTES = 32;

const PAGE_REQUEST_FIELDS = {
  type: [7, 0],
  pasidPresent: [8, 8],
  privDataPresent: [9, 9],
  rid: [31, 16],
  pasid: [51, 32],
  exeReq: [52, 52],
  pmReq: [53, 53],
  rdReq: [64, 64],
  wrReq: [65, 65],
  lpig: [66, 66],
  prgIndex: [75, 67],
  addr: [127, 76, { shift: 12 }],
} as const;

/** page_req_dsc with PDP=0: reserved 15:10, 63:54 and all of 255:128. */
export const PAGE_REQUEST = defineLayout('page_req_dsc', 256, PAGE_REQUEST_FIELDS);

/** page_req_dsc with PDP=1: bits 255:128 hold private data and are ignored. */
export const PAGE_REQUEST_PRIV_DATA = defineLayout('page_req_dsc', 256, PAGE_REQUEST_FIELDS, {
  ignored: [[255, 128]],
});

/** Names of the page_req_dsc fields. */
export type PageRequestField = keyof typeof PAGE_REQUEST_FIELDS;

/** A page request in its public form: 1-bit flags as booleans, `addr` a byte address. */
export interface PageRequest {
  type: number;
  pasidPresent: boolean;
  privDataPresent: boolean;
  rid: number;
  pasid: number;
  exeReq: boolean;
  pmReq: boolean;
  rdReq: boolean;
  wrReq: boolean;
  lpig: boolean;
  prgIndex: number;
  addr: number;
}

/** Input of `encodePageRequest`: `type` defaults to 01h, the rarely used flags to false. */
export type PageRequestInput = Omit<
  PageRequest,
  'type' | 'privDataPresent' | 'exeReq' | 'pmReq'
> & {
  type?: number;
  privDataPresent?: boolean;
  exeReq?: boolean;
  pmReq?: boolean;
};

/**
 * Encodes a page request into 4 qwords. Throws EINVAL when `fields` is not an object, names a
 * field page_req_dsc does not have, gives a type other than 01h or a flag that is not a
 * boolean, and `RangeError` EINVAL on a value that does not fit its field.
 */
export function encodePageRequest(fields: PageRequestInput): bigint[] {
  checkInput(PAGE_REQUEST.name, fields, PAGE_REQUEST.fields);
  const type = fields.type === undefined ? PAGE_REQUEST_TYPE : fields.type;
  if (type !== PAGE_REQUEST_TYPE) {
    throw errorEinval(`page_req_dsc: type must be 01h, got ${describeValue(type)}`);
  }
  const flag = (name: keyof PageRequest): number => flagBit(PAGE_REQUEST.name, name, fields[name]);
  return encodeLayout(PAGE_REQUEST, {
    type,
    pasidPresent: flag('pasidPresent'),
    privDataPresent: flag('privDataPresent'),
    rid: fields.rid,
    pasid: fields.pasid,
    exeReq: flag('exeReq'),
    pmReq: flag('pmReq'),
    rdReq: flag('rdReq'),
    wrReq: flag('wrReq'),
    lpig: flag('lpig'),
    prgIndex: fields.prgIndex,
    addr: fields.addr,
  });
}

/** Reserved bits set in a page request (private data ignored when PDP=1), or `null`. */
export function pageRequestReservedBits(qwords: readonly bigint[]): bigint[] | null {
  checkQwords(PAGE_REQUEST.name, PAGE_REQUEST.qwords, qwords);
  const pdp = ((qwords[0]! >> 9n) & 1n) === 1n;
  return reservedBits(pdp ? PAGE_REQUEST_PRIV_DATA : PAGE_REQUEST, qwords);
}

/** True when a page request slot at dword `baseDword` has reserved bits set (PDP-aware). */
export function pageRequestReservedU32(u32: Uint32Array, baseDword: number): boolean {
  const pdp = getField(u32, baseDword, PAGE_REQUEST.fields.privDataPresent);
  return reservedBitsU32(pdp === 1 ? PAGE_REQUEST_PRIV_DATA : PAGE_REQUEST, u32, baseDword);
}

/** Converts decoded raw field values to the public form. */
function toPageRequest(v: LayoutValues<PageRequestField>): PageRequest {
  return {
    type: v.type,
    pasidPresent: v.pasidPresent === 1,
    privDataPresent: v.privDataPresent === 1,
    rid: v.rid,
    pasid: v.pasid,
    exeReq: v.exeReq === 1,
    pmReq: v.pmReq === 1,
    rdReq: v.rdReq === 1,
    wrReq: v.wrReq === 1,
    lpig: v.lpig === 1,
    prgIndex: v.prgIndex,
    addr: v.addr,
  };
}

/**
 * Decodes 4 qwords into a page request; throws an `Error` EINVAL (raw qwords in the message)
 * when the type is not 01h or a reserved bit is set.
 */
export function decodePageRequest(qwords: readonly bigint[]): PageRequest {
  const values = decodeLayout(PAGE_REQUEST, qwords);
  if (values.type !== PAGE_REQUEST_TYPE) {
    throw errorEinval(`page_req_dsc: type ${values.type} is not 01h ${hexQwords(qwords)}`);
  }
  if (pageRequestReservedBits(qwords) !== null) {
    throw errorEinval(`page_req_dsc: reserved bits set ${hexQwords(qwords)}`);
  }
  return toPageRequest(values);
}
