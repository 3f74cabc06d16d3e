import { describe, expect, it } from 'vitest';
import {
  COUNTER_COUNT,
  COUNTER_NAMES,
  COUNTERS_BYTES,
  Counter,
  Counters,
} from '../../src/metrics/counters.js';

/** The `totals` object of DESIGN §7, transcribed with every value 0. */
const DESIGN_TOTALS = {
  translations: 0,
  iotlbHits: 0,
  iotlbMisses: 0,
  devtlbHits: 0,
  devtlbMisses: 0,
  walks: 0,
  pageRequests: 0,
  pageResponses: { success: 0, invalid: 0, failure: 0 },
  autoResponses: 0,
  prqOverflows: 0,
  stopMarkers: 0,
  faultRecords: 0,
  dmaBytes: 0,
  dmaErrors: 0,
  jobs: 0,
  jobsFailed: 0,
  binds: 0,
  unbinds: 0,
  bindErrors: 0,
  invalidations: 0,
  // beyond DESIGN §7: open-loop arrivals, for offered against achieved rates
  jobsOffered: 0,
  allocFailures: 0,
  hostileRequests: 0,
  atsTrustBreaches: 0,
  staleByKernel: 0,
};

function flatKeys(o: object, prefix = ''): string[] {
  return Object.entries(o).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? flatKeys(v, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('COUNTER_NAMES', () => {
  it('is exactly the DESIGN §7 totals, flattened, in report order', () => {
    expect([...COUNTER_NAMES]).toEqual(flatKeys(DESIGN_TOTALS));
    expect(COUNTER_COUNT).toBe(27);
    expect(COUNTERS_BYTES).toBe(27 * 8);
  });

  it('Counter maps every name, and only those, to its position', () => {
    expect(Object.keys(Counter)).toEqual([...COUNTER_NAMES]);
    for (const [i, name] of COUNTER_NAMES.entries()) expect(Counter[name]).toBe(i);
  });
});

describe('Counters', () => {
  it('toTotals() has the DESIGN §7 shape and key order', () => {
    const t = new Counters().toTotals();
    expect(t).toEqual(DESIGN_TOTALS);
    expect(JSON.stringify(t)).toBe(JSON.stringify(DESIGN_TOTALS));
  });

  it('add() / get() count by index and land in the right totals field', () => {
    const c = new Counters();
    for (const [i, name] of COUNTER_NAMES.entries()) c.add(Counter[name], i + 1);
    c.add(Counter.walks);
    expect(c.get(Counter.walks)).toBe(Counter.walks + 2);
    const t = c.toTotals();
    expect(
      flatKeys(t).map((k) => k.split('.').reduce<unknown>((o, p) => (o as never)[p], t)),
    ).toEqual(COUNTER_NAMES.map((n, i) => (n === 'walks' ? i + 2 : i + 1)));
    expect(t.pageResponses.failure).toBe(Counter['pageResponses.failure'] + 1);
  });

  it('mergeFrom() adds every counter and reset() clears them', () => {
    const a = new Counters();
    const b = new Counters();
    a.add(Counter.jobs, 3);
    b.add(Counter.jobs, 4);
    b.add(Counter.dmaBytes, 4096);
    a.mergeFrom(b);
    expect(a.get(Counter.jobs)).toBe(7);
    expect(a.get(Counter.dmaBytes)).toBe(4096);
    expect(b.get(Counter.jobs)).toBe(4);
    a.reset();
    expect(a.toTotals()).toEqual(DESIGN_TOTALS);
  });

  it('works over a view into a SharedArrayBuffer, which it leaves as it is', () => {
    const sab = new SharedArrayBuffer(8 + 2 * COUNTERS_BYTES);
    const view = new Float64Array(sab, 8 + COUNTERS_BYTES, COUNTER_COUNT);
    view[Counter.binds] = 5;
    const c = new Counters(view);
    c.add(Counter.binds);
    expect(
      new Counters(new Float64Array(sab, 8 + COUNTERS_BYTES, COUNTER_COUNT)).get(Counter.binds),
    ).toBe(6);
    expect(c.values.buffer).toBe(sab);
  });

  it('rejects a view of the wrong length', () => {
    expect(() => new Counters(new Float64Array(COUNTER_COUNT - 1))).toThrow(/expected 27/);
  });

  it('counts bytes exactly far beyond 2^32', () => {
    const c = new Counters();
    for (let i = 0; i < 1000; i++) c.add(Counter.dmaBytes, 2 ** 40 + 1);
    expect(c.get(Counter.dmaBytes)).toBe(1000 * (2 ** 40 + 1));
  });
});
