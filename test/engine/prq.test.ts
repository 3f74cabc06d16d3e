import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PageRequestQueue, PRQ_NO_RESPONSE } from '../../src/engine/prq.js';
import {
  decodePageGroupResponse,
  encodeContextEntry,
  encodePageRequest,
  encodePasidDirEntry,
  encodePasidEntry,
  encodeRootEntry,
  FaultReason,
  getField,
  PAGE_REQUEST,
  PageResponseCode,
  readQwords,
  writeQwords,
} from '../../src/layout/index.js';
import { PhysicalMemory } from '../../src/mem/index.js';

const RID = 0x100;
const PASID = 3;
const DID = 9;
/** A second PASID with a present entry. */
const PASID_B = 6;

/** A queue of `entries` over tables that map RID/PASID (PASID entry present, DID 9). */
function setup(entries = 4) {
  const mem = new PhysicalMemory({ frames: 16 });
  const [root, ctx, dir, table, ring] = [1, 2, 3, 4, 5].map(() => mem.allocFrame()) as number[];
  const u32 = mem.u32;
  writeQwords(u32, (root! * 4096 + 16) / 4, encodeRootEntry({ lp: true, lctp: ctx! * 4096 }));
  writeQwords(
    u32,
    (ctx! * 4096) / 4,
    encodeContextEntry({ p: true, paside: true, pre: true, ridPasid: 0, pasidDirPtr: dir! * 4096 }),
  );
  writeQwords(u32, (dir! * 4096) / 4, encodePasidDirEntry({ p: true, tablePtr: table! * 4096 }));
  writeQwords(u32, (table! * 4096 + PASID * 64) / 4, encodePasidEntry({ p: true, did: DID }));
  writeQwords(u32, (table! * 4096 + PASID_B * 64) / 4, encodePasidEntry({ p: true, did: DID }));
  const calls: string[] = [];
  const q = new PageRequestQueue(mem);
  q.attach({
    rootTablePfn: () => root!,
    received: (dev, stop) => calls.push(`received ${dev}${stop ? ' stop' : ''}`),
    recordFault: (reason, sid, pp, pasid, addr, write, fpd, dev) =>
      calls.push(
        `fault ${reason.toString(16)} ${sid} ${pp} ${pasid} ${addr} ${write} ${fpd} ${dev}`,
      ),
    overflow: (dev) => calls.push(`overflow ${dev}`),
    invalidatePage: (did, pasid, vpn) => calls.push(`invalidate ${did} ${pasid} ${vpn}`),
    raiseEvent: () => calls.push('event'),
  });
  q.setQueue(ring!, entries);
  return { mem, q, calls };
}

/** A message slot holding a page request for PASID at page `vpn`. */
function request(pasid: number, vpn: number, lpig = true, prgIndex = 5): Uint32Array {
  const w = new Uint32Array(8);
  const fields = { pasidPresent: true, rid: RID, pasid, rdReq: true, wrReq: true, lpig, prgIndex };
  writeQwords(w, 0, encodePageRequest({ ...fields, addr: vpn * 4096 }));
  return w;
}

describe('PageRequestQueue.receive()', () => {
  it('queues an accepted request at PQT after the implicit invalidation, then raises PPR once', () => {
    const { mem, q, calls } = setup();
    const w = request(PASID, 0x42);
    expect(q.receive(w, 0, 7, 0)).toBe(PRQ_NO_RESPONSE);
    expect(readQwords(mem.u32, q.slotAddress(0) / 4, 4)).toEqual(readQwords(w, 0, 4));
    expect(q.receive(request(PASID, 0x43), 0, 7, 0)).toBe(PRQ_NO_RESPONSE);
    expect(q.status()).toEqual({ entries: 4, head: 0, tail: 2, ppr: true, pro: false });
    expect(calls).toEqual([
      'received 7',
      `invalidate ${DID} ${PASID} ${0x42}`,
      'event',
      'received 7',
      `invalidate ${DID} ${PASID} ${0x43}`,
    ]);
  });

  it('answers Invalid Request in place after a failed table check, recording the fault', () => {
    const { q, calls } = setup();
    const w = request(PASID + 1, 0x42, true, 0x1a5);
    expect(q.receive(w, 0, 2, 0)).toBe(PageResponseCode.INVALID);
    expect(decodePageGroupResponse(readQwords(w, 0, 4))).toMatchObject({
      code: PageResponseCode.INVALID,
      rid: RID,
      pasid: PASID + 1,
      prgIndex: 0x1a5,
      lpig: true,
    });
    expect(calls).toEqual([
      'received 2',
      `fault ${FaultReason.SPT_2.toString(16)} ${RID} true ${PASID + 1} ${0x42 * 4096} true false 2`,
    ]);
    expect(q.receive(request(PASID + 1, 0x42, false), 0, 2, 0)).toBe(PRQ_NO_RESPONSE);
    expect(q.status().tail).toBe(0);
  });

  it('sets PRO on a full ring, answers Success for LPIG=1 and drops LPIG=0 until PRO is cleared', () => {
    const { q, calls } = setup(4);
    for (let i = 0; i < 3; i++) q.receive(request(PASID, i), 0, 0, 0); // N − 1 = 3 fit
    q.clearPpr();
    calls.length = 0;
    expect(q.receive(request(PASID, 9), 0, 0, 0)).toBe(PageResponseCode.SUCCESS);
    expect(q.receive(request(PASID, 9, false), 0, 0, 0)).toBe(PRQ_NO_RESPONSE);
    expect(q.status()).toMatchObject({ tail: 3, ppr: false, pro: true });
    // the first overflow raises an event because PPR was clear; the second does not
    expect(calls).toEqual(['received 0', 'overflow 0', 'event', 'received 0', 'overflow 0']);
    q.writeHead(3);
    q.clearPro();
    expect(q.receive(request(PASID, 10), 0, 0, 0)).toBe(PRQ_NO_RESPONSE);
    expect(q.status()).toMatchObject({ head: 3, tail: 0, ppr: true, pro: false });
  });
});

describe('PageRequestQueue software registers', () => {
  it('refuses a PQH write outside the ring (a broken invariant)', () => {
    const { q } = setup(4);
    expect(() => q.writeHead(4)).toThrow(/PQH write out of range: 4 \(queue of 4 descriptors\)/);
  });
});

describe('PageRequestQueue.queuedWithPasid()', () => {
  /** What software finds reading the ring: requests of `pasid` in [head, tail). */
  function scan(mem: PhysicalMemory, q: PageRequestQueue, pasid: number): number {
    const PR = PAGE_REQUEST.fields;
    let n = 0;
    for (let i = q.head; i !== q.tail; i = (i + 1) % q.entries) {
      const dw = q.slotAddress(i) / 4;
      if (getField(mem.u32, dw, PR.pasidPresent) && getField(mem.u32, dw, PR.pasid) === pasid) n++;
    }
    return n;
  }

  it('counts the requests of a PASID between head and tail as the ring fills, wraps and drains', () => {
    fc.assert(
      fc.property(
        fc.array(fc.oneof(fc.constantFrom(PASID, PASID_B, PASID + 1), fc.nat(8)), {
          maxLength: 80,
        }),
        (ops) => {
          const { mem, q } = setup(8);
          let vpn = 0;
          for (const op of ops) {
            if (op === PASID || op === PASID_B || op === PASID + 1) {
              q.receive(request(op, vpn++), 0, 0, 0); // PASID + 1 fails the table check
            } else {
              // software consumes up to `op` requests, as the PRQ thread does with PQH
              const n = Math.min(op, q.pending);
              q.writeHead((q.head + n) % q.entries);
              if (q.pro && q.head === q.tail) q.clearPro();
            }
            for (const p of [PASID, PASID_B, PASID + 1]) {
              expect(q.queuedWithPasid(p)).toBe(scan(mem, q, p));
            }
          }
        },
      ),
    );
  });

  it('cannot tell (−1) once head or tail was set other than by reception and PQH writes', () => {
    const { q } = setup(8);
    q.receive(request(PASID, 1), 0, 0, 0);
    expect(q.queuedWithPasid(PASID)).toBe(1);
    q.tail = (q.tail + 1) % q.entries; // a ring built by hand
    expect(q.queuedWithPasid(PASID)).toBe(-1);
    q.writeHead(q.tail);
    expect(q.queuedWithPasid(PASID)).toBe(-1);
    q.setQueue(q.basePfn, 8); // enabling the queue again starts a new count
    expect(q.queuedWithPasid(PASID)).toBe(0);
  });
});
