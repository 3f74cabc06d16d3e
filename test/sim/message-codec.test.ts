import { describe, expect, it } from 'vitest';
import { encodeInvDesc, encodePageRequest, writeQwords } from '../../src/layout/index.js';
import { AtsReq, DESC, DmaReq, MSG_DWORDS, MsgFlag, MsgKind, MW } from '../../src/sim/message.js';
import { decodeMessage, encodeMessage, type Message } from '../../src/sim/message-codec.js';

function thrown(fn: () => unknown): Error & { code?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}

const header = { flags: 0, tag: 7, endpoint: 3 };

/** One well-formed message of every kind. */
const EXAMPLES: readonly Message[] = [
  {
    kind: 'ATS_REQ',
    ...header,
    flags: MsgFlag.PASID | MsgFlag.WRITE,
    pasid: 0xf_ffff,
    vpn: 2 ** 52 - 1,
    rid: 0xffff,
  },
  { kind: 'ATS_CPL', ...header, status: 0, pfn: 0x12345, perms: 0x1f, size: 1 },
  {
    kind: 'PAGE_REQ',
    ...header,
    desc: {
      type: 1,
      pasidPresent: true,
      privDataPresent: false,
      rid: 0x100,
      pasid: 5,
      exeReq: false,
      pmReq: false,
      rdReq: true,
      wrReq: true,
      lpig: true,
      prgIndex: 0x1ff,
      addr: 0x7fff_f000,
    },
  },
  {
    kind: 'PGRP_RESP',
    ...header,
    desc: {
      pasidPresent: true,
      privDataPresent: false,
      code: 0xf,
      rid: 0x100,
      pasid: 5,
      prgIndex: 3,
      lpig: true,
    },
  },
  {
    kind: 'DMA_REQ',
    ...header,
    flags: MsgFlag.PASID | MsgFlag.TRANSLATED,
    pasid: 1,
    addr: 2 ** 53 - 4096,
    length: 4096,
    bufferOffset: 0xffff_ffff,
    rid: 0x100,
    vpn: 0x123,
  },
  { kind: 'DMA_CPL', ...header, status: 1 },
  {
    kind: 'DEVTLB_INV',
    ...header,
    desc: {
      type: 'pdevtlb',
      qdep: 0,
      pfsid: 0x100,
      sid: 0x100,
      pasid: 9,
      gi: false,
      s: true,
      addr: 0x7fff_f000,
    },
    issuedNs: 2 ** 53 - 1,
  },
  { kind: 'DEVTLB_INV_CPL', ...header, issuedNs: 12 },
  {
    kind: 'CLIENT_START',
    ...header,
    client: 0xffff_ffff,
    pasid: 4,
    srcAddr: 1,
    dstAddr: 2,
    length: 0,
    issuedNs: 0,
  },
  {
    kind: 'CLIENT_RESUBMIT',
    ...header,
    client: 0,
    pasid: 0,
    srcAddr: 0,
    dstAddr: 0,
    length: 0xffff_ffff,
    issuedNs: 2 ** 53 - 1,
  },
  { kind: 'CONFIG_WRITE', ...header, enables: 7, priAllocation: 0xffff_ffff },
  { kind: 'CONFIG_CPL', ...header },
];

describe('encodeMessage() / decodeMessage()', () => {
  it('write an ATS request where the record layout says (hand-computed words)', () => {
    const w = new Uint32Array(MSG_DWORDS * 2).fill(0xdead);
    encodeMessage(EXAMPLES[0]!, w, MSG_DWORDS);
    const b = MSG_DWORDS;
    // dw0 = ATS_REQ (1) | PASID (1 << 8) | WRITE (1 << 9) = 0x301
    expect(w[b + MW.KIND]).toBe(0x301);
    expect(w[b + MW.TAG]).toBe(7);
    expect(w[b + MW.SRC]).toBe(3);
    expect(w[b + AtsReq.PASID]).toBe(0xf_ffff);
    // vpn 2^52 − 1: lo dword 0xffff_ffff, hi dword 2^20 − 1
    expect([w[b + AtsReq.VPN_WIDE], w[b + AtsReq.VPN_WIDE + 1]]).toEqual([0xffff_ffff, 0xf_ffff]);
    expect(w[b + AtsReq.RID]).toBe(0xffff);
    expect([...w.subarray(b + 7, b + MSG_DWORDS)]).toEqual(new Array(9).fill(0));
    expect(w[0]).toBe(0xdead); // the slot before is untouched
  });

  it('round-trip a message of every kind', () => {
    const kinds = new Set(EXAMPLES.map((m) => m.kind));
    expect(kinds.size).toBe(Object.keys(MsgKind).length - 3); // CLIENT_STOP/IDLE/FAULT alike
    for (const m of EXAMPLES) {
      const w = new Uint32Array(MSG_DWORDS);
      encodeMessage(m, w, 0);
      expect(decodeMessage(w, 0)).toEqual(m);
    }
  });

  it('carry the page request and device-TLB descriptors as the layout codecs encode them', () => {
    const w = new Uint32Array(MSG_DWORDS);
    const pr = EXAMPLES[2] as Extract<Message, { kind: 'PAGE_REQ' }>;
    encodeMessage(pr, w, 0);
    const expected = new Uint32Array(8);
    writeQwords(expected, 0, encodePageRequest(pr.desc));
    expect([...w.subarray(DESC, DESC + 8)]).toEqual([...expected]);
    const inv = EXAMPLES[6] as Extract<Message, { kind: 'DEVTLB_INV' }>;
    encodeMessage(inv, w, 0);
    writeQwords(expected, 0, encodeInvDesc(inv.desc));
    expect([...w.subarray(DESC, DESC + 8)]).toEqual([...expected]);
  });

  it('ignore the words a kind does not use (a reply written over its request)', () => {
    const w = new Uint32Array(MSG_DWORDS).fill(0xffff_ffff);
    w[MW.KIND] = MsgKind.CONFIG_CPL;
    expect(decodeMessage(w, 0)).toEqual({
      kind: 'CONFIG_CPL',
      flags: 0,
      tag: 0xffff_ffff,
      endpoint: 0xffff_ffff,
    });
  });
});

describe('decodeMessage() refuses malformed slots with EINVAL', () => {
  const slot = (m: Message): Uint32Array => {
    const w = new Uint32Array(MSG_DWORDS);
    encodeMessage(m, w, 0);
    return w;
  };

  it('an unknown kind, naming it and the raw words', () => {
    const w = new Uint32Array(MSG_DWORDS);
    w[0] = 0x20;
    const e = thrown(() => decodeMessage(w, 0));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      `message at word 0: kind 32 is not a message kind (dw0 bits 7:0); words [00000020${' 00000000'.repeat(15)}]`,
    );
  });

  it('a flag the kind may not carry', () => {
    const w = slot(EXAMPLES[1]!);
    w[0]! |= MsgFlag.WRITE;
    expect(thrown(() => decodeMessage(w, 0)).message).toMatch(
      /^message ATS_CPL at word 0: flags 0x200 \(dw0 bits 31:8\) outside the 0x0 ATS_CPL may carry;/,
    );
  });

  it('a PASID of 2^20, a RID of 2^16, a wide value of 2^53 and a page number of 2^52', () => {
    const ats = slot(EXAMPLES[0]!);
    ats[AtsReq.PASID] = 2 ** 20;
    expect(thrown(() => decodeMessage(ats, 0)).message).toMatch(
      /^message ATS_REQ at word 0: pasid 0x100000 \(dw3\) must be below 0x100000;/,
    );
    ats[AtsReq.PASID] = 0;
    ats[AtsReq.RID] = 0x1_0000;
    expect(thrown(() => decodeMessage(ats, 0)).message).toMatch(/rid 0x10000 \(dw6\)/);
    ats[AtsReq.RID] = 0;
    ats[AtsReq.VPN_WIDE + 1] = 0x10_0000; // vpn = 2^52
    expect(thrown(() => decodeMessage(ats, 0)).message).toMatch(
      /vpn hi 0x100000 lo 0xffffffff \(dw4\.\.5\) must be below 0x10000000000000;/,
    );
    const dma = slot(EXAMPLES[4]!);
    dma[DmaReq.ADDR_WIDE + 1] = 0x20_0000; // addr = 2^53 + …
    expect(thrown(() => decodeMessage(dma, 0)).message).toMatch(/addr hi 0x200000/);
  });

  it('a DMA that is empty or leaves its page', () => {
    const dma = slot(EXAMPLES[4]!);
    dma[DmaReq.LENGTH] = 0;
    expect(thrown(() => decodeMessage(dma, 0)).message).toMatch(
      /^message DMA_REQ at word 0: 0 bytes at 0x1ffffffffff000 are not inside one 4 KiB page/,
    );
    dma[DmaReq.LENGTH] = 1;
    dma[DmaReq.ADDR_WIDE] = (dma[DmaReq.ADDR_WIDE]! + 4095) >>> 0;
    expect(decodeMessage(dma, 0)).toMatchObject({ length: 1 });
    dma[DmaReq.LENGTH] = 2;
    expect(thrown(() => decodeMessage(dma, 0)).code).toBe('EINVAL');
  });

  it('a descriptor its layout codec refuses, or one of another type', () => {
    const pr = slot(EXAMPLES[2]!);
    pr[DESC + 1]! |= 1 << 31; // bit 63 of qw0: reserved in page_req_dsc
    expect(thrown(() => decodeMessage(pr, 0)).message).toMatch(
      /^message PAGE_REQ at word 0: page_req_dsc: reserved bits set \[/,
    );
    const inv = slot(EXAMPLES[6]!);
    writeQwords(inv, DESC, encodeInvDesc({ type: 'iotlb', did: 1 }));
    expect(thrown(() => decodeMessage(inv, 0)).message).toMatch(
      /descriptor type iotlb is not a device-TLB invalidation \(3h or 8h\)/,
    );
  });

  it('anything that is not a slot of a Uint32Array', () => {
    const w = new Uint32Array(MSG_DWORDS);
    for (const [words, base, msg] of [
      [null, 0, 'decodeMessage: expected a Uint32Array, got null'],
      [[0], 0, 'decodeMessage: expected a Uint32Array, got an array of 1'],
      [new Int32Array(16), 0, 'decodeMessage: expected a Uint32Array, got a Int32Array'],
      [
        w,
        1,
        'decodeMessage: a slot of 16 words starts at an integer word index in [0, 0] of this 16-word array, got the number 1',
      ],
      [
        w,
        -1,
        'decodeMessage: a slot of 16 words starts at an integer word index in [0, 0] of this 16-word array, got the number -1',
      ],
      [
        w,
        '0',
        'decodeMessage: a slot of 16 words starts at an integer word index in [0, 0] of this 16-word array, got the string "0"',
      ],
    ] as const) {
      const e = thrown(() => decodeMessage(words as never, base as never));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(msg);
    }
  });
});

describe('encodeMessage() refuses bad messages with EINVAL, leaving the slot as it was', () => {
  it('unknown kinds, unknown fields, out-of-range and mistyped values', () => {
    const w = new Uint32Array(MSG_DWORDS).fill(5);
    for (const [m, msg] of [
      [null, 'encodeMessage: expected a message object, got null'],
      [
        { kind: 'NOPE' },
        /^encodeMessage: kind must be one of ATS_REQ, ATS_CPL, .*; got the string "NOPE"$/,
      ],
      [{ ...EXAMPLES[5]!, pasid: 1 }, /^encodeMessage \(DMA_CPL\): no field named "pasid"/],
      [
        { ...EXAMPLES[5]!, status: 2 },
        'encodeMessage (DMA_CPL): status must be an integer in [0, 0x2), got the number 2',
      ],
      [
        { ...EXAMPLES[5]!, tag: -1 },
        /tag must be an integer in \[0, 0x100000000\), got the number -1/,
      ],
      [
        { ...EXAMPLES[0]!, vpn: '1' },
        /vpn must be an integer in \[0, 0x10000000000000\), got the string "1"/,
      ],
      [
        { ...EXAMPLES[4]!, flags: MsgFlag.PASID },
        /vpn 0x123 is carried only by a TRANSLATED request; give 0/,
      ],
      [{ ...EXAMPLES[4]!, flags: 1 }, /flags 0x1 outside the 0x1f00 DMA_REQ may carry/],
      [
        { ...EXAMPLES[6]!, desc: { type: 'iotlb' } },
        /desc must be a devtlb or pdevtlb descriptor, got type the string "iotlb"/,
      ],
      [
        { ...EXAMPLES[2]!, desc: { rid: -1 } },
        /^encodeMessage \(PAGE_REQ\): page_req_dsc\.rid \[31:16\]: expected a non-negative integer, got the number -1$/,
      ],
    ] as const) {
      const e = thrown(() => encodeMessage(m as never, w, 0));
      expect(e.code).toBe('EINVAL');
      if (typeof msg === 'string') expect(e.message).toBe(msg);
      else expect(e.message).toMatch(msg);
      expect([...w]).toEqual(new Array(MSG_DWORDS).fill(5));
    }
  });
});
