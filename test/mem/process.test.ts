import { describe, expect, it } from 'vitest';
import { PTE_A, PTE_D, PTE_HI_XD, PTE_P, PTE_PS, PTE_RW, PTE_US } from '../../src/layout/pte.js';
import type { MmuNotifier } from '../../src/mem/mmu-notifier.js';
import { PhysicalMemory } from '../../src/mem/physical-memory.js';
import { Process } from '../../src/mem/process.js';
import { HUGE_PAGE_SIZE, MMAP_BASE, type Vma } from '../../src/mem/vma.js';
import { codeOf, messageOf } from './helpers.js';

const KiB4 = 4096;
const MiB2 = HUGE_PAGE_SIZE;

function setup(frames = 4096, levels: 4 | 5 = 4) {
  const mem = new PhysicalMemory({ frames });
  const proc = new Process(mem, { id: 7, levels });
  return { mem, proc };
}

class LogNotifier implements MmuNotifier {
  readonly name: string;
  readonly log: string[];
  constructor(name: string, log: string[]) {
    this.name = name;
    this.log = log;
  }
  invalidateRange(start: number, end: number): void {
    this.log.push(`${this.name}:inv:${start.toString(16)}-${end.toString(16)}`);
  }
  release(): void {
    this.log.push(`${this.name}:release`);
  }
}

function bytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

function shape(vmas: Vma[]) {
  return vmas.map((v) => [
    v.start,
    v.end,
    `${v.read ? 'r' : '-'}${v.write ? 'w' : '-'}${v.exec ? 'x' : '-'}`,
  ]);
}

describe('Process.mmap()', () => {
  it('places mappings top-down below the mmap base, deterministically, without populating', () => {
    const { mem, proc } = setup();
    const frames = mem.framesInUse;
    const a = proc.mmap({ length: 3 * KiB4, prot: 'rw' });
    const b = proc.mmap({ length: 5000, prot: 'r' });
    expect(a).toBe(MMAP_BASE - 3 * KiB4);
    expect(b).toBe(a - 2 * KiB4); // 5000 rounds up to two pages
    expect(mem.framesInUse).toBe(frames);
    expect(proc.rssPages).toBe(0);
    const again = setup().proc;
    expect(again.mmap({ length: 3 * KiB4, prot: 'rw' })).toBe(a);
    expect(again.mmap({ length: 5000, prot: 'r' })).toBe(b);
  });

  it('fills the highest gap that fits and skips ones too small', () => {
    const { proc } = setup();
    const a = proc.mmap({ length: KiB4, prot: 'rw' });
    const b = proc.mmap({ length: KiB4, prot: 'r' });
    const c = proc.mmap({ length: KiB4, prot: 'rw' });
    proc.munmap(b, KiB4); // one-page hole between a and c
    expect(proc.mmap({ length: 2 * KiB4, prot: 'r' })).toBe(c - 2 * KiB4);
    expect(proc.mmap({ length: KiB4, prot: 'r' })).toBe(b);
    expect(a).toBe(MMAP_BASE - KiB4);
  });

  it('aligns 2 MiB mappings to 2 MiB and rounds the length up to 2 MiB', () => {
    const { proc } = setup();
    proc.mmap({ length: KiB4, prot: 'rw' });
    const h = proc.mmap({ length: MiB2 + 1, prot: 'rw', pageSize: '2m' });
    expect(h % MiB2).toBe(0);
    expect(h).toBe(MMAP_BASE - 3 * MiB2);
    expect(proc.findVma(h)).toMatchObject({ start: h, end: h + 2 * MiB2, pageSize: '2m' });
  });

  it('places exactly at addr and merges with an adjacent mapping of equal protection', () => {
    const { proc } = setup();
    expect(proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'rw' })).toBe(0x10_0000);
    expect(proc.mmap({ addr: 0x10_1000, length: KiB4, prot: 'rw' })).toBe(0x10_1000);
    expect(proc.mmap({ addr: 0x10_2000, length: KiB4, prot: 'r' })).toBe(0x10_2000);
    expect(shape(proc.vmas)).toEqual([
      [0x10_0000, 0x10_2000, 'rw-'],
      [0x10_2000, 0x10_3000, 'r--'],
    ]);
  });

  it('rejects bad input with EINVAL / EPERM / ENOMEM and a message saying what to do', () => {
    const { proc } = setup();
    expect(codeOf(() => proc.mmap({ length: 0, prot: 'rw' }))).toBe('EINVAL');
    expect(codeOf(() => proc.mmap({ length: -4096, prot: 'rw' }))).toBe('EINVAL');
    expect(codeOf(() => proc.mmap({ length: 1.5, prot: 'rw' }))).toBe('EINVAL');
    expect(codeOf(() => proc.mmap({ length: KiB4, prot: 'w' as never }))).toBe('EINVAL');
    expect(codeOf(() => proc.mmap({ length: KiB4, prot: 'rw', pageSize: '1g' as never }))).toBe(
      'EINVAL',
    );
    expect(codeOf(() => proc.mmap({ addr: 0x10_0001, length: KiB4, prot: 'rw' }))).toBe('EINVAL');
    expect(messageOf(() => proc.mmap({ addr: 0x10_0001, length: KiB4, prot: 'rw' }))).toContain(
      'multiple of 4 KiB',
    );
    expect(
      codeOf(() => proc.mmap({ addr: 0x20_1000, length: MiB2, prot: 'rw', pageSize: '2m' })),
    ).toBe('EINVAL');
    proc.mmap({ addr: 0x40_0000, length: 4 * KiB4, prot: 'rw' });
    expect(codeOf(() => proc.mmap({ addr: 0x40_3000, length: 2 * KiB4, prot: 'rw' }))).toBe(
      'EINVAL',
    );
    expect(messageOf(() => proc.mmap({ addr: 0x3f_f000, length: 2 * KiB4, prot: 'r' }))).toContain(
      'overlaps the mapping [0x400000, 0x404000)',
    );
    expect(codeOf(() => proc.mmap({ addr: 0x1000, length: KiB4, prot: 'rw' }))).toBe('EPERM');
    expect(codeOf(() => proc.mmap({ addr: 2 ** 47, length: KiB4, prot: 'rw' }))).toBe('ENOMEM');
    expect(codeOf(() => proc.mmap({ addr: 2 ** 47 - KiB4, length: KiB4, prot: 'rw' }))).toBe(
      'ENOMEM',
    ); // TASK_SIZE_MAX = 2^47 - 4 KiB
    expect(proc.mmap({ addr: 2 ** 47 - 2 * KiB4, length: KiB4, prot: 'rw' })).toBe(
      2 ** 47 - 2 * KiB4,
    );
    expect(codeOf(() => proc.mmap({ length: MMAP_BASE, prot: 'rw' }))).toBe('ENOMEM');
    expect(messageOf(() => proc.mmap({ length: MMAP_BASE, prot: 'rw' }))).toContain('no free gap');
  });

  it('allows addresses above 2^47 with 5 levels, up to 2^53', () => {
    const { proc } = setup(4096, 5);
    expect(proc.vaBits).toBe(57);
    const high = 2 ** 50;
    expect(proc.mmap({ addr: high, length: 2 * KiB4, prot: 'rw' })).toBe(high);
    proc.write(high + 4090, bytes(10));
    expect(proc.read(high + 4090, 10)).toEqual(bytes(10));
    expect(proc.mmap({ length: KiB4, prot: 'rw' })).toBe(MMAP_BASE - KiB4); // still below 2^47
    expect(codeOf(() => proc.mmap({ addr: 2 ** 53, length: KiB4, prot: 'rw' }))).toBe('ENOMEM');
    expect(codeOf(() => proc.mmap({ addr: 2 ** 56, length: KiB4, prot: 'rw' }))).toBe('ENOMEM');
  });
});

describe('Process.findVma()', () => {
  it('returns the VMA containing the address and nothing below or in a gap (no stack growth)', () => {
    const { proc } = setup();
    const a = proc.mmap({ addr: 0x10_0000, length: 2 * KiB4, prot: 'rx' });
    expect(proc.findVma(a)).toMatchObject({ start: a, end: a + 2 * KiB4, read: true, exec: true });
    expect(proc.findVma(a + 2 * KiB4 - 1)?.start).toBe(a);
    expect(proc.findVma(a + 2 * KiB4)).toBeUndefined();
    expect(proc.findVma(a - 1)).toBeUndefined();
  });
});

describe('Process.munmap()', () => {
  // v5.8 (spec §5.1.1): unmap_vmas' range end, then tlb_finish_mmu over the cleared PTEs
  it('splits a VMA, notifies twice after the change, then frees the pages', () => {
    const { mem, proc } = setup();
    const log: string[] = [];
    const base = proc.mmap({ addr: 0x10_0000, length: 8 * KiB4, prot: 'rw' });
    proc.write(base, bytes(8 * KiB4));
    expect(proc.rssPages).toBe(8);
    const inUse = mem.framesInUse;
    proc.registerNotifier({
      invalidateRange: (s, e) => {
        // the CPU page tables already changed; the frames are freed after the flush
        log.push(`inv ${s.toString(16)} ${e.toString(16)} ${proc.pageTable.lookup(s / KiB4)}`);
        log.push(`frames ${mem.framesInUse}`);
      },
      release: () => {
        log.push('release');
      },
    });
    proc.munmap(base + 2 * KiB4, 3 * KiB4);
    // every page of the range was populated and the PTE table stays: both calls cover it
    expect(log).toEqual([
      'inv 102000 105000 null',
      `frames ${inUse}`,
      'inv 102000 105000 null',
      `frames ${inUse}`,
    ]);
    expect(mem.framesInUse).toBe(inUse - 3);
    expect(shape(proc.vmas)).toEqual([
      [base, base + 2 * KiB4, 'rw-'],
      [base + 5 * KiB4, base + 8 * KiB4, 'rw-'],
    ]);
    expect(proc.rssPages).toBe(5);
    expect(proc.read(base + KiB4, 4)).toEqual(bytes(8 * KiB4).subarray(KiB4, KiB4 + 4));
    expect(codeOf(() => proc.read(base + 3 * KiB4, 1))).toBe('EFAULT');
  });

  it('keeps the freed frames until every pending notifier flush is done (munmap and exit)', () => {
    const { mem, proc } = setup();
    const before = mem.framesInUse; // includes the process's pgd
    const base = proc.mmap({ addr: 0x10_0000, length: 8 * KiB4, prot: 'rw' });
    proc.write(base, bytes(8 * KiB4));
    const inUse = mem.framesInUse;
    const waiters: (() => void)[] = [];
    let done = false;
    const pending = {
      get done() {
        return done;
      },
      onDone: (cb: () => void) => void waiters.push(cb),
    };
    proc.registerNotifier({ invalidateRange: () => pending, release: () => pending });
    proc.munmap(base, 2 * KiB4);
    expect(mem.framesInUse).toBe(inUse); // a device may still write through its old translation
    done = true;
    for (const w of waiters.splice(0)) w();
    expect(mem.framesInUse).toBe(inUse - 2);
    done = false;
    proc.mmgrab(); // an SVA bond keeps the mm (and its pgd) after exit
    proc.exit();
    expect(mem.framesInUse).toBe(inUse - 2); // pages and tables held until release's flush
    done = true;
    for (const w of waiters.splice(0)) w();
    expect(mem.framesInUse).toBe(before); // all but the pgd, which the bond still holds
    proc.mmdrop();
    expect(mem.framesInUse).toBe(before - 1);
  });

  it("makes the second call only once the first call's flushes are done", () => {
    const { mem, proc } = setup();
    const base = proc.mmap({ addr: 0x10_0000, length: 8 * KiB4, prot: 'rw' });
    proc.write(base, bytes(8 * KiB4));
    const inUse = mem.framesInUse;
    const log: string[] = [];
    const waiters: (() => void)[] = [];
    let done = false;
    const pending = {
      get done() {
        return done;
      },
      onDone: (cb: () => void) => void waiters.push(cb),
    };
    proc.registerNotifier({
      invalidateRange: (s, e) => {
        log.push(`inv ${s.toString(16)}-${e.toString(16)}`);
        done = false;
        return pending;
      },
      release: () => {},
    });
    proc.munmap(base, 2 * KiB4);
    expect(log).toEqual(['inv 100000-102000']); // the gather call waits for the first flush
    done = true;
    for (const w of waiters.splice(0)) w();
    expect(log).toEqual(['inv 100000-102000', 'inv 100000-102000']);
    expect(mem.framesInUse).toBe(inUse); // still held: the second flush runs
    done = true;
    for (const w of waiters.splice(0)) w();
    expect(mem.framesInUse).toBe(inUse - 2);
  });

  it('unmaps across holes and several VMAs, and does not notify when nothing was mapped', () => {
    const { proc } = setup();
    const log: string[] = [];
    proc.registerNotifier(new LogNotifier('n', log));
    proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'rw' });
    proc.mmap({ addr: 0x10_2000, length: KiB4, prot: 'r' });
    proc.mmap({ addr: 0x10_4000, length: 2 * KiB4, prot: 'rw' });
    proc.munmap(0x10_1000, 4 * KiB4); // hole, VMA, hole, half VMA
    expect(shape(proc.vmas)).toEqual([
      [0x10_0000, 0x10_1000, 'rw-'],
      [0x10_5000, 0x10_6000, 'rw-'],
    ]);
    expect(log).toEqual(['n:inv:101000-105000']);
    proc.munmap(0x20_0000, KiB4);
    expect(log.length).toBe(1);
  });

  it('widens the second call by the tables it freed (pte/pmd/pud_free_tlb)', () => {
    const { proc } = setup();
    const log: string[] = [];
    proc.registerNotifier(new LogNotifier('n', log));
    const a = proc.mmap({ addr: 0x4000_3000, length: 2 * KiB4, prot: 'rw' });
    proc.write(a, bytes(2 * KiB4));
    proc.munmap(a, 2 * KiB4);
    // the only VMA: its PTE table (base 0x4000_0000), PD (base 0x4000_0000) and PDPT
    // (base 0) are freed, each widening the gathered range by its first page
    expect(log).toEqual(['n:inv:40003000-40005000', 'n:inv:0-40005000']);
    expect(proc.pageTable.tableFrames).toBe(1);
  });

  it('calls once more per hugetlb piece, populated or not (__unmap_hugepage_range)', () => {
    const { proc } = setup(8192);
    const log: string[] = [];
    proc.registerNotifier(new LogNotifier('n', log));
    const h = proc.mmap({ addr: 0x4000_0000, length: 2 * MiB2, prot: 'rw', pageSize: '2m' });
    proc.write(h, bytes(16)); // the first 2 MiB page only
    proc.munmap(h, 2 * MiB2);
    expect(log).toEqual([
      'n:inv:40000000-40400000', // the hugetlb VMA's own start/end pair
      'n:inv:40000000-40400000', // unmap_vmas' range end
      'n:inv:0-40200000', // the 2 MiB leaf, widened by the freed PD and PDPT
    ]);
    log.length = 0;
    const g = proc.mmap({ addr: 0x4000_0000, length: MiB2, prot: 'rw', pageSize: '2m' });
    proc.munmap(g, MiB2); // never touched: no gather call
    expect(log).toEqual(['n:inv:40000000-40200000', 'n:inv:40000000-40200000']);
  });

  it('rejects unaligned addresses, zero length and ranges beyond user space with EINVAL', () => {
    const { proc } = setup();
    expect(codeOf(() => proc.munmap(0x10_0001, KiB4))).toBe('EINVAL');
    expect(codeOf(() => proc.munmap(0x10_0000, 0))).toBe('EINVAL');
    expect(codeOf(() => proc.munmap(0x10_0000, -1))).toBe('EINVAL');
    expect(codeOf(() => proc.munmap(2 ** 47, KiB4))).toBe('EINVAL');
    expect(codeOf(() => proc.munmap(0x10_0000, 100))).toBe('no error'); // length rounds up
  });

  it('keeps 2 MiB mappings whole: split points must be 2 MiB aligned', () => {
    const { mem, proc } = setup(8192);
    const h = proc.mmap({ length: 2 * MiB2, prot: 'rw', pageSize: '2m' });
    proc.write(h, bytes(16));
    proc.write(h + MiB2, bytes(16));
    expect(codeOf(() => proc.munmap(h + KiB4, KiB4))).toBe('EINVAL');
    expect(codeOf(() => proc.munmap(h, KiB4))).toBe('EINVAL');
    const before = mem.framesInUse;
    proc.munmap(h, MiB2);
    expect(mem.framesInUse).toBe(before - 512); // the PD still holds the second 2 MiB leaf
    proc.munmap(h + MiB2, MiB2);
    expect(mem.framesInUse).toBe(before - 1024 - 2); // and now the PD and PDPT are freed too
  });
});

describe('Process.mprotect()', () => {
  it('splits VMAs, changes present PTEs, and merges back when restored', () => {
    const { proc } = setup();
    const base = proc.mmap({ addr: 0x10_0000, length: 4 * KiB4, prot: 'rw' });
    proc.write(base, bytes(4 * KiB4));
    proc.mprotect(base + KiB4, 2 * KiB4, 'r');
    expect(shape(proc.vmas)).toEqual([
      [base, base + KiB4, 'rw-'],
      [base + KiB4, base + 3 * KiB4, 'r--'],
      [base + 3 * KiB4, base + 4 * KiB4, 'rw-'],
    ]);
    expect(proc.pageTable.lookup(base / KiB4 + 1)!.write).toBe(false);
    expect(codeOf(() => proc.write(base + KiB4, bytes(1)))).toBe('EFAULT');
    expect(proc.read(base + KiB4, 3)).toEqual(bytes(4 * KiB4).subarray(KiB4, KiB4 + 3));
    proc.mprotect(base + KiB4, 2 * KiB4, 'rw');
    expect(shape(proc.vmas)).toEqual([[base, base + 4 * KiB4, 'rw-']]);
    proc.write(base + KiB4, bytes(1, 9));
  });

  // v5.8 (spec §5.1.1, change_pmd_range): a call per changed VMA per 1 GiB span with a
  // populated PMD, from the first populated PMD's address, whichever way the rights change
  it('fires invalidateRange where a PMD is populated, on upgrades too, not when rights stay', () => {
    const { proc } = setup();
    const log: string[] = [];
    proc.registerNotifier(new LogNotifier('a', log));
    proc.registerNotifier(new LogNotifier('b', log));
    const base = proc.mmap({ addr: 0x10_0000, length: 4 * KiB4, prot: 'r' });
    proc.mprotect(base, 4 * KiB4, 'rw'); // no page table yet
    proc.mprotect(base, 4 * KiB4, 'r');
    expect(log).toEqual([]);
    proc.read(base + 2 * KiB4, 1); // populate one page, read-only: a PTE table now
    proc.mprotect(base, 4 * KiB4, 'rwx'); // pure upgrade
    expect(log).toEqual(['a:inv:100000-104000', 'b:inv:100000-104000']);
    proc.mprotect(base, 4 * KiB4, 'rwx'); // same rights: mprotect_fixup returns at once
    expect(log.length).toBe(2);
    proc.mprotect(base, 2 * KiB4, 'r'); // page 2 is not in the range, but its PMD is populated
    expect(log.slice(2)).toEqual(['a:inv:100000-102000', 'b:inv:100000-102000']);
    proc.mprotect(base + 2 * KiB4, KiB4, 'none');
    expect(log.slice(4)).toEqual(['a:inv:102000-103000', 'b:inv:102000-103000']);
  });

  it('starts at the first populated PMD and splits at 1 GiB boundaries', () => {
    const { proc } = setup(8192);
    const log: string[] = [];
    proc.registerNotifier(new LogNotifier('n', log));
    // 8 MiB from 0x3FC0_0000 across the 1 GiB boundary; pages in its 2nd and 4th 2 MiB
    const a = proc.mmap({ addr: 0x3fc0_0000, length: 4 * MiB2, prot: 'rw' });
    proc.write(a + MiB2 + 5 * KiB4, bytes(1));
    proc.write(a + 3 * MiB2, bytes(1));
    proc.mprotect(a, 4 * MiB2, 'r');
    expect(log).toEqual(['n:inv:3fe00000-40000000', 'n:inv:40200000-40400000']);
  });

  it('calls once per hugetlb VMA piece whose rights change, populated or not', () => {
    const { proc } = setup(8192);
    const log: string[] = [];
    proc.registerNotifier(new LogNotifier('n', log));
    const h = proc.mmap({ addr: 0x4000_0000, length: 2 * MiB2, prot: 'rw', pageSize: '2m' });
    proc.mprotect(h, MiB2, 'r'); // hugetlb_change_protection: start/end whatever is mapped
    proc.mprotect(h, 2 * MiB2, 'r'); // the first piece keeps its rights
    expect(log).toEqual(['n:inv:40000000-40200000', 'n:inv:40200000-40400000']);
  });

  it('PROT_NONE keeps the data: access faults, restoring brings it back', () => {
    const { proc } = setup();
    const base = proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'rw' });
    proc.write(base + 10, bytes(5));
    proc.mprotect(base, KiB4, 'none');
    expect(proc.pageTable.lookup(base / KiB4)!.present).toBe(false);
    expect(codeOf(() => proc.read(base, 1))).toBe('EFAULT');
    expect(proc.handleMmFault(base, { write: false })).toBe('segv');
    proc.mprotect(base, KiB4, 'r');
    expect(proc.read(base + 10, 5)).toEqual(bytes(5));
    expect(proc.rssPages).toBe(1);
  });

  it('requires the whole range mapped (ENOMEM) and validates input (EINVAL)', () => {
    const { proc } = setup();
    proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'rw' });
    proc.mmap({ addr: 0x10_2000, length: KiB4, prot: 'rw' });
    expect(codeOf(() => proc.mprotect(0x10_0000, 3 * KiB4, 'r'))).toBe('ENOMEM');
    expect(messageOf(() => proc.mprotect(0x10_0000, 3 * KiB4, 'r'))).toContain(
      'nothing mapped at 0x101000',
    );
    expect(codeOf(() => proc.mprotect(0x0f_f000, 2 * KiB4, 'r'))).toBe('ENOMEM');
    expect(codeOf(() => proc.mprotect(0x30_0000, KiB4, 'r'))).toBe('ENOMEM');
    expect(codeOf(() => proc.mprotect(2 ** 47, KiB4, 'r'))).toBe('ENOMEM');
    expect(shape(proc.vmas).map((v) => v[2])).toEqual(['rw-', 'rw-']); // nothing changed
    expect(codeOf(() => proc.mprotect(0x10_0001, KiB4, 'r'))).toBe('EINVAL');
    expect(codeOf(() => proc.mprotect(0x10_0000, KiB4, 'x' as never))).toBe('EINVAL');
    expect(codeOf(() => proc.mprotect(0x10_0000, -1, 'r'))).toBe('EINVAL');
    expect(codeOf(() => proc.mprotect(0x10_0000, 0, 'r'))).toBe('no error');
  });

  it('requires 2 MiB alignment inside 2 MiB mappings', () => {
    const { proc } = setup(8192);
    const h = proc.mmap({ length: 2 * MiB2, prot: 'rw', pageSize: '2m' });
    proc.write(h + MiB2 + 5, bytes(3));
    expect(codeOf(() => proc.mprotect(h, KiB4, 'r'))).toBe('EINVAL');
    expect(codeOf(() => proc.mprotect(h + KiB4, MiB2, 'r'))).toBe('EINVAL');
    proc.mprotect(h + MiB2, MiB2, 'r');
    expect(proc.vmas.map((v) => [v.start, v.end, v.write, v.pageSize])).toEqual([
      [h, h + MiB2, true, '2m'],
      [h + MiB2, h + 2 * MiB2, false, '2m'],
    ]);
    expect(codeOf(() => proc.write(h + MiB2 + 5, bytes(1)))).toBe('EFAULT');
    expect(proc.read(h + MiB2 + 5, 3)).toEqual(bytes(3));
  });
});

describe('Process.handleMmFault()', () => {
  it('returns segv without a VMA or without the right, and populates otherwise', () => {
    const { mem, proc } = setup();
    const r = proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'r' });
    const rw = proc.mmap({ addr: 0x20_0000, length: KiB4, prot: 'rw' });
    const rx = proc.mmap({ addr: 0x30_0000, length: KiB4, prot: 'rx' });
    const none = proc.mmap({ addr: 0x40_0000, length: KiB4, prot: 'none' });
    expect(proc.handleMmFault(0x50_0000, { write: false })).toBe('segv');
    expect(proc.handleMmFault(r, { write: true })).toBe('segv');
    expect(proc.handleMmFault(rw, { write: false, exec: true })).toBe('segv');
    expect(proc.handleMmFault(none, { write: false })).toBe('segv');
    expect(proc.faults).toBe(0);
    const before = mem.framesInUse;
    expect(proc.handleMmFault(rw + 100, { write: true })).toBe('ok');
    expect(proc.faults).toBe(1);
    expect(proc.rssPages).toBe(1);
    expect(mem.framesInUse).toBe(before + 1 + 3); // the page, a PDPT, a PD and a PT
    const info = proc.pageTable.lookup(rw / KiB4)!;
    expect(info).toMatchObject({ present: true, write: true, user: true, exec: false });
    expect(info).toMatchObject({ accessed: true, dirty: true });
    expect(proc.handleMmFault(rx, { write: false, exec: true })).toBe('ok');
    expect(proc.pageTable.lookup(rx / KiB4)).toMatchObject({
      write: false,
      exec: true,
      accessed: true,
      dirty: false,
    });
    expect(proc.handleMmFault(rw, { write: true })).toBe('ok'); // spurious
    expect(proc.faults).toBe(2);
    expect(proc.spuriousFaults).toBe(1);
  });

  it('propagates ENOMEM when frames run out and leaks nothing', () => {
    const mem = new PhysicalMemory({ frames: 6 });
    const proc = new Process(mem, { id: 1 });
    const base = proc.mmap({ addr: 0x10_0000, length: 8 * KiB4, prot: 'rw' });
    expect(proc.handleMmFault(base, { write: true })).toBe('ok'); // root + 3 tables + page = 5
    expect(codeOf(() => proc.handleMmFault(base + KiB4, { write: true }))).toBe('ENOMEM');
    expect(mem.framesInUse).toBe(5);
    proc.munmap(base, KiB4); // frees the page and the three emptied tables
    expect(mem.framesInUse).toBe(1);
    expect(proc.handleMmFault(base + KiB4, { write: true })).toBe('ok');
    expect(mem.framesInUse).toBe(5);
  });
});

describe('Process.read() / write()', () => {
  it('round-trips real bytes across page boundaries and reads zeros from fresh pages', () => {
    const { mem, proc } = setup();
    const base = proc.mmap({ length: 5 * KiB4, prot: 'rw' });
    const data = bytes(3 * KiB4 + 123, 5);
    proc.write(base + 4000, data);
    expect(proc.read(base + 4000, data.length)).toEqual(data);
    expect(proc.read(base, 4000).every((b) => b === 0)).toBe(true);
    expect(proc.rssPages).toBe(5);
    // the bytes really are in the frames
    const info = proc.pageTable.lookup((base + KiB4) / KiB4)!;
    expect(mem.frameBytes(info.pfn)[0]).toBe(data[96]);
    const copy = proc.read(base + 4000, 4);
    copy[0] = 0;
    expect(proc.read(base + 4000, 1)[0]).toBe(data[0]);
  });

  it('over frames a previous user dirtied: a whole-page write replaces it, a partial one leaves zeros around', () => {
    const { mem, proc } = setup();
    const old = new Process(mem, { id: 8 });
    const o = old.mmap({ length: 3 * KiB4, prot: 'rw' });
    old.write(o, new Uint8Array(3 * KiB4).fill(0xee));
    const dirty = [0, 1, 2].map((i) => old.pageTable.lookup(o / KiB4 + i)!.pfn);
    old.exit();
    const base = proc.mmap({ length: 3 * KiB4, prot: 'rw' });
    proc.write(base, bytes(1)); // takes the old root and tables (zero) off the free stack
    const whole = bytes(KiB4, 9);
    proc.write(base + KiB4, whole);
    proc.write(base + 2 * KiB4 + 100, bytes(50, 3));
    for (const i of [1, 2]) expect(dirty).toContain(proc.pageTable.lookup(base / KiB4 + i)!.pfn);
    expect(proc.read(base + KiB4, KiB4)).toEqual(whole);
    const third = proc.read(base + 2 * KiB4, KiB4);
    expect(third.subarray(100, 150)).toEqual(bytes(50, 3));
    expect(third.subarray(0, 100).every((b) => b === 0)).toBe(true);
    expect(third.subarray(150).every((b) => b === 0)).toBe(true);
  });

  it('sets A on reads and D on writes, as the CPU does', () => {
    const { mem, proc } = setup();
    const base = proc.mmap({ length: 2 * KiB4, prot: 'rw' });
    proc.read(base, 1);
    proc.write(base + KiB4, bytes(1));
    const w0 = proc.pageTable.findLeaf(base / KiB4);
    expect(mem.u32[w0]! & (PTE_P | PTE_RW | PTE_US | PTE_A | PTE_D)).toBe(
      PTE_P | PTE_RW | PTE_US | PTE_A,
    );
    expect((mem.u32[w0 + 1]! & PTE_HI_XD) >>> 0).toBe(PTE_HI_XD);
    const w1 = proc.pageTable.findLeaf(base / KiB4 + 1);
    expect(mem.u32[w1]! & (PTE_A | PTE_D)).toBe(PTE_A | PTE_D);
  });

  it('throws EFAULT naming the address on a missing mapping or permission; earlier pages stay written', () => {
    const { proc } = setup();
    const rw = proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'rw' });
    proc.mmap({ addr: 0x10_1000, length: KiB4, prot: 'r' });
    expect(codeOf(() => proc.read(0x20_0000, 1))).toBe('EFAULT');
    expect(messageOf(() => proc.read(0x20_0000, 1))).toContain('0x200000');
    expect(codeOf(() => proc.write(rw + KiB4 - 2, bytes(4)))).toBe('EFAULT');
    expect(messageOf(() => proc.write(rw + KiB4 - 2, bytes(4)))).toContain('0x101000');
    expect(proc.read(rw + KiB4 - 2, 2)).toEqual(bytes(4).subarray(0, 2));
    expect(proc.read(rw, 0)).toEqual(new Uint8Array(0));
  });

  it('uses 2 MiB pages in 2 MiB mappings', () => {
    const { mem, proc } = setup(8192);
    const before = mem.framesInUse;
    const h = proc.mmap({ length: MiB2, prot: 'rw', pageSize: '2m' });
    const data = bytes(3 * KiB4, 3);
    proc.write(h + 5 * KiB4 - 7, data);
    expect(proc.read(h + 5 * KiB4 - 7, data.length)).toEqual(data);
    expect(proc.rssPages).toBe(512);
    expect(proc.faults).toBe(1);
    expect(mem.framesInUse).toBe(before + 512 + 2); // the page, a PDPT and a PD
    const info = proc.pageTable.lookup(h / KiB4 + 5)!;
    expect(info.size).toBe('2m');
    expect(info.leafPfn % 512).toBe(0);
    expect(info.pfn).toBe(info.leafPfn + 5);
    const w = proc.pageTable.findLeaf(h / KiB4);
    expect(mem.u32[w]! & PTE_PS).toBe(PTE_PS);
    proc.munmap(h, MiB2);
    expect(mem.framesInUse).toBe(before);
  });
});

describe('Process.fillPages()', () => {
  /** Page i of a fill holds this byte. */
  const byteOf = (i: number) => (0xf0 + i) & 0xff;

  /** Leaves dirty frames on the free stack: a process writes 0xee over `pages` pages and exits. */
  function dirtyFrames(mem: PhysicalMemory, pages: number): void {
    const p = new Process(mem, { id: 99 });
    const a = p.mmap({ length: pages * KiB4, prot: 'rw' });
    p.write(a, new Uint8Array(pages * KiB4).fill(0xee));
    p.exit();
  }

  /** The same layout and history in a fresh memory; `fill` writes the buffer. */
  function scene(fill: (proc: Process, addr: number, length: number) => void) {
    const { mem, proc } = setup(8192);
    dirtyFrames(mem, 40);
    const small = proc.mmap({ length: 8 * KiB4, prot: 'rw' });
    const huge = proc.mmap({ length: MiB2, prot: 'rw', pageSize: '2m' });
    proc.read(small + KiB4, 1); // present and accessed, not dirty
    proc.write(small + 2 * KiB4 + 5, bytes(10)); // present, dirty, other bytes
    fill(proc, small, 6 * KiB4 + 100); // 6 whole pages and 100 bytes of a 7th
    fill(proc, huge + 3 * KiB4, 2 * KiB4);
    const leaves: number[] = [];
    for (let v = small / KiB4; v < small / KiB4 + 8; v++) {
      const w = proc.pageTable.findLeaf(v);
      leaves.push(w < 0 ? -1 : mem.u32[w]!, w < 0 ? -1 : mem.u32[w + 1]!);
    }
    const w = proc.pageTable.findLeaf(huge / KiB4);
    leaves.push(mem.u32[w]!, mem.u32[w + 1]!);
    mem.materializeAll(); // whole-page fills are pending until read: write them for the raw image
    return {
      memory: Buffer.from(mem.u8),
      leaves,
      faults: proc.faults,
      spurious: proc.spuriousFaults,
      rss: proc.rssPages,
      frames: mem.framesInUse,
      bytes: proc.read(small, 8 * KiB4),
    };
  }

  it('leaves memory, PTEs and counters exactly as write() of the same bytes would', () => {
    const viaWrite = scene((proc, addr, length) => {
      const page = new Uint8Array(KiB4);
      for (let off = 0; off < length; off += KiB4) {
        page.fill(byteOf(off / KiB4));
        proc.write(addr + off, page.subarray(0, Math.min(KiB4, length - off)));
      }
    });
    const viaFill = scene((proc, addr, length) => proc.fillPages(addr, length, byteOf));
    expect(viaFill.leaves).toEqual(viaWrite.leaves);
    expect([viaFill.faults, viaFill.spurious, viaFill.rss, viaFill.frames]).toEqual([
      viaWrite.faults,
      viaWrite.spurious,
      viaWrite.rss,
      viaWrite.frames,
    ]);
    expect(viaFill.bytes).toEqual(viaWrite.bytes);
    expect(viaFill.memory.equals(viaWrite.memory)).toBe(true); // every frame, free ones too
    // and the bytes are the pattern: pages 0..5 whole, 100 bytes of page 6, zeros after
    const b = viaFill.bytes;
    for (let i = 0; i < 6; i++) {
      expect(b.subarray(i * KiB4, (i + 1) * KiB4).every((x) => x === byteOf(i))).toBe(true);
    }
    expect(b.subarray(6 * KiB4, 6 * KiB4 + 100).every((x) => x === byteOf(6))).toBe(true);
    expect(b.subarray(6 * KiB4 + 100).every((x) => x === 0)).toBe(true);
  });

  it('overwrites frames a previous user dirtied and zeroes the rest of a partial last page', () => {
    const { mem, proc } = setup();
    dirtyFrames(mem, 4);
    const base = proc.mmap({ length: 4 * KiB4, prot: 'rw' });
    proc.fillPages(base, 3 * KiB4 + 10, (i) => i + 1);
    const got = proc.read(base, 4 * KiB4);
    const want = new Uint8Array(4 * KiB4);
    want
      .fill(1, 0, KiB4)
      .fill(2, KiB4, 2 * KiB4)
      .fill(3, 2 * KiB4, 3 * KiB4);
    want.fill(4, 3 * KiB4, 3 * KiB4 + 10);
    expect(got).toEqual(want);
    expect(proc.rssPages).toBe(4);
  });

  it('asks for each page byte once, in page order, and takes it modulo 256', () => {
    const { proc } = setup();
    const base = proc.mmap({ length: 3 * KiB4, prot: 'rw' });
    const asked: number[] = [];
    proc.fillPages(base, 3 * KiB4, (i) => {
      asked.push(i);
      return 0x100 + i;
    });
    expect(asked).toEqual([0, 1, 2]);
    expect(proc.read(base + 2 * KiB4 + 17, 1)[0]).toBe(2);
  });

  it('throws EFAULT at the first page it cannot write; earlier pages stay filled', () => {
    const { proc } = setup();
    const rw = proc.mmap({ addr: 0x10_0000, length: KiB4, prot: 'rw' });
    proc.mmap({ addr: 0x10_1000, length: KiB4, prot: 'r' });
    expect(codeOf(() => proc.fillPages(rw, 2 * KiB4, () => 9))).toBe('EFAULT');
    expect(messageOf(() => proc.fillPages(rw, 2 * KiB4, () => 9))).toContain('0x101000');
    expect(proc.read(rw, KiB4).every((b) => b === 9)).toBe(true);
    expect(proc.read(rw + KiB4, KiB4).every((b) => b === 0)).toBe(true);
    expect(codeOf(() => proc.fillPages(0x20_0000, 1, () => 9))).toBe('EFAULT');
  });

  it('rejects an unaligned addr or a bad length (EINVAL), does nothing for length 0, and ESRCH after exit', () => {
    const { proc } = setup();
    const base = proc.mmap({ length: KiB4, prot: 'rw' });
    expect(codeOf(() => proc.fillPages(base + 8, 8, () => 1))).toBe('EINVAL');
    expect(messageOf(() => proc.fillPages(base + 8, 8, () => 1))).toContain('4 KiB');
    expect(codeOf(() => proc.fillPages(base, -1, () => 1))).toBe('EINVAL');
    proc.fillPages(base, 0, () => 1);
    expect(proc.rssPages).toBe(0);
    proc.exit();
    expect(codeOf(() => proc.fillPages(base, KiB4, () => 1))).toBe('ESRCH');
  });
});

describe('Process.exit()', () => {
  it('calls release() first with the page tables intact, then frees everything but the root', () => {
    const { mem, proc } = setup();
    const start = mem.framesInUse; // the root
    const log: string[] = [];
    const base = proc.mmap({ length: 3 * KiB4, prot: 'rw' });
    proc.write(base, bytes(3 * KiB4));
    const pfn = proc.pageTable.lookup(base / KiB4)!.pfn;
    const check: MmuNotifier = {
      invalidateRange: () => {
        log.push('inv');
      },
      release: () => {
        log.push(`release alive=${proc.alive} mmget=${proc.mmgetNotZero()}`);
        const leaf = proc.pageTable.lookup(base / KiB4);
        log.push(`leaf ${leaf?.pfn === pfn && leaf.present}`);
        log.push(`byte ${mem.frameBytes(pfn)[1] === bytes(3)[1]}`);
        log.push(`rss ${proc.rssPages}`);
      },
    };
    proc.registerNotifier(new LogNotifier('first', log));
    proc.registerNotifier(check);
    proc.mmgrab(); // an SVA bond
    const root = proc.pgdPfn;
    proc.exit();
    expect(log).toEqual([
      'first:release',
      'release alive=false mmget=false',
      'leaf true',
      'byte true',
      'rss 3',
    ]);
    expect(proc.mmuNotifiers).toEqual([]);
    expect(proc.vmas).toEqual([]);
    expect(proc.rssPages).toBe(0);
    expect(mem.framesInUse).toBe(start); // only the pgd root
    expect(proc.pgdPfn).toBe(root);
    expect(mem.isAllocated(root)).toBe(true);
    expect(proc.mmCountRefs).toBe(1);
    proc.mmdrop();
    expect(proc.pgdPfn).toBe(0);
    expect(mem.framesInUse).toBe(0);
    expect(codeOf(() => proc.mmdrop())).toBe('ERR_INVARIANT');
    expect(codeOf(() => proc.mmgrab())).toBe('ERR_INVARIANT');
  });

  it('without other references frees the root at exit', () => {
    const { mem, proc } = setup();
    proc.write(proc.mmap({ length: MiB2, prot: 'rw' }), bytes(MiB2));
    proc.exit();
    expect(mem.framesInUse).toBe(0);
    expect(mem.peakFramesInUse).toBe(1 + 3 + 512);
  });

  it('makes every later operation fail with ESRCH; a second exit too', () => {
    const { proc } = setup();
    const base = proc.mmap({ length: KiB4, prot: 'rw' });
    proc.exit();
    expect(proc.alive).toBe(false);
    expect(proc.mmgetNotZero()).toBe(false);
    expect(codeOf(() => proc.mmap({ length: KiB4, prot: 'rw' }))).toBe('ESRCH');
    expect(codeOf(() => proc.munmap(base, KiB4))).toBe('ESRCH');
    expect(codeOf(() => proc.mprotect(base, KiB4, 'r'))).toBe('ESRCH');
    expect(codeOf(() => proc.read(base, 1))).toBe('ESRCH');
    expect(codeOf(() => proc.write(base, bytes(1)))).toBe('ESRCH');
    expect(codeOf(() => proc.handleMmFault(base, { write: false }))).toBe('ESRCH');
    expect(codeOf(() => proc.registerNotifier(new LogNotifier('x', [])))).toBe('ESRCH');
    expect(codeOf(() => proc.exit())).toBe('ESRCH');
  });

  it('refuses to drop the last mm_count reference of a live process', () => {
    const { proc } = setup();
    expect(codeOf(() => proc.mmdrop())).toBe('ERR_INVARIANT');
    proc.mmgrab();
    proc.mmdrop();
    expect(proc.mmCountRefs).toBe(1);
  });
});

describe('Process notifiers', () => {
  it('fire in registration order and stop after unregister', () => {
    const { proc } = setup();
    const log: string[] = [];
    const a = new LogNotifier('a', log);
    const b = new LogNotifier('b', log);
    proc.registerNotifier(b);
    proc.registerNotifier(a);
    const base = proc.mmap({ length: KiB4, prot: 'rw' });
    proc.munmap(base, KiB4);
    expect(log).toEqual([
      `b:inv:${base.toString(16)}-${(base + KiB4).toString(16)}`,
      `a:inv:${base.toString(16)}-${(base + KiB4).toString(16)}`,
    ]);
    expect(proc.unregisterNotifier(b)).toBe(true);
    expect(proc.unregisterNotifier(b)).toBe(false);
    expect(codeOf(() => proc.registerNotifier(a))).toBe('ERR_INVARIANT');
    proc.exit();
    expect(log.at(-1)).toBe('a:release');
    expect(log.filter((l) => l.startsWith('b:release'))).toEqual([]);
  });
});
