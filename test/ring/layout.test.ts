import { describe, expect, it } from 'vitest';
import {
  CACHE_LINE_WORDS,
  RING_CONTROL_BYTES,
  RING_CONTROL_WORDS,
  RingWord,
  ringByteLength,
  SpscRing,
} from '../../src/ring/index.js';
import { MSG_DWORDS } from '../../src/sim/message.js';

describe('RingWord', () => {
  it('puts every written control word on a cache line of its own', () => {
    const written = [
      RingWord.HEAD,
      RingWord.CONSUMER_BATCHES,
      RingWord.TAIL,
      RingWord.PRODUCER_BATCHES,
      RingWord.DATA_BELL,
      RingWord.DATA_SLEEPERS,
      RingWord.SPACE_BELL,
      RingWord.SPACE_SLEEPERS,
      RingWord.CLOSED,
    ];
    const lines = written.map((w) => Math.floor(w / CACHE_LINE_WORDS));
    expect(new Set(lines).size).toBe(written.length);
    // The read-only geometry words share a line that no written word touches.
    const configLine = Math.floor(RingWord.MAGIC / CACHE_LINE_WORDS);
    expect(lines).not.toContain(configLine);
    expect(Math.floor(RingWord.SLOTS / CACHE_LINE_WORDS)).toBe(configLine);
    expect(Math.floor(RingWord.WORDS_PER_SLOT / CACHE_LINE_WORDS)).toBe(configLine);
  });

  it('keeps every word inside the control block', () => {
    for (const w of Object.values(RingWord)) expect(w).toBeLessThan(RING_CONTROL_WORDS);
    expect(RING_CONTROL_BYTES).toBe(RING_CONTROL_WORDS * 4);
    expect(RING_CONTROL_BYTES % 64).toBe(0);
  });
});

describe('ringByteLength()', () => {
  it('is the control block plus the slots, rounded up to 64 bytes', () => {
    // 10 lines × 64 B = 640 B of control; 64 slots × 16 words × 4 B = 4096 B of slots.
    expect(ringByteLength(64, 16)).toBe(640 + 4096);
    expect(ringByteLength(64)).toBe(ringByteLength(64, MSG_DWORDS));
    // 1 slot × 1 word = 4 B, rounded up to one 64-byte line: 640 + 64.
    expect(ringByteLength(1, 1)).toBe(704);
    // 4 slots × 3 words × 4 B = 48 B → 64.
    expect(SpscRing.byteLength(4, 3)).toBe(704);
  });

  it('rejects capacities that are not powers of two and bad slot sizes with EINVAL', () => {
    for (const [slots, w] of [
      [0, 16],
      [3, 16],
      [48, 16],
      [2 ** 25, 1],
      [1.5, 16],
      [64, 0],
      [64, 2.5],
      [64, 1025],
    ] as const) {
      expect(() => ringByteLength(slots, w)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    }
  });

  it('lets rings be packed back to back in one buffer', () => {
    const a = ringByteLength(8, 16);
    const b = ringByteLength(4, 3);
    const sab = new SharedArrayBuffer(a + b);
    SpscRing.init(sab, 0, 8, 16);
    SpscRing.init(sab, a, 4, 3);
    const r0 = new SpscRing(sab, 0);
    const r1 = new SpscRing(sab, a);
    expect([r0.slots, r0.wordsPerSlot, r1.slots, r1.wordsPerSlot]).toEqual([8, 16, 4, 3]);
    const off = r1.reserve();
    r1.words.fill(0xffffffff, off, off + 3);
    r1.commit();
    r1.publish();
    // The first ring's words and counters are untouched.
    expect(r0.words.every((v) => v === 0)).toBe(true);
    expect(r0.available()).toBe(0);
    expect(r1.available()).toBe(1);
  });
});
