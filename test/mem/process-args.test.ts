import { describe, expect, it } from 'vitest';
import { PhysicalMemory } from '../../src/mem/physical-memory.js';
import { Process } from '../../src/mem/process.js';
import { codeOf, messageOf } from './helpers.js';

const ADDR = 0x1000_0000;
const W48 = '2^48 (4-level paging: 48-bit addresses)';

/** A process with two pages at ADDR. */
function setup(levels: 4 | 5 = 4) {
  const mem = new PhysicalMemory({ frames: 1024 });
  const proc = new Process(mem, { id: 7, levels });
  proc.mmap({ addr: ADDR, length: 8192, prot: 'rw' });
  return { mem, proc };
}

/** [code, message] of what `fn` throws. */
const thrown = (fn: () => unknown): [string, string] => [codeOf(fn), messageOf(fn)];

describe('Process: addresses of CPU access and queries', () => {
  it.each([
    [Number.NaN, 'NaN'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
    [-1, '-1'],
    [ADDR + 0.5, '268435456.5'],
    [2 ** 48, '281474976710656'],
    ['4096', 'the string "4096"'],
  ])('refuses addr %s in read, write, fillPages and findVma with EINVAL', (addr, shown) => {
    const { proc, mem } = setup();
    const a = addr as number;
    const used = mem.framesInUse;
    const expected = (op: string) =>
      `${op}: addr must be an integer byte address from 0 to below ${W48}, got ${shown}`;
    expect(thrown(() => proc.read(a, 4))).toEqual(['EINVAL', expected('read')]);
    expect(thrown(() => proc.write(a, new Uint8Array(4)))).toEqual(['EINVAL', expected('write')]);
    expect(thrown(() => proc.fillPages(a, 4096, () => 1))).toEqual([
      'EINVAL',
      expected('fillPages'),
    ]);
    expect(thrown(() => proc.findVma(a))).toEqual(['EINVAL', expected('findVma')]);
    expect(mem.framesInUse).toBe(used); // nothing faulted in
  });

  it('refuses a fractional address inside a mapped page, and serves the integer ones', () => {
    const { proc } = setup();
    proc.write(ADDR, new Uint8Array([1, 2, 3, 4]));
    expect(codeOf(() => proc.read(ADDR + 1.5, 2))).toBe('EINVAL');
    expect(Array.from(proc.read(ADDR + 1, 2))).toEqual([2, 3]);
    expect(proc.findVma(ADDR + 1)?.start).toBe(ADDR);
  });

  it('keeps EFAULT for an address inside the width that nothing maps', () => {
    const { proc } = setup();
    expect(codeOf(() => proc.read(2 ** 47, 1))).toBe('EFAULT');
    expect(codeOf(() => proc.read(2 ** 48 - 1, 1))).toBe('EFAULT');
    expect(proc.findVma(2 ** 48 - 1)).toBeUndefined();
  });

  it('takes addresses up to 2^53 with 5 levels', () => {
    const { proc } = setup(5);
    expect(codeOf(() => proc.read(2 ** 48, 1))).toBe('EFAULT');
    expect(thrown(() => proc.read(2 ** 53, 1))).toEqual([
      'EINVAL',
      'read: addr must be an integer byte address from 0 to below 2^53 (5-level paging, within the exact range of a number), got 9007199254740992',
    ]);
  });

  it.each([
    [1.5, '1.5'],
    [Number.NaN, 'NaN'],
    [-1, '-1'],
    [Number.POSITIVE_INFINITY, 'Infinity'],
  ])('refuses length %s in read and fillPages with EINVAL', (length, shown) => {
    const { proc } = setup();
    expect(thrown(() => proc.read(ADDR, length))).toEqual([
      'EINVAL',
      `read: length must be a non-negative integer number of bytes, got ${shown}`,
    ]);
    expect(codeOf(() => proc.fillPages(ADDR, length, () => 1))).toBe('EINVAL');
  });

  it('refuses a range running past the end of the address width', () => {
    const { proc } = setup();
    expect(thrown(() => proc.read(2 ** 48 - 2, 4))).toEqual([
      'EINVAL',
      `read: [0xfffffffffffe, +4) runs past the end of the address space at ${W48}`,
    ]);
    expect(codeOf(() => proc.write(2 ** 48 - 2, new Uint8Array(4)))).toBe('EINVAL');
  });

  it('refuses write bytes that are not a Uint8Array and a fill that is not a function', () => {
    const { proc, mem } = setup();
    const used = mem.framesInUse;
    expect(thrown(() => proc.write(ADDR, [1, 2, 3] as never))).toEqual([
      'EINVAL',
      'write: bytes must be a Uint8Array, got an array',
    ]);
    expect(thrown(() => proc.write(ADDR, 'abc' as never))).toEqual([
      'EINVAL',
      'write: bytes must be a Uint8Array, got the string "abc"',
    ]);
    expect(thrown(() => proc.fillPages(ADDR, 4096, 5 as never))).toEqual([
      'EINVAL',
      'fillPages: byteOfPage must be a function of the page index, got 5',
    ]);
    expect(mem.framesInUse).toBe(used);
  });
});

describe('Process: mapping calls and faults', () => {
  it('refuses mmap options that are not an object, and non-finite numbers in them', () => {
    const { proc } = setup();
    expect(thrown(() => proc.mmap(null as never))).toEqual([
      'EINVAL',
      'mmap: expected options { addr?, length, prot, pageSize? }, got null',
    ]);
    expect(codeOf(() => proc.mmap({ length: Number.NaN, prot: 'rw' }))).toBe('EINVAL');
    expect(codeOf(() => proc.mmap({ length: Number.POSITIVE_INFINITY, prot: 'rw' }))).toBe(
      'EINVAL',
    );
    expect(
      codeOf(() => proc.mmap({ addr: Number.POSITIVE_INFINITY, length: 4096, prot: 'rw' })),
    ).toBe('EINVAL');
    expect(codeOf(() => proc.mmap({ addr: Number.NaN, length: 4096, prot: 'rw' }))).toBe('EINVAL');
    expect(proc.vmas).toHaveLength(1);
  });

  it('refuses non-finite or fractional numbers in munmap and mprotect', () => {
    const { proc } = setup();
    for (const [addr, length] of [
      [Number.NaN, 4096],
      [Number.POSITIVE_INFINITY, 4096],
      [ADDR + 0.5, 4096],
      [ADDR, Number.NaN],
      [ADDR, Number.POSITIVE_INFINITY],
      [ADDR, 1.5],
    ]) {
      expect(codeOf(() => proc.munmap(addr!, length!))).toBe('EINVAL');
      expect(codeOf(() => proc.mprotect(addr!, length!, 'r'))).toBe('EINVAL');
    }
    expect(proc.vmas).toEqual([expect.objectContaining({ start: ADDR, write: true })]);
  });

  it('refuses a fault access that is not { write: boolean, exec?: boolean }', () => {
    const { proc } = setup();
    expect(thrown(() => proc.handleMmFault(ADDR, null as never))).toEqual([
      'EINVAL',
      'handleMmFault: access must be { write: boolean, exec?: boolean }, got null',
    ]);
    expect(thrown(() => proc.handleMmFault(ADDR, { write: 'yes' } as never))).toEqual([
      'EINVAL',
      'handleMmFault: access must be { write: boolean, exec?: boolean }, got a plain object with write the string "yes", exec undefined',
    ]);
    expect(codeOf(() => proc.handleMmFault(Number.NaN, { write: false }))).toBe('EINVAL');
    expect(proc.faults).toBe(0);
    expect(proc.handleMmFault(ADDR, { write: true })).toBe('ok');
    expect(proc.faults).toBe(1);
  });
});
