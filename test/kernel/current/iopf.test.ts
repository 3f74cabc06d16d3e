import { describe, expect, it } from 'vitest';
import { rawLog, smallSystem } from '../helpers.js';

// Profile `current` (spec §10.3): prq_event_thread's checks, iopf groups, one response each.
async function setup(pasids = 1) {
  const s = smallSystem({ profile: 'current' });
  const d = s.addDevice({ rid: 0x300 });
  const ps = [];
  for (let i = 0; i < pasids; i++) {
    const p = s.createProcess();
    await s.svaBindDevice(d, p);
    ps.push(p);
  }
  const p = ps[pasids - 1]!;
  const base = p.mmap({ addr: 0x4000_0000, length: 0x10_0000, prot: 'rw' });
  return { s, d, p, base, pasid: pasids };
}

function responses(s: ReturnType<typeof smallSystem>, from = 0) {
  return rawLog(s.iommu.invalidationLog, from).filter((r) => r[0] === 'page-group-response');
}

describe('profile current: page requests and iopf groups (spec §10.3)', () => {
  it("answers a group once with the spec's words: 0x0000_0005_0300_0019 / 0xD4", async () => {
    const { s, d, p, base } = await setup(5);
    d.postPageRequest({ pasid: 5, addr: base, read: true, lpig: false, prgIndex: 26 });
    d.postPageRequest({ pasid: 5, addr: base + 0x1000, write: true, lpig: false, prgIndex: 26 });
    const r = await d.pageRequest({
      pasid: 5,
      addr: base + 0x2000,
      read: true,
      lpig: true,
      prgIndex: 26,
    });
    expect(r?.code).toBe(0);
    // qw0 = 9h | PP<<4 | RC 0 | RID 0x300<<16 | PASID 5<<32, bit 5 clear; qw1 = 26<<3 | LPIG<<2
    expect(responses(s)).toEqual([['page-group-response', '503000019', 'd4']]);
    for (const a of [base, base + 0x1000, base + 0x2000]) {
      expect(p.pageTable.lookup(a / 4096)).not.toBeNull();
    }
  });

  it('errors are sticky: the first failure ends the group and becomes its code', async () => {
    const { s, d, p, base } = await setup();
    // the last request is first in the group; a partial at an unmapped address fails
    d.postPageRequest({ pasid: 1, addr: base + 0x5000, read: true, lpig: false, prgIndex: 3 });
    d.postPageRequest({ pasid: 1, addr: 0x1000_0000, read: true, lpig: false, prgIndex: 3 });
    const r = await d.pageRequest({ pasid: 1, addr: base, read: true, lpig: true, prgIndex: 3 });
    expect(r?.code).toBe(1);
    expect(responses(s)).toEqual([['page-group-response', '103001019', '1c']]);
    // partials are handled newest first: the failing one stopped the group before the other
    expect(p.pageTable.lookup((base + 0x5000) / 4096)).toBeNull();
  });

  it('drops a stop marker without a response; answers a bad LPIG=1 request RC=1, a bad LPIG=0 not at all', async () => {
    const { s, d, base } = await setup();
    await d.pageRequest({ pasid: 1, addr: base, lpig: true, prgIndex: 4 }); // stop marker
    expect(responses(s)).toEqual([]);
    // privileged-mode request asking W: bad
    d.postPageRequest({ pasid: 1, addr: base, write: true, priv: true, lpig: false, prgIndex: 5 });
    const r = await d.pageRequest({
      pasid: 1,
      addr: base,
      write: true,
      priv: true,
      lpig: true,
      prgIndex: 6,
    });
    expect(r?.code).toBe(1);
    expect(responses(s)).toEqual([['page-group-response', '103001019', '34']]);
  });

  it('answers an execute request asking R, and a non-canonical address, RC=1 (EXR/canonical checks, spec §10.3)', async () => {
    const { s, d, p, base } = await setup();
    p.mprotect(base, 0x1000, 'rwx');
    const exr = await d.pageRequest({
      pasid: 1,
      addr: base,
      read: true,
      exec: true,
      lpig: true,
      prgIndex: 7,
    });
    expect(exr?.code).toBe(1);
    // the same page asked R only is served: the refusal was the EXR check, not the mapping
    expect(
      (await d.pageRequest({ pasid: 1, addr: base, read: true, lpig: true, prgIndex: 8 }))?.code,
    ).toBe(0);
    // bit 47 set with bits 63:48 clear: not canonical for 4-level paging
    const nc = await d.pageRequest({
      pasid: 1,
      addr: 2 ** 47,
      read: true,
      lpig: true,
      prgIndex: 9,
    });
    expect(nc?.code).toBe(1);
    expect(responses(s).map((r) => r[1])).toEqual(['103001019', '103000019', '103001019']);
  });

  it('a request without PASID finds no handler: RC=1, PP clear', async () => {
    const { s, d, base } = await setup();
    const r = await d.pageRequest({ addr: base, read: true, lpig: true, prgIndex: 7 });
    expect(r?.code).toBe(1);
    expect(responses(s)).toEqual([['page-group-response', '3001009', '3c']]);
  });

  it('groups by PRG index: partials of another group wait for their own last request', async () => {
    const { s, d, base } = await setup();
    d.postPageRequest({ pasid: 1, addr: 0x1000_0000, read: true, lpig: false, prgIndex: 10 });
    const r11 = await d.pageRequest({ pasid: 1, addr: base, read: true, lpig: true, prgIndex: 11 });
    expect(r11?.code).toBe(0);
    const r10 = await d.pageRequest({ pasid: 1, addr: base, read: true, lpig: true, prgIndex: 10 });
    expect(r10?.code).toBe(1);
    expect(responses(s)).toEqual([
      ['page-group-response', '103000019', '5c'],
      ['page-group-response', '103001019', '54'],
    ]);
  });
});
