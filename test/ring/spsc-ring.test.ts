import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RingWord, SpscRing } from '../../src/ring/index.js';
import { payloadMismatch, writePayload } from './helpers.js';

/** A producer view and a consumer view of one new ring: two threads' worth of cursors. */
function pair(slots: number, wordsPerSlot: number, initialIndex = 0) {
  const producer = SpscRing.create(slots, wordsPerSlot, { initialIndex });
  const consumer = new SpscRing(producer.sab);
  return { producer, consumer };
}

function send(ring: SpscRing, seq: number): boolean {
  const off = ring.reserve();
  if (off < 0) return false;
  writePayload(ring.words, off, seq, ring.wordsPerSlot);
  ring.commit();
  return true;
}

describe('SpscRing', () => {
  it('hides committed messages until publish() and reports full with −1, not a throw', () => {
    const { producer, consumer } = pair(4, 16);
    for (let seq = 0; seq < 4; seq++) expect(send(producer, seq)).toBe(true);
    expect(producer.reserve()).toBe(-1);
    expect(producer.unpublished()).toBe(4);
    expect(consumer.available()).toBe(0);
    expect(producer.publish()).toBe(true);
    expect(producer.publish()).toBe(false); // nothing new: no second store
    expect(consumer.available()).toBe(4);
    for (let i = 0; i < 4; i++)
      expect(payloadMismatch(consumer.words, consumer.peek(i), i, 16)).toBe(-1);
    consumer.consume(2);
    // Consumed but not released: the producer still sees a full ring.
    expect(producer.reserve()).toBe(-1);
    expect(consumer.release()).toBe(true);
    expect(consumer.release()).toBe(false);
    expect(send(producer, 4)).toBe(true);
    expect(send(producer, 5)).toBe(true);
    expect(producer.reserve()).toBe(-1);
    expect(producer.readWord('PRODUCER_BATCHES')).toBe(1);
    expect(consumer.readWord('CONSUMER_BATCHES')).toBe(1);
  });

  it('returns the same slot from repeated reserve() calls until commit()', () => {
    const { producer } = pair(8, 16);
    const a = producer.reserve();
    expect(producer.reserve()).toBe(a);
    producer.commit();
    expect(producer.reserve()).toBe(a + 16);
  });

  it('continues across the 2^32 wrap of its counters', () => {
    // Counters start at 2^32 − 2, so messages 0..5 sit in slots 2, 3, 0, 1, 2, 3 and the
    // TAIL word reads 2^32 − 2 + 6 − 2^32 = 4 at the end.
    const { producer, consumer } = pair(4, 2, 2 ** 32 - 2);
    const slots: number[] = [];
    for (let seq = 0; seq < 6; seq++) {
      const off = producer.reserve();
      slots.push(off / 2);
      writePayload(producer.words, off, seq, 2);
      producer.commit();
      producer.publish();
      expect(consumer.available()).toBe(1);
      expect(payloadMismatch(consumer.words, consumer.peek(0), seq, 2)).toBe(-1);
      consumer.consume(1);
      consumer.release();
    }
    expect(slots).toEqual([2, 3, 0, 1, 2, 3]);
    expect(producer.readWord('TAIL')).toBe(4);
    expect(consumer.readWord('HEAD')).toBe(4);
  });

  it('tells the consumer to stop only after the final tail is visible', () => {
    const { producer, consumer } = pair(4, 16);
    send(producer, 0);
    producer.close(); // publishes the committed message first
    expect(consumer.isClosed()).toBe(true);
    expect(consumer.available()).toBe(1);
  });

  it('throws ERR_RING_MISUSE for commit without reserve and reads past available()', () => {
    const { producer, consumer } = pair(4, 16);
    const misuse = expect.objectContaining({ code: 'ERR_RING_MISUSE' });
    expect(() => producer.commit()).toThrow(misuse);
    send(producer, 0);
    producer.publish();
    expect(() => consumer.peek(0)).toThrow(misuse); // available() not called yet
    expect(consumer.available()).toBe(1);
    expect(() => consumer.peek(1)).toThrow(misuse);
    expect(() => consumer.peek(-1)).toThrow(misuse);
    expect(() => consumer.consume(2)).toThrow(misuse);
    expect(() => consumer.consume(0.5)).toThrow(misuse);
  });

  it('throws ERR_RING_CORRUPT with the raw words when tail − head leaves [0, slots]', () => {
    const { producer, consumer } = pair(4, 16);
    // A second producer (forbidden) moves TAIL 5 ahead of HEAD: more than the ring holds.
    Atomics.store(producer.ctl, RingWord.TAIL, 5);
    expect(() => consumer.available()).toThrow(
      expect.objectContaining({
        code: 'ERR_RING_CORRUPT',
        message: expect.stringContaining('TAIL=0x00000005'),
      }),
    );
  });

  it('rejects a view over bytes that hold no ring', () => {
    const sab = new SharedArrayBuffer(SpscRing.byteLength(4));
    expect(() => new SpscRing(sab)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(() => new SpscRing(sab, 32)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    const small = new SharedArrayBuffer(SpscRing.byteLength(4) - 64);
    expect(() => SpscRing.init(small, 0, 4)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});

/** One step of a producer/consumer schedule run in one thread against a model queue. */
type Op =
  | { kind: 'produce'; n: number }
  | { kind: 'publish' }
  | { kind: 'consume'; n: number }
  | { kind: 'release' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('produce' as const), n: fc.integer({ min: 1, max: 40 }) }),
  fc.record({ kind: fc.constant('publish' as const) }),
  fc.record({ kind: fc.constant('consume' as const), n: fc.integer({ min: 0, max: 40 }) }),
  fc.record({ kind: fc.constant('release' as const) }),
);

const initialIndexArb = fc.oneof(
  fc.constant(0),
  fc.integer({ min: 2 ** 32 - 100, max: 2 ** 32 - 1 }), // wraps to 0 during the run
  fc.integer({ min: 2 ** 31 - 100, max: 2 ** 31 - 1 }), // crosses the int32 sign boundary
  fc.integer({ min: 0, max: 2 ** 32 - 1 }),
);

describe('SpscRing (property: against a model queue)', () => {
  it('delivers every message once, in order, with its words; full and empty as the model says', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(1, 2, 4, 8, 16),
        fc.constantFrom(1, 3, 16),
        initialIndexArb,
        fc.array(opArb, { maxLength: 120 }),
        (slots, w, initialIndex, ops) => {
          const { producer, consumer } = pair(slots, w, initialIndex);
          // Model: messages are numbered 0, 1, …; the four counters split that sequence.
          let committed = 0;
          let published = 0;
          let consumed = 0;
          let released = 0;
          const produce = (n: number) => {
            for (let i = 0; i < n; i++) {
              const off = producer.reserve();
              expect(off === -1).toBe(committed - released === slots);
              if (off === -1) return;
              expect(off).toBe(((initialIndex + committed) % slots) * w);
              writePayload(producer.words, off, committed, w);
              producer.commit();
              committed++;
            }
          };
          const consume = (n: number) => {
            const avail = consumer.available();
            expect(avail).toBe(published - consumed);
            const k = Math.min(n, avail);
            for (let i = 0; i < k; i++) {
              expect(payloadMismatch(consumer.words, consumer.peek(i), consumed + i, w)).toBe(-1);
            }
            consumer.consume(k);
            consumed += k;
          };
          const publish = () => {
            expect(producer.publish()).toBe(committed !== published);
            published = committed;
          };
          const release = () => {
            expect(consumer.release()).toBe(consumed !== released);
            released = consumed;
          };
          for (const op of ops) {
            if (op.kind === 'produce') produce(op.n);
            else if (op.kind === 'publish') publish();
            else if (op.kind === 'consume') consume(op.n);
            else release();
          }
          // Drain: everything committed arrives, then the ring is empty.
          publish();
          consume(slots);
          release();
          expect(consumed).toBe(committed);
          expect(consumer.available()).toBe(0);
          expect(producer.readWord('TAIL')).toBe((initialIndex + committed) % 2 ** 32);
          expect(consumer.readWord('HEAD')).toBe((initialIndex + committed) % 2 ** 32);
        },
      ),
      { numRuns: 300 },
    );
  });
});
