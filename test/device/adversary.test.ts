import { describe, expect, it } from 'vitest';
import {
  ADVERSARY_KINDS,
  Adversary,
  type AdversaryKind,
  HOSTILE_DMA_BYTES,
  HOSTILE_PRG_FIRST,
  LPIG_FLOOD_BURST,
  type PasidSource,
  Via,
  type ViaCode,
} from '../../src/device/adversary.js';
import {
  AGENT_TAG_BASE,
  DEVICE_BUFFER_BYTES,
  type DeviceOptions,
} from '../../src/device/device.js';
import { createSystem, type SystemConfig } from '../../src/index.js';
import { FaultReason, getField, PAGE_REQUEST } from '../../src/layout/index.js';
import { InvariantChecker } from '../../src/machine/checks.js';
import { Counter } from '../../src/metrics/counters.js';
import { DESC, DmaReq, MsgFlag, MsgKind, MW } from '../../src/sim/message.js';

const PR = PAGE_REQUEST.fields;
const KiB64 = 1 << 16;
const HOSTILE_BUFFER = DEVICE_BUFFER_BYTES / 2;

/** One hostile transaction as it left the device, decoded. */
interface Sent {
  kind: 'ats' | 'dma' | 'pageRequest';
  pasidPresent: boolean;
  pasid: number;
  /** Byte address (virtual, or physical when translated). */
  addr: number;
  translated: boolean;
  read: boolean;
  write: boolean;
  lpig: boolean;
  prgIndex: number;
}

const k = (kind: AdversaryKind): number => ADVERSARY_KINDS.indexOf(kind);

/**
 * A unit with an honest device (rid 0x100) and a hostile one (rid 0x200), each bound to its
 * own process with a 64 KiB buffer at the same address; the hostile stream learns its
 * client's PASID and buffer from a fixed source, and every transaction it sends is decoded.
 */
async function rig(
  config: { system?: SystemConfig; evil?: Partial<DeviceOptions>; clients?: number } = {},
) {
  const s = createSystem({ memory: { frames: 4096 }, ...config.system });
  const honest = s.addDevice({ rid: 0x100 });
  const evil = s.addDevice({ rid: 0x200, ...config.evil });
  const client = { pasid: -1, buffer: 0, active: 1 };
  const source: PasidSource = {
    get activeClients() {
      return client.active;
    },
    activePasid: () => client.pasid,
    activeBuffer: () => client.buffer,
    hasActivePasid: (p) => p === client.pasid,
  };
  const adv = new Adversary(
    evil,
    {
      rate: 1_000_000,
      kinds: [...ADVERSARY_KINDS],
      seed: 7,
      unitPasidBits: s.iommu.caps.pasidBits,
      clients: config.clients ?? 2,
      levels: 4,
      totalFrames: s.memory.totalFrames,
    },
    s.sim,
    source,
    { sent: (_kind, n) => s.counters.add(Counter.hostileRequests, n) },
  );
  const checker = new InvariantChecker(s, [adv]);
  const ph = s.createProcess();
  const hh = await s.svaBindDevice(honest, ph);
  const pe = s.createProcess();
  const he = await s.svaBindDevice(evil, pe);
  const bufH = ph.mmap({ length: KiB64, prot: 'rw' });
  const bufE = pe.mmap({ length: KiB64, prot: 'rw' });
  ph.fillPages(bufH, KiB64, (i) => 0xa0 + i);
  pe.fillPages(bufE, KiB64, (i) => 0x50 + i);
  client.pasid = s.svaGetPasid(he);
  client.buffer = bufE;
  const sent: Sent[] = [];
  const post = evil.post.bind(evil);
  evil.post = (slot: number) => {
    const pool = s.sim.pool;
    const w = pool.words;
    const b = pool.base(slot);
    const kind = w[b + MW.KIND]! & 0xff;
    const flags = w[b + MW.KIND]!;
    if (kind === MsgKind.PAGE_REQ) {
      const d = b + DESC;
      const pp = getField(w, d, PR.pasidPresent) === 1;
      sent.push({
        kind: 'pageRequest',
        pasidPresent: pp,
        pasid: getField(w, d, PR.pasid),
        addr: getField(w, d, PR.addr) * 4096,
        translated: false,
        read: getField(w, d, PR.rdReq) === 1,
        write: getField(w, d, PR.wrReq) === 1,
        lpig: getField(w, d, PR.lpig) === 1,
        prgIndex: getField(w, d, PR.prgIndex),
      });
    } else if (w[b + MW.TAG]! >= 0xc000_0000) {
      const dma = kind === MsgKind.DMA_REQ;
      sent.push({
        kind: dma ? 'dma' : 'ats',
        pasidPresent: (flags & MsgFlag.PASID) !== 0,
        pasid: w[b + DmaReq.PASID]!,
        addr: dma ? pool.getWide(b + DmaReq.ADDR_WIDE) : pool.getWide(b + 4) * 4096,
        translated: (flags & MsgFlag.TRANSLATED) !== 0,
        read: true,
        write: (flags & MsgFlag.WRITE) !== 0,
        lpig: false,
        prgIndex: -1,
      });
    }
    post(slot);
  };
  const settle = (ns = 200_000) => s.sim.runUntil(s.sim.nowNs + ns);
  /** Fires `n` transactions of (kind, via), letting each be answered (and faults serviced). */
  const fireEach = (kind: AdversaryKind, via: ViaCode, n: number): number => {
    let total = 0;
    for (let i = 0; i < n; i++) {
      total += adv.fire(kind, via);
      settle();
    }
    return total;
  };
  /** Unbinds and exits everything, then runs the run's final invariant checks. */
  const finish = async () => {
    settle();
    await s.svaUnbindDevice(hh);
    await s.svaUnbindDevice(he);
    ph.exit();
    pe.exit();
    settle();
    checker.finalChecks(() => true);
    return checker.violations;
  };
  return {
    s,
    honest,
    evil,
    adv,
    checker,
    client,
    ph,
    pe,
    pasidH: s.svaGetPasid(hh),
    pasidE: client.pasid,
    bufH,
    bufE,
    sent,
    settle,
    fireEach,
    finish,
  };
}

/** What the table walk finds for PASID `pasid` of the hostile device (20-bit PASID table). */
function tableReason(pasid: number): number {
  // directory entry 0 exists from probe (the RID2PASID entry): PASIDs below 64 meet an
  // absent PASID-table entry (59h), the others an absent directory entry (51h)
  return pasid < 64 ? FaultReason.SPT_2 : FaultReason.SPD_2;
}

describe('Adversary, foreignPasid: a PASID not bound to this function (spec §6.1 Table 30)', () => {
  it('DMA: UR and a fault record 59h/51h per request, whether the PASID is another device’s or free', async () => {
    const r = await rig();
    expect(r.fireEach('foreignPasid', Via.DMA, 24)).toBe(24);
    const pasids = r.sent.map((x) => x.pasid);
    expect(pasids).not.toContain(r.pasidE);
    expect(pasids).toContain(r.pasidH); // bound to the honest device
    expect(pasids.some((p) => p > 2)).toBe(true); // never allocated
    expect(r.s.iommu.faultRecords).toEqual(
      r.sent.map((x) => ({
        reason: tableReason(x.pasid),
        sid: 0x200,
        pasidPresent: true,
        pasid: x.pasid,
        addr: r.bufE,
        write: false,
        timeNs: expect.any(Number),
      })),
    );
    expect(r.adv.stats.dmaUr[k('foreignPasid')]).toBe(24);
    expect(r.adv.stats.dmaOk[k('foreignPasid')]).toBe(0);
    expect(r.s.counters.get(Counter.hostileRequests)).toBe(24);
    expect(await r.finish()).toEqual([]);
  });

  it('ATS: a successful completion without permission, nothing recorded', async () => {
    const r = await rig();
    r.fireEach('foreignPasid', Via.ATS, 12);
    const s = r.adv.stats;
    expect([s.atsNoPerm[k('foreignPasid')], s.atsUr[k('foreignPasid')], s.atsGranted[0]]).toEqual([
      12, 0, 0,
    ]);
    expect(r.s.iommu.faultRecords).toHaveLength(0);
    expect(r.evil.devtlb.valid).toBe(0); // the device TLB is the job engine's: nothing cached
    expect(await r.finish()).toEqual([]);
  });

  it('page request: hardware Invalid Request and a fault record, nothing reaches the PRQ', async () => {
    const r = await rig();
    r.fireEach('foreignPasid', Via.PAGE_REQUEST, 10);
    expect(r.adv.stats.respInvalid[k('foreignPasid')]).toBe(10);
    expect(r.s.counters.toTotals()).toMatchObject({ autoResponses: 10, pageRequests: 10 });
    expect(r.s.iommu.prqStatus.tail).toBe(0);
    expect(r.s.iommu.faultRecords.map((f) => [f.reason, f.pasid])).toEqual(
      r.sent.map((x) => [tableReason(x.pasid), x.pasid]),
    );
    expect(r.sent.every((x) => x.lpig && x.prgIndex >= HOSTILE_PRG_FIRST)).toBe(true);
    expect(r.evil.outstandingPageRequests).toBe(0);
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary, pasidOutOfRange (SGN.10, SCT.7)', () => {
  it('both widths 20 bits: PASIDs the field cannot hold, UR for ATS and DMA, 89h recorded', async () => {
    const r = await rig();
    expect(() => r.adv.fire('pasidOutOfRange', Via.PAGE_REQUEST)).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    r.fireEach('pasidOutOfRange', Via.ATS, 5);
    r.fireEach('pasidOutOfRange', Via.DMA, 5);
    expect(r.sent.every((x) => x.pasid >= 2 ** 20)).toBe(true);
    const s = r.adv.stats;
    expect([s.atsUr[k('pasidOutOfRange')], s.dmaUr[k('pasidOutOfRange')]]).toEqual([5, 5]);
    expect(r.s.iommu.faultRecords.map((f) => [f.reason, f.pasid])).toEqual(
      r.sent.slice(5).map((x) => [FaultReason.SGN_10, x.pasid]),
    );
    expect(await r.finish()).toEqual([]);
  });

  it('a 10-bit unit: SGN.10 for ATS and DMA; page requests meet the PASID table (51h)', async () => {
    const r = await rig({ system: { iommu: { pasidBits: 10 } } });
    r.fireEach('pasidOutOfRange', Via.ATS, 4);
    r.fireEach('pasidOutOfRange', Via.DMA, 4);
    r.fireEach('pasidOutOfRange', Via.PAGE_REQUEST, 4);
    expect(r.sent.every((x) => x.pasid >= 1024 && x.pasid < 2 ** 20)).toBe(true);
    const s = r.adv.stats;
    const i = k('pasidOutOfRange');
    expect([s.atsUr[i], s.dmaUr[i], s.respInvalid[i]]).toEqual([4, 4, 4]);
    expect(r.s.iommu.faultRecords.map((f) => f.reason)).toEqual([
      ...Array(4).fill(FaultReason.SGN_10),
      ...Array(4).fill(FaultReason.SPD_2),
    ]);
    expect(await r.finish()).toEqual([]);
  });

  it('an 8-bit function: beyond its PASID table (46h, UR) or in it without an entry (51h)', async () => {
    const r = await rig({ evil: { pasidBits: 8 } });
    r.fireEach('pasidOutOfRange', Via.ATS, 20);
    r.fireEach('pasidOutOfRange', Via.DMA, 20);
    // the function's table covers 2^15 PASIDs (the driver's smallest directory)
    const beyond = (p: number) => p >= 2 ** 15;
    const ats = r.sent.slice(0, 20);
    const dma = r.sent.slice(20);
    expect(r.sent.every((x) => x.pasid >= 256 && x.pasid < 2 ** 20)).toBe(true);
    const s = r.adv.stats;
    const i = k('pasidOutOfRange');
    expect(s.atsUr[i]).toBe(ats.filter((x) => beyond(x.pasid)).length);
    expect(s.atsNoPerm[i]).toBe(ats.filter((x) => !beyond(x.pasid)).length);
    expect(r.s.iommu.faultRecords.map((f) => [f.reason, f.pasid])).toEqual(
      dma.map((x) => [beyond(x.pasid) ? FaultReason.SCT_7 : FaultReason.SPD_2, x.pasid]),
    );
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary, unmapped and nonCanonical addresses with its own PASID', () => {
  it.each([
    ['unmapped', FaultReason.SFS_2],
    ['nonCanonical', FaultReason.SGN_1],
  ] as const)(
    '%s: ATS without permission, DMA UR + %i, page request queued and answered INVALID',
    async (kind, reason) => {
      const r = await rig();
      const rss = r.pe.rssPages;
      r.fireEach(kind, Via.ATS, 3);
      r.fireEach(kind, Via.DMA, 3);
      r.fireEach(kind, Via.PAGE_REQUEST, 3);
      expect(r.sent.every((x) => x.pasid === r.pasidE)).toBe(true);
      if (kind === 'nonCanonical') expect(r.sent.every((x) => x.addr >= 2 ** 47)).toBe(true);
      else expect(r.sent.every((x) => x.addr >= 0x1_0000 && x.addr < 2 ** 44)).toBe(true);
      const s = r.adv.stats;
      const i = k(kind);
      expect([s.atsNoPerm[i], s.dmaUr[i], s.respInvalid[i]]).toEqual([3, 3, 3]);
      expect(r.s.iommu.faultRecords).toEqual(
        r.sent.slice(3, 6).map((x) => ({
          reason,
          sid: 0x200,
          pasidPresent: true,
          pasid: r.pasidE,
          addr: x.addr,
          write: false,
          timeNs: expect.any(Number),
        })),
      );
      // the page requests went through the PRQ to the kernel, which refused them
      expect(r.s.iommu.prqStatus).toMatchObject({ head: 3, tail: 3 });
      expect(r.s.counters.toTotals().pageResponses).toEqual({ success: 0, invalid: 3, failure: 0 });
      expect(r.pe.rssPages).toBe(rss);
      expect(await r.finish()).toEqual([]);
    },
  );
});

describe('Adversary, noPasid: a page request without PASID (spec §4.1, §4.3)', () => {
  it('is queued through RID2PASID and answered Response Failure; PRI stops at that function only', async () => {
    const r = await rig();
    r.fireEach('noPasid', Via.PAGE_REQUEST, 1);
    expect(r.sent).toMatchObject([{ pasidPresent: false, lpig: true, read: true }]);
    expect(r.s.iommu.prqStatus).toMatchObject({ head: 1, tail: 1 });
    expect(r.adv.stats.respFailure[k('noPasid')]).toBe(1);
    expect(r.s.counters.toTotals().pageResponses.failure).toBe(1);
    expect(r.s.iommu.faultRecords).toHaveLength(0);
    expect(r.evil.priActive).toBe(false);
    expect(r.honest.priActive).toBe(true);
    const ok = await r.honest.pageRequest({
      pasid: r.pasidH,
      addr: r.bufH + 0x3000,
      read: true,
      lpig: true,
      prgIndex: 4,
    });
    expect(ok?.code).toBe(0);
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary, prgReuse: a PRG index reused while outstanding', () => {
  it('both requests are queued and answered (INVALID): hardware does not track PRG indexes', async () => {
    const r = await rig();
    expect(r.adv.fire('prgReuse', Via.PAGE_REQUEST)).toBe(2);
    expect(r.adv.outstandingGroups).toBe(2);
    expect(r.sent).toHaveLength(2);
    expect(r.sent[0]!.prgIndex).toBe(r.sent[1]!.prgIndex);
    expect(r.sent.every((x) => x.lpig && x.pasid === r.pasidE)).toBe(true);
    r.settle();
    expect(r.s.iommu.prqStatus).toMatchObject({ head: 2, tail: 2 });
    expect(r.adv.stats.respInvalid[k('prgReuse')]).toBe(2);
    expect([r.adv.outstandingGroups, r.adv.unexpectedResponses]).toEqual([0, 0]);
    expect(r.evil.unexpectedResponses).toBe(0);
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary, lpigFlood: page requests without last-in-group', () => {
  it('fills the PRQ, the rest dropped, none answered; an honest request then gets hardware Success', async () => {
    const r = await rig({ system: { iommu: { prqEntries: 8 } } }); // holds 7
    expect(r.adv.fire('lpigFlood', Via.PAGE_REQUEST)).toBe(LPIG_FLOOD_BURST);
    expect(r.sent.every((x) => !x.lpig && x.read)).toBe(true);
    r.settle(r.s.cost.pcieLatencyNs + 1);
    expect(r.s.iommu.prqStatus).toMatchObject({ tail: 7, pro: true });
    expect(r.s.counters.toTotals()).toMatchObject({
      prqOverflows: LPIG_FLOOD_BURST - 7,
      autoResponses: 0,
    });
    // the shared queue is full: the honest device's request is answered Success by hardware
    const resp = await r.honest.pageRequest({
      pasid: r.pasidH,
      addr: r.bufH,
      read: true,
      lpig: true,
      prgIndex: 9,
    });
    expect(resp?.code).toBe(0);
    expect(r.s.counters.toTotals().autoResponses).toBe(1);
    r.settle();
    expect(r.s.iommu.prqStatus).toMatchObject({ head: 7, tail: 7, pro: false });
    const s = r.adv.stats;
    const i = k('lpigFlood');
    expect([s.respSuccess[i], s.respInvalid[i], s.respFailure[i]]).toEqual([0, 0, 0]);
    expect(r.s.counters.toTotals().pageResponses).toEqual({ success: 0, invalid: 0, failure: 0 });
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary, noAccess: LPIG=1 with neither R nor W', () => {
  it('looks like a stop marker, is queued, and v5.8 answers it INVALID (no VMA there)', async () => {
    const r = await rig();
    r.fireEach('noAccess', Via.PAGE_REQUEST, 2);
    expect(r.sent.every((x) => x.lpig && !x.read && !x.write)).toBe(true);
    expect(r.s.counters.toTotals()).toMatchObject({ stopMarkers: 2, autoResponses: 0 });
    expect(r.adv.stats.respInvalid[k('noAccess')]).toBe(2);
    expect([r.evil.stopMarkerResponses, r.evil.unexpectedResponses]).toEqual([0, 0]);
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary, translatedDma: the ATS trust gap', () => {
  it('reads frames it was never granted; each is an atsTrustBreaches, not a violation', async () => {
    const r = await rig();
    const checked = r.checker.checked;
    for (let i = 0; i < 8; i++) {
      r.adv.fire('translatedDma', Via.DMA);
      r.settle();
      const x = r.sent[i]!;
      expect(x).toMatchObject({ kind: 'dma', translated: true, pasid: r.pasidE });
      // the bytes really came from that physical address
      const got = r.evil.buffer.subarray(HOSTILE_BUFFER, HOSTILE_BUFFER + HOSTILE_DMA_BYTES);
      expect(got).toEqual(r.s.memory.u8.subarray(x.addr, x.addr + HOSTILE_DMA_BYTES));
    }
    // computed here: every request went to a present PASID entry of a function with DTE set
    expect(r.adv.stats.dmaOk[k('translatedDma')]).toBe(8);
    expect(r.s.counters.get(Counter.atsTrustBreaches)).toBe(8);
    expect(r.s.deviceCounters[r.evil.index]!.get(Counter.atsTrustBreaches)).toBe(8);
    expect(r.s.deviceCounters[r.honest.index]!.get(Counter.atsTrustBreaches)).toBe(0);
    expect(r.checker.checked).toBe(checked);
    expect(r.s.iommu.faultRecords).toHaveLength(0);
    expect(await r.finish()).toEqual([]);
  });

  it('the same translated DMA without the hostile mark is checked as an honest one', async () => {
    const r = await rig();
    const pool = r.s.sim.pool;
    r.evil.agent = {
      completion: (slot) => pool.release(slot),
      ownsGroup: () => false,
      pageResponse: () => {},
    };
    const slot = pool.alloc();
    const b = pool.base(slot);
    pool.words[b + MW.KIND] = MsgKind.DMA_REQ | MsgFlag.PASID | MsgFlag.TRANSLATED;
    pool.words[b + MW.TAG] = AGENT_TAG_BASE;
    pool.words[b + MW.SRC] = r.evil.id;
    pool.words[b + DmaReq.PASID] = r.pasidE;
    const pfnH = r.ph.pageTable.lookup(r.bufH / 4096)!.pfn; // the honest process's page
    pool.setWide(b + DmaReq.ADDR_WIDE, pfnH * 4096);
    pool.words[b + DmaReq.LENGTH] = 64;
    pool.words[b + DmaReq.RID] = r.evil.rid;
    pool.setWide(b + DmaReq.VPN_WIDE, r.bufE / 4096);
    r.evil.post(slot);
    r.settle();
    expect(r.checker.violations.map((v) => v.what)).toEqual(['stale-translation']);
    expect(r.s.counters.get(Counter.atsTrustBreaches)).toBe(0);
  });

  it('a function without ATS (DTE clear) gets UR: no breach, nothing recorded', async () => {
    const r = await rig({ evil: { ats: false, pri: false } });
    r.fireEach('translatedDma', Via.DMA, 6);
    expect(r.adv.stats.dmaUr[k('translatedDma')]).toBe(6);
    expect(r.s.counters.get(Counter.atsTrustBreaches)).toBe(0);
    expect(r.s.iommu.faultRecords).toHaveLength(0);
    expect(await r.finish()).toEqual([]);
  });
});

describe('Adversary arrivals', () => {
  it('are Poisson at the rate while a client is active, kinds drawn among those listed, from the seed', async () => {
    const run = async () => {
      const r = await rig();
      const adv = new Adversary(
        r.evil,
        { ...r.adv.params, kinds: ['unmapped', 'noAccess'], rate: 1_000_000 },
        r.s.sim,
        {
          activeClients: 1,
          activePasid: () => r.pasidE,
          activeBuffer: () => r.bufE,
          hasActivePasid: (p) => p === r.pasidE,
        },
        { sent: () => {} },
      );
      r.sent.length = 0;
      adv.wake();
      r.settle(1_000_000); // 1 ms at 1M/s: about 1000 arrivals
      return { adv, sent: r.sent.map((x) => `${x.kind}:${x.addr}:${x.read}`) };
    };
    const a = await run();
    const b = await run();
    expect(a.sent).toEqual(b.sent); // deterministic
    const s = a.adv.stats;
    const n = s.total;
    expect(n).toBeGreaterThan(900);
    expect(n).toBeLessThan(1100);
    const unmapped = s.sent[k('unmapped')]!;
    expect(unmapped + s.sent[k('noAccess')]!).toBe(n);
    expect(unmapped / n).toBeGreaterThan(0.45);
    expect(unmapped / n).toBeLessThan(0.55);
  });

  it('stop at an arrival that finds no active client and resume when one starts', async () => {
    const r = await rig();
    r.adv.wake();
    r.settle(20_000);
    const before = r.adv.stats.total;
    expect(before).toBeGreaterThan(0);
    r.client.active = 0;
    r.settle(20_000);
    const stopped = r.adv.stats.total;
    expect(stopped - before).toBeLessThanOrEqual(LPIG_FLOOD_BURST); // at most the arrival in flight
    r.settle(100_000);
    expect(r.adv.stats.total).toBe(stopped);
    expect(r.s.sim.nextEventNs).toBe(Number.POSITIVE_INFINITY);
    r.client.active = 1;
    r.adv.wake();
    r.settle(20_000);
    expect(r.adv.stats.total).toBeGreaterThan(stopped);
    r.client.active = 0;
    expect(await r.finish()).toEqual([]);
  });
});
