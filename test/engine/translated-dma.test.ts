import { describe, expect, it } from 'vitest';
import { AGENT_TAG_BASE, type Device } from '../../src/device/device.js';
import { FaultReason } from '../../src/layout/index.js';
import type { System } from '../../src/machine/system.js';
import { AtsReq, CplStatus, DmaCpl, DmaReq, MsgFlag, MsgKind, MW } from '../../src/sim/message.js';
import { smallSystem } from '../kernel/helpers.js';

/** Sends one raw request of `dev` and returns its completion's status (and the slot words). */
function roundTrip(s: System, dev: Device, fill: (w: Uint32Array, b: number) => void): number {
  const pool = s.sim.pool;
  let status = -1;
  dev.agent = {
    completion: (slot) => {
      status = pool.words[pool.base(slot) + DmaCpl.STATUS]!;
      pool.release(slot);
    },
    ownsGroup: () => false,
    pageResponse: () => {},
  };
  const slot = pool.alloc();
  const b = pool.base(slot);
  pool.words[b + MW.TAG] = AGENT_TAG_BASE;
  pool.words[b + MW.SRC] = dev.id;
  fill(pool.words, b);
  dev.post(slot);
  s.sim.runUntil(s.sim.nowNs + 100_000);
  dev.agent = null;
  return status;
}

/** A translated 64-byte DMA read of (pasid) at physical `pa`, `hostile` as model metadata. */
function translatedRead(s: System, dev: Device, pasid: number, pa: number, hostile = false) {
  return roundTrip(s, dev, (w, b) => {
    w[b + MW.KIND] = MsgKind.DMA_REQ | MsgFlag.PASID | MsgFlag.TRANSLATED;
    w[b + DmaReq.PASID] = pasid;
    s.sim.pool.setWide(b + DmaReq.ADDR_WIDE, pa);
    w[b + DmaReq.LENGTH] = 64;
    w[b + DmaReq.BUFFER_OFFSET] = 0;
    w[b + DmaReq.RID] = dev.rid;
    w[b + DmaReq.HOSTILE] = hostile ? 1 : 0;
  });
}

async function bound(ats = true) {
  const s = smallSystem();
  const d = s.addDevice({ rid: 0x100, ats, pri: ats });
  const p = s.createProcess();
  const h = await s.svaBindDevice(d, p);
  const pasid = s.svaGetPasid(h);
  const buf = p.mmap({ length: 4096, prot: 'rw' });
  p.write(buf, new Uint8Array(64).fill(0x5a));
  const pa = p.pageTable.lookup(buf / 4096)!.pfn * 4096;
  const seen: [number, number, number, boolean][] = [];
  s.accessCheck = (rid, pas, _vpn, pfn, _write, hostile) => seen.push([rid, pas, pfn, hostile]);
  return { s, d, p, h, pasid, buf, pa, seen };
}

describe('translated DMA (spec §6.1 Table 30, "Translated req")', () => {
  it('reaches the physical address it carries for a present PASID entry, whatever it is', async () => {
    const { s, d, pasid, pa, seen } = await bound();
    expect(translatedRead(s, d, pasid, pa)).toBe(CplStatus.SUCCESS);
    expect(d.buffer.subarray(0, 64).every((x) => x === 0x5a)).toBe(true);
    // a frame no translation gave: hardware cannot tell (the ATS trust gap)
    const other = 5 * 4096;
    expect(translatedRead(s, d, pasid, other, true)).toBe(CplStatus.SUCCESS);
    expect(seen).toEqual([
      [0x100, pasid, pa / 4096, false],
      [0x100, pasid, 5, true],
    ]);
    expect(s.iommu.faultRecords).toHaveLength(0);
  });

  it('answers UR and records 59h for a PASID whose entry is not present', async () => {
    const { s, d, pasid, pa, seen } = await bound();
    expect(translatedRead(s, d, pasid + 1, pa)).toBe(CplStatus.UR);
    expect(s.iommu.faultRecords).toEqual([
      {
        reason: FaultReason.SPT_2,
        sid: 0x100,
        pasidPresent: true,
        pasid: pasid + 1,
        addr: pa,
        write: false,
        timeNs: expect.any(Number),
      },
    ]);
    expect(seen).toEqual([]);
    expect(s.counters.toTotals().dmaErrors).toBe(1);
  });

  it('answers UR and records 89h for a PASID beyond the unit width (SGN.10)', async () => {
    const { s, d, pa } = await bound();
    expect(translatedRead(s, d, 2 ** 20, pa)).toBe(CplStatus.UR);
    expect(s.iommu.faultRecords.map((f) => [f.reason, f.pasid])).toEqual([
      [FaultReason.SGN_10, 2 ** 20],
    ]);
  });

  it('answers UR without a record after exit while bound: the FPD-only entry suppresses it', async () => {
    const { s, d, p, pasid, pa } = await bound();
    p.exit();
    expect(translatedRead(s, d, pasid, pa)).toBe(CplStatus.UR);
    expect(s.iommu.faultRecords).toHaveLength(0);
  });

  it('uses a cached present entry without counting a PASID-cache lookup', async () => {
    const { s, d, pasid, buf, pa } = await bound();
    await d.translate({ pasid, addr: buf }); // caches the PASID entry
    const pc = s.iommu.pasidCache;
    const before = [pc.hits, pc.misses];
    expect(translatedRead(s, d, pasid, pa)).toBe(CplStatus.SUCCESS);
    expect([pc.hits, pc.misses]).toEqual(before);
  });
});

describe('DTE clear in the context entry (a function without ATS)', () => {
  it('blocks translated DMA and translation requests with UR, and records nothing', async () => {
    const { s, d, pasid, buf, pa, seen } = await bound(false);
    expect(translatedRead(s, d, pasid, pa, true)).toBe(CplStatus.UR);
    expect(seen).toEqual([]);
    const status = roundTrip(s, d, (w, b) => {
      w[b + MW.KIND] = MsgKind.ATS_REQ | MsgFlag.PASID;
      w[b + AtsReq.PASID] = pasid;
      s.sim.pool.setWide(b + AtsReq.VPN_WIDE, buf / 4096);
      w[b + AtsReq.RID] = d.rid;
    });
    expect(status).toBe(CplStatus.UR);
    expect(s.iommu.faultRecords).toHaveLength(0);
    // untranslated DMA is not affected by DTE
    expect(await d.dmaRead({ pasid, addr: buf, length: 64 })).toMatchObject({ status: 'ok' });
  });
});
