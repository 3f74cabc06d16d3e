import { describe, expect, it } from 'vitest';
import { MessagePool } from '../../src/sim/message.js';

function thrown(fn: () => unknown): Error & { code?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}

describe('MessagePool.setWide() / getWide()', () => {
  it('carry every integer below 2^53 exactly', () => {
    const pool = new MessagePool(1);
    for (const v of [0, 1, 0xffff_ffff, 0x1_0000_0000, 2 ** 53 - 1]) {
      pool.setWide(4, v);
      expect(pool.getWide(4)).toBe(v);
    }
    // 2^53 − 1: lo 0xffff_ffff, hi 2^21 − 1 = 0x1f_ffff
    expect([pool.words[4], pool.words[5]]).toEqual([0xffff_ffff, 0x1f_ffff]);
  });

  it('refuse to read a high dword that makes the value 2^53 or more (it would be rounded)', () => {
    const pool = new MessagePool(1);
    pool.words[4] = 1;
    pool.words[5] = 0x20_0000;
    const e = thrown(() => pool.getWide(4));
    expect(e.code).toBe('EINVAL');
    expect(e.message).toBe(
      'message words 4..5: lo 0x00000001 hi 0x00200000 is 2^53 or more, not a page number or ' +
        'byte address (the high dword of a wide value is at most 0x001fffff)',
    );
  });

  it('refuse to write a negative, a fraction, NaN or 2^53, leaving the words as they were', () => {
    const pool = new MessagePool(1);
    pool.setWide(4, 77);
    for (const v of [-1, 1.5, Number.NaN, 2 ** 53, Number.POSITIVE_INFINITY]) {
      const e = thrown(() => pool.setWide(4, v));
      expect(e.code).toBe('EINVAL');
      expect(e.message).toBe(
        `message word 4: a wide value is an integer in [0, 2^53), got the number ${String(v)}`,
      );
      expect(pool.getWide(4)).toBe(77);
    }
  });
});
