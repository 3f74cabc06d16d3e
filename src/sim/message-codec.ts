/**
 * The checked codec of message slots (`message.ts`): every field of every kind decoded into a
 * typed object, or the message refused with EINVAL and its raw words — for trust boundaries
 * (a message from another thread or a device model one does not trust, tests, debug
 * printing, the fuzzer). The data path reads slot words directly and checks no more than an
 * integer range (`MessagePool.getWide`); this decoder checks everything:
 *
 *   dw0       kind (7:0) one of `MsgKind`; flags (31:8) only those the kind may carry
 *             (ATS_REQ: PASID, WRITE, EXEC, PRIV; DMA_REQ: those and TRANSLATED; others none)
 *   dw1, dw2  tag, source endpoint: any 32-bit value
 *   payload   per kind, by the record layouts of `message.ts`:
 *     ATS_REQ      pasid < 2^20, vpn < 2^52, rid < 2^16
 *     ATS_CPL      status SUCCESS or UR, pfn < 2^52, perms ⊆ R|W|X|U|S, size 0 (4 KiB) or 1 (2 MiB)
 *     PAGE_REQ     a page_req_dsc that `decodePageRequest` accepts
 *     PGRP_RESP    a page_grp_resp_dsc that `decodePageGroupResponse` accepts
 *     DMA_REQ      pasid < 2^20, addr < 2^53, 1 ≤ length and the access inside one 4 KiB page,
 *                  any buffer offset, rid < 2^16, vpn < 2^52 when TRANSLATED (else not carried)
 *     DMA_CPL      status SUCCESS or UR
 *     DEVTLB_INV   a type 3h or 8h descriptor that `decodeInvDesc` accepts, issuedNs < 2^53
 *     DEVTLB_INV_CPL  issuedNs < 2^53 (the descriptor it answers is not part of it)
 *     CLIENT_*     any client index, pasid < 2^20, srcAddr and dstAddr < 2^53
 *     CONFIG_WRITE enables ⊆ PASID|PRI|ATS, any PRI allocation
 *     CONFIG_CPL   nothing beyond the header
 *
 * Words a kind does not use are not read (a reply written over its request keeps the
 * request's words there), so `encodeMessage(decodeMessage(w))` writes them as zero and
 * decodes to the same message.
 */

import { codedError, ErrorCode } from '../errors.js';
import {
  checkInput,
  describeValue,
  isPlainObject,
  readQwords,
  writeQwords,
} from '../layout/field.js';
import {
  type DevTlbInvDesc,
  decodeInvDesc,
  encodeInvDesc,
  type PdevTlbInvDesc,
} from '../layout/inv-desc.js';
import {
  decodePageGroupResponse,
  encodePageGroupResponse,
  type PageGroupResponse,
} from '../layout/page-group-response.js';
import { decodePageRequest, encodePageRequest, type PageRequest } from '../layout/page-request.js';
import {
  AtsCpl,
  AtsReq,
  ClientMsg,
  ConfigEnable,
  ConfigWrite,
  CplStatus,
  DESC,
  DevtlbInv,
  DmaCpl,
  DmaReq,
  MSG_DWORDS,
  MsgFlag,
  MsgKind,
  MW,
  Perm,
} from './message.js';

/** Name of a message kind (a key of `MsgKind`). */
export type MsgKindName = keyof typeof MsgKind;

/** The header every decoded message has. */
interface Header<K extends MsgKindName> {
  kind: K;
  /** dw0 bits 31:8 as stored: a sum of `MsgFlag` values. */
  flags: number;
  tag: number;
  /** dw2: the sender's endpoint id. */
  endpoint: number;
}

/** ATS translation request. */
export interface AtsReqMessage extends Header<'ATS_REQ'> {
  pasid: number;
  vpn: number;
  rid: number;
}
/** ATS completion. */
export interface AtsCplMessage extends Header<'ATS_CPL'> {
  status: number;
  pfn: number;
  perms: number;
  size: number;
}
/** Page request carrying its page_req_dsc. */
export interface PageReqMessage extends Header<'PAGE_REQ'> {
  desc: PageRequest;
}
/** Page group response carrying its page_grp_resp_dsc. */
export interface PgrpRespMessage extends Header<'PGRP_RESP'> {
  desc: PageGroupResponse;
}
/** DMA request; `vpn` is 0 unless the request is TRANSLATED. */
export interface DmaReqMessage extends Header<'DMA_REQ'> {
  pasid: number;
  addr: number;
  length: number;
  bufferOffset: number;
  rid: number;
  vpn: number;
}
/** DMA completion. */
export interface DmaCplMessage extends Header<'DMA_CPL'> {
  status: number;
}
/** Device-TLB invalidation request with its type 3h or 8h descriptor. */
export interface DevtlbInvMessage extends Header<'DEVTLB_INV'> {
  desc: DevTlbInvDesc | PdevTlbInvDesc;
  issuedNs: number;
}
/** Device-TLB invalidation completion. */
export interface DevtlbInvCplMessage extends Header<'DEVTLB_INV_CPL'> {
  issuedNs: number;
}
/** Client control (all five kinds share the layout). */
export interface ClientMessage
  extends Header<
    'CLIENT_START' | 'CLIENT_STOP' | 'CLIENT_IDLE' | 'CLIENT_FAULT' | 'CLIENT_RESUBMIT'
  > {
  client: number;
  pasid: number;
  srcAddr: number;
  dstAddr: number;
  /** FAULT and RESUBMIT: the bytes of the job left from the operands (0 otherwise). */
  length: number;
  /** FAULT and RESUBMIT: when the job was first issued, ns (0 otherwise). */
  issuedNs: number;
}
/** Configuration write. */
export interface ConfigWriteMessage extends Header<'CONFIG_WRITE'> {
  enables: number;
  priAllocation: number;
}
/** Configuration write completion. */
export type ConfigCplMessage = Header<'CONFIG_CPL'>;

/** A decoded message, discriminated on `kind`. */
export type Message =
  | AtsReqMessage
  | AtsCplMessage
  | PageReqMessage
  | PgrpRespMessage
  | DmaReqMessage
  | DmaCplMessage
  | DevtlbInvMessage
  | DevtlbInvCplMessage
  | ClientMessage
  | ConfigWriteMessage
  | ConfigCplMessage;

const REQUEST_FLAGS = MsgFlag.PASID | MsgFlag.WRITE | MsgFlag.EXEC | MsgFlag.PRIV;

/** Per kind: its code, the flags it may carry and the payload fields of its decoded form. */
const KINDS: Readonly<
  Record<MsgKindName, { readonly code: number; readonly flags: number; readonly fields: string[] }>
> = {
  ATS_REQ: { code: MsgKind.ATS_REQ, flags: REQUEST_FLAGS, fields: ['pasid', 'vpn', 'rid'] },
  ATS_CPL: { code: MsgKind.ATS_CPL, flags: 0, fields: ['status', 'pfn', 'perms', 'size'] },
  PAGE_REQ: { code: MsgKind.PAGE_REQ, flags: 0, fields: ['desc'] },
  PGRP_RESP: { code: MsgKind.PGRP_RESP, flags: 0, fields: ['desc'] },
  DMA_REQ: {
    code: MsgKind.DMA_REQ,
    flags: REQUEST_FLAGS | MsgFlag.TRANSLATED,
    fields: ['pasid', 'addr', 'length', 'bufferOffset', 'rid', 'vpn'],
  },
  DMA_CPL: { code: MsgKind.DMA_CPL, flags: 0, fields: ['status'] },
  DEVTLB_INV: { code: MsgKind.DEVTLB_INV, flags: 0, fields: ['desc', 'issuedNs'] },
  DEVTLB_INV_CPL: { code: MsgKind.DEVTLB_INV_CPL, flags: 0, fields: ['issuedNs'] },
  CLIENT_START: { code: MsgKind.CLIENT_START, flags: 0, fields: clientFields() },
  CLIENT_STOP: { code: MsgKind.CLIENT_STOP, flags: 0, fields: clientFields() },
  CLIENT_IDLE: { code: MsgKind.CLIENT_IDLE, flags: 0, fields: clientFields() },
  CLIENT_FAULT: { code: MsgKind.CLIENT_FAULT, flags: 0, fields: clientFields() },
  CLIENT_RESUBMIT: { code: MsgKind.CLIENT_RESUBMIT, flags: 0, fields: clientFields() },
  CONFIG_WRITE: { code: MsgKind.CONFIG_WRITE, flags: 0, fields: ['enables', 'priAllocation'] },
  CONFIG_CPL: { code: MsgKind.CONFIG_CPL, flags: 0, fields: [] },
};

function clientFields(): string[] {
  return ['client', 'pasid', 'srcAddr', 'dstAddr', 'length', 'issuedNs'];
}

/** Kind name by code (index), undefined for a code that is no kind. */
const KIND_BY_CODE: readonly (MsgKindName | undefined)[] = (() => {
  const out: (MsgKindName | undefined)[] = new Array(256).fill(undefined);
  for (const [name, k] of Object.entries(KINDS)) out[k.code] = name as MsgKindName;
  return out;
})();

/** Allowed keys of each kind's decoded form (for `encodeMessage`). */
const KEYS: Readonly<Record<MsgKindName, Readonly<Record<string, true>>>> = Object.fromEntries(
  Object.entries(KINDS).map(([name, k]) => [
    name,
    Object.fromEntries(['kind', 'flags', 'tag', 'endpoint', ...k.fields].map((f) => [f, true])),
  ]),
) as Record<MsgKindName, Record<string, true>>;

const TWO32 = 0x1_0000_0000;
const PASID_LIMIT = 2 ** 20;
const RID_LIMIT = 2 ** 16;
/** Page numbers of a 64-bit address space. */
const PFN_LIMIT = 2 ** 52;
/** Wide values (addresses, times) are exact doubles. */
const WIDE_LIMIT = 2 ** 53;
const PERM_ALL = Perm.R | Perm.W | Perm.X | Perm.U | Perm.S;
const ENABLE_ALL = ConfigEnable.PASID | ConfigEnable.PRI | ConfigEnable.ATS;
const PAGE_BYTES = 4096;

const hex = (v: number) => `0x${v.toString(16)}`;

/** The 16 words of the slot at `base`, in hex, for error messages. */
function rawWords(words: Uint32Array, base: number): string {
  const out: string[] = [];
  for (let k = 0; k < MSG_DWORDS; k++) out.push(words[base + k]!.toString(16).padStart(8, '0'));
  return `[${out.join(' ')}]`;
}

/** Throws EINVAL unless `words` is a Uint32Array holding a whole slot at `base`. */
function checkSlot(who: string, words: unknown, base: unknown): asserts words is Uint32Array {
  if (!(words instanceof Uint32Array)) {
    throw codedError(
      ErrorCode.EINVAL,
      `${who}: expected a Uint32Array, got ${describeValue(words)}`,
    );
  }
  if (
    typeof base !== 'number' ||
    !Number.isInteger(base) ||
    base < 0 ||
    base + MSG_DWORDS > words.length
  ) {
    throw codedError(
      ErrorCode.EINVAL,
      `${who}: a slot of ${MSG_DWORDS} words starts at an integer word index in ` +
        `[0, ${Math.max(words.length - MSG_DWORDS, 0)}] of this ${words.length}-word array, ` +
        `got ${describeValue(base)}`,
    );
  }
}

/** Runs a layout codec on a descriptor of the message, prefixing its EINVAL with `ctx`. */
function nested<T>(ctx: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as { code?: unknown; message?: unknown };
    if (err?.code !== ErrorCode.EINVAL) throw e;
    throw codedError(ErrorCode.EINVAL, `${ctx}: ${String(err.message)}`);
  }
}

/**
 * Decodes the message slot at word `base` of `words` (see the file header for what is
 * checked). Throws EINVAL naming the kind, the field and the raw words for anything malformed.
 */
export function decodeMessage(words: Uint32Array, base: number): Message {
  checkSlot('decodeMessage', words, base);
  const dw0 = words[base + MW.KIND]!;
  const code = dw0 & 0xff;
  const name = KIND_BY_CODE[code];
  const fail = (what: string): never => {
    throw codedError(
      ErrorCode.EINVAL,
      `message${name === undefined ? '' : ` ${name}`} at word ${base}: ${what}; words ${rawWords(words, base)}`,
    );
  };
  if (name === undefined) return fail(`kind ${code} is not a message kind (dw0 bits 7:0)`);
  const kind = KINDS[name];
  const flags = dw0 - code;
  if ((flags & ~kind.flags) !== 0) {
    fail(`flags ${hex(flags)} (dw0 bits 31:8) outside the ${hex(kind.flags)} ${name} may carry`);
  }
  const word = (off: number, what: string, limit: number): number => {
    const v = words[base + off]!;
    if (v >= limit) fail(`${what} ${hex(v)} (dw${off}) must be below ${hex(limit)}`);
    return v;
  };
  const wide = (off: number, what: string, limit: number): number => {
    const lo = words[base + off]!;
    const hi = words[base + off + 1]!;
    const v = hi * TWO32 + lo;
    if (hi >= WIDE_LIMIT / TWO32 || v >= limit) {
      fail(
        `${what} hi ${hex(hi)} lo ${hex(lo)} (dw${off}..${off + 1}) must be below ${hex(limit)}`,
      );
    }
    return v;
  };
  const status = (off: number): number => {
    const v = words[base + off]!;
    if (v !== CplStatus.SUCCESS && v !== CplStatus.UR) {
      fail(`status ${hex(v)} (dw${off}) is neither SUCCESS (0) nor UR (1)`);
    }
    return v;
  };
  const desc = <T>(decode: (q: readonly bigint[]) => T): T =>
    nested(`message ${name} at word ${base}`, () => decode(readQwords(words, base + DESC, 4)));
  const h = { flags, tag: words[base + MW.TAG]!, endpoint: words[base + MW.SRC]! };
  switch (name) {
    case 'ATS_REQ':
      return {
        kind: name,
        ...h,
        pasid: word(AtsReq.PASID, 'pasid', PASID_LIMIT),
        vpn: wide(AtsReq.VPN_WIDE, 'vpn', PFN_LIMIT),
        rid: word(AtsReq.RID, 'rid', RID_LIMIT),
      };
    case 'ATS_CPL':
      return {
        kind: name,
        ...h,
        status: status(AtsCpl.STATUS),
        pfn: wide(AtsCpl.PFN_WIDE, 'pfn', PFN_LIMIT),
        perms: word(AtsCpl.PERMS, 'perms', PERM_ALL + 1),
        size: word(AtsCpl.SIZE, 'size', 2),
      };
    case 'PAGE_REQ':
      return { kind: name, ...h, desc: desc(decodePageRequest) };
    case 'PGRP_RESP':
      return { kind: name, ...h, desc: desc(decodePageGroupResponse) };
    case 'DMA_REQ': {
      const addr = wide(DmaReq.ADDR_WIDE, 'addr', WIDE_LIMIT);
      const length = words[base + DmaReq.LENGTH]!;
      const offset = addr - Math.floor(addr / PAGE_BYTES) * PAGE_BYTES;
      if (length === 0 || offset + length > PAGE_BYTES) {
        fail(`${length} bytes at ${hex(addr)} are not inside one 4 KiB page (devices split DMA)`);
      }
      const translated = (flags & MsgFlag.TRANSLATED) !== 0;
      return {
        kind: name,
        ...h,
        pasid: word(DmaReq.PASID, 'pasid', PASID_LIMIT),
        addr,
        length,
        bufferOffset: words[base + DmaReq.BUFFER_OFFSET]!,
        rid: word(DmaReq.RID, 'rid', RID_LIMIT),
        vpn: translated ? wide(DmaReq.VPN_WIDE, 'vpn', PFN_LIMIT) : 0,
      };
    }
    case 'DMA_CPL':
      return { kind: name, ...h, status: status(DmaCpl.STATUS) };
    case 'DEVTLB_INV': {
      const d = desc(decodeInvDesc);
      if (d.type !== 'devtlb' && d.type !== 'pdevtlb') {
        fail(`descriptor type ${d.type} is not a device-TLB invalidation (3h or 8h)`);
      }
      return {
        kind: name,
        ...h,
        desc: d as DevTlbInvDesc | PdevTlbInvDesc,
        issuedNs: wide(DevtlbInv.ISSUED_NS_WIDE, 'issuedNs', WIDE_LIMIT),
      };
    }
    case 'DEVTLB_INV_CPL':
      return {
        kind: name,
        ...h,
        issuedNs: wide(DevtlbInv.ISSUED_NS_WIDE, 'issuedNs', WIDE_LIMIT),
      };
    case 'CLIENT_START':
    case 'CLIENT_STOP':
    case 'CLIENT_IDLE':
    case 'CLIENT_FAULT':
    case 'CLIENT_RESUBMIT':
      return {
        kind: name,
        ...h,
        client: words[base + ClientMsg.CLIENT]!,
        pasid: word(ClientMsg.PASID, 'pasid', PASID_LIMIT),
        srcAddr: wide(ClientMsg.SRC_WIDE, 'srcAddr', WIDE_LIMIT),
        dstAddr: wide(ClientMsg.DST_WIDE, 'dstAddr', WIDE_LIMIT),
        length: words[base + ClientMsg.LENGTH]!,
        issuedNs: wide(ClientMsg.ISSUED_NS_WIDE, 'issuedNs', WIDE_LIMIT),
      };
    case 'CONFIG_WRITE':
      return {
        kind: name,
        ...h,
        enables: word(ConfigWrite.ENABLES, 'enables', ENABLE_ALL + 1),
        priAllocation: words[base + ConfigWrite.PRI_ALLOCATION]!,
      };
    case 'CONFIG_CPL':
      return { kind: name, ...h };
  }
}

/**
 * Writes `msg` into the slot at word `base` of `words`: the 16 words are zeroed, then the
 * header and the kind's payload written. Checks everything {@link decodeMessage} checks, and
 * that `msg` is an object with only its kind's fields, before writing anything: on EINVAL the
 * slot is as it was.
 */
export function encodeMessage(msg: Message, words: Uint32Array, base: number): void {
  checkSlot('encodeMessage', words, base);
  if (!isPlainObject(msg)) {
    throw codedError(
      ErrorCode.EINVAL,
      `encodeMessage: expected a message object, got ${describeValue(msg)}`,
    );
  }
  const name: unknown = msg.kind;
  if (typeof name !== 'string' || !Object.hasOwn(KINDS, name)) {
    throw codedError(
      ErrorCode.EINVAL,
      `encodeMessage: kind must be one of ${Object.keys(KINDS).join(', ')}; got ${describeValue(name)}`,
    );
  }
  const kindName = name as MsgKindName;
  const ctx = `encodeMessage (${kindName})`;
  checkInput(ctx, msg, KEYS[kindName]);
  const m = msg as unknown as Readonly<Record<string, unknown>>;
  const fail = (what: string): never => {
    throw codedError(ErrorCode.EINVAL, `${ctx}: ${what}`);
  };
  const int = (key: string, limit: number): number => {
    const v = m[key];
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v >= limit) {
      return fail(`${key} must be an integer in [0, ${hex(limit)}), got ${describeValue(v)}`);
    }
    return v;
  };
  const kind = KINDS[kindName];
  const flags = int('flags', TWO32);
  if ((flags & ~kind.flags) !== 0) {
    fail(`flags ${hex(flags)} outside the ${hex(kind.flags)} ${kindName} may carry`);
  }
  // Everything is read and checked into `set` first; the slot is written only after.
  const set: [number, number][] = [
    [MW.KIND, (kind.code + flags) >>> 0],
    [MW.TAG, int('tag', TWO32)],
    [MW.SRC, int('endpoint', TWO32)],
  ];
  const put = (off: number, v: number) => set.push([off, v]);
  const putWide = (off: number, v: number) => {
    put(off, v >>> 0);
    put(off + 1, Math.floor(v / TWO32));
  };
  const descriptor = (encode: (d: never) => bigint[]): bigint[] =>
    nested(ctx, () => encode(m.desc as never));
  let desc: bigint[] | null = null;
  switch (kindName) {
    case 'ATS_REQ':
      put(AtsReq.PASID, int('pasid', PASID_LIMIT));
      putWide(AtsReq.VPN_WIDE, int('vpn', PFN_LIMIT));
      put(AtsReq.RID, int('rid', RID_LIMIT));
      break;
    case 'ATS_CPL':
      put(AtsCpl.STATUS, int('status', 2));
      putWide(AtsCpl.PFN_WIDE, int('pfn', PFN_LIMIT));
      put(AtsCpl.PERMS, int('perms', PERM_ALL + 1));
      put(AtsCpl.SIZE, int('size', 2));
      break;
    case 'PAGE_REQ':
      desc = descriptor(encodePageRequest);
      break;
    case 'PGRP_RESP':
      desc = descriptor(encodePageGroupResponse);
      break;
    case 'DMA_REQ': {
      const addr = int('addr', WIDE_LIMIT);
      const length = int('length', PAGE_BYTES + 1);
      const offset = addr - Math.floor(addr / PAGE_BYTES) * PAGE_BYTES;
      if (length === 0 || offset + length > PAGE_BYTES) {
        fail(`${length} bytes at ${hex(addr)} are not inside one 4 KiB page (devices split DMA)`);
      }
      const vpn = int('vpn', PFN_LIMIT);
      if ((flags & MsgFlag.TRANSLATED) === 0 && vpn !== 0) {
        fail(`vpn ${hex(vpn)} is carried only by a TRANSLATED request; give 0`);
      }
      put(DmaReq.PASID, int('pasid', PASID_LIMIT));
      putWide(DmaReq.ADDR_WIDE, addr);
      put(DmaReq.LENGTH, length);
      put(DmaReq.BUFFER_OFFSET, int('bufferOffset', TWO32));
      put(DmaReq.RID, int('rid', RID_LIMIT));
      putWide(DmaReq.VPN_WIDE, vpn);
      break;
    }
    case 'DMA_CPL':
      put(DmaCpl.STATUS, int('status', 2));
      break;
    case 'DEVTLB_INV': {
      const d = m.desc as { type?: unknown } | null;
      const type = typeof d === 'object' && d !== null ? d.type : undefined;
      if (type !== 'devtlb' && type !== 'pdevtlb') {
        fail(`desc must be a devtlb or pdevtlb descriptor, got type ${describeValue(type)}`);
      }
      desc = descriptor(encodeInvDesc);
      putWide(DevtlbInv.ISSUED_NS_WIDE, int('issuedNs', WIDE_LIMIT));
      break;
    }
    case 'DEVTLB_INV_CPL':
      putWide(DevtlbInv.ISSUED_NS_WIDE, int('issuedNs', WIDE_LIMIT));
      break;
    case 'CLIENT_START':
    case 'CLIENT_STOP':
    case 'CLIENT_IDLE':
    case 'CLIENT_FAULT':
    case 'CLIENT_RESUBMIT':
      put(ClientMsg.CLIENT, int('client', TWO32));
      put(ClientMsg.PASID, int('pasid', PASID_LIMIT));
      putWide(ClientMsg.SRC_WIDE, int('srcAddr', WIDE_LIMIT));
      putWide(ClientMsg.DST_WIDE, int('dstAddr', WIDE_LIMIT));
      put(ClientMsg.LENGTH, int('length', TWO32));
      putWide(ClientMsg.ISSUED_NS_WIDE, int('issuedNs', WIDE_LIMIT));
      break;
    case 'CONFIG_WRITE':
      put(ConfigWrite.ENABLES, int('enables', ENABLE_ALL + 1));
      put(ConfigWrite.PRI_ALLOCATION, int('priAllocation', TWO32));
      break;
    case 'CONFIG_CPL':
      break;
  }
  words.fill(0, base, base + MSG_DWORDS);
  for (const [off, v] of set) words[base + off] = v;
  if (desc !== null) writeQwords(words, base + DESC, desc);
}
