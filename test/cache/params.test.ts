import { describe, expect, it } from 'vitest';
import { type CacheParams, resolveCacheParams } from '../../src/cache/index.js';

const defaults: CacheParams = Object.freeze({ entries: 16, assoc: 4, policy: 'lru' });

describe('resolveCacheParams()', () => {
  it('merges the given fields over the defaults and freezes the result', () => {
    const p = resolveCacheParams('x', defaults, { assoc: 16, policy: 'fifo' });
    expect(p).toEqual({ entries: 16, assoc: 16, policy: 'fifo' });
    expect(Object.isFrozen(p)).toBe(true);
  });

  it.each([
    [{ entries: 0 }, /^x\.entries must be a positive integer, got 0$/],
    [{ entries: 6 }, /^x\.assoc must be a positive divisor of entries \(6\), got 4$/],
    [{ entries: 12 }, /^x: entries \/ assoc must be a power of two \(sets\), got 12 \/ 4 = 3$/],
    [{ policy: 'plru' as CacheParams['policy'] }, /^x\.policy must be one of lru, fifo, random/],
  ] as [Partial<CacheParams>, RegExp][])(
    'rejects %o with EINVAL and says what is wrong',
    (given, msg) => {
      expect(() => resolveCacheParams('x', defaults, given)).toThrow(
        expect.objectContaining({ code: 'EINVAL', message: expect.stringMatching(msg) }),
      );
    },
  );
});
