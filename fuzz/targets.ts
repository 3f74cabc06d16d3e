/**
 * What the fuzzer drives: every codec of `src/layout` and every decoder of words received from
 * another thread or device (`src/sim`: the checked message codec, the records between
 * partitions, the wide values of the message pool). Each target is a decoder and the encoder
 * that inverts it, with generators of decoder inputs and encoder inputs (`gen.ts`).
 *
 * Not driven here: the handlers of the model that read slot words in place (engine, devices,
 * client streams); they refuse malformed messages with EINVAL, tested in test/engine.
 */

import {
  CONTEXT_ENTRY,
  checkInvDesc,
  DEVTLB_INV,
  decodeContextEntry,
  decodeDevTlbRange,
  decodeFaultRecord,
  decodeInvDesc,
  decodePageGroupResponse,
  decodePageRequest,
  decodePasidDirEntry,
  decodePasidEntry,
  decodePte,
  decodeRootEntry,
  encodeContextEntry,
  encodeDevTlbRange,
  encodeFaultRecord,
  encodeInvDesc,
  encodeInvDescU32,
  encodePageGroupResponse,
  encodePageRequest,
  encodePasidDirEntry,
  encodePasidEntry,
  encodePte,
  encodeRootEntry,
  FAULT_RECORD,
  INV_DESC_LAYOUT,
  InvDescCode,
  type InvDescType,
  isInvDescValidU32,
  type Layout,
  PAGE_GROUP_RESPONSE,
  PAGE_GROUP_RESPONSE_PRIV_DATA,
  PAGE_REQUEST,
  PAGE_REQUEST_PRIV_DATA,
  PASID_DIR_ENTRY,
  PASID_ENTRY,
  PDEVTLB_INV,
  PTE,
  qwordsProblem,
  ROOT_ENTRY,
  readQwords,
  writeQwords,
} from '../src/layout/index.js';
import { deliverEncoded, encodeRecord, RECORD_WORDS } from '../src/runtime/quantum-driver.js';
import { MessagePool, MSG_DWORDS, MsgFlag, MsgKind } from '../src/sim/message.js';
import { decodeMessage, encodeMessage, type MsgKindName } from '../src/sim/message-codec.js';
import type { Rng } from '../src/sim/rng.js';
import { World } from '../src/sim/simulator.js';
import type { FuzzTarget } from './core.js';
import {
  badInt,
  intBelow,
  junk,
  layoutQwords,
  pick,
  type Schema,
  schemaOf,
  setRaw,
  spoiledValue,
  u32Edge,
  u64,
  validValue,
} from './gen.js';

/** Three times in ten the encoder input has one thing spoiled, else it is valid. */
function encoderInput(rng: Rng, schema: Schema): unknown {
  return rng.int(10) < 3 ? spoiledValue(rng, schema) : validValue(rng, schema);
}

/** A target of a bigint codec over one layout. */
function layoutTarget(
  name: string,
  layout: Layout,
  decode: (q: readonly bigint[]) => unknown,
  encode: (v: never) => bigint[],
  schema: Schema,
  fix?: (q: bigint[], rng: Rng) => void,
  layouts: readonly Layout[] = [layout],
): FuzzTarget {
  return {
    name,
    decode: (x) => decode(x as readonly bigint[]),
    encode: (v) => encode(v as never),
    input: (rng) => layoutQwords(rng, pick(rng, layouts), fix),
    value: (rng) => encoderInput(rng, schema),
  };
}

/** Sets the type fields of a descriptor: the right code nine times in ten, else random. */
function typeFixer(layout: Layout, code: () => number) {
  return (q: bigint[], rng: Rng) => {
    const c = rng.int(10) === 0 ? rng.int(128) : code();
    setRaw(q, layout.fields.type!, BigInt(c & 0xf));
    if (layout.fields.typeHi) setRaw(q, layout.fields.typeHi, BigInt(c >> 4));
  };
}

const PAGE_REQUEST_SCHEMA = schemaOf(PAGE_REQUEST, [], { type: { kind: 'const', value: 1 } });
const PAGE_GROUP_RESPONSE_SCHEMA = schemaOf(PAGE_GROUP_RESPONSE, ['type', 'typeHi']);

/** The typed form of each invalidation descriptor kind. */
const INV_DESC_SCHEMAS: Readonly<Record<InvDescType, Schema>> = Object.fromEntries(
  (Object.keys(InvDescCode) as InvDescType[]).map((type) => {
    const layout = INV_DESC_LAYOUT[type];
    const pfsid = layout === DEVTLB_INV || layout === PDEVTLB_INV;
    return [
      type,
      schemaOf(layout, ['type', 'typeHi', 'pfsidLo', 'pfsidHi'], {
        type: { kind: 'const', value: type },
        ...(pfsid ? { pfsid: { kind: 'int', limit: 0x1_0000, align: 1 } } : {}),
      }),
    ];
  }),
) as Record<InvDescType, Schema>;

const INV_TYPES = Object.keys(InvDescCode) as InvDescType[];

/** Qwords of an invalidation descriptor of a random kind. */
function invDescQwords(rng: Rng): unknown {
  const type = pick(rng, INV_TYPES);
  const layout =
    type === 'page-group-response' && rng.int(2) === 0
      ? PAGE_GROUP_RESPONSE_PRIV_DATA
      : INV_DESC_LAYOUT[type];
  return layoutQwords(
    rng,
    layout,
    typeFixer(layout, () => InvDescCode[type]),
  );
}

/** Invalidation descriptors as software writes them on the data path (u32 slots). */
function invDescU32Target(): FuzzTarget {
  const u32 = new Uint32Array(8);
  const viaU32 = new Uint32Array(8);
  return {
    name: 'inv-desc-u32',
    decode(x) {
      // the slot check of the data path agrees with checkInvDesc on every well-formed array
      const problem = checkInvDesc(x as readonly bigint[]);
      if (qwordsProblem('', 4, x) === null) {
        writeQwords(u32, 0, x as bigint[]);
        if (isInvDescValidU32(u32, 0) !== (problem === null)) {
          throw new Error(`isInvDescValidU32 disagrees with checkInvDesc (${problem?.kind})`);
        }
      }
      return decodeInvDesc(x as readonly bigint[]);
    },
    encode(v) {
      // the u32 encoder writes the bigint encoder's bits, or refuses the same way
      const q = encodeInvDesc(v as never);
      encodeInvDescU32(v as never, viaU32, 0);
      const back = readQwords(viaU32, 0, 4);
      if (back.some((w, i) => w !== q[i])) {
        throw new Error('encodeInvDescU32 wrote other bits than encodeInvDesc');
      }
      return back;
    },
    input: invDescQwords,
    value: (rng) => encoderInput(rng, INV_DESC_SCHEMAS[pick(rng, INV_TYPES)]),
  };
}

/** The device-TLB range encoding of type 3h/8h descriptors (ATS "lowest zero bit"). */
function devTlbRangeTarget(): FuzzTarget {
  const pageAddr = (rng: Rng) => Number(u64(rng) & ~0xfffn);
  return {
    name: 'dev-tlb-range',
    decode(x) {
      const { addr, s } = (x ?? {}) as { addr?: unknown; s?: unknown };
      return decodeDevTlbRange(addr as number, s as boolean);
    },
    encode(v) {
      const { base, sizeOrder } = (v ?? {}) as { base?: unknown; sizeOrder?: unknown };
      return encodeDevTlbRange(base as number, sizeOrder as number);
    },
    input(rng) {
      switch (rng.int(6)) {
        case 0:
          return { addr: junk(rng), s: rng.int(2) === 1 };
        case 1:
          return { addr: pageAddr(rng), s: junk(rng) };
        case 2:
          return { addr: pick(rng, [0, 2 ** 64 - 4096, 2 ** 63, 4096, 0xfff, 2 ** 64]), s: true };
        default: {
          // S=1 with k low ones above bit 12: the encoding of 2^(k+1) pages
          const k = rng.int(53);
          const ones = 2 ** (k + 12) - 4096;
          const high = Number(u64(rng) >> BigInt(k + 13)) * 2 ** (k + 13);
          return { addr: high + ones, s: rng.int(8) !== 0 };
        }
      }
    },
    value(rng) {
      const sizeOrder = rng.int(53);
      const base = Number((u64(rng) >> BigInt(sizeOrder + 12)) << BigInt(sizeOrder + 12));
      if (rng.int(10) >= 3) return { base, sizeOrder };
      return rng.int(2) === 0
        ? { base: base + 2 ** rng.int(sizeOrder + 12), sizeOrder } // misaligned (or rounded)
        : { base, sizeOrder: badInt(rng, 53) };
    },
  };
}

// ---------------------------------------------------------------- messages

const REQUEST_FLAGS = [MsgFlag.PASID, MsgFlag.WRITE, MsgFlag.EXEC, MsgFlag.PRIV];

/** Any subset of `flags`. */
function flagsOf(rng: Rng, flags: readonly number[]): number {
  let v = 0;
  for (const f of flags) if (rng.int(2) === 1) v |= f;
  return v;
}

const U32 = 0x1_0000_0000;
const int = (limit: number) => ({ kind: 'int', limit, align: 1 }) as const;
const CLIENT_PAYLOAD: Schema = {
  client: int(U32),
  pasid: int(2 ** 20),
  srcAddr: int(2 ** 53),
  dstAddr: int(2 ** 53),
  length: int(U32),
  issuedNs: int(2 ** 53),
};

/** A valid message of a random kind, or (when `spoilable`) one with a field spoiled. */
function messageValue(rng: Rng, spoilable = true): unknown {
  const kind = pick(rng, Object.keys(MsgKind) as MsgKindName[]);
  const header = { kind, flags: 0, tag: u32Edge(rng), endpoint: u32Edge(rng) };
  let payload: Schema;
  const fixed: Record<string, unknown> = {};
  switch (kind) {
    case 'ATS_REQ':
      header.flags = flagsOf(rng, REQUEST_FLAGS);
      payload = { pasid: int(2 ** 20), vpn: int(2 ** 52), rid: int(2 ** 16) };
      break;
    case 'ATS_CPL':
      payload = { status: int(2), pfn: int(2 ** 52), perms: int(32), size: int(2) };
      break;
    case 'PAGE_REQ':
      payload = { desc: { kind: 'nested', schema: PAGE_REQUEST_SCHEMA } };
      break;
    case 'PGRP_RESP':
      payload = { desc: { kind: 'nested', schema: PAGE_GROUP_RESPONSE_SCHEMA } };
      break;
    case 'DMA_REQ': {
      header.flags = flagsOf(rng, [...REQUEST_FLAGS, MsgFlag.TRANSLATED]);
      const addr = intBelow(rng, 2 ** 53);
      const room = 4096 - (addr % 4096);
      fixed.addr = addr;
      fixed.length = 1 + intBelow(rng, room);
      fixed.vpn = (header.flags & MsgFlag.TRANSLATED) !== 0 ? intBelow(rng, 2 ** 52) : 0;
      payload = { pasid: int(2 ** 20), bufferOffset: int(U32), rid: int(2 ** 16) };
      break;
    }
    case 'DMA_CPL':
      payload = { status: int(2) };
      break;
    case 'DEVTLB_INV':
      payload = {
        desc: {
          kind: 'nested',
          schema: INV_DESC_SCHEMAS[rng.int(2) === 0 ? 'devtlb' : 'pdevtlb'],
        },
        issuedNs: int(2 ** 53),
      };
      break;
    case 'DEVTLB_INV_CPL':
      payload = { issuedNs: int(2 ** 53) };
      break;
    case 'CONFIG_WRITE':
      payload = { enables: int(8), priAllocation: int(U32) };
      break;
    case 'CONFIG_CPL':
      payload = {};
      break;
    default:
      payload = CLIENT_PAYLOAD;
  }
  const schema: Schema = {
    ...payload,
    kind: { kind: 'const', value: kind },
    flags: { kind: 'const', value: header.flags },
    tag: { kind: 'const', value: header.tag },
    endpoint: { kind: 'const', value: header.endpoint },
  };
  const spoil = spoilable && rng.int(10) < 3;
  const v = spoil ? spoiledValue(rng, schema) : validValue(rng, schema);
  // every field given: a message has no defaults (nested descriptors may leave fields out)
  if (typeof v === 'object' && v !== null && !Array.isArray(v)) {
    const m = v as Record<string, unknown>;
    for (const [k, s] of Object.entries(schema)) {
      if (!(k in m) && !spoil) m[k] = s.kind === 'nested' ? validValue(rng, s.schema) : 0;
    }
    for (const [k, x] of Object.entries(fixed)) if (!(k in m) || !spoil) m[k] = x;
    if (spoil && rng.int(4) === 0) m.flags = pick(rng, [1, 0xff, MsgFlag.TRANSLATED << 1, -1]);
  }
  return v;
}

/** Decoder input of the message codec: a slot, valid or not, in a Uint32Array. */
function messageInput(rng: Rng): unknown {
  const roll = rng.int(100);
  if (roll < 5) return { words: junk(rng), base: 0 };
  if (roll < 10) {
    const words = new Uint32Array(MSG_DWORDS * 2);
    return { words, base: pick(rng, [-1, 1.5, MSG_DWORDS + 1, 2 * MSG_DWORDS, Number.NaN, '0']) };
  }
  const base = rng.int(2) * MSG_DWORDS;
  const words = new Uint32Array(MSG_DWORDS * 2);
  if (roll < 20) {
    for (let k = 0; k < MSG_DWORDS; k++) words[base + k] = u32Edge(rng);
    if (rng.int(2) === 0) words[base] = (words[base]! & ~0xff) | (1 + rng.int(15));
    return { words, base };
  }
  // a valid message, then perhaps one word at an edge value or one bit flipped
  encodeMessage(messageValue(rng, false) as never, words, base);
  const mutate = rng.int(4);
  if (mutate === 0) words[base + rng.int(MSG_DWORDS)] = u32Edge(rng);
  else if (mutate === 1) {
    const w = base + rng.int(MSG_DWORDS);
    words[w] = words[w]! ^ (1 << rng.int(32));
  }
  return { words, base };
}

function messageTarget(): FuzzTarget {
  return {
    name: 'message',
    decode(x) {
      const { words, base } = (x ?? {}) as { words?: unknown; base?: unknown };
      return decodeMessage(words as Uint32Array, base as number);
    },
    encode(v) {
      const words = new Uint32Array(MSG_DWORDS);
      encodeMessage(v as never, words, 0);
      return { words, base: 0 };
    },
    input: messageInput,
    value: (rng) => messageValue(rng),
  };
}

/**
 * Records between partitions, as the threaded runtime's rings carry them: `encodeRecord`
 * writes one, `deliverEncoded` reads it into `World.deliverRecord`, which queues the message;
 * the decoded form is what comes out of the destination's queue. The encoder is the
 * runtime's, fed by the simulator's own keys: its cases are valid keys only.
 */
function ringRecordTarget(): FuzzTarget {
  const world = new World(2, 100);
  for (const p of [0, 0, 1, 1, 0]) world.sims[p]!.register({ handle() {} });
  const endpoints = world.owner.length;
  const validRecord = (rng: Rng) => ({
    timeNs: intBelow(rng, 2 ** 53),
    source: intBelow(rng, 0x20_0000),
    seq: intBelow(rng, U32),
    dest: rng.int(endpoints),
    words: Uint32Array.from({ length: 16 }, () => u32Edge(rng)),
  });
  return {
    name: 'ring-record',
    decode(x) {
      const { w, o } = (x ?? {}) as { w?: Uint32Array; o?: number };
      deliverEncoded(world, w as Uint32Array, o as number);
      // accepted: take the message back out of its destination's queue
      const rec = w as Uint32Array;
      const at = o as number;
      const dest = rec[at + 21]!;
      const sim = world.sims[world.owner[dest]!]!;
      const timeNs = sim.queue.pop();
      const slot = sim.queue.poppedArg;
      if (sim.queue.poppedTarget !== dest || sim.queue.length !== 0) {
        throw new Error(`queued for endpoint ${sim.queue.poppedTarget}, not ${dest}`);
      }
      const b = sim.pool.base(slot);
      const words = sim.pool.words.slice(b, b + 16);
      sim.pool.release(slot);
      return {
        timeNs,
        source: rec[at + 18]!,
        seq: rec[at + 20]! * U32 + rec[at + 19]!,
        dest,
        words,
      };
    },
    encode(v) {
      const r = v as ReturnType<typeof validRecord>;
      const w = new Uint32Array(RECORD_WORDS);
      encodeRecord(w, 0, r.timeNs, r.source, r.seq, r.dest, r.words, 0);
      return { w, o: 0 };
    },
    input(rng) {
      const r = validRecord(rng);
      const w = new Uint32Array(RECORD_WORDS * 2);
      const o = rng.int(2) * RECORD_WORDS;
      encodeRecord(w, o, r.timeNs, r.source, r.seq, r.dest, r.words, 0);
      switch (rng.int(6)) {
        case 0: // one key word at an edge: time and seq high words, source, destination
          w[o + 16 + rng.int(6)] = u32Edge(rng);
          break;
        case 1:
          for (let k = 16; k < 22; k++) w[o + k] = u32Edge(rng);
          break;
        case 2:
          return {
            w,
            o: pick(rng, [-1, 0.5, RECORD_WORDS * 2, RECORD_WORDS * 2 - 20, Number.NaN]),
          };
        default:
          break;
      }
      return { w, o };
    },
    value: validRecord,
  };
}

/** The message pool's wide values: two dwords read by `getWide`, written by `setWide`. */
function wideValueTarget(): FuzzTarget {
  const pool = new MessagePool(1);
  return {
    name: 'wide-value',
    decode(x) {
      const { lo, hi } = x as { lo: number; hi: number };
      pool.words[4] = lo;
      pool.words[5] = hi;
      return pool.getWide(4);
    },
    encode(v) {
      pool.setWide(4, v as number);
      return { lo: pool.words[4]!, hi: pool.words[5]! };
    },
    input: (rng) => ({
      lo: u32Edge(rng),
      hi: rng.int(2) === 0 ? u32Edge(rng) : pick(rng, [0x1f_ffff, 0x20_0000, 0x1f_fffe]),
    }),
    value: (rng) => (rng.int(10) < 3 ? badInt(rng, 2 ** 53) : intBelow(rng, 2 ** 53)),
  };
}

/** Every target of `npm run fuzz`, in the order they run. */
export function allTargets(): FuzzTarget[] {
  const pdp = (bit: number) => (q: bigint[], rng: Rng) => {
    // private data present when qwords 2–3 hold any: mostly consistent, sometimes not
    const any = q[2] !== 0n || q[3] !== 0n;
    if (rng.int(8) !== 0) q[0] = any ? q[0]! | (1n << BigInt(bit)) : q[0]!;
  };
  const prFix = typeFixer(PAGE_REQUEST, () => 1);
  const pgrFix = typeFixer(PAGE_GROUP_RESPONSE, () => 9);
  return [
    layoutTarget(
      'page-request',
      PAGE_REQUEST,
      decodePageRequest,
      encodePageRequest,
      PAGE_REQUEST_SCHEMA,
      (q, rng) => {
        prFix(q, rng);
        pdp(9)(q, rng);
      },
      [PAGE_REQUEST, PAGE_REQUEST_PRIV_DATA],
    ),
    layoutTarget(
      'page-group-response',
      PAGE_GROUP_RESPONSE,
      decodePageGroupResponse,
      encodePageGroupResponse,
      PAGE_GROUP_RESPONSE_SCHEMA,
      (q, rng) => {
        pgrFix(q, rng);
        pdp(5)(q, rng);
      },
      [PAGE_GROUP_RESPONSE, PAGE_GROUP_RESPONSE_PRIV_DATA],
    ),
    {
      name: 'inv-desc',
      decode: (x) => decodeInvDesc(x as readonly bigint[]),
      encode: (v) => encodeInvDesc(v as never),
      input: invDescQwords,
      value: (rng) => encoderInput(rng, INV_DESC_SCHEMAS[pick(rng, INV_TYPES)]),
    },
    invDescU32Target(),
    layoutTarget('root-entry', ROOT_ENTRY, decodeRootEntry, encodeRootEntry, schemaOf(ROOT_ENTRY)),
    layoutTarget(
      'context-entry',
      CONTEXT_ENTRY,
      decodeContextEntry,
      encodeContextEntry,
      schemaOf(CONTEXT_ENTRY),
    ),
    layoutTarget(
      'pasid-dir-entry',
      PASID_DIR_ENTRY,
      decodePasidDirEntry,
      encodePasidDirEntry,
      schemaOf(PASID_DIR_ENTRY),
    ),
    layoutTarget(
      'pasid-entry',
      PASID_ENTRY,
      decodePasidEntry,
      encodePasidEntry,
      schemaOf(PASID_ENTRY),
    ),
    layoutTarget(
      'fault-record',
      FAULT_RECORD,
      decodeFaultRecord,
      encodeFaultRecord,
      schemaOf(FAULT_RECORD),
    ),
    layoutTarget('pte', PTE, decodePte, encodePte, schemaOf(PTE)),
    devTlbRangeTarget(),
    messageTarget(),
    ringRecordTarget(),
    wideValueTarget(),
  ];
}
