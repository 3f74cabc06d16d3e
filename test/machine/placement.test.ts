import { describe, expect, it } from 'vitest';
import { placeAccelerators } from '../../src/machine/placement.js';

describe('placeAccelerators()', () => {
  it('keeps every accelerator off the engine partition with `separate`, dealt round robin', () => {
    expect(placeAccelerators(5, 3, 'separate')).toEqual([1, 2, 1, 2, 1]);
    expect(placeAccelerators(2, 2, 'separate')).toEqual([1, 1]);
  });

  it('puts accelerators on the engine partition with `balanced` up to an even share', () => {
    // weight 2: (2 + 6) / 2 = 4 per thread, so the engine's partition takes 2 accelerators
    expect(placeAccelerators(6, 2, 'balanced', 2)).toEqual([1, 1, 1, 1, 0, 0]);
    // the engine alone outweighs an even share: nothing moves to it
    expect(placeAccelerators(8, 2, 'balanced', 13)).toEqual(new Array(8).fill(1));
    expect(placeAccelerators(64, 2, 'balanced', 13).filter((p) => p === 0)).toHaveLength(26);
  });

  it('weighs the engine per accelerator by default: it outweighs an even share at any thread count', () => {
    for (const threads of [2, 3, 16]) {
      expect(placeAccelerators(64, threads, 'balanced')).toEqual(
        placeAccelerators(64, threads, 'separate'),
      );
    }
    // a light engine (weight 8 for 64 accelerators) takes some: (8 + 64) / 4 = 18 per thread
    expect(placeAccelerators(64, 4, 'balanced', 8).filter((p) => p === 0)).toHaveLength(10);
  });

  it('places everything on partition 0 when there is one partition', () => {
    expect(placeAccelerators(3, 1, 'separate')).toEqual([0, 0, 0]);
  });

  it('refuses a bad partition count or placement name with EINVAL', () => {
    expect(() => placeAccelerators(2, 0, 'separate')).toThrow(
      expect.objectContaining({ code: 'EINVAL' }),
    );
    expect(() => placeAccelerators(2, 2, 'spread' as never)).toThrow(/'separate' or 'balanced'/);
  });
});
