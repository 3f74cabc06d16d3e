import { describe, expect, it } from 'vitest';
import { checkPasidEntry, pasidEntryAddress, pasidEntryCheck } from '../../src/engine/walk.js';
import {
  type ContextEntry,
  encodeContextEntry,
  encodePasidDirEntry,
  encodePasidEntry,
  encodeRootEntry,
  FaultReason,
  type PasidEntry,
  writeQwords,
} from '../../src/layout/index.js';
import { PhysicalMemory } from '../../src/mem/index.js';

const RID = 0x100; // bus 1, devfn 0: lower context table of root entry 1
const PASID = 70; // directory entry 1, table index 6

/**
 * Root table → context table → PASID directory → PASID table for RID, with the context,
 * directory and PASID entries of PASID given by the test (each written only when given).
 */
function tables(
  ce: Partial<ContextEntry> | null,
  de: { p: boolean; fpd?: boolean } | null,
  pe: Partial<PasidEntry> | null,
) {
  const mem = new PhysicalMemory({ frames: 16 });
  const root = mem.allocFrame();
  const ctx = mem.allocFrame();
  const dir = mem.allocFrame();
  const table = mem.allocFrame();
  const u32 = mem.u32;
  if (ce) {
    writeQwords(u32, (root * 4096 + 1 * 16) / 4, encodeRootEntry({ lp: true, lctp: ctx * 4096 }));
    writeQwords(
      u32,
      (ctx * 4096) / 4,
      encodeContextEntry({ p: true, pasidDirPtr: dir * 4096, ...ce }),
    );
  }
  if (de)
    writeQwords(
      u32,
      (dir * 4096 + 1 * 8) / 4,
      encodePasidDirEntry({ ...de, tablePtr: table * 4096 }),
    );
  if (pe) writeQwords(u32, (table * 4096 + 6 * 64) / 4, encodePasidEntry(pe));
  // the PASID entry's dword index: table frame × 1024 dwords + 6 entries × 16 dwords
  return { mem, root, entryDw: table * 1024 + 6 * 16 };
}

/** [reason, fpd, entryDw] of a translation (PASID present) and of a page request. */
function both(t: ReturnType<typeof tables>, pasid = PASID, pasidPresent = true) {
  const out = pasidEntryCheck();
  const xlate = checkPasidEntry(t.mem, t.root, RID, true, pasid, false, out);
  const x = [xlate, out.fpd, out.entryDw];
  const prq = checkPasidEntry(t.mem, t.root, RID, pasidPresent, pasid, true, out);
  return { translation: x, pageRequest: [prq, out.fpd, out.entryDw] };
}

const READY: Partial<ContextEntry> = { paside: true, pre: true, ridPasid: 0 };

describe('checkPasidEntry()', () => {
  it('finds a present PASID entry the same way for translation and page requests', () => {
    const t = tables(READY, { p: true }, { p: true, did: 5 });
    expect(both(t)).toEqual({
      translation: [0, false, t.entryDw],
      pageRequest: [0, false, t.entryDw],
    });
  });

  it('reports SCT_2 without a context entry, with no FPD and no entry', () => {
    const t = tables(null, null, null);
    expect(both(t)).toEqual({
      translation: [FaultReason.SCT_2, false, -1],
      pageRequest: [FaultReason.SCT_2, false, -1],
    });
  });

  it('checks PRE (SCT_8) and RID_PASID (SCT_9) for page requests only', () => {
    const noPre = tables({ ...READY, pre: false, fpd: true }, { p: true }, { p: true });
    expect(both(noPre)).toEqual({
      translation: [0, true, noPre.entryDw],
      pageRequest: [FaultReason.SCT_8, true, -1],
    });
    const rp = tables({ ...READY, ridPasid: PASID }, { p: true }, { p: true });
    expect(both(rp).pageRequest).toEqual([FaultReason.SCT_9, false, -1]);
    // a request without PASID is not compared with RID_PASID
    expect(both(rp, PASID, false).pageRequest).toEqual([0, false, rp.entryDw]);
  });

  it('checks a request without PASID against the RID_PASID entry, PASIDE clear or not', () => {
    // RID_PASID names PASID 70's slot; the PASID the request carries (0 here) is not used
    const t = tables({ ...READY, paside: false, ridPasid: PASID }, { p: true }, { p: true });
    const out = pasidEntryCheck();
    expect(checkPasidEntry(t.mem, t.root, RID, false, 0, true, out)).toBe(0);
    expect(out.entryDw).toBe(t.entryDw);
    expect(out.contextDw).toBeGreaterThan(0);
    // with PASID, the same request meets PASIDE clear
    expect(checkPasidEntry(t.mem, t.root, RID, true, PASID + 1, true, out)).toBe(FaultReason.SCT_6);
    // a RID_PASID entry not present: SPT_2, as for any other entry
    const np = tables({ ...READY, ridPasid: PASID }, { p: true }, { p: false });
    expect(checkPasidEntry(np.mem, np.root, RID, false, 0, true, out)).toBe(FaultReason.SPT_2);
  });

  it('reports SCT_6 (PASIDE clear) and SCT_7 (PASID beyond 2^(PDTS+7) directory entries)', () => {
    const t = tables({ ...READY, paside: false }, { p: true }, { p: true });
    expect(both(t).translation).toEqual([FaultReason.SCT_6, false, -1]);
    const pdts0 = tables(READY, { p: true }, { p: true }); // PDTS 0: 128 entries, PASIDs < 8192
    expect(both(pdts0, 8192).translation).toEqual([FaultReason.SCT_7, false, -1]);
  });

  it('reports SPD_2 and SPT_2, honouring FPD in entries whose P bit is clear', () => {
    const spd = tables(READY, { p: false, fpd: true }, null);
    expect(both(spd)).toEqual({
      translation: [FaultReason.SPD_2, true, -1],
      pageRequest: [FaultReason.SPD_2, true, -1],
    });
    const spt = tables(READY, { p: true }, { p: false, fpd: true });
    expect(both(spt)).toEqual({
      translation: [FaultReason.SPT_2, true, spt.entryDw],
      pageRequest: [FaultReason.SPT_2, true, spt.entryDw],
    });
  });

  it('ORs the FPD bits of the context, directory and PASID entries it read', () => {
    const t = tables(READY, { p: true, fpd: true }, { p: true });
    expect(both(t)).toEqual({
      translation: [0, true, t.entryDw],
      pageRequest: [0, true, t.entryDw],
    });
  });
});

describe('pasidEntryAddress()', () => {
  it('gives the entry address present or not, and −reason when no entry is reached', () => {
    const t = tables(READY, { p: true }, { p: false, fpd: true });
    expect(pasidEntryAddress(t.mem, t.root, RID, PASID)).toBe(t.entryDw * 4);
    const u = tables(READY, { p: false }, null);
    expect(pasidEntryAddress(u.mem, u.root, RID, PASID)).toBe(-FaultReason.SPD_2);
  });
});
