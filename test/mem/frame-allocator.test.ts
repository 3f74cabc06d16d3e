import { describe, expect, it } from 'vitest';
import { FrameAllocator } from '../../src/mem/frame-allocator.js';
import { fillFrame, fillRange } from '../../src/mem/frame-fill.js';
import { codeOf } from './helpers.js';

/** An owner allocator over `frames` frames of a fresh buffer, recording every frame it frees. */
function allocator(frames: number): { alloc: FrameAllocator; u8: Uint8Array; freed: number[] } {
  const buffer = new SharedArrayBuffer(frames * 4096);
  const freed: number[] = [];
  const alloc = new FrameAllocator(frames, true, new BigUint64Array(buffer), (pfn) => {
    freed.push(pfn);
  });
  return { alloc, u8: new Uint8Array(buffer), freed };
}

describe('FrameAllocator', () => {
  it('reports each frame to onFree when it is freed, not while a deferral window holds it', () => {
    const { alloc, freed } = allocator(8);
    const a = alloc.allocFrame();
    const b = alloc.allocFrames(2);
    alloc.beginDeferral();
    alloc.freeFrame(a);
    expect(freed).toEqual([]);
    const held = alloc.endDeferral();
    alloc.releaseDeferred(held);
    alloc.freeFrames(b, 2);
    expect(freed).toEqual([a, b + 1, b]);
    expect(alloc.framesInUse).toBe(0);
  });

  it('zeroes a reused frame through the view it was given, unless it is for overwrite', () => {
    const { alloc, u8 } = allocator(4);
    const a = alloc.allocFrame();
    u8.fill(0xee, a * 4096, (a + 1) * 4096);
    alloc.freeFrame(a);
    expect(alloc.allocFrame()).toBe(a);
    expect(u8.subarray(a * 4096, (a + 1) * 4096).every((v) => v === 0)).toBe(true);
    u8[a * 4096] = 0xee;
    alloc.freeFrame(a);
    expect(alloc.allocFrameForOverwrite()).toBe(a);
    expect(u8[a * 4096]).toBe(0xee);
  });

  it('keeps no state and refuses to allocate when it is not the owner (EPERM)', () => {
    const alloc = new FrameAllocator(4, false, new BigUint64Array(4 * 512), () => {});
    expect(codeOf(() => alloc.allocFrame())).toBe('EPERM');
    expect(codeOf(() => alloc.freeFrame(1))).toBe('EPERM');
    expect(alloc.framesFree).toBe(3);
  });
});

describe('fillRange()', () => {
  it('sets exactly [start, end), unaligned head and tail included', () => {
    const buffer = new SharedArrayBuffer(2 * 4096);
    const u8 = new Uint8Array(buffer);
    const u64 = new BigUint64Array(buffer);
    fillRange(u8, u64, 4093, 4096 + 21, 0x5a);
    expect(u8[4092]).toBe(0);
    expect(u8.subarray(4093, 4096 + 21).every((v) => v === 0x5a)).toBe(true);
    expect(u8[4096 + 21]).toBe(0);
    fillFrame(u64, 1, 0x11);
    expect(u8[4095]).toBe(0x5a);
    expect(u8.subarray(4096, 8192).every((v) => v === 0x11)).toBe(true);
  });
});
