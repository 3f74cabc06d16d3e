import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/mem/physical-memory.js';
import { Process } from '../../src/mem/process.js';
import type { Prot } from '../../src/mem/vma.js';

const PAGE = 4096;
// The window straddles a 1 GiB boundary, so pages need different leaf tables and PDs.
const WINDOW = 0x4000_0000 - 8 * 4096;
const PAGES = 16;

const PERMS: Record<Prot, { read: boolean; write: boolean; exec: boolean }> = {
  none: { read: false, write: false, exec: false },
  r: { read: true, write: false, exec: false },
  rw: { read: true, write: true, exec: false },
  rx: { read: true, write: false, exec: true },
  rwx: { read: true, write: true, exec: true },
};

type Op =
  | { kind: 'mmap'; page: number; n: number; prot: Prot }
  | { kind: 'munmap'; page: number; n: number }
  | { kind: 'mprotect'; page: number; n: number; prot: Prot }
  | { kind: 'write'; off: number; len: number; seed: number }
  | { kind: 'fillPages'; page: number; len: number; seed: number }
  | { kind: 'read'; off: number; len: number };

const protArb = fc.constantFrom<Prot>('none', 'r', 'rw', 'rx', 'rwx');
const rangeArb = fc
  .tuple(fc.integer({ min: 0, max: PAGES - 1 }), fc.integer({ min: 1, max: 8 }))
  .map(([page, n]) => ({ page, n: Math.min(n, PAGES - page) }));
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    arbitrary: fc
      .record({ r: rangeArb, prot: protArb })
      .map(({ r, prot }) => ({ kind: 'mmap' as const, ...r, prot })),
    weight: 3,
  },
  { arbitrary: rangeArb.map((r) => ({ kind: 'munmap' as const, ...r })), weight: 1 },
  {
    arbitrary: fc
      .record({ r: rangeArb, prot: protArb })
      .map(({ r, prot }) => ({ kind: 'mprotect' as const, ...r, prot })),
    weight: 2,
  },
  {
    arbitrary: fc
      .record({
        off: fc.integer({ min: 0, max: PAGES * PAGE - 1 }),
        len: fc.integer({ min: 1, max: 3 * PAGE }),
        seed: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ off, len, seed }) => ({
        kind: 'write' as const,
        off,
        len: Math.min(len, PAGES * PAGE - off),
        seed,
      })),
    weight: 3,
  },
  {
    arbitrary: fc
      .record({
        page: fc.integer({ min: 0, max: PAGES - 1 }),
        len: fc.integer({ min: 0, max: 4 * PAGE }),
        seed: fc.integer({ min: 0, max: 255 }),
      })
      .map(({ page, len, seed }) => ({
        kind: 'fillPages' as const,
        page,
        len: Math.min(len, (PAGES - page) * PAGE),
        seed,
      })),
    weight: 2,
  },
  {
    arbitrary: fc
      .record({
        off: fc.integer({ min: 0, max: PAGES * PAGE - 1 }),
        len: fc.integer({ min: 1, max: 3 * PAGE }),
      })
      .map(({ off, len }) => ({
        kind: 'read' as const,
        off,
        len: Math.min(len, PAGES * PAGE - off),
      })),
    weight: 3,
  },
);

function fill(len: number, seed: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = 0; i < len; i++) out[i] = (seed + i * 7) & 0xff;
  return out;
}

function codeOf(fn: () => unknown): string {
  try {
    fn();
    return 'ok';
  } catch (err) {
    return String((err as { code?: unknown }).code);
  }
}

/** A plain model: protection and population per page, bytes by offset in the window. */
class Model {
  prot: (Prot | undefined)[] = new Array(PAGES).fill(undefined);
  populated: boolean[] = new Array(PAGES).fill(false);
  bytes = new Map<number, number>();
}

/**
 * The table frames the populated pages need: 'root', and 'L:i' for the table at level L
 * (1 = PTE table) that maps pages [i × 512^L, (i + 1) × 512^L).
 */
function tableSet(m: Model, levels: 4 | 5): Set<string> {
  const tables = new Set<string>(['root']);
  for (let p = 0; p < PAGES; p++) {
    if (!m.populated[p]) continue;
    const vpn = WINDOW / PAGE + p;
    for (let level = 1; level < levels; level++)
      tables.add(`${level}:${Math.floor(vpn / 512 ** level)}`);
  }
  return tables;
}

function runOps(ops: Op[], levels: 4 | 5): void {
  const mem = new PhysicalMemory({ frames: 512 });
  const startFrames = mem.framesInUse;
  const proc = new Process(mem, { id: 1, levels });
  const log: string[] = [];
  let released = 0;
  proc.registerNotifier({
    invalidateRange: (s, e) => {
      log.push(`${s - WINDOW}-${e - WINDOW}`);
    },
    release: () => {
      released++;
    },
  });
  proc.mmgrab(); // a bond's reference: the root outlives exit until the final mmdrop
  const m = new Model();
  for (const op of ops) {
    log.length = 0;
    if (op.kind === 'mmap') {
      const overlap = m.prot.slice(op.page, op.page + op.n).some((p) => p !== undefined);
      const got = codeOf(() =>
        expect(
          proc.mmap({ addr: WINDOW + op.page * PAGE, length: op.n * PAGE, prot: op.prot }),
        ).toBe(WINDOW + op.page * PAGE),
      );
      expect(got).toBe(overlap ? 'EINVAL' : 'ok');
      if (!overlap) for (let p = op.page; p < op.page + op.n; p++) m.prot[p] = op.prot;
      expect(log).toEqual([]);
    } else if (op.kind === 'munmap') {
      // v5.8 (spec §5.1.1): unmap_vmas' range end over the range when a VMA is in it, then
      // tlb_finish_mmu over the cleared pages widened by the first page under each freed table
      const any = m.prot.slice(op.page, op.page + op.n).some((p) => p !== undefined);
      const tablesBefore = tableSet(m, levels);
      const cleared: number[] = [];
      for (let p = op.page; p < op.page + op.n; p++) if (m.populated[p]) cleared.push(p);
      proc.munmap(WINDOW + op.page * PAGE, op.n * PAGE);
      for (let p = op.page; p < op.page + op.n; p++) {
        m.prot[p] = undefined;
        m.populated[p] = false;
        for (let b = p * PAGE; b < (p + 1) * PAGE; b++) m.bytes.delete(b);
      }
      const want: string[] = [];
      if (any) want.push(`${op.page * PAGE}-${(op.page + op.n) * PAGE}`);
      if (cleared.length > 0) {
        let gs = cleared[0]! * PAGE;
        const ge = (cleared[cleared.length - 1]! + 1) * PAGE;
        const tablesAfter = tableSet(m, levels);
        for (const t of tablesBefore) {
          if (tablesAfter.has(t)) continue;
          const [level, index] = t.split(':').map(Number) as [number, number];
          gs = Math.min(gs, index * 512 ** level * PAGE - WINDOW);
        }
        want.push(`${gs}-${ge}`);
      }
      expect(log).toEqual(want);
    } else if (op.kind === 'mprotect') {
      const hole = m.prot.slice(op.page, op.page + op.n).some((p) => p === undefined);
      // v5.8 (spec §5.1.1): per VMA whose rights change, per 1 GiB span (the window's 1 GiB
      // boundary is at page 8, each side one 2 MiB region) with a populated PMD, one call
      // over the span, whichever way the rights change
      const want: string[] = [];
      if (!hole) {
        for (let r0 = op.page; r0 < op.page + op.n; ) {
          let r1 = r0 + 1;
          while (r1 < op.page + op.n && m.prot[r1] === m.prot[r0]) r1++;
          if (m.prot[r0] !== op.prot) {
            for (const [lo, hi] of [
              [0, 8],
              [8, PAGES],
            ] as const) {
              const a = Math.max(r0, lo);
              const b = Math.min(r1, hi);
              if (a < b && m.populated.slice(lo, hi).some(Boolean))
                want.push(`${a * PAGE}-${b * PAGE}`);
            }
          }
          r0 = r1;
        }
      }
      const got = codeOf(() => proc.mprotect(WINDOW + op.page * PAGE, op.n * PAGE, op.prot));
      expect(got).toBe(hole ? 'ENOMEM' : 'ok');
      if (!hole) for (let p = op.page; p < op.page + op.n; p++) m.prot[p] = op.prot;
      expect(log).toEqual(want);
    } else if (op.kind === 'write') {
      const data = fill(op.len, op.seed);
      let expected = 'ok';
      for (let a = op.off; a < op.off + op.len; ) {
        const p = Math.floor(a / PAGE);
        const end = Math.min((p + 1) * PAGE, op.off + op.len);
        const prot = m.prot[p];
        if (prot === undefined || !PERMS[prot].write) {
          expected = 'EFAULT';
          break;
        }
        for (let b = a; b < end; b++) m.bytes.set(b, data[b - op.off]!);
        m.populated[p] = true;
        a = end;
      }
      expect(codeOf(() => proc.write(WINDOW + op.off, data))).toBe(expected);
    } else if (op.kind === 'fillPages') {
      // page i of the range holds (seed + i) & 0xff, as the runner's prefault writes it
      let expected = 'ok';
      for (let i = 0; i * PAGE < op.len; i++) {
        const p = op.page + i;
        const prot = m.prot[p];
        if (prot === undefined || !PERMS[prot].write) {
          expected = 'EFAULT';
          break;
        }
        const end = Math.min((i + 1) * PAGE, op.len);
        for (let b = i * PAGE; b < end; b++) m.bytes.set(op.page * PAGE + b, (op.seed + i) & 0xff);
        m.populated[p] = true;
      }
      const got = codeOf(() =>
        proc.fillPages(WINDOW + op.page * PAGE, op.len, (i) => (op.seed + i) & 0xff),
      );
      expect(got).toBe(expected);
    } else {
      let expected = 'ok';
      const want: number[] = [];
      for (let a = op.off; a < op.off + op.len; ) {
        const p = Math.floor(a / PAGE);
        const end = Math.min((p + 1) * PAGE, op.off + op.len);
        const prot = m.prot[p];
        if (prot === undefined || !PERMS[prot].read) {
          expected = 'EFAULT';
          break;
        }
        for (let b = a; b < end; b++) want.push(m.bytes.get(b) ?? 0);
        m.populated[p] = true;
        a = end;
      }
      let got: Uint8Array | undefined;
      expect(
        codeOf(() => {
          got = proc.read(WINDOW + op.off, op.len);
        }),
      ).toBe(expected);
      if (expected === 'ok') expect(Array.from(got!)).toEqual(want);
    }
    // VMAs agree page by page; rss agrees.
    for (let p = 0; p < PAGES; p++) {
      const vma = proc.findVma(WINDOW + p * PAGE);
      const prot = m.prot[p];
      if (prot === undefined) expect(vma).toBeUndefined();
      else expect(vma && { read: vma.read, write: vma.write, exec: vma.exec }).toEqual(PERMS[prot]);
    }
    expect(proc.rssPages).toBe(m.populated.filter(Boolean).length);
    // Exact frame accounting: pages + the tables the populated pages need (empty ones freed).
    const tables = tableSet(m, levels);
    expect(proc.pageTable.tableFrames).toBe(tables.size);
    expect(mem.framesInUse).toBe(startFrames + proc.rssPages + tables.size);
    // VMAs stay sorted, non-overlapping, and adjacent equal 4 KiB VMAs are merged.
    const vmas = proc.vmas;
    for (let i = 1; i < vmas.length; i++) {
      const a = vmas[i - 1]!;
      const b = vmas[i]!;
      expect(a.end).toBeLessThanOrEqual(b.start);
      if (a.end === b.start)
        expect([a.read, a.write, a.exec]).not.toEqual([b.read, b.write, b.exec]);
    }
  }
  proc.exit();
  expect(released).toBe(1);
  expect(mem.framesInUse).toBe(startFrames + 1); // the pgd root, held by the bond's mm_count
  proc.mmdrop();
  expect(mem.framesInUse).toBe(startFrames);
}

describe('Process against a byte model (property)', () => {
  it('agrees on mmap / munmap / mprotect / write / fillPages / read and leaks no frame (4-level)', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 80, size: 'max' }), (ops) =>
        runOps(ops, 4),
      ),
      { numRuns: 150 },
    );
  });

  it('agrees with 5-level tables too', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 5, maxLength: 60, size: 'max' }), (ops) =>
        runOps(ops, 5),
      ),
      { numRuns: 50 },
    );
  });
});
