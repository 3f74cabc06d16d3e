import { describe, expect, it } from 'vitest';
import { Accelerator } from '../../src/device/accelerator.js';
import { DevTlbPerm } from '../../src/device/devtlb.js';
import { JobOp, JobStatus } from '../../src/device/job.js';
import { pasidEntryAddress } from '../../src/engine/walk.js';
import {
  createSystem,
  Process,
  SVM_FLAG_SUPERVISOR_MODE,
  SvaHandle,
  type System,
} from '../../src/index.js';
import { decodeContextEntry, PASID_ENTRY, readQwords, setField } from '../../src/layout/index.js';
import { InvariantChecker } from '../../src/machine/checks.js';

const ADDR = 0x1000_0000;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** A small system with one device at rid 0x100 (01:00.0). */
function machine() {
  const s = createSystem({ memory: { frames: 2048 } });
  return { s, d: s.addDevice({ rid: 0x100 }) };
}

/**
 * PASIDE of the device's context entry: set by the first bind (intel_iommu_enable_pasid), so
 * clear means no bind got that far. (The function's PASID / ATS / PRI enables date from the
 * attach in profile v5.8, spec §2.1.1, and say nothing about binds.)
 */
function paside(s: System, d: { readonly rid: number }): boolean {
  const addr = s.drivers[0]!.contextEntryAddress(d.rid >>> 8, d.rid & 0xff, false);
  return decodeContextEntry(readQwords(s.memory.u32, addr / 4, 4)).paside;
}

/** A process with one page at ADDR holding `text`. */
function withPage(s: System, text: string): Process {
  const p = s.createProcess();
  p.mmap({ addr: ADDR, length: 4096, prot: 'rw' });
  p.write(ADDR, enc(text));
  return p;
}

/** The error `fn` throws or its promise rejects with; fails the test when there is none. */
async function errorOf(fn: () => unknown): Promise<Error & { code?: string }> {
  try {
    await fn();
  } catch (e) {
    return e as Error & { code?: string };
  }
  throw new Error('expected an error, got none');
}

describe('System: objects of another system are refused', () => {
  it('refuses to bind a process of another system with EINVAL naming it, and binds nothing', async () => {
    const a = machine();
    const b = machine();
    const foreign = b.s.createProcess();
    const e = await errorOf(() => a.s.svaBindDevice(a.d, foreign));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      "EINVAL: svaBindDevice: process 1 belongs to another system (its page tables live in another memory); bind a process this system's createProcess() created",
    );
    // nothing of the bind happened on either side
    expect(a.s.sva.pasidsInUse).toBe(0);
    expect(a.s.sva.liveBonds).toBe(0);
    expect(a.s.iommu.invalidationLog).toHaveLength(0);
    expect(paside(a.s, a.d)).toBe(false);
    expect(foreign.mmuNotifiers).toHaveLength(0);
    expect(foreign.mmCountRefs).toBe(1);
  });

  it('refuses a device of another system with ENODEV naming it', async () => {
    const a = machine();
    const b = machine();
    const e = await errorOf(() => a.s.svaBindDevice(b.d, a.s.createProcess()));
    expect(e.code).toBe('ENODEV');
    expect(e.message).toContain('svaBindDevice: device 01:00.0 belongs to another system');
    expect(a.s.sva.pasidsInUse).toBe(0);
    expect(paside(b.s, b.d)).toBe(false);
  });

  it('refuses a handle of another system in svaGetPasid and svaUnbindDevice, leaving its bond alone', async () => {
    const a = machine();
    const b = machine();
    const h = await b.s.svaBindDevice(b.d, b.s.createProcess());
    const get = await errorOf(() => a.s.svaGetPasid(h));
    expect(get.code).toBe('EINVAL');
    expect(get.message).toBe(
      'EINVAL: svaGetPasid: the handle of device 01:00.0 and process 1 belongs to another system; use it with the system whose svaBindDevice() returned it',
    );
    const unbind = await errorOf(() => a.s.svaUnbindDevice(h));
    expect(unbind.code).toBe('EINVAL');
    expect(unbind.message).toContain('svaUnbindDevice: the handle of device 01:00.0 and process 1');
    // the handle is still good where it belongs
    expect(b.s.svaGetPasid(h)).toBe(1);
    expect(b.s.sva.liveBonds).toBe(1);
    await b.s.svaUnbindDevice(h);
    expect(b.s.sva.liveBonds).toBe(0);
  });

  it('names a supervisor handle of another system as the kernel', async () => {
    const a = machine();
    const b = machine();
    const h = await b.s.svaBindDevice(b.d, null, SVM_FLAG_SUPERVISOR_MODE);
    const e = await errorOf(() => a.s.svaGetPasid(h));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain('the handle of device 01:00.0 and the kernel (supervisor)');
  });

  it.each([
    ['null', null, 'null'],
    ['a number', 0x100, '256'],
    ['a plain object', { rid: 0x100, index: 0 }, 'a plain object'],
  ])(
    'refuses %s as the device with EINVAL saying a Device was expected',
    async (_, device, shown) => {
      const { s } = machine();
      const e = await errorOf(() => s.svaBindDevice(device as never, s.createProcess()));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `EINVAL: svaBindDevice: expected a Device from this system's addDevice(), got ${shown}`,
      );
    },
  );

  it.each([
    ['undefined', undefined, 'undefined'],
    ['a number', 1, '1'],
    ['a plain object', { id: 1 }, 'a plain object'],
    ['a string', 'p1', 'the string "p1"'],
  ])(
    'refuses %s as the process with EINVAL saying a Process was expected',
    async (_, process, shown) => {
      const { s, d } = machine();
      const e = await errorOf(() => s.svaBindDevice(d, process as never));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `EINVAL: svaBindDevice: expected a Process from this system's createProcess(), or null with SVM_FLAG_SUPERVISOR_MODE, got ${shown}`,
      );
      expect(s.sva.pasidsInUse).toBe(0);
    },
  );

  it('refuses the kernel mm as a user process, and a process the system did not create', async () => {
    const { s, d } = machine();
    const kernel = await errorOf(() => s.svaBindDevice(d, s.initMm));
    expect(kernel.code).toBe('EINVAL');
    expect(kernel.message).toContain(
      "the kernel's address space (initMm) is bound with a null process and SVM_FLAG_SUPERVISOR_MODE",
    );
    const stray = new Process(s.memory, { id: 99 });
    const e = await errorOf(() => s.svaBindDevice(d, stray));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toContain("process 99 was not created by this system's createProcess()");
    expect(s.sva.pasidsInUse).toBe(0);
    expect(stray.mmuNotifiers).toHaveLength(0);
  });

  it('still lets the SVA layer refuse an exited process of its own in its words', async () => {
    const { s, d } = machine();
    const p = s.createProcess();
    p.exit();
    const e = await errorOf(() => s.svaBindDevice(d, p));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe('EINVAL: process 1 has exited; it cannot be bound');
  });

  it.each([
    ['null', null, 'null'],
    ['a number', 1, '1'],
    ['a look-alike', { device: null, process: null }, 'a plain object'],
  ])(
    'refuses %s as a handle with EINVAL saying an SvaHandle was expected',
    async (_, handle, shown) => {
      const { s } = machine();
      const get = await errorOf(() => s.svaGetPasid(handle as never));
      expect(get.code).toBe('EINVAL');
      expect(get.message).toBe(
        `EINVAL: svaGetPasid: expected an SvaHandle from this system's svaBindDevice(), got ${shown}`,
      );
      const unbind = await errorOf(() => s.svaUnbindDevice(handle as never));
      expect(unbind.code).toBe('EINVAL');
      expect(unbind.message).toContain('svaUnbindDevice: expected an SvaHandle');
    },
  );

  it("refuses a hand-made SvaHandle over another system's device, and one never bound here", async () => {
    const a = machine();
    const b = machine();
    const p = a.s.createProcess();
    const forged = await errorOf(() => a.s.svaGetPasid(new SvaHandle(b.d, p)));
    expect(forged.code).toBe('EINVAL');
    expect(forged.message).toContain('belongs to another system');
    const unbound = await errorOf(() => a.s.svaGetPasid(new SvaHandle(a.d, p)));
    expect(unbound.code).toBe('EINVAL');
    expect(unbound.message).toBe('EINVAL: handle is not bound');
  });

  it.each([
    [null, 'null'],
    [2 ** 32 + 1, '4294967297'], // as a 32-bit word: PRIVATE_PASID
    [1.5, '1.5'],
    [-1, '-1'],
  ])('refuses bind flags %s with EINVAL instead of truncating them', async (flags, shown) => {
    const { s, d } = machine();
    const e = await errorOf(() => s.svaBindDevice(d, s.createProcess(), flags as never));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      `EINVAL: bind flags must be a 32-bit flags word (an integer 0..0xffffffff), got ${shown}`,
    );
    expect(s.sva.pasidsInUse).toBe(0);
  });
});

describe('System: the DMA isolation check (DESIGN §8)', () => {
  it("catches a DMA through a binding forced past the checks to another system's process", async () => {
    const a = machine();
    const b = machine();
    // the same allocation history in both memories: A's unbound process has the pgd frame
    // that B's process has in its own memory
    const mine = withPage(a.s, 'secret of A');
    const foreign = withPage(b.s, 'bytes of B!');
    expect(mine.pgdPfn).toBe(foreign.pgdPfn);
    // the bind the public API refuses, done through the SVA layer itself
    const sdev = a.s.sim.runThread(
      'forced bind',
      a.s.sva.bind(a.d.info, foreign, 0, () => ({})),
    );
    const pasid = sdev.svm.pasid;
    const e = await errorOf(() => a.d.dmaRead({ pasid, addr: ADDR, length: 11 }));
    expect(e.code).toBe('ERR_INVARIANT');
    expect(e.message).toContain(`dma-foreign-mm: device 100 PASID ${pasid} vpn 10000 reached pfn`);
    expect(e.message).toContain(
      "but the bound process 1 keeps its page tables in another system's memory",
    );
    expect(e.message).toContain(`[rid 0x100 pasid ${pasid} vpn 0x10000 pfn 0x`);
  });

  it('without the check, that DMA reads the bytes of a process that was never bound', async () => {
    const a = machine();
    const b = machine();
    withPage(a.s, 'secret of A');
    const foreign = withPage(b.s, 'bytes of B!');
    const sdev = a.s.sim.runThread(
      'forced bind',
      a.s.sva.bind(a.d.info, foreign, 0, () => ({})),
    );
    a.s.accessCheck = null;
    const r = await a.d.dmaRead({ pasid: sdev.svm.pasid, addr: ADDR, length: 11 });
    expect(r.status === 'ok' && dec(r.data)).toBe('secret of A');
  });

  /** Processes p (first bind) and q, both bound to d, with different bytes at ADDR. */
  async function twoBound() {
    const { s, d } = machine();
    const p = withPage(s, 'bytes of p');
    const q = withPage(s, 'bytes of q');
    const pasidP = s.svaGetPasid(await s.svaBindDevice(d, p));
    const pasidQ = s.svaGetPasid(await s.svaBindDevice(d, q));
    return { s, d, p, q, pasidP, pasidQ };
  }

  /** Points d's PASID entry for `pasid` at the tables of `to` (before any DMA cached it). */
  function corruptFsptptr(s: System, d: { rid: number }, pasid: number, to: Process): void {
    const at = pasidEntryAddress(s.memory, s.iommu.rootTablePfn, d.rid, pasid);
    setField(s.memory.u32, at / 4, PASID_ENTRY.fields.fsptptr, to.pgdPfn);
  }

  it('lets every DMA through while each PASID entry points at its bound process', async () => {
    const { d, pasidP, pasidQ } = await twoBound();
    const rp = await d.dmaRead({ pasid: pasidP, addr: ADDR, length: 10 });
    const rq = await d.dmaRead({ pasid: pasidQ, addr: ADDR, length: 10 });
    expect(rp.status === 'ok' && dec(rp.data)).toBe('bytes of p');
    expect(rq.status === 'ok' && dec(rq.data)).toBe('bytes of q');
  });

  it("throws ERR_INVARIANT when a corrupted PASID entry routes p's PASID to q's frames", async () => {
    const { s, d, p, q, pasidP } = await twoBound();
    corruptFsptptr(s, d, pasidP, q);
    const qPfn = q.pageTable.lookup(ADDR / 4096)!.pfn;
    const pPfn = p.pageTable.lookup(ADDR / 4096)!.pfn;
    const e = await errorOf(() => d.dmaRead({ pasid: pasidP, addr: ADDR, length: 10 }));
    expect(e.code).toBe('ERR_INVARIANT');
    expect(e.message).toContain(
      `stale-translation: at ${s.sim.nowNs} ns: device 100 PASID ${pasidP} vpn 10000 → pfn ${qPfn.toString(16)}, but the bound process ${p.id} maps ${pPfn.toString(16)} rw`,
    );
  });

  it("without the check, the corrupted entry hands q's bytes to p's PASID", async () => {
    const { s, d, q, pasidP } = await twoBound();
    corruptFsptptr(s, d, pasidP, q);
    s.accessCheck = null;
    const r = await d.dmaRead({ pasid: pasidP, addr: ADDR, length: 10 });
    expect(r.status === 'ok' && dec(r.data)).toBe('bytes of q');
  });

  /** An accelerator on d; returns it and the jobs it finished. */
  function accelerator(s: System, d: ReturnType<System['addDevice']>) {
    const done: { cookie: number; status: number }[] = [];
    const quiet = { atsTranslate() {}, priRoundtrip() {}, devtlb() {}, jobDone() {} };
    const a = new Accelerator(
      d,
      { engines: 1, wqDepth: 4, blockOnFault: true, priCredits: 4 },
      s.sim,
      s.cost,
      quiet,
      (cookie, status) => done.push({ cookie, status }),
    );
    return { a, done };
  }

  it("checks translated DMA too: a device TLB entry to q's frame under p's PASID throws", async () => {
    const { s, d, q, pasidP } = await twoBound();
    const { a, done } = accelerator(s, d);
    const qPfn = q.pageTable.lookup(ADDR / 4096)!.pfn;
    // a translation the unit never gave: the function's ATC says p's page is q's frame
    d.devtlb.insert(pasidP, ADDR / 4096, '4k', qPfn, DevTlbPerm.R | DevTlbPerm.W | DevTlbPerm.U);
    a.submit({
      op: JobOp.read,
      pasid: pasidP,
      src: ADDR,
      dst: ADDR,
      length: 64,
      pattern: 0,
      cookie: 1,
    });
    const e = await errorOf(() => s.sim.runUntil(s.sim.nowNs + 1_000_000));
    expect(e.code).toBe('ERR_INVARIANT');
    expect(e.message).toContain(
      `stale-translation: at ${s.sim.nowNs} ns: device 100 PASID ${pasidP} vpn 10000 → pfn ${qPfn.toString(16)}, but the bound process 1 maps`,
    );
    expect(done).toEqual([]);
  });

  it('lets the same translated DMA through when the ATC entry is the one the unit gave', async () => {
    const { s, d, pasidP } = await twoBound();
    const { a, done } = accelerator(s, d);
    a.submit({
      op: JobOp.read,
      pasid: pasidP,
      src: ADDR,
      dst: ADDR,
      length: 64,
      pattern: 0,
      cookie: 1,
    });
    s.sim.runUntil(s.sim.nowNs + 1_000_000);
    expect(done).toEqual([{ cookie: 1, status: JobStatus.SUCCESS }]);
    expect(d.devtlb.lookup(pasidP, ADDR / 4096)).toBeGreaterThanOrEqual(0); // it came through the ATC
  });

  it("records the violation instead when the run's InvariantChecker is installed", async () => {
    const { s, d, q, pasidP } = await twoBound();
    const checker = new InvariantChecker(s);
    expect(s.checkUntranslatedDma).toBe(false); // a run checks translated DMA only
    s.checkUntranslatedDma = true;
    corruptFsptptr(s, d, pasidP, q);
    const r = await d.dmaWrite({ pasid: pasidP, addr: ADDR, data: enc('x') });
    expect(r.status).toBe('ok');
    expect(checker.checked).toBe(1);
    expect(checker.violations.map((v) => v.what)).toEqual(['stale-translation']);
    expect(checker.violations[0]!.detail).toContain('(write), but the bound process 1 maps');
  });
});
