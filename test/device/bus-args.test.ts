import { describe, expect, it } from 'vitest';
import { DEVICE_BUFFER_BYTES, type Device } from '../../src/device/device.js';
import { createSystem, type System, type SystemConfig } from '../../src/index.js';
import { FaultReason } from '../../src/layout/index.js';

const ADDR = 0x1000_0000;

/** A device at rid 0x100 bound to a process with 2 pages at ADDR holding 'abcd' at ADDR. */
async function bound(config: SystemConfig = {}, pasidBits?: number) {
  const s = createSystem({ memory: { frames: 2048 }, ...config });
  const d = s.addDevice({ rid: 0x100, ...(pasidBits === undefined ? {} : { pasidBits }) });
  const p = s.createProcess();
  const pasid = s.svaGetPasid(await s.svaBindDevice(d, p));
  p.mmap({ addr: ADDR, length: 8192, prot: 'rw' });
  p.write(ADDR, new TextEncoder().encode('abcd'));
  return { s, d, p, pasid };
}

/** The error the call throws or rejects with. */
async function errorOf(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error, got none');
}

/** What the bus saw: simulated time, translations, DMA bytes and errors, fault records. */
function busState(s: System) {
  const t = s.counters.toTotals();
  return {
    nowNs: s.sim.nowNs,
    translations: t.translations,
    dmaBytes: t.dmaBytes,
    dmaErrors: t.dmaErrors,
    pageRequests: t.pageRequests,
    faults: s.iommu.faultRecords.length,
  };
}

/** Every public bus method, called with `pasid` and otherwise good arguments. */
const calls: [string, (d: Device, pasid: unknown) => Promise<unknown>][] = [
  ['translate', (d, pasid) => d.translate({ pasid: pasid as number, addr: ADDR })],
  ['dmaRead', (d, pasid) => d.dmaRead({ pasid: pasid as number, addr: ADDR, length: 4 })],
  [
    'dmaWrite',
    (d, pasid) => d.dmaWrite({ pasid: pasid as number, addr: ADDR, data: new Uint8Array(4) }),
  ],
  [
    'pageRequest',
    (d, pasid) =>
      d.pageRequest({ pasid: pasid as number, addr: ADDR, read: true, lpig: true, prgIndex: 1 }),
  ],
];

describe('Device bus API: PASIDs', () => {
  describe.each(calls)('%s()', (op, call) => {
    it.each([
      [2 ** 32 + 1, '4294967297'], // as a 32-bit message word: PASID 1
      [1.9, '1.9'],
      [Number.NaN, 'NaN'],
      [-1, '-1'],
      [2 ** 20, '1048576'],
      ['1', 'the string "1"'],
      [null, 'null'],
    ])('refuses PASID %s with EINVAL before anything reaches the bus', async (pasid, shown) => {
      const { s, d } = await bound();
      const before = busState(s);
      const e = await errorOf(() => call(d, pasid));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `${op}: pasid must be an integer 0..1048575 (device rid 0x100 has a 20-bit PASID capability), got ${shown}`,
      );
      expect(busState(s)).toEqual(before);
    });
  });

  it.each(calls.filter(([op]) => op !== 'pageRequest'))(
    '%s() refuses a missing PASID (undefined) instead of sending PASID 0',
    async (op, call) => {
      const { s, d } = await bound();
      const before = busState(s);
      const e = await errorOf(() => call(d, undefined));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toContain(`${op}: pasid must be an integer 0..1048575`);
      expect(e.message).toContain('got undefined');
      expect(busState(s)).toEqual(before);
    },
  );

  it('the bound PASID itself still works on every method', async () => {
    const { d, pasid } = await bound();
    expect(await d.translate({ pasid, addr: ADDR })).toMatchObject({ status: 'ok', r: true });
    const r = await d.dmaRead({ pasid, addr: ADDR, length: 4 });
    expect(r.status === 'ok' && new TextDecoder().decode(r.data)).toBe('abcd');
    expect(await d.dmaWrite({ pasid, addr: ADDR, data: new Uint8Array(4) })).toEqual({
      status: 'ok',
    });
    expect(
      await d.pageRequest({ pasid, addr: ADDR + 4096, write: true, lpig: true, prgIndex: 3 }),
    ).toMatchObject({ code: 0, prgIndex: 3 });
  });

  it("checks against the function's own PASID width, not 20 bits", async () => {
    const { s, d, pasid } = await bound({}, 4);
    const e = await errorOf(() => d.dmaRead({ pasid: 16, addr: ADDR, length: 4 }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'dmaRead: pasid must be an integer 0..15 (device rid 0x100 has a 4-bit PASID capability), got 16',
    );
    // 15 is a PASID the function can send; nothing is bound there: a fault at the unit
    expect((await d.dmaRead({ pasid: 15, addr: ADDR, length: 4 })).status).toBe('UR');
    expect(s.iommu.faultRecords.map((f) => f.pasid)).toEqual([15]);
    expect((await d.dmaRead({ pasid, addr: ADDR, length: 4 })).status).toBe('ok');
  });

  it('leaves a PASID within the function but beyond the unit to the unit (SGN.10)', async () => {
    const { s, d } = await bound({ iommu: { pasidBits: 4 } });
    expect((await d.dmaRead({ pasid: 16, addr: ADDR, length: 4 })).status).toBe('UR');
    expect(s.iommu.faultRecords.map((f) => f.reason)).toEqual([FaultReason.SGN_10]);
  });

  it('refuses any PASID from a function without the PASID capability', async () => {
    const s = createSystem({ memory: { frames: 2048 } });
    const d = s.addDevice({ rid: 0x300, pasidBits: 0, ats: false, pri: false });
    const e = await errorOf(() => d.dmaRead({ pasid: 0, addr: ADDR, length: 4 }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'dmaRead: device rid 0x300 has no PASID capability (pasidBits 0), so it cannot send a PASID (got 0); add the device with pasidBits 1..20',
    );
  });

  it('lets a page request go without a PASID (pasid omitted)', async () => {
    const { s, d } = await bound();
    const before = s.counters.toTotals().pageRequests;
    expect(await d.pageRequest({ addr: ADDR, read: true, lpig: true, prgIndex: 2 })).toMatchObject({
      pasidPresent: false,
      prgIndex: 2,
    });
    expect(s.counters.toTotals().pageRequests).toBe(before + 1);
  });
});

describe('Device bus API: addresses and lengths', () => {
  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [-4096, '-4096'],
    [ADDR + 0.5, '268435456.5'],
    [2 ** 48, '281474976710656'],
    [undefined, 'undefined'],
  ])('refuses addr %s on every method with EINVAL (4-level: below 2^48)', async (addr, shown) => {
    const { s, d, pasid } = await bound();
    const before = busState(s);
    const a = addr as number;
    const expected = `addr must be an integer byte address from 0 to below 2^48 (4-level paging: 48-bit addresses), got ${shown}`;
    for (const [op, call] of [
      ['translate', () => d.translate({ pasid, addr: a })],
      ['dmaRead', () => d.dmaRead({ pasid, addr: a, length: 4 })],
      ['dmaWrite', () => d.dmaWrite({ pasid, addr: a, data: new Uint8Array(4) })],
      ['pageRequest', () => d.pageRequest({ pasid, addr: a, read: true, lpig: true, prgIndex: 1 })],
    ] as const) {
      const e = await errorOf(call);
      expect([e.code, e.message]).toEqual(['EINVAL', `${op}: ${expected}`]);
    }
    expect(busState(s)).toEqual(before);
  });

  it('refuses a DMA running past the end of the address space instead of wrapping', async () => {
    const { s, d, pasid } = await bound();
    const before = busState(s);
    const e = await errorOf(() => d.dmaRead({ pasid, addr: 2 ** 48 - 2, length: 4 }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'dmaRead: [0xfffffffffffe, +4) runs past the end of the address space at 2^48 (4-level paging: 48-bit addresses)',
    );
    expect(busState(s)).toEqual(before);
    // the last two bytes of the space are a request (non-canonical for the user half: a fault)
    expect((await d.dmaRead({ pasid, addr: 2 ** 48 - 2, length: 2 })).status).toBe('UR');
    expect(s.iommu.faultRecords.map((f) => f.reason)).toEqual([FaultReason.SGN_1]);
  });

  it('takes addresses up to 2^53 with 5-level paging', async () => {
    const { s, d, pasid } = await bound({ cpu: { la57: true } });
    expect((await d.dmaRead({ pasid, addr: 2 ** 48, length: 4 })).status).toBe('UR'); // not mapped
    expect(s.iommu.faultRecords).toHaveLength(1);
    const e = await errorOf(() => d.translate({ pasid, addr: 2 ** 53 }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'translate: addr must be an integer byte address from 0 to below 2^53 (5-level paging, within the exact range of a number), got 9007199254740992',
    );
  });

  it.each([
    [0, '0'],
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [DEVICE_BUFFER_BYTES + 1, String(DEVICE_BUFFER_BYTES + 1)],
    ['4', 'the string "4"'],
  ])('refuses DMA length %s with EINVAL', async (length, shown) => {
    const { s, d, pasid } = await bound();
    const before = busState(s);
    const e = await errorOf(() => d.dmaRead({ pasid, addr: ADDR, length: length as number }));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(`dmaRead: DMA length must be 1..1048576 bytes, got ${shown}`);
    expect(busState(s)).toEqual(before);
  });

  it('refuses DMA write data that is not a Uint8Array, and an empty one', async () => {
    const { d, pasid } = await bound();
    const arr = await errorOf(() => d.dmaWrite({ pasid, addr: ADDR, data: [1, 2] as never }));
    expect([arr.code, arr.message]).toEqual([
      'EINVAL',
      'dmaWrite: data must be a Uint8Array, got an array',
    ]);
    const empty = await errorOf(() => d.dmaWrite({ pasid, addr: ADDR, data: new Uint8Array(0) }));
    expect([empty.code, empty.message]).toEqual([
      'EINVAL',
      'dmaWrite: DMA length must be 1..1048576 bytes, got 0',
    ]);
  });
});

describe('Device bus API: requests, flags and PRG indexes', () => {
  it('refuses a request that is not an object', async () => {
    const { d } = await bound();
    const e = await errorOf(() => d.translate(null as never));
    expect([e.code, e.message]).toEqual([
      'EINVAL',
      'translate: expected a request object { pasid, addr, write?, exec?, priv? }, got null',
    ]);
    const n = await errorOf(() => d.dmaRead(5 as never));
    expect(n.message).toBe('dmaRead: expected a request object { pasid, addr, length }, got 5');
  });

  it('refuses flags that are not booleans instead of taking their truthiness', async () => {
    const { s, d, pasid } = await bound();
    const before = busState(s);
    const w = await errorOf(() => d.translate({ pasid, addr: ADDR, write: 'no' as never }));
    expect([w.code, w.message]).toEqual([
      'EINVAL',
      'translate: write must be a boolean or omitted, got the string "no"',
    ]);
    const lpig = await errorOf(() =>
      d.pageRequest({ pasid, addr: ADDR, read: true, prgIndex: 1 } as never),
    );
    expect([lpig.code, lpig.message]).toEqual([
      'EINVAL',
      'pageRequest: lpig must be a boolean, got undefined',
    ]);
    expect(busState(s)).toEqual(before);
  });

  it.each([
    [512, '512'],
    [1.5, '1.5'],
    [-1, '-1'],
  ])('refuses PRG index %s in pageRequest and takeResponse', async (prgIndex, shown) => {
    const { d, pasid } = await bound();
    const e = await errorOf(() =>
      d.pageRequest({ pasid, addr: ADDR, read: true, lpig: true, prgIndex }),
    );
    expect([e.code, e.message]).toEqual([
      'EINVAL',
      `pageRequest: prgIndex must be 0..511 (9 bits), got ${shown}`,
    ]);
    const t = await errorOf(() => d.takeResponse(prgIndex));
    expect(t.message).toBe(`takeResponse: prgIndex must be 0..511 (9 bits), got ${shown}`);
    expect(d.outstandingPageRequests).toBe(0);
  });
});
