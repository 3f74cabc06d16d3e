import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import {
  BARRIER_REASON_BYTES,
  BARRIER_RESULT_LINE,
  BARRIER_VALUE_LINE,
  BarrierWord,
  CACHE_LINE_WORDS,
  DEFAULT_SPIN_NS,
  defaultBarrierSpinNs,
  QuantumBarrier,
  type QuantumBarrierOptions,
  SpscRing,
} from '../../src/ring/index.js';
import { expectedMinimum, nextEventNs } from './barrier-party.worker.js';
import { xorshift32 } from './helpers.js';

/** Views never spin in these tests (they share one thread) and fail fast instead of hanging. */
const FAST: QuantumBarrierOptions = { spinNs: 0, deadlineMs: 10_000 };

/** Views of parties 0 .. parties − 1 of one new barrier, all in this thread. */
function views(parties: number, options: QuantumBarrierOptions = FAST): QuantumBarrier[] {
  const first = QuantumBarrier.create(parties, options);
  const all = [first];
  for (let p = 1; p < parties; p++) all.push(new QuantumBarrier(first.sab, 0, p, options));
  return all;
}

const code = (c: string) => expect.objectContaining({ code: c });

describe('QuantumBarrier layout', () => {
  it('puts every written word and every party slot on a cache line of its own', () => {
    const line = (w: number) => Math.floor(w / CACHE_LINE_WORDS);
    const written = [
      BarrierWord.GENERATION,
      BarrierWord.ARRIVED,
      BarrierWord.SLEEPERS,
      BarrierWord.ABORTED,
    ].map(line);
    const config = line(BarrierWord.MAGIC);
    expect(line(BarrierWord.PARTIES)).toBe(config);
    expect(line(BarrierWord.REASON_LENGTH)).toBe(line(BarrierWord.ABORTED)); // same writer, once
    // Each tag shares its result's line (same writer, same moment) and not the float64 slot.
    expect(line(BarrierWord.RESULT_GEN_0)).toBe(BARRIER_RESULT_LINE);
    expect(line(BarrierWord.RESULT_GEN_1)).toBe(BARRIER_RESULT_LINE + 1);
    expect(BarrierWord.RESULT_GEN_0 % CACHE_LINE_WORDS).toBeGreaterThanOrEqual(2);
    const results = [BARRIER_RESULT_LINE, BARRIER_RESULT_LINE + 1];
    const values = [0, 1, 2].map((p) => BARRIER_VALUE_LINE + p);
    const all = [...written, config, ...results, ...values];
    expect(new Set(all).size).toBe(all.length);
    expect(QuantumBarrier.byteLength(3)).toBe((BARRIER_VALUE_LINE + 3) * 64);
  });

  it('rejects bad geometries, offsets, regions, party indices and options with EINVAL', () => {
    for (const parties of [0, 1.5, -1, 4097, Number.NaN]) {
      expect(() => QuantumBarrier.byteLength(parties)).toThrow(code('EINVAL'));
    }
    const b = QuantumBarrier.create(2, FAST);
    expect(() => new QuantumBarrier(b.sab, 0, 2)).toThrow(code('EINVAL'));
    expect(() => new QuantumBarrier(b.sab, 0, -1)).toThrow(code('EINVAL'));
    expect(() => new QuantumBarrier(b.sab, 32, 0)).toThrow(code('EINVAL'));
    expect(() => new QuantumBarrier(new SharedArrayBuffer(1024), 0, 0)).toThrow(code('EINVAL'));
    expect(() => QuantumBarrier.init(new SharedArrayBuffer(64), 0, 1)).toThrow(code('EINVAL'));
    for (const bad of [
      { spinNs: -1 },
      { spinNs: Number.POSITIVE_INFINITY },
      { parkTimeoutMs: 0 },
      { parkTimeoutMs: Number.POSITIVE_INFINITY },
      { deadlineMs: Number.POSITIVE_INFINITY },
      { deadlineMs: Number.NaN },
    ]) {
      expect(() => new QuantumBarrier(b.sab, 0, 1, bad)).toThrow(code('EINVAL'));
    }
    expect(() =>
      QuantumBarrier.init(new SharedArrayBuffer(4096), 0, 1, { initialGeneration: 2 ** 32 }),
    ).toThrow(code('EINVAL'));
  });

  it('packs after a ring in one buffer and leaves the ring alone', () => {
    const ringBytes = SpscRing.byteLength(4, 16);
    const sab = new SharedArrayBuffer(ringBytes + QuantumBarrier.byteLength(2));
    SpscRing.init(sab, 0, 4, 16);
    QuantumBarrier.init(sab, ringBytes, 2);
    const a = new QuantumBarrier(sab, ringBytes, 0, { ...FAST, canBlock: true });
    const ring = new SpscRing(sab);
    expect(a.parties).toBe(2);
    expect(ring.slots).toBe(4);
    expect(() => new QuantumBarrier(sab, 0, 0)).toThrow(code('EINVAL')); // a ring is no barrier
  });

  it('spins by default only while every party can have a core', () => {
    expect(defaultBarrierSpinNs(1)).toBe(DEFAULT_SPIN_NS);
    expect(defaultBarrierSpinNs(availableParallelism() + 1)).toBe(0);
  });
});

describe('QuantumBarrier.arrive() with one party', () => {
  it('returns its own next event, Infinity for none (−1 or Infinity), and advances the generation', () => {
    const b = QuantumBarrier.create(1, { ...FAST, canBlock: true }); // never waits: it is last
    expect(b.generation()).toBe(0);
    expect(b.arrive(1_234)).toBe(1_234);
    expect(b.arrive(0)).toBe(0);
    expect(b.arrive(-1)).toBe(Number.POSITIVE_INFINITY);
    expect(b.arrive(Number.POSITIVE_INFINITY)).toBe(Number.POSITIVE_INFINITY);
    expect(b.arrive(Number.MAX_SAFE_INTEGER)).toBe(2 ** 53 - 1);
    expect(b.generation()).toBe(5);
    expect(b.arrived()).toBe(0);
  });

  it('rejects other values with EINVAL before touching the barrier', () => {
    const b = QuantumBarrier.create(1, { ...FAST, canBlock: true });
    for (const bad of [-2, Number.NaN, 1.5, 2 ** 53, Number.NEGATIVE_INFINITY]) {
      expect(() => b.arrive(bad)).toThrow(code('EINVAL'));
    }
    expect(b.generation()).toBe(0);
    expect(b.arrived()).toBe(0);
    expect(b.arrive(7)).toBe(7);
  });

  it('refuses to block a thread that cannot block, before arriving', () => {
    const b = QuantumBarrier.create(1, { ...FAST, canBlock: false });
    expect(() => b.arrive(1)).toThrow(code('ERR_BARRIER_MISUSE'));
    expect(b.arrived()).toBe(0);
    expect(b.generation()).toBe(0);
  });
});

describe('QuantumBarrier.arriveAsync() with several views in one thread', () => {
  it('gives every party the same minimum each round, whatever the arrival order', async () => {
    const parties = 4;
    const rounds = 300;
    const all = views(parties);
    const rng = xorshift32(0xba1e);
    for (let round = 0; round < rounds; round++) {
      const order = all.map((_, p) => p);
      for (let i = order.length - 1; i > 0; i--) {
        const j = rng() % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const got = await Promise.all(order.map((p) => all[p]!.arriveAsync(nextEventNs(p, round))));
      const want = expectedMinimum(parties, round);
      expect(got).toEqual(Array(parties).fill(want));
    }
    expect(all[0]!.generation()).toBe(rounds);
    // The schedule has rounds where nobody has anything pending.
    expect(expectedMinimum(parties, 13)).toBe(Number.POSITIVE_INFINITY);
  });

  it("does not let a fast party's next round disturb a slow party's result", async () => {
    const [a, b] = views(2) as [QuantumBarrier, QuantumBarrier];
    const a0 = a.arriveAsync(5); // a waits in round 0
    expect(await b.arriveAsync(7)).toBe(5); // b is last: round 0 complete
    const b1 = b.arriveAsync(3); // b enters round 1 (a smaller value) before a has looked
    expect(b.arrived()).toBe(1);
    expect(await a0).toBe(5); // a reads round 0's result, untouched by round 1
    expect(await a.arriveAsync(9)).toBe(3);
    expect(await b1).toBe(3);
    expect(a.generation()).toBe(2);
  });

  it('keeps rounds apart across the 2^32 wrap of the generation', async () => {
    const first = QuantumBarrier.create(2, { ...FAST, initialGeneration: 2 ** 32 - 2 });
    const second = new QuantumBarrier(first.sab, 0, 1, FAST);
    const seen: number[] = [];
    for (let round = 0; round < 4; round++) {
      const got = await Promise.all([first.arriveAsync(100 + round), second.arriveAsync(round)]);
      expect(got).toEqual([round, round]);
      seen.push(first.generation());
    }
    expect(seen).toEqual([2 ** 32 - 1, 0, 1, 2]);
  });

  it('rejects a second arrival on a view whose arriveAsync is pending', async () => {
    const [a, b] = views(2) as [QuantumBarrier, QuantumBarrier];
    const pending = a.arriveAsync(1);
    await expect(a.arriveAsync(2)).rejects.toThrow(code('ERR_BARRIER_MISUSE'));
    expect(await b.arriveAsync(4)).toBe(1);
    expect(await pending).toBe(1);
  });

  it('reports two views for one party as a corruption, with the raw words', async () => {
    const [a, b] = views(2) as [QuantumBarrier, QuantumBarrier];
    const twin = new QuantumBarrier(a.sab, 0, 0, FAST); // a second view of party 0: misuse
    const p = a.arriveAsync(1);
    // Undetectable yet: two arrivals fill the round (with party 1's slot never written).
    await Promise.all([p, twin.arriveAsync(2)]);
    await expect(b.arriveAsync(3)).rejects.toThrow(/ERR_BARRIER_CORRUPT.*GENERATION=0x00000001/);
  });
});

describe('QuantumBarrier.abort()', () => {
  it('releases every waiting party with ERR_BARRIER_ABORTED naming who aborted and why', async () => {
    const [a, b, c] = views(3) as [QuantumBarrier, QuantumBarrier, QuantumBarrier];
    const pa = a.arriveAsync(1);
    const pb = b.arriveAsync(2);
    expect(c.abort('device worker 2 failed')).toBe(true);
    expect(c.abort('again')).toBe(false); // the first reason stays
    const aborted = expect.objectContaining({
      code: 'ERR_BARRIER_ABORTED',
      abortedBy: 2,
      reason: 'device worker 2 failed',
      generation: 0,
    });
    await expect(pa).rejects.toThrow(/aborted by party 2: device worker 2 failed/);
    await expect(pb).rejects.toEqual(aborted);
    // Later arrivals throw at once, the aborting party's own included; nothing more arrives.
    await expect(c.arriveAsync(3)).rejects.toEqual(expect.objectContaining({ party: 2 }));
    await expect(a.arriveAsync(4)).rejects.toEqual(expect.objectContaining({ abortedBy: 2 }));
    expect(a.arrived()).toBe(2);
    expect(b.isAborted()).toBe(true);
    expect(b.abortInfo()).toEqual({ party: 2, reason: 'device worker 2 failed' });
  });

  it('still delivers a round that completed before the abort, then fails the next one', async () => {
    const [a, b] = views(2) as [QuantumBarrier, QuantumBarrier];
    const a0 = a.arriveAsync(8); // a waits in round 0 …
    expect(await b.arriveAsync(6)).toBe(6); // … b completes it …
    b.abort('b failed after round 0'); // … and aborts before a has looked
    expect(await a0).toBe(6); // round 0 completed: a gets its result, not an error
    await expect(a.arriveAsync(1)).rejects.toThrow(code('ERR_BARRIER_ABORTED'));
  });

  it('stops a blocking arrival that comes after the abort, before it counts', () => {
    const b = QuantumBarrier.create(2, { ...FAST, canBlock: true });
    expect(b.isAborted()).toBe(false);
    expect(b.abortInfo()).toBeUndefined();
    b.abort('stop');
    expect(() => b.arrive(1)).toThrow(code('ERR_BARRIER_ABORTED'));
    expect(b.arrived()).toBe(0);
  });

  it('truncates a long reason to the reason area', () => {
    const b = QuantumBarrier.create(1, FAST);
    b.abort('é'.repeat(500)); // 2 bytes each: 1000 bytes, cut at BARRIER_REASON_BYTES
    const reason = b.abortInfo()!.reason;
    expect(reason.startsWith('é'.repeat(BARRIER_REASON_BYTES / 2 - 1))).toBe(true);
    expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(BARRIER_REASON_BYTES);
  });
});

describe('QuantumBarrier deadline', () => {
  it('throws ERR_BARRIER_TIMEOUT naming party and generation, and aborts the barrier', async () => {
    const [a, b] = views(2, { spinNs: 0, deadlineMs: 20 }) as [QuantumBarrier, QuantumBarrier];
    await expect(a.arriveAsync(1)).rejects.toEqual(
      expect.objectContaining({
        code: 'ERR_BARRIER_TIMEOUT',
        party: 0,
        generation: 0,
        message: expect.stringMatching(/party 0 waited more than 20 ms in generation 0/),
      }),
    );
    await expect(b.arriveAsync(2)).rejects.toEqual(
      expect.objectContaining({
        code: 'ERR_BARRIER_ABORTED',
        abortedBy: 0,
        reason: expect.stringMatching(/timed out/),
      }),
    );
  });

  it('parks in a loop of bounded parks until the deadline where it may block', () => {
    // Blocking on this thread for a few ms is acceptable in a test; the worker test covers it too.
    const b = QuantumBarrier.create(2, {
      spinNs: 1_000,
      parkTimeoutMs: 2,
      deadlineMs: 15,
      canBlock: true,
    });
    expect(() => b.arrive(1)).toThrow(code('ERR_BARRIER_TIMEOUT'));
    expect(b.sleepers()).toBe(0);
    expect(b.isAborted()).toBe(true);
  });
});

describe('QuantumBarrier.control', () => {
  it('hands every party the same CONTROL snapshot after the same round', async () => {
    const a = QuantumBarrier.create(2, { canBlock: false, spinNs: 0 });
    const b = new QuantumBarrier(a.sab, 0, 1, { canBlock: false, spinNs: 0 });
    expect(a.control).toBe(0);
    const first = a.arriveAsync(5);
    // posted while party 0 waits: the round has not completed, so it still carries the bit
    expect(a.postControl(1)).toBe(1);
    await Promise.all([first, b.arriveAsync(3)]);
    expect([a.control, b.control]).toEqual([1, 1]);
    // a post after a round travels with the next one, to both parties
    b.postControl(4);
    expect([a.control, b.control]).toEqual([1, 1]);
    await Promise.all([a.arriveAsync(7), b.arriveAsync(8)]);
    expect([a.control, b.control]).toEqual([5, 5]);
  });
});
