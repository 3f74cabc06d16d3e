import { describe, expect, it } from 'vitest';
import type { CurrentPrqThread } from '../../../src/kernel/current/prq.js';
import type { CurrentSvaLayer } from '../../../src/kernel/current/sva.js';
import { decodeContextEntry, readQwords } from '../../../src/layout/index.js';
import { expectCode, rawLog, smallSystem } from '../helpers.js';

// Profile `current` at probe and attach (spec §10.2, §2.3): PASIDE with the PASID table, PRI
// only with ecap.PRS and ecap.PDS, PRQ_DEPTH outstanding requests, iopf following the attach.
function sys(config: Parameters<typeof smallSystem>[0] = {}) {
  return smallSystem({ profile: 'current', ...config });
}

function contextEntry(s: ReturnType<typeof smallSystem>, d: { readonly rid: number }) {
  const addr = s.drivers[0]!.contextEntryAddress(d.rid >>> 8, d.rid & 0xff, false);
  return decodeContextEntry(readQwords(s.memory.u32, addr / 4, 4));
}

function layer(s: ReturnType<typeof smallSystem>): CurrentSvaLayer {
  return s.sva as unknown as CurrentSvaLayer;
}

describe('profile current: probe (spec §10.2)', () => {
  it('sets PASIDE at probe, so the first bind flushes no context cache (context_entry_set_pasid_table)', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    expect(contextEntry(s, d)).toMatchObject({
      p: true,
      paside: true,
      dte: true,
      pre: true,
    });
    await s.svaBindDevice(d, s.createProcess());
    // the bind programs the PASID entry and issues nothing (the entry was not present)
    expect(s.iommu.invalidationLog).toHaveLength(0);
    // v5.8 for comparison: PASIDE waits for the first bind and its context-cache flush
    const v = smallSystem();
    const dv = v.addDevice({ rid: 0x100 });
    expect(contextEntry(v, dv).paside).toBe(false);
    await v.svaBindDevice(dv, v.createProcess());
    expect(rawLog(v.iommu.invalidationLog).map((r) => r[0])).toEqual(['context-cache', 'wait']);
  });

  it('writes PRQ_DEPTH (the queue entries) as the PRI allocation, v5.8 writes 32 (P-PRQ2)', () => {
    expect(sys().addDevice({ rid: 0x100 }).functionState.priAllocation).toBe(2048);
    expect(
      sys({ iommu: { prqEntries: 64 } }).addDevice({ rid: 0x100 }).functionState.priAllocation,
    ).toBe(64);
    expect(smallSystem().addDevice({ rid: 0x100 }).functionState.priAllocation).toBe(32);
  });

  it('a unit without ecap.PDS gives no function PRI: no PRE, PRI off, SVA without iopf or drain (P-PDS)', async () => {
    const s = sys({ iommu: { pds: false } });
    const d = s.addDevice({ rid: 0x100 });
    expect(d.info.priSupported).toBe(false);
    expect(d.enabled).toEqual({ pasid: true, ats: true, pri: false });
    expect(contextEntry(s, d).pre).toBe(false);
    const h = await s.svaBindDevice(d, s.createProcess());
    expect(layer(s).iopfUsers(d.info)).toBe(0);
    const from = s.iommu.invalidationLog.length;
    await s.svaUnbindDevice(h);
    // teardown flushes, no drain (no fence wait, no SW|PD wait)
    expect(
      rawLog(s.iommu.invalidationLog, from)
        .filter((r) => r[0] !== 'wait')
        .map((r) => r[0]),
    ).toEqual(['pasid-cache', 'piotlb', 'pdevtlb']);
    expect(rawLog(s.iommu.invalidationLog, from).filter((r) => r[1] === '2000000a5')).toEqual([]);
    // v5.8 does not look at ecap.PDS: PRI on, PRE set
    const v = smallSystem({ iommu: { pds: false } });
    const dv = v.addDevice({ rid: 0x100 });
    expect(dv.enabled.pri).toBe(true);
    expect(contextEntry(v, dv).pre).toBe(true);
  });

  it('a unit without ecap.PRS gives no function PRI in either profile', () => {
    for (const profile of ['v5.8', 'current'] as const) {
      const s = smallSystem({ profile, iommu: { prs: false } });
      const d = s.addDevice({ rid: 0x100 });
      expect(d.enabled).toEqual({ pasid: true, ats: true, pri: false });
      expect(contextEntry(s, d).pre).toBe(false);
    }
  });
});

describe('profile current: iopf follows the attach (spec §10.2, v6.16)', () => {
  it('counts one iopf user per attached PASID; the last detach removes the function from the iopf queue', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const q = s.createProcess();
    const hp = await s.svaBindDevice(d, p);
    const hq = await s.svaBindDevice(d, q);
    expect(await s.svaBindDevice(d, p)).toBe(hp); // same handle: no second attach
    expect(layer(s).iopfUsers(d.info)).toBe(2);
    const base = q.mmap({ addr: 0x4000_0000, length: 0x10_0000, prot: 'rw' });
    // a partial request (LPIG=0) of q's PASID waits for its last request, which never comes
    d.postPageRequest({ pasid: 2, addr: base, read: true, lpig: false, prgIndex: 7 });
    while (s.sim.step()) {}
    const thread = s.prqThreads[0] as unknown as CurrentPrqThread;
    expect(thread.partialCount(d.info)).toBe(1);
    await s.svaUnbindDevice(hq);
    expect(layer(s).iopfUsers(d.info)).toBe(1);
    expect(thread.partialCount(d.info)).toBe(1); // p still attached: the queue keeps the device
    await s.svaUnbindDevice(hp);
    await s.svaUnbindDevice(hp);
    expect(layer(s).iopfUsers(d.info)).toBe(0);
    // iopf_queue_remove_device freed the partial request; nothing was pending, nothing answered
    expect(thread.partialCount(d.info)).toBe(0);
    expect(rawLog(s.iommu.invalidationLog).filter((r) => r[0] === 'page-group-response')).toEqual(
      [],
    );
  });

  it('removing a function from the iopf queue answers each pending group RC=1, and the handler then sends nothing', async () => {
    // the group is pending while its fault is serviced (microseconds): the removal runs then
    const s = sys();
    const d = s.addDevice({ rid: 0x300 });
    const p = s.createProcess();
    await s.svaBindDevice(d, p);
    const base = p.mmap({ addr: 0x4000_0000, length: 0x10_0000, prot: 'rw' });
    d.postPageRequest({ pasid: 1, addr: base, read: true, lpig: true, prgIndex: 9 });
    const thread = s.prqThreads[0] as unknown as CurrentPrqThread;
    while (thread.pending.size === 0 && s.sim.step()) {}
    expect(thread.pending.size).toBe(1);
    s.sim.runThread('iopf_queue_remove_device', thread.removeDevice(d.info));
    while (s.sim.step()) {}
    // exactly one response, Invalid Request: qw0 = 9h | PP | RC 1 <<12 | RID 0x300 <<16 | PASID 1
    expect(rawLog(s.iommu.invalidationLog).filter((r) => r[0] === 'page-group-response')).toEqual([
      ['page-group-response', '103001019', '4c'],
    ]);
    expect(thread.pending.size).toBe(0);
    expect(thread.responses).toEqual([1]);
  });
});

describe('profile current: SVA without PRI (spec §10.2, P-SVANOPRI)', () => {
  it('binds a function without PRI: no iopf, no drain at unbind', async () => {
    const s = sys();
    const d = s.addDevice({ rid: 0x100, pri: false });
    const h = await s.svaBindDevice(d, s.createProcess());
    expect(s.svaGetPasid(h)).toBe(1);
    expect(layer(s).iopfUsers(d.info)).toBe(0);
  });

  it('with the v6.16 iopf-attach regression such a bind fails ENODEV and leaves nothing behind', async () => {
    const s = sys({ kernel: { iopfAttachRegression: true } });
    const d = s.addDevice({ rid: 0x100, pri: false });
    const e = await expectCode(s.svaBindDevice(d, s.createProcess()), 'ENODEV');
    expect(e.message).toContain('intel_iommu_enable_iopf');
    expect(s.sva.liveBonds).toBe(0);
    expect(s.iommu.pasidEntry(d, 1)).toEqual(Array(8).fill(0n));
    // a PRI function is not affected
    const pri = s.addDevice({ rid: 0x200 });
    await s.svaBindDevice(pri, s.createProcess());
  });

  it('refuses the quirk outside profile current, and unknown quirks', () => {
    expect(() => smallSystem({ kernel: { iopfAttachRegression: true } })).toThrow(
      /needs profile current/,
    );
    expect(() => sys({ kernel: { nope: true } as never })).toThrow(/not a known kernel quirk/);
  });
});
