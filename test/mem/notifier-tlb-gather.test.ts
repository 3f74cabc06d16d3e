import { describe, expect, it } from 'vitest';
import { MM_NOTIFIER_CALLS_TLB_GATHER } from '../../src/mem/mmu-notifier.js';
import { PhysicalMemory } from '../../src/mem/physical-memory.js';
import { Process } from '../../src/mem/process.js';

// The v6.6+ x86 mm (spec §10.4): invalidations only from the CPU TLB-flush path, over what
// was really cleared or lost a permission, one merged range per operation.
function setup() {
  const mem = new PhysicalMemory({ frames: 4096 });
  const proc = new Process(mem, { id: 7, notifierCalls: MM_NOTIFIER_CALLS_TLB_GATHER });
  const calls: string[] = [];
  proc.registerNotifier({
    invalidateRange: (s, e) => {
      calls.push(`${s.toString(16)}-${e.toString(16)}`);
    },
    release: () => {
      calls.push('release');
    },
  });
  return { mem, proc, calls };
}

describe("mm notifier calls 'tlb-gather' (v6.6+)", () => {
  it('munmap of never-touched pages calls nothing', () => {
    const { proc, calls } = setup();
    proc.mmap({ addr: 0x40_0000, length: 0x8000, prot: 'rw' });
    proc.munmap(0x40_0000, 0x8000);
    expect(calls).toEqual([]);
  });

  it('munmap calls once over the pages cleared (the PTE table kept)', () => {
    const { proc, calls } = setup();
    proc.mmap({ addr: 0x40_0000, length: 0x8000, prot: 'rw' });
    proc.write(0x40_0000, new Uint8Array(0x8000).fill(1));
    proc.munmap(0x40_2000, 0x3000);
    expect(calls).toEqual(['402000-405000']);
  });

  it('munmap over two VMAs calls once over the merged span, gap included', () => {
    const { proc, calls } = setup();
    proc.mmap({ addr: 0x40_0000, length: 0x1000, prot: 'rw' });
    proc.mmap({ addr: 0x40_3000, length: 0x1000, prot: 'rw' });
    proc.mmap({ addr: 0x40_6000, length: 0x1000, prot: 'rw' }); // keeps the PTE table
    proc.write(0x40_0000, new Uint8Array(8).fill(1));
    proc.write(0x40_3000, new Uint8Array(8).fill(1));
    proc.write(0x40_6000, new Uint8Array(8).fill(1));
    proc.munmap(0x40_0000, 0x4000);
    expect(calls).toEqual(['400000-404000']);
  });

  it('mprotect calls once over the leaves that lost a permission, never for an upgrade', () => {
    const { proc, calls } = setup();
    proc.mmap({ addr: 0x40_0000, length: 0x8000, prot: 'rw' });
    proc.write(0x40_2000, new Uint8Array(0x2000).fill(1));
    proc.mprotect(0x40_0000, 0x8000, 'rw'); // flags unchanged
    proc.mprotect(0x40_0000, 0x8000, 'rwx'); // upgrade
    expect(calls).toEqual([]);
    proc.mprotect(0x40_0000, 0x8000, 'r');
    expect(calls).toEqual(['402000-404000']);
  });

  it('exit calls release only', () => {
    const { proc, calls } = setup();
    proc.mmap({ addr: 0x40_0000, length: 0x1000, prot: 'rw' });
    proc.write(0x40_0000, new Uint8Array(8).fill(1));
    proc.exit();
    expect(calls).toEqual(['release']);
  });
});
