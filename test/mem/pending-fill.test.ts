import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createSystem } from '../../src/index.js';
import { PTE_P, PTE_PS, ptePfn } from '../../src/layout/pte.js';
import { createScenarioRun } from '../../src/machine/run.js';
import type { System } from '../../src/machine/system.js';
import { PAGE_SIZE, PhysicalMemory } from '../../src/mem/physical-memory.js';
import { Process } from '../../src/mem/process.js';
import { codeOf } from './helpers.js';

const KiB4 = PAGE_SIZE;

/** True when every byte of `bytes` is `value`. */
function all(bytes: Uint8Array, value: number): boolean {
  return bytes.every((b) => b === value);
}

/** The raw bytes of frame `pfn` through the `u8` view, without materialising anything. */
function raw(mem: PhysicalMemory, pfn: number): Uint8Array {
  return mem.u8.subarray(pfn * KiB4, (pfn + 1) * KiB4);
}

/** A memory with one allocated frame holding `old` throughout, then filled with `byte` pending. */
function pendingFrame(byte: number, old = 0x11) {
  const mem = new PhysicalMemory({ frames: 16 });
  const pfn = mem.allocFrame();
  mem.fillBytes(pfn * KiB4, KiB4, old);
  mem.fillPagePattern(pfn, byte);
  return { mem, pfn };
}

describe('PhysicalMemory.fillPagePattern(): a whole-page pattern written where it is read', () => {
  it('records the fill instead of writing it; materialize writes it once', () => {
    const { mem, pfn } = pendingFrame(0x1a5); // taken modulo 256
    expect(mem.isPending(pfn)).toBe(true);
    expect(mem.framesPending).toBe(1);
    expect(all(raw(mem, pfn), 0x11)).toBe(true); // nothing written yet
    mem.materialize(pfn);
    expect(mem.isPending(pfn)).toBe(false);
    expect(mem.framesPending).toBe(0);
    expect(all(raw(mem, pfn), 0xa5)).toBe(true);
    mem.materialize(pfn); // not pending: left as it is
    expect(all(raw(mem, pfn), 0xa5)).toBe(true);
    expect(codeOf(() => mem.materialize(16))).toBe('ERR_INVARIANT');
    // materializeAll writes every pending frame and only those
    const a = mem.allocFrame();
    const b = mem.allocFrame();
    mem.fillPagePattern(a, 3);
    mem.fillPagePattern(b, 4);
    mem.fillPagePattern(b, 5); // a second fill replaces the first, still one pending frame
    expect(mem.framesPending).toBe(2);
    mem.materializeAll();
    expect(mem.framesPending).toBe(0);
    expect(all(raw(mem, a), 3) && all(raw(mem, b), 5) && all(raw(mem, pfn), 0xa5)).toBe(true);
    expect(all(raw(mem, b + 1), 0)).toBe(true);
  });

  it('a read through copyOut (bytes or words, small or large, across frames) returns the pattern', () => {
    const { mem, pfn } = pendingFrame(0x5c);
    const dst = new Uint8Array(64);
    mem.copyOut(pfn * KiB4 + 100, dst, 0, 64, new Uint32Array(dst.buffer)); // the word loop
    expect(all(dst, 0x5c)).toBe(true);
    expect(mem.isPending(pfn)).toBe(false);
    // a byte read, a large read, and one that spans two pending frames
    const next = mem.allocFrame();
    mem.fillPagePattern(pfn, 1);
    mem.fillPagePattern(next, 2);
    const one = new Uint8Array(3);
    mem.copyOut(pfn * KiB4 + 4095, one, 0, 1);
    expect(one[0]).toBe(1);
    mem.fillPagePattern(pfn, 6);
    const span = new Uint8Array(2 * KiB4);
    mem.copyOut(pfn * KiB4 + KiB4 / 2, span, 0, KiB4 + 10);
    expect(all(span.subarray(0, KiB4 / 2), 6)).toBe(true);
    expect(all(span.subarray(KiB4 / 2, KiB4 + 10), 2)).toBe(true);
    expect(mem.framesPending).toBe(0);
  });

  it('frameBytes writes the pattern before handing out its view', () => {
    const { mem, pfn } = pendingFrame(0x77);
    expect(all(mem.frameBytes(pfn), 0x77)).toBe(true);
    expect(mem.isPending(pfn)).toBe(false);
  });

  it('a partial write into a pending frame keeps the pattern around it (copyIn, fillBytes)', () => {
    const { mem, pfn } = pendingFrame(0x42);
    const src = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    mem.copyIn(pfn * KiB4 + 16, src, 0, 8, new Uint32Array(src.buffer)); // the word loop
    const f = raw(mem, pfn);
    expect(Array.from(f.subarray(16, 24))).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(all(f.subarray(0, 16), 0x42) && all(f.subarray(24), 0x42)).toBe(true);
    // a large copyIn at the end of the frame
    mem.fillPagePattern(pfn, 0x43);
    mem.copyIn(pfn * KiB4 + 3000, new Uint8Array(1096).fill(9), 0, 1096);
    expect(all(f.subarray(0, 3000), 0x43) && all(f.subarray(3000), 9)).toBe(true);
    // a partial fillBytes
    mem.fillPagePattern(pfn, 0x44);
    mem.fillBytes(pfn * KiB4 + 5, 11, 0xee);
    expect(all(f.subarray(0, 5), 0x44) && all(f.subarray(5, 16), 0xee)).toBe(true);
    expect(all(f.subarray(16), 0x44)).toBe(true);
    expect(mem.framesPending).toBe(0);
  });

  it('a fillBytes covering a pending frame whole replaces its pattern without writing it', () => {
    const { mem, pfn } = pendingFrame(0x42);
    const next = mem.allocFrame();
    mem.fillPagePattern(next, 0x43);
    mem.fillBytes(pfn * KiB4, KiB4 + 8, 0x99); // all of pfn, 8 bytes of next
    expect(mem.isPending(pfn) || mem.isPending(next)).toBe(false);
    expect(all(raw(mem, pfn), 0x99)).toBe(true);
    expect(all(raw(mem, next).subarray(0, 8), 0x99)).toBe(true);
    expect(all(raw(mem, next).subarray(8), 0x43)).toBe(true);
  });

  it('fillBytes of a partial page, or of whole pages, writes at once and never makes a frame pending', () => {
    const mem = new PhysicalMemory({ frames: 16 });
    const pfn = mem.allocFrame();
    mem.fillBytes(pfn * KiB4 + 8, 100, 0x3c);
    expect(mem.isPending(pfn)).toBe(false);
    expect(all(raw(mem, pfn).subarray(8, 108), 0x3c)).toBe(true);
    mem.fillBytes(pfn * KiB4, KiB4, 0x3d);
    expect(mem.isPending(pfn)).toBe(false);
    expect(all(raw(mem, pfn), 0x3d)).toBe(true);
    expect(mem.framesPending).toBe(0);
  });

  it('a freed pending frame comes back zeroed, and its pattern is never written', () => {
    const { mem, pfn } = pendingFrame(0x42, 0x11);
    mem.freeFrame(pfn);
    expect(mem.isPending(pfn)).toBe(false);
    expect(mem.framesPending).toBe(0);
    expect(all(raw(mem, pfn), 0x11)).toBe(true); // freeing is O(1): nothing written
    expect(mem.allocFrame()).toBe(pfn);
    expect(all(raw(mem, pfn), 0)).toBe(true);
    // through allocFrameForOverwrite: a new whole-page pattern, then a free, then zero again
    mem.fillPagePattern(pfn, 0x21);
    mem.freeFrame(pfn);
    expect(mem.allocFrameForOverwrite()).toBe(pfn);
    expect(mem.isPending(pfn)).toBe(false);
    mem.fillPagePattern(pfn, 0x22);
    expect(all(mem.frameBytes(pfn), 0x22)).toBe(true);
    mem.fillPagePattern(pfn, 0x23);
    mem.freeFrames(pfn, 1);
    expect(mem.allocFrames(1)).toBe(pfn);
    expect(all(raw(mem, pfn), 0)).toBe(true);
  });

  it('a pending frame of a deferral window keeps its pattern until released, then comes back zeroed', () => {
    const mem = new PhysicalMemory({ frames: 16 });
    const base = mem.allocFrames(4, 4);
    for (let i = 0; i < 4; i++) mem.fillPagePattern(base + i, 0x60 + i);
    mem.beginDeferral();
    mem.freeFrames(base, 4);
    const frames = mem.endDeferral();
    const dst = new Uint8Array(KiB4);
    mem.copyOut((base + 2) * KiB4, dst, 0, KiB4); // a DMA through a translation not yet flushed
    expect(all(dst, 0x62)).toBe(true);
    expect(mem.framesPending).toBe(3);
    mem.releaseDeferred(frames);
    expect(mem.framesPending).toBe(0);
    expect(mem.allocFrames(4, 4)).toBe(base);
    for (let i = 0; i < 4; i++) expect(all(raw(mem, base + i), 0)).toBe(true);
  });

  it('only the owner makes frames pending, and only allocated frames', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    expect(codeOf(() => mem.fillPagePattern(3, 1))).toBe('ERR_INVARIANT'); // free
    expect(codeOf(() => mem.fillPagePattern(0, 1))).toBe('ERR_INVARIANT'); // reserved
    expect(codeOf(() => mem.fillPagePattern(8, 1))).toBe('ERR_INVARIANT'); // out of range
    const view = new PhysicalMemory({ buffer: mem.buffer });
    expect(codeOf(() => view.fillPagePattern(mem.allocFrame(), 1))).toBe('EPERM');
    expect(mem.framesPending).toBe(0);
  });
});

describe('Process pages filled whole are pending until read', () => {
  it('fillPages makes whole pages pending and writes a partial last page at once; reads see the bytes', () => {
    const mem = new PhysicalMemory({ frames: 256 });
    const proc = new Process(mem, { id: 1 });
    const base = proc.mmap({ length: 4 * KiB4, prot: 'rw' });
    proc.fillPages(base, 3 * KiB4 + 10, (i) => 0x30 + i);
    const pfnOf = (i: number) => proc.pageTable.lookup(base / KiB4 + i)!.pfn;
    expect([0, 1, 2, 3].map((i) => mem.isPending(pfnOf(i)))).toEqual([true, true, true, false]);
    expect(all(raw(mem, pfnOf(3)).subarray(0, 10), 0x33)).toBe(true);
    // a CPU read of one byte in page 1 writes page 1 only
    expect(proc.read(base + KiB4 + 7, 1)[0]).toBe(0x31);
    expect([0, 1, 2].map((i) => mem.isPending(pfnOf(i)))).toEqual([true, false, true]);
    // a CPU write of a few bytes into page 2 keeps the pattern around them
    proc.write(base + 2 * KiB4 + 100, new Uint8Array([1, 2]));
    const page2 = proc.read(base + 2 * KiB4, KiB4);
    expect([page2[99], page2[100], page2[101], page2[102]]).toEqual([0x32, 1, 2, 0x32]);
    // munmap frees the pending page 0: the process that gets it next sees zeros
    const other = new Process(mem, { id: 2 });
    const o = other.mmap({ length: 2 * KiB4, prot: 'rw' });
    other.read(o, 1); // its page tables first
    const p0 = pfnOf(0);
    proc.munmap(base, KiB4);
    expect(mem.isPending(p0)).toBe(false);
    expect(all(other.read(o + KiB4, KiB4), 0)).toBe(true);
    expect(other.pageTable.lookup(o / KiB4 + 1)!.pfn).toBe(p0);
    // and a freed pending page taken for a page table is an empty table
    const p2 = pfnOf(2);
    proc.fillPages(base + 2 * KiB4, KiB4, () => 0xff);
    proc.munmap(base + 2 * KiB4, KiB4);
    const third = new Process(mem, { id: 3 });
    third.read(third.mmap({ length: KiB4, prot: 'r' }), 1);
    expect(tableFrames(mem, third)).toContain(p2);
    expect(mem.isPending(p2)).toBe(false);
    const entries = Array.from({ length: 512 }, (_, i) => mem.u32[p2 * 1024 + 2 * i]!);
    expect(entries.filter((lo) => lo !== 0)).toHaveLength(1); // the one entry just made
  });

  it('a DMA read of pending pages returns the pattern, a DMA write into one keeps the rest', async () => {
    const s = createSystem({ memory: { frames: 2048 } });
    const d = s.addDevice({ rid: 0x100 });
    const p = s.createProcess();
    const pasid = s.svaGetPasid(await s.svaBindDevice(d, p));
    const buf = p.mmap({ length: 2 * KiB4, prot: 'rw' });
    p.fillPages(buf, 2 * KiB4, (i) => 0xa0 + i);
    expect(s.memory.framesPending).toBe(2);
    const w = await d.dmaWrite({ pasid, addr: buf + KiB4 + 64, data: new Uint8Array(8).fill(3) });
    expect(w).toEqual({ status: 'ok' });
    const r = await d.dmaRead({ pasid, addr: buf, length: 2 * KiB4 });
    if (r.status !== 'ok') throw new Error(`DMA read: ${r.status}`);
    expect(all(r.data.subarray(0, KiB4), 0xa0)).toBe(true);
    expect(all(r.data.subarray(KiB4, KiB4 + 64), 0xa1)).toBe(true);
    expect(all(r.data.subarray(KiB4 + 64, KiB4 + 72), 3)).toBe(true);
    expect(all(r.data.subarray(KiB4 + 72), 0xa1)).toBe(true);
    expect(s.memory.framesPending).toBe(0);
  });
});

/** Every frame of `proc`'s page-table tree (tables, not leaves), read raw as the walker does. */
function tableFrames(mem: PhysicalMemory, proc: Process): number[] {
  const out: number[] = [];
  const visit = (pfn: number, level: number): void => {
    out.push(pfn);
    if (level === 1) return;
    for (let i = 0; i < 512; i++) {
      const lo = mem.u32[(pfn * 512 + i) * 2]!;
      const hi = mem.u32[(pfn * 512 + i) * 2 + 1]!;
      if ((lo & PTE_P) === 0 || (level === 2 && (lo & PTE_PS) !== 0)) continue;
      visit(ptePfn(lo, hi), level - 1);
    }
  };
  visit(proc.pageTable.rootPfn, proc.pageTable.levels);
  return out;
}

/** True when `pfn` is the 4 KiB frame of a page a live process of `sys` maps. */
function isDataPage(sys: System, pfn: number): boolean {
  for (const p of sys.processes) {
    if (!p.alive) continue;
    for (const v of p.vmas) {
      for (let a = v.start; a < v.end; a += KiB4) {
        if (p.pageTable.lookup(a / KiB4)?.pfn === pfn) return true;
      }
    }
  }
  return false;
}

/** The .ts files under `dir`, recursively. */
function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory()
      ? sources(join(dir, e.name))
      : e.name.endsWith('.ts')
        ? [join(dir, e.name)]
        : [],
  );
}

describe('invariant: frames read through the u32 view (tables, queues) are never pending', () => {
  it('only a page a live process maps is ever made pending, in a whole run with churn', () => {
    let sys: System | undefined;
    let calls = 0;
    let checks = 0;
    let sawPending = 0;
    const notData: number[] = [];
    /** Table and queue frames that are pending now (none, ever). */
    const pendingTables = (s: System): number[] => {
      const mem = s.memory;
      const frames: number[] = [];
      for (const p of s.processes) {
        if (p.pageTable.tableFrames > 0) frames.push(...tableFrames(mem, p));
      }
      for (const d of s.drivers) {
        frames.push(d.rootTablePfn, d.qi.basePfn, d.qi.statusPfn, d.prqBasePfn);
      }
      return frames.filter((pfn) => mem.isPending(pfn));
    };
    const report = createScenarioRun(
      {
        seed: 5,
        duration: '300us',
        devices: [{ count: 2, workQueue: { depth: 8 } }],
        clients: {
          count: 6,
          buffers: { count: 2, size: '64KiB', prefault: 'all' },
          churn: { bindLifetime: '80us', exitWhileBound: 0.3, munmapFraction: 0.2 },
        },
        memory: { frames: 8192 },
      },
      {
        onSystem: (s) => {
          sys = s;
          const mem = s.memory;
          const fill = mem.fillPagePattern.bind(mem);
          mem.fillPagePattern = (pfn: number, byte: number): void => {
            calls++;
            if (!isDataPage(s, pfn)) notData.push(pfn);
            fill(pfn, byte);
          };
        },
        progressEveryNs: 5_000,
        onProgress: () => {
          checks++;
          sawPending = Math.max(sawPending, sys!.memory.framesPending);
          expect(pendingTables(sys!)).toEqual([]);
        },
      },
    ).execute();
    expect(pendingTables(sys!)).toEqual([]);
    expect(report.invariants.violations).toEqual([]);
    expect(checks).toBeGreaterThan(20);
    expect(calls).toBeGreaterThan(100); // the run really prefaulted whole pages
    expect(sawPending).toBeGreaterThan(0);
    expect(notData).toEqual([]);
  });

  it('fillPagePattern has one caller in src: Process.fillPages', () => {
    const root = join(__dirname, '../../src');
    const calls = sources(root).flatMap((f) =>
      [...readFileSync(f, 'utf8').matchAll(/\.fillPagePattern\(/g)].map(() => relative(root, f)),
    );
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatch(/^mem\//);
    const text = readFileSync(join(root, calls[0]!), 'utf8');
    const at = text.indexOf('.fillPagePattern(');
    expect(text.lastIndexOf('fillPages(', at)).toBeGreaterThan(text.lastIndexOf('\n  }\n', at));
  });
});
