import { describe, expect, it } from 'vitest';
import { PAGE_SIZE, PhysicalMemory } from '../../src/mem/physical-memory.js';
import { codeOf, messageOf } from './helpers.js';

describe('PhysicalMemory', () => {
  it('backs the frames with one SharedArrayBuffer and u8/u32 views over all of it', () => {
    const mem = new PhysicalMemory({ frames: 16 });
    expect(mem.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(mem.buffer.byteLength).toBe(16 * PAGE_SIZE);
    expect(mem.u8.length).toBe(16 * PAGE_SIZE);
    expect(mem.u32.length).toBe(16 * 1024);
    expect(mem.totalFrames).toBe(16);
    expect(mem.byteOffset(3)).toBe(3 * 4096);
    const f = mem.frameBytes(3);
    f[5] = 0xab;
    expect(mem.u8[3 * 4096 + 5]).toBe(0xab);
  });

  it('defaults to 65536 frames (256 MiB)', () => {
    expect(new PhysicalMemory().totalFrames).toBe(65536);
  });

  it('rejects bad sizes with EINVAL', () => {
    expect(codeOf(() => new PhysicalMemory({ frames: 1 }))).toBe('EINVAL');
    expect(codeOf(() => new PhysicalMemory({ frames: 2.5 }))).toBe('EINVAL');
  });
});

describe('PhysicalMemory.allocFrame()', () => {
  it('never hands out frame 0 and counts frames in use and the peak', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    expect(mem.framesInUse).toBe(0);
    const a = mem.allocFrame();
    const b = mem.allocFrame();
    const c = mem.allocFrame();
    expect([a, b, c]).toEqual([1, 2, 3]);
    expect(mem.framesInUse).toBe(3);
    mem.freeFrame(b);
    expect(mem.framesInUse).toBe(2);
    expect(mem.peakFramesInUse).toBe(3);
    expect(mem.framesFree).toBe(5);
  });

  it('reuses freed frames last-in first-out', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    for (let i = 0; i < 4; i++) mem.allocFrame();
    mem.freeFrame(2);
    mem.freeFrame(4);
    expect(mem.allocFrame()).toBe(4);
    expect(mem.allocFrame()).toBe(2);
    expect(mem.allocFrame()).toBe(5);
  });

  it('hands out zero-filled frames (freed frames are zeroed when allocated again)', () => {
    const mem = new PhysicalMemory({ frames: 4 });
    const pfn = mem.allocFrame();
    mem.frameBytes(pfn).fill(0xff);
    mem.freeFrame(pfn);
    const again = mem.allocFrame();
    expect(again).toBe(pfn);
    expect(mem.frameBytes(again).every((b) => b === 0)).toBe(true);
  });

  it('throws ENOMEM naming the counts and the memory.frames knob', () => {
    const mem = new PhysicalMemory({ frames: 4 });
    mem.allocFrame();
    mem.allocFrame();
    mem.allocFrame();
    expect(codeOf(() => mem.allocFrame())).toBe('ENOMEM');
    const msg = messageOf(() => mem.allocFrame());
    expect(msg).toContain('3 of 3 frames in use');
    expect(msg).toContain('memory.frames');
    expect(mem.framesInUse).toBe(3);
  });

  it('is deterministic: the same calls give the same pfns', () => {
    const run = (): number[] => {
      const mem = new PhysicalMemory({ frames: 8192 });
      const out: number[] = [];
      const held: number[] = [];
      for (let i = 0; i < 300; i++) {
        if (i % 7 === 3 && held.length > 0) mem.freeFrame(held.splice(i % held.length, 1)[0]!);
        else if (i % 50 === 10) out.push(mem.allocFrames(512, 512));
        else {
          const p = mem.allocFrame();
          held.push(p);
          out.push(p);
        }
      }
      return out;
    };
    expect(run()).toEqual(run());
  });
});

describe('PhysicalMemory.allocFrames()', () => {
  it('returns a contiguous run aligned as asked, zero-filled, and accounts for it', () => {
    const mem = new PhysicalMemory({ frames: 2048 });
    mem.allocFrame(); // 1
    const base = mem.allocFrames(512, 512);
    expect(base).toBe(512);
    expect(mem.framesInUse).toBe(513);
    for (let p = base; p < base + 512; p++) expect(mem.isAllocated(p)).toBe(true);
    expect(mem.u8.subarray(base * 4096, (base + 512) * 4096).every((b) => b === 0)).toBe(true);
    const next = mem.allocFrames(512, 512);
    expect(next).toBe(1024);
    mem.freeFrames(base, 512);
    expect(mem.framesInUse).toBe(513);
    expect(mem.allocFrames(512, 512)).toBe(512);
  });

  it('skips used frames inside a candidate run', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const singles = Array.from({ length: 10 }, () => mem.allocFrame()); // 1..10
    expect(mem.allocFrames(4, 4)).toBe(12);
    mem.freeFrame(singles[5]!); // 6 free
    expect(mem.allocFrames(2, 2)).toBe(16);
    expect(mem.allocFrames(3)).toBe(18); // 6 and 11 are free but too short
  });

  it('single allocations skip freed frames a contiguous allocation took meanwhile', () => {
    const mem = new PhysicalMemory({ frames: 32 });
    for (let i = 0; i < 8; i++) mem.allocFrame(); // 1..8
    mem.freeFrames(4, 4); // 4..7 free, on the stack
    expect(mem.allocFrames(4, 4)).toBe(4); // takes them back
    expect(mem.allocFrame()).toBe(9); // stale stack entries skipped
    expect(mem.framesInUse).toBe(9);
  });

  it('throws ENOMEM when no aligned run is free', () => {
    const mem = new PhysicalMemory({ frames: 1024 });
    mem.allocFrame();
    mem.allocFrames(512, 512);
    expect(codeOf(() => mem.allocFrames(512, 512))).toBe('ENOMEM');
    expect(messageOf(() => mem.allocFrames(512, 512))).toContain(
      '512 contiguous frames aligned to 512',
    );
  });
});

describe('PhysicalMemory.freeFrame()', () => {
  it('throws on a double free, on frame 0 and out of range, with the pfn in the message', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    const p = mem.allocFrame();
    mem.freeFrame(p);
    expect(codeOf(() => mem.freeFrame(p))).toBe('ERR_INVARIANT');
    expect(messageOf(() => mem.freeFrame(p))).toContain(`pfn ${p}`);
    expect(codeOf(() => mem.freeFrame(0))).toBe('ERR_INVARIANT');
    expect(codeOf(() => mem.freeFrame(8))).toBe('ERR_INVARIANT');
    expect(mem.framesInUse).toBe(0);
  });

  it('freeFrames validates the whole run before freeing anything', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    mem.allocFrame();
    mem.allocFrame();
    expect(codeOf(() => mem.freeFrames(1, 3))).toBe('ERR_INVARIANT');
    expect(mem.framesInUse).toBe(2);
  });
});

describe('PhysicalMemory attached to an existing buffer', () => {
  it('shares the bytes and refuses to allocate (EPERM)', () => {
    const owner = new PhysicalMemory({ frames: 8 });
    const view = new PhysicalMemory({ buffer: owner.buffer });
    expect(view.owner).toBe(false);
    expect(view.totalFrames).toBe(8);
    const p = owner.allocFrame();
    owner.frameBytes(p)[7] = 42;
    expect(view.frameBytes(p)[7]).toBe(42);
    expect(codeOf(() => view.allocFrame())).toBe('EPERM');
  });
});

describe('PhysicalMemory copyIn / copyOut', () => {
  it('copies the same bytes through the word path (aligned, with a 32-bit view) and the byte path', () => {
    const mem = new PhysicalMemory({ frames: 16 });
    const pfn = mem.allocFrame();
    const src = new Uint8Array(256).map((_, i) => (i * 37 + 11) & 0xff);
    const src32 = new Uint32Array(src.buffer);
    for (const [pa, off, len] of [
      [0, 0, 64],
      [4, 8, 128],
      [1, 0, 64],
      [0, 3, 17],
      [8, 8, 200],
    ] as const) {
      mem.u8.fill(0, pfn * 4096, pfn * 4096 + 512);
      mem.copyIn(pfn * 4096 + pa, src, off, len, src32);
      expect(mem.u8.subarray(pfn * 4096 + pa, pfn * 4096 + pa + len)).toEqual(
        src.subarray(off, off + len),
      );
      const dst = new Uint8Array(256);
      mem.copyOut(pfn * 4096 + pa, dst, off, len, new Uint32Array(dst.buffer));
      expect(dst.subarray(off, off + len)).toEqual(src.subarray(off, off + len));
      expect(dst[off + len] ?? 0).toBe(0); // nothing past the end
    }
  });
});

/** True when every byte of frame `pfn` is `value`. */
function frameIs(mem: PhysicalMemory, pfn: number, value: number): boolean {
  return mem.frameBytes(pfn).every((b) => b === value);
}

describe('PhysicalMemory frame reuse (zeroing at allocation, not at free)', () => {
  it('leaves a freed frame as it was: freeing never touches its bytes', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    const pfn = mem.allocFrame();
    mem.frameBytes(pfn).fill(0x5a);
    mem.freeFrame(pfn);
    expect(frameIs(mem, pfn, 0x5a)).toBe(true);
    expect(mem.framesInUse).toBe(0);
  });

  it('zeroes a reused frame once, whatever its previous user left in it', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    const a = mem.allocFrame();
    const b = mem.allocFrame();
    mem.frameBytes(a).fill(0xff);
    mem.frameBytes(b)[4095] = 1; // a single dirty byte at the very end
    mem.freeFrame(a);
    mem.freeFrame(b);
    expect(mem.allocFrame()).toBe(b);
    expect(mem.allocFrame()).toBe(a);
    expect(frameIs(mem, a, 0)).toBe(true);
    expect(frameIs(mem, b, 0)).toBe(true);
    // writing a reused frame and freeing it again: it is zeroed again on the next reuse
    mem.frameBytes(a).fill(0x33);
    mem.freeFrame(a);
    expect(mem.allocFrame()).toBe(a);
    expect(frameIs(mem, a, 0)).toBe(true);
  });

  it('allocFrames zeroes every previously used frame of the run it takes', () => {
    const mem = new PhysicalMemory({ frames: 64 });
    const singles = Array.from({ length: 12 }, () => mem.allocFrame()); // 1..12
    for (const p of singles) mem.frameBytes(p).fill(p);
    for (const p of singles.slice(7)) mem.freeFrame(p); // 8..12 free and dirty
    const base = mem.allocFrames(8, 8); // 8..15: five reused, three never used
    expect(base).toBe(8);
    for (let p = 8; p < 16; p++) expect(frameIs(mem, p, 0)).toBe(true);
    for (let p = 1; p < 8; p++) expect(frameIs(mem, p, p)).toBe(true); // neighbours untouched
    // the stale stack entries of 8..12 are skipped, and 16 comes fresh and zero
    expect(mem.allocFrame()).toBe(16);
    expect(frameIs(mem, 16, 0)).toBe(true);
  });

  it('keeps frames of a deferral window allocated and intact until released, then reuses them zeroed', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    const a = mem.allocFrame();
    const b = mem.allocFrame();
    mem.frameBytes(a).fill(0xa0);
    mem.frameBytes(b).fill(0xb0);
    mem.beginDeferral();
    mem.freeFrame(a);
    mem.freeFrames(b, 1);
    const frames = mem.endDeferral();
    expect(frames).toEqual([a, b]);
    expect(mem.isAllocated(a) && mem.isAllocated(b)).toBe(true);
    expect(mem.framesInUse).toBe(2);
    expect(mem.allocFrame()).toBe(3); // nothing of the window is handed out yet
    mem.releaseDeferred(frames);
    expect(mem.framesInUse).toBe(1);
    expect(frameIs(mem, a, 0xa0) && frameIs(mem, b, 0xb0)).toBe(true); // O(1): not touched
    expect(mem.allocFrame()).toBe(b);
    expect(mem.allocFrame()).toBe(a);
    expect(frameIs(mem, a, 0) && frameIs(mem, b, 0)).toBe(true);
  });

  it('releaseDeferred checks every frame: a double free is a broken invariant', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    const a = mem.allocFrame();
    mem.beginDeferral();
    mem.freeFrame(a);
    const frames = mem.endDeferral();
    mem.releaseDeferred(frames);
    expect(codeOf(() => mem.releaseDeferred(frames))).toBe('ERR_INVARIANT');
  });
});

describe('PhysicalMemory.allocFrameForOverwrite()', () => {
  it('takes the same frames as allocFrame and accounts for them the same way', () => {
    const script = (alloc: (m: PhysicalMemory) => number) => {
      const mem = new PhysicalMemory({ frames: 256 });
      const out: number[] = [];
      const held: number[] = [];
      for (let i = 0; i < 120; i++) {
        if (i % 5 === 4) mem.freeFrame(held.splice((i * 7) % held.length, 1)[0]!);
        else if (i === 50) out.push(mem.allocFrames(4, 4));
        else {
          const p = alloc(mem);
          held.push(p);
          out.push(p);
        }
      }
      return { out, inUse: mem.framesInUse, peak: mem.peakFramesInUse };
    };
    expect(script((m) => m.allocFrameForOverwrite())).toEqual(script((m) => m.allocFrame()));
  });

  it('does not zero the frame, and the frame is zeroed again after its next free', () => {
    const mem = new PhysicalMemory({ frames: 8 });
    const a = mem.allocFrame();
    mem.frameBytes(a).fill(0x77);
    mem.freeFrame(a);
    expect(mem.allocFrameForOverwrite()).toBe(a); // bytes unspecified: the caller overwrites
    mem.fillBytes(a * PAGE_SIZE, PAGE_SIZE, 0x12);
    expect(frameIs(mem, a, 0x12)).toBe(true);
    mem.freeFrame(a);
    expect(mem.allocFrame()).toBe(a);
    expect(frameIs(mem, a, 0)).toBe(true);
  });

  it('throws ENOMEM when no frame is left and EPERM on an attached instance', () => {
    const mem = new PhysicalMemory({ frames: 2 });
    mem.allocFrameForOverwrite();
    expect(codeOf(() => mem.allocFrameForOverwrite())).toBe('ENOMEM');
    const view = new PhysicalMemory({ buffer: mem.buffer });
    expect(codeOf(() => view.allocFrameForOverwrite())).toBe('EPERM');
  });
});

describe('PhysicalMemory.fillBytes()', () => {
  it('sets exactly the bytes asked, at any alignment and length, and nothing around them', () => {
    const mem = new PhysicalMemory({ frames: 4 });
    const base = 1 * PAGE_SIZE;
    for (const [off, len] of [
      [0, 4096],
      [0, 8],
      [8, 4088],
      [1, 7],
      [3, 2],
      [5, 100],
      [7, 4089],
      [4090, 6],
      [100, 0],
      [4000, 4096 + 200], // across the frame boundary
    ] as const) {
      mem.u8.fill(0xee, base - 16, base + 2 * PAGE_SIZE + 16);
      mem.fillBytes(base + off, len, 0x3c);
      for (let i = -16; i < 2 * PAGE_SIZE + 16; i++) {
        const inside = i >= off && i < off + len;
        if (mem.u8[base + i] !== (inside ? 0x3c : 0xee)) {
          throw new Error(`fillBytes(+${off}, ${len}): byte +${i} is ${mem.u8[base + i]}`);
        }
      }
    }
  });

  it('takes the value modulo 256 as Uint8Array.fill does', () => {
    const mem = new PhysicalMemory({ frames: 2 });
    for (const [value, byte] of [
      [0x1ab, 0xab],
      [-1, 0xff],
      [256, 0],
      [255, 255],
    ] as const) {
      mem.fillBytes(PAGE_SIZE, PAGE_SIZE, value);
      expect(frameIs(mem, 1, byte)).toBe(true);
    }
  });

  it('refuses a range outside physical memory (broken invariant), changing nothing', () => {
    const mem = new PhysicalMemory({ frames: 2 });
    expect(codeOf(() => mem.fillBytes(PAGE_SIZE, PAGE_SIZE + 1, 1))).toBe('ERR_INVARIANT');
    expect(codeOf(() => mem.fillBytes(-1, 2, 1))).toBe('ERR_INVARIANT');
    expect(codeOf(() => mem.fillBytes(0.5, 2, 1))).toBe('ERR_INVARIANT');
    expect(mem.u8.every((b) => b === 0)).toBe(true);
  });
});
