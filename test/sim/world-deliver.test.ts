import { describe, expect, it } from 'vitest';
import { World } from '../../src/sim/simulator.js';

function thrown(fn: () => unknown): Error & { code?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as Error & { code?: unknown };
  }
  throw new Error('expected a throw');
}

/** A world of two partitions with one recording endpoint in each. */
function world() {
  const w = new World(2, 100);
  const got: { partition: number; arg: number; now: number; words: number[] }[] = [];
  for (const p of [0, 1]) {
    const sim = w.sims[p]!;
    sim.register({
      handle(arg, now) {
        const b = sim.pool.base(arg);
        got.push({ partition: p, arg, now, words: [...sim.pool.words.subarray(b, b + 16)] });
      },
    });
  }
  return { w, got };
}

describe('World.deliverRecord() (the decoder of records from other threads)', () => {
  it('queues a well-formed record at its time in its destination partition', () => {
    const { w, got } = world();
    const words = Uint32Array.from({ length: 32 }, (_, i) => i);
    w.deliverRecord(2 ** 53 - 1, 0x1f_ffff, 0xffff_ffff, 1, words, 16);
    w.sims[1]!.step();
    expect(got).toEqual([
      {
        partition: 1,
        arg: 0,
        now: 2 ** 53 - 1,
        words: Array.from({ length: 16 }, (_, i) => 16 + i),
      },
    ]);
  });

  it('refuses a key no sender gives, naming what is wrong, and queues nothing', () => {
    const { w } = world();
    const words = new Uint32Array(16);
    for (const [args, what] of [
      [[0, 0, 0, 2, words, 0], 'dest 2 is not one of the 2 endpoint ids'],
      [[0, 0, 0, -1, words, 0], 'dest -1 is not one of the 2 endpoint ids'],
      [[2 ** 53, 0, 0, 1, words, 0], `time ${2 ** 53} ns is not an integer in [0, 2^53)`],
      [[Number.NaN, 0, 0, 1, words, 0], 'time NaN ns is not an integer in [0, 2^53)'],
      [[1.5, 0, 0, 1, words, 0], 'time 1.5 ns is not an integer in [0, 2^53)'],
      [[0, 0x20_0000, 0, 1, words, 0], 'source 2097152 is not an integer in [0, 2097151]'],
      [[0, 0, 2 ** 32, 1, words, 0], 'seq 4294967296 is not an integer in [0, 2^32)'],
      [[0, 0, 0, 1, words, 1], 'the 16 words at 1 are outside the 16-word array'],
    ] as const) {
      const e = thrown(() =>
        w.deliverRecord(...(args as unknown as Parameters<World['deliverRecord']>)),
      );
      expect(e.code).toBe('EINVAL');
      expect(e.message).toMatch(`message record between partitions refused: ${what}; key (`);
    }
    expect(w.nextEventNs).toBe(Number.POSITIVE_INFINITY);
  });
});
